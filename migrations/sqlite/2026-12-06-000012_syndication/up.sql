-- Partner sites that syndicate the newsroom's stories. Languages are codes and tags are tag
-- ids, each a JSON array; an empty array allows every one.
CREATE TABLE partners (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    contact_email TEXT NOT NULL,
    languages TEXT NOT NULL,
    tags TEXT NOT NULL,
    requests_per_minute INTEGER NOT NULL,
    expires_at TIMESTAMP,
    last_used_at TIMESTAMP,
    version INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- A partner's keys: only a SHA-256 of each is stored, with the first characters to recognise
-- it by. A key with `revoked_at` works until that time (a rotation's grace period).
CREATE TABLE partner_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    partner_id BIGINT NOT NULL REFERENCES partners (id) ON DELETE CASCADE,
    key_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE INDEX partner_keys_partner ON partner_keys (partner_id, id);

-- What each key was used for, per day.
CREATE TABLE partner_usage (
    key_id BIGINT NOT NULL REFERENCES partner_keys (id) ON DELETE CASCADE,
    partner_id BIGINT NOT NULL REFERENCES partners (id) ON DELETE CASCADE,
    day DATE NOT NULL,
    requests BIGINT NOT NULL,
    items BIGINT NOT NULL,
    client_errors BIGINT NOT NULL,
    rate_limited BIGINT NOT NULL,
    PRIMARY KEY (key_id, day)
);
CREATE INDEX partner_usage_partner ON partner_usage (partner_id, day);

-- The change feed: one row per story and language, moved to the head of the feed (a new
-- `seq`) each time what partners see of it changes. `seq` is the content version the change
-- committed with; the version row's lock orders commits, so rows appear in `seq` order and a
-- reader that has seen a `seq` never misses a smaller one. No foreign keys: a tombstone
-- outlives its story.
CREATE TABLE syndication_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    seq BIGINT NOT NULL,
    article_id BIGINT NOT NULL,
    lang TEXT NOT NULL,
    translation_id BIGINT NOT NULL,
    action TEXT NOT NULL,
    reason TEXT,
    changed_at TIMESTAMP NOT NULL,
    UNIQUE (article_id, lang)
);
CREATE INDEX syndication_changes_seq ON syndication_changes (seq, id);

-- Every story already published and syndicated, oldest first, as the feed's beginning.
INSERT INTO syndication_changes (seq, article_id, lang, translation_id, action, changed_at)
SELECT (SELECT version FROM content_version WHERE id = 1), t.article_id, t.lang, t.id, 'upsert',
       COALESCE(t.published_at, t.updated_at)
FROM translations t JOIN articles a ON a.id = t.article_id
WHERE t.status = 'published' AND a.syndicate
ORDER BY COALESCE(t.published_at, t.updated_at), t.id;
