-- The media library: uploaded images, stored by the SHA-256 of their bytes. `width` and
-- `height` are as shown (EXIF orientation applied). `renditions` is a JSON array of what has
-- been made: [{"name", "width", "height", "type", "bytes"}]; `status` is `processing` until
-- the background job has made them all, then `ready` (or `failed`, with `problem`).
CREATE TABLE media (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    hash TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    bytes BIGINT NOT NULL,
    alpha BOOLEAN NOT NULL,
    focal_x REAL NOT NULL,
    focal_y REAL NOT NULL,
    credit TEXT NOT NULL,
    licence TEXT NOT NULL,
    placeholder TEXT NOT NULL,
    renditions TEXT NOT NULL,
    status TEXT NOT NULL,
    problem TEXT,
    -- Every alt text and caption, lowercased, for the library's text search.
    search_text TEXT NOT NULL DEFAULT '',
    uploaded_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    version INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX media_status ON media (status) WHERE status = 'processing';

-- Alt text, caption and a credit override per language.
CREATE TABLE media_texts (
    media_id BIGINT NOT NULL REFERENCES media (id) ON DELETE CASCADE,
    lang TEXT NOT NULL,
    alt TEXT NOT NULL,
    caption TEXT NOT NULL,
    credit TEXT NOT NULL,
    PRIMARY KEY (media_id, lang)
);

-- Which translations' bodies show which media (`<img data-media-id>`), kept by the change
-- pipeline.
CREATE TABLE media_uses (
    media_id BIGINT NOT NULL,
    translation_id BIGINT NOT NULL REFERENCES translations (id) ON DELETE CASCADE,
    article_id BIGINT NOT NULL,
    PRIMARY KEY (media_id, translation_id)
);
CREATE INDEX media_uses_translation ON media_uses (translation_id);

-- A story's featured image from the library, and its per-story caption per language (a JSON
-- object); `image_url` stays for external images.
ALTER TABLE articles ADD COLUMN image_media_id BIGINT;
ALTER TABLE articles ADD COLUMN image_captions TEXT NOT NULL DEFAULT '{}';
CREATE INDEX articles_image_media ON articles (image_media_id) WHERE image_media_id IS NOT NULL;
