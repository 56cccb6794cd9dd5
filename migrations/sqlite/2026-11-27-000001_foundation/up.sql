-- Languages the newsroom publishes in. The code is a normalised BCP 47 tag.
CREATE TABLE languages (
    code TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    native_name TEXT NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('ltr', 'rtl')),
    enabled BOOLEAN NOT NULL DEFAULT 1,
    position INTEGER NOT NULL DEFAULT 0,
    fallback_code TEXT REFERENCES languages (code) ON DELETE RESTRICT,
    is_default BOOLEAN NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
-- At most one row can be the default; the application keeps it at exactly one.
CREATE UNIQUE INDEX languages_one_default ON languages (is_default) WHERE is_default;
CREATE INDEX languages_switcher_order ON languages (position, code);
CREATE INDEX languages_fallback ON languages (fallback_code);

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('contributor', 'author', 'editor', 'admin')),
    password_hash TEXT NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT 0,
    token_version INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    last_login_at TIMESTAMP
);
CREATE INDEX users_role ON users (role, disabled);

-- A sign-in: one refresh-token family. Revoking it ends every token issued in it.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    user_agent TEXT,
    client_addr TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- Fixed-window counters shared by every node: the key names the subject and the window.
CREATE TABLE rate_limits (
    key TEXT PRIMARY KEY NOT NULL,
    hits INTEGER NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX rate_limits_expiry ON rate_limits (expires_at);
