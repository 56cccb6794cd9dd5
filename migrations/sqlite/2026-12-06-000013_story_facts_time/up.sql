-- When a story's own facts (type, tags, bylines, image, flags) last changed, apart from
-- `updated_at`, which any translation's save moves too: a published page's Last-Modified
-- follows what it shows, and saving a draft of another language shows nothing new.
ALTER TABLE articles ADD COLUMN facts_updated_at TIMESTAMP NOT NULL DEFAULT '2000-01-01 00:00:00';
UPDATE articles SET facts_updated_at = updated_at;
