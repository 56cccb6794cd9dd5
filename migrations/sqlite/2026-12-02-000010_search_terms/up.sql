-- The words of the search index, each once, for completing the last word of a query. FTS5
-- answers a prefix by reading every matching word's whole list of documents before the
-- first match; a search looks the words up here instead and names them, and FTS5 then reads
-- each list only as far as a page needs. A view of the index itself: nothing to store or keep.
CREATE VIRTUAL TABLE search_text_terms USING fts5vocab(search_text, row);
