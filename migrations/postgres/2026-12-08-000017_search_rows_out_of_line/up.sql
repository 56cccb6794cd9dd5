-- A search reads the row of every document that holds its words, to keep the newest: a thousand
-- rows for two common words. With the words themselves stored beside the rows (TOAST) rather
-- than in them, a row is some 70 bytes instead of 400, the table a tenth of its size, and those
-- reads find their pages in PostgreSQL's buffers instead of asking the operating system.
ALTER TABLE search_index SET (toast_tuple_target = 128);
-- Rows written from now on are stored so; the ones already there are rewritten once, in
-- translation order, with the indexes (on a large archive this takes as long as building them).
CLUSTER search_index USING search_index_pkey;
