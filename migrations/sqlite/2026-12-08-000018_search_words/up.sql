-- PostgreSQL only: a list of the search index's words. SQLite's FTS5 index has its own
-- (`search_text_terms`); nothing changes here.
SELECT 1;
