-- A search keeps only its candidates in the reader's language. With (id, lang) of published
-- translations in an index a few megabytes in size, that check never reads the table, whose
-- rows carry whole bodies and spread over gigabytes in a large archive.
CREATE INDEX translations_published_id ON translations (id, lang) WHERE status = 'published';
