-- Tags: a slug and a kind, with a name and description per language.
CREATE TABLE tags (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    slug TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX tags_kind ON tags (kind, slug);

CREATE TABLE tag_translations (
    tag_id BIGINT NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    lang TEXT NOT NULL REFERENCES languages (code) ON DELETE RESTRICT,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (tag_id, lang)
);
CREATE INDEX tag_translations_lang ON tag_translations (lang);

-- A story: the language-independent facts. Its text lives in translations.
CREATE TABLE articles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('news', 'opinion', 'analysis', 'live', 'digest')),
    primary_tag_id BIGINT REFERENCES tags (id) ON DELETE SET NULL,
    image_url TEXT,
    image_alt TEXT,
    image_credit TEXT,
    syndicate BOOLEAN NOT NULL DEFAULT 0,
    featured BOOLEAN NOT NULL DEFAULT 0,
    created_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX articles_updated ON articles (updated_at, id);
CREATE INDEX articles_created ON articles (created_at, id);
CREATE INDEX articles_created_by ON articles (created_by);
CREATE INDEX articles_kind ON articles (kind);

CREATE TABLE article_tags (
    article_id BIGINT NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    tag_id BIGINT NOT NULL REFERENCES tags (id) ON DELETE RESTRICT,
    position INTEGER NOT NULL,
    PRIMARY KEY (article_id, tag_id)
);
CREATE INDEX article_tags_tag ON article_tags (tag_id, article_id);

CREATE TABLE article_bylines (
    article_id BIGINT NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    PRIMARY KEY (article_id, user_id)
);
CREATE INDEX article_bylines_user ON article_bylines (user_id, article_id);

-- A story in one language. `version` moves on every write (it is the ETag); `content_version`
-- only when the text changes, which is what translations made from this one compare against.
CREATE TABLE translations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id BIGINT NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    lang TEXT NOT NULL REFERENCES languages (code) ON DELETE RESTRICT,
    slug TEXT NOT NULL,
    title TEXT NOT NULL,
    subtitle TEXT NOT NULL,
    excerpt TEXT NOT NULL,
    excerpt_auto BOOLEAN NOT NULL,
    seo_title TEXT NOT NULL,
    seo_description TEXT NOT NULL,
    word_count INTEGER NOT NULL,
    reading_minutes INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'in_review', 'scheduled', 'published', 'archived')),
    scheduled_at TIMESTAMP,
    published_at TIMESTAMP,
    version INTEGER NOT NULL,
    content_version INTEGER NOT NULL,
    source_translation_id BIGINT REFERENCES translations (id) ON DELETE SET NULL,
    source_version INTEGER,
    source_latest_version INTEGER,
    created_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    updated_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    -- Last: SQLite keeps a long value in overflow pages, which every column after it would
    -- make a list query read.
    body TEXT NOT NULL,
    UNIQUE (article_id, lang),
    UNIQUE (lang, slug)
);
CREATE INDEX translations_due ON translations (scheduled_at) WHERE status = 'scheduled';
CREATE INDEX translations_status ON translations (status, lang, article_id);
CREATE INDEX translations_source ON translations (source_translation_id);

-- Every slug a translation has had, the current one included: old links resolve, and no other
-- story in the language can take a slug that once pointed elsewhere.
CREATE TABLE translation_slugs (
    lang TEXT NOT NULL,
    slug TEXT NOT NULL,
    translation_id BIGINT NOT NULL REFERENCES translations (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (lang, slug)
);
CREATE INDEX translation_slugs_translation ON translation_slugs (translation_id);

-- Every saved state of a translation; `version` is the translation's version it produced.
CREATE TABLE revisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    translation_id BIGINT NOT NULL REFERENCES translations (id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    action TEXT NOT NULL,
    status TEXT NOT NULL,
    slug TEXT NOT NULL,
    title TEXT NOT NULL,
    subtitle TEXT NOT NULL,
    excerpt TEXT NOT NULL,
    seo_title TEXT NOT NULL,
    seo_description TEXT NOT NULL,
    saved_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    saved_at TIMESTAMP NOT NULL,
    body TEXT NOT NULL,
    UNIQUE (translation_id, version)
);

-- Timestamped updates of a live story, per translation.
CREATE TABLE live_entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    translation_id BIGINT NOT NULL REFERENCES translations (id) ON DELETE CASCADE,
    body TEXT NOT NULL,
    pinned BOOLEAN NOT NULL DEFAULT 0,
    created_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    updated_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX live_entries_translation ON live_entries (translation_id, id);

-- Who changed what, from where. No foreign key: the record outlives accounts and objects.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TIMESTAMP NOT NULL,
    user_id BIGINT,
    user_email TEXT,
    action TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    client_addr TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX audit_log_object ON audit_log (object_type, object_id, id);
CREATE INDEX audit_log_user ON audit_log (user_id, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
CREATE INDEX audit_log_at ON audit_log (at);
