DROP TABLE item_cards;
CREATE TABLE item_cards (
    translation_id INTEGER PRIMARY KEY REFERENCES translations (id) ON DELETE CASCADE,
    article_id BIGINT NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    card TEXT NOT NULL,
    lead TEXT NOT NULL
);
CREATE INDEX item_cards_article ON item_cards (article_id);
UPDATE item_cards_backfill SET after = 0, done = FALSE;
