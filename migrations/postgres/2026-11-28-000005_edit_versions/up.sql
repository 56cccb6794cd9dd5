-- Story-level fields and live entries are changed with If-Match too, so each has a version.
ALTER TABLE articles ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE live_entries ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
