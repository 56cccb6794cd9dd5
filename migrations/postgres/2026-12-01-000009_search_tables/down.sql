DROP INDEX search_index_title;
ALTER TABLE search_index DROP COLUMN title;
