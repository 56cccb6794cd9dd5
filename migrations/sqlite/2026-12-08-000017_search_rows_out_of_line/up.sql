-- PostgreSQL only: its search index keeps the documents' words out of the rows. SQLite's FTS5
-- index has no rows of that kind; nothing changes here.
SELECT 1;
