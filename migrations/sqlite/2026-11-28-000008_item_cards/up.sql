-- Each published translation as a list item shows it, in one small row: the translation's
-- own fields, its story's type, image, tag and byline ids and sibling translations (JSON), and
-- the start of its text for search snippets. A search reads one of these per result instead
-- of the story, its tags, bylines and siblings and a whole body. Written in the transaction of
-- every change to the story or its translations; names of tags, people and languages are
-- joined when a card is shown. `newsdesk migrate` (or a start) fills the table for an existing
-- archive.
CREATE TABLE item_cards (
    translation_id INTEGER PRIMARY KEY REFERENCES translations (id) ON DELETE CASCADE,
    article_id BIGINT NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    card TEXT NOT NULL,
    lead TEXT NOT NULL
);
CREATE INDEX item_cards_article ON item_cards (article_id);

-- How far the cards of an archive from before them have been written (stories by id), and
-- whether all have: a start of a node checks this one row, not the archive.
CREATE TABLE item_cards_backfill (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    after BIGINT NOT NULL,
    done BOOLEAN NOT NULL
);
INSERT INTO item_cards_backfill (id, after, done) VALUES (1, 0, FALSE);
