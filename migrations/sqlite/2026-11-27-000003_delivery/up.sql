-- What the Content API may read: published translations and nothing else. The Content API's
-- queries name this view, never the translations table, so a draft cannot leak through a
-- forgotten filter.
CREATE VIEW published_translations AS
SELECT id, article_id, lang, slug, title, subtitle, body, excerpt, seo_title, seo_description,
       word_count, reading_minutes, COALESCE(published_at, updated_at) AS published_at, updated_at
FROM translations
WHERE status = 'published';

-- Lists by language, newest first, and keyset pages through them.
CREATE INDEX translations_published ON translations (lang, published_at DESC, id DESC)
    WHERE status = 'published';
CREATE INDEX translations_published_article ON translations (article_id, lang)
    WHERE status = 'published';

-- Moves with every change the Content API could show; each node's response cache watches it.
CREATE TABLE content_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL,
    changed_at TIMESTAMP NOT NULL
);
INSERT INTO content_version (id, version, changed_at) VALUES (1, 0, CURRENT_TIMESTAMP);

-- Reads per translation per day, for "Most read".
CREATE TABLE view_counts (
    translation_id BIGINT NOT NULL REFERENCES translations (id) ON DELETE CASCADE,
    lang TEXT NOT NULL,
    day DATE NOT NULL,
    views BIGINT NOT NULL,
    PRIMARY KEY (translation_id, day)
);
CREATE INDEX view_counts_lang_day ON view_counts (lang, day, translation_id, views);

-- Full-text search over published translations; the rowid is the translation's id.
CREATE VIRTUAL TABLE search_index USING fts5(
    title, body, lang,
    tokenize = 'unicode61 remove_diacritics 2'
);
