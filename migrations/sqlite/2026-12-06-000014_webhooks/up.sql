-- Endpoints that hear of changes: webhooks (signed events) and CDN purges (surrogate keys).
-- Events and languages are JSON arrays (`["*"]`: every event; `[]`: every language). A
-- webhook's secret signs its events (a purge endpoint's is the provider's API token); during a
-- rotation the previous one signs too, until `previous_secret_until`.
CREATE TABLE webhook_endpoints (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    url TEXT NOT NULL,
    provider TEXT,
    events TEXT NOT NULL,
    languages TEXT NOT NULL,
    description TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    disabled_reason TEXT,
    secret TEXT NOT NULL,
    previous_secret TEXT,
    previous_secret_until TIMESTAMP,
    failing_since TIMESTAMP,
    version INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- The outbox: each event, written in the transaction of the change it announces. Its body is
-- made at the first attempt and kept, so every retry sends the same.
CREATE TABLE webhook_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    subject TEXT NOT NULL,
    surrogate_keys TEXT NOT NULL,
    payload TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX webhook_events_created ON webhook_events (created_at);

-- One event to one endpoint, until it is delivered or given up.
CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id BIGINT NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
    endpoint_id BIGINT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    claimed_until TIMESTAMP,
    last_status INTEGER,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);

-- Every attempt, for the delivery log.
CREATE TABLE webhook_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id BIGINT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    endpoint_id BIGINT NOT NULL,
    attempt INTEGER NOT NULL,
    at TIMESTAMP NOT NULL,
    duration_ms INTEGER NOT NULL,
    response_status INTEGER,
    response_body TEXT,
    error TEXT
);
CREATE INDEX webhook_attempts_endpoint ON webhook_attempts (endpoint_id, id);

-- The translations published as the last events told: what tells a publication from an update.
CREATE TABLE webhook_published (
    translation_id BIGINT PRIMARY KEY,
    article_id BIGINT NOT NULL,
    lang TEXT NOT NULL
);
CREATE INDEX webhook_published_article ON webhook_published (article_id);
INSERT INTO webhook_published (translation_id, article_id, lang)
SELECT id, article_id, lang FROM translations WHERE status = 'published';
