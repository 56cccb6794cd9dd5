DROP INDEX articles_image_media;
ALTER TABLE articles DROP COLUMN image_captions;
ALTER TABLE articles DROP COLUMN image_media_id;
DROP TABLE media_uses;
DROP TABLE media_texts;
DROP TABLE media;
