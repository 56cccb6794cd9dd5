DROP TABLE syndication_changes;
DROP TABLE partner_usage;
DROP TABLE partner_keys;
DROP TABLE partners;
