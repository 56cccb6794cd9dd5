DROP TABLE item_cards;
