-- Search reads two small FTS5 indexes instead of one large one. The words of each published
-- translation are kept once, in `search_documents`; `search_titles` indexes its title and
-- subtitle, `search_text` its title, subtitle and body. Both keep only which documents hold a
-- word (`detail=none`), not where in them: a search asks for documents holding every word,
-- and its snippets are cut from the item card's lead, so positions were never read, yet they
-- were most of the old index, and a title match had to read a body word's positions in every
-- document to learn in which column it stood. Triggers keep both indexes in step with the
-- documents, so a change is one row written or deleted. Marks count as letters, so a word
-- written with combining vowel signs (Devanagari, say) is one word, as a reader types it.
CREATE TABLE search_documents (
    id INTEGER PRIMARY KEY REFERENCES translations (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    body TEXT NOT NULL
);
INSERT INTO search_documents (id, title, body)
    SELECT s.rowid, s.title, s.body
    FROM search_index s JOIN translations t ON t.id = s.rowid AND t.status = 'published';
DROP TABLE search_index;

CREATE VIRTUAL TABLE search_titles USING fts5(
    title,
    content = 'search_documents', content_rowid = 'id', detail = none,
    tokenize = "unicode61 remove_diacritics 2 categories 'L* N* Co M*'"
);
CREATE VIRTUAL TABLE search_text USING fts5(
    title, body,
    content = 'search_documents', content_rowid = 'id', detail = none,
    tokenize = "unicode61 remove_diacritics 2 categories 'L* N* Co M*'"
);
-- Built from the documents, then merged into one segment each: a rebuild leaves a dozen, and
-- every word looked up would be looked up in each.
INSERT INTO search_titles (search_titles) VALUES ('rebuild');
INSERT INTO search_text (search_text) VALUES ('rebuild');
INSERT INTO search_titles (search_titles) VALUES ('optimize');
INSERT INTO search_text (search_text) VALUES ('optimize');

CREATE TRIGGER search_documents_insert AFTER INSERT ON search_documents BEGIN
    INSERT INTO search_titles (rowid, title) VALUES (new.id, new.title);
    INSERT INTO search_text (rowid, title, body) VALUES (new.id, new.title, new.body);
END;
CREATE TRIGGER search_documents_delete AFTER DELETE ON search_documents BEGIN
    INSERT INTO search_titles (search_titles, rowid, title) VALUES ('delete', old.id, old.title);
    INSERT INTO search_text (search_text, rowid, title, body)
        VALUES ('delete', old.id, old.title, old.body);
END;
CREATE TRIGGER search_documents_update AFTER UPDATE ON search_documents BEGIN
    INSERT INTO search_titles (search_titles, rowid, title) VALUES ('delete', old.id, old.title);
    INSERT INTO search_text (search_text, rowid, title, body)
        VALUES ('delete', old.id, old.title, old.body);
    INSERT INTO search_titles (rowid, title) VALUES (new.id, new.title);
    INSERT INTO search_text (rowid, title, body) VALUES (new.id, new.title, new.body);
END;
