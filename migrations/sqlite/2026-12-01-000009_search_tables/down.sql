CREATE VIRTUAL TABLE search_index USING fts5(
    title, body, lang,
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO search_index (rowid, title, body, lang)
    SELECT d.id, d.title, d.body, t.lang
    FROM search_documents d JOIN translations t ON t.id = d.id;
DROP TABLE search_text;
DROP TABLE search_titles;
DROP TABLE search_documents;
