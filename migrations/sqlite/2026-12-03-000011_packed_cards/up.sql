-- A card and the start of its text in one compressed value (LZ4), about 2-3 KB where the two
-- as text came to 4.5 KB, more than a 4 KB SQLite page holds: every search result cost a page
-- and an overflow page. The cards are written again from their translations, by the backfill
-- that `newsdesk migrate` or the next start runs; until it has, search shows a result without
-- a card from its tables, as it does for any archive from before cards.
DROP TABLE item_cards;
CREATE TABLE item_cards (
    translation_id INTEGER PRIMARY KEY REFERENCES translations (id) ON DELETE CASCADE,
    article_id BIGINT NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    packed BLOB NOT NULL
);
CREATE INDEX item_cards_article ON item_cards (article_id);
UPDATE item_cards_backfill SET after = 0, done = FALSE;
