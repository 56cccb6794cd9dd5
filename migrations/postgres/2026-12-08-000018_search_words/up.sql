-- Every word of three letters or more that the search index has held: a search as you type
-- looks here first, and when no other word begins with the last word typed (most searches),
-- it skips matching that word as a prefix, which costs as much as the rest of the search. The
-- list only grows: a word no published story holds any longer makes a search try the prefix
-- for nothing, never miss a match. "C" order: the words beginning with a prefix lie together.
CREATE TABLE search_words (
    word TEXT COLLATE "C" PRIMARY KEY
);
INSERT INTO search_words (word)
SELECT word FROM ts_stat('SELECT document FROM search_index')
WHERE char_length(word) >= 3
ORDER BY word;
