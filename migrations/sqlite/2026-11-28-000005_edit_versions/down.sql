ALTER TABLE live_entries DROP COLUMN version;
ALTER TABLE articles DROP COLUMN version;
