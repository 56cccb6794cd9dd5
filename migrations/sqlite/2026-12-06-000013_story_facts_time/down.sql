ALTER TABLE articles DROP COLUMN facts_updated_at;
