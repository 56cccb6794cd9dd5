DROP TABLE item_cards_backfill;
DROP TABLE item_cards;
