-- Title matches read an index of titles alone. A GIN index on the whole document cannot tell
-- a title word (weight A) from a body word, so a title search rechecked the weights of every
-- document holding the words, row by row. The title's words are the document's weight-A
-- words, so existing rows are filled from the document itself.
ALTER TABLE search_index ADD COLUMN title TSVECTOR NOT NULL DEFAULT ''::tsvector;
UPDATE search_index SET title = ts_filter(document, '{a}');
ALTER TABLE search_index ALTER COLUMN title DROP DEFAULT;
CREATE INDEX search_index_title ON search_index USING GIN (title);
