-- SQLite gets a vocabulary of its search index here, for completing the last word of a query.
-- PostgreSQL needs none: its GIN indexes answer a prefix (`:*`) from their own list of words.
COMMENT ON TABLE search_index IS 'Published translations as tsvectors; a query''s last word matches as a prefix (:*) through the GIN indexes.';
