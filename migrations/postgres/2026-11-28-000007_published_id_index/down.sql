DROP INDEX translations_published_id;
