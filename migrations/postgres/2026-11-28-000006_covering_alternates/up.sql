-- The language switcher of every list item reads (language, slug) of a story's published
-- translations; with the slug in the index those reads never touch the table, whose rows
-- carry whole bodies.
DROP INDEX translations_published_article;
CREATE INDEX translations_published_article ON translations (article_id, lang, slug)
    WHERE status = 'published';
