DROP TABLE search_index;
DROP TABLE view_counts;
DROP TABLE content_version;
DROP INDEX translations_published_article;
DROP INDEX translations_published;
DROP VIEW published_translations;
