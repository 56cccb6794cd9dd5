DROP INDEX translations_published_article;
CREATE INDEX translations_published_article ON translations (article_id, lang)
    WHERE status = 'published';
