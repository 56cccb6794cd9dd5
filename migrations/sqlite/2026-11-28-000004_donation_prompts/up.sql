-- Donation prompts: fundraising messages editors manage, with targeting, a window and rotation.
CREATE TABLE donation_prompts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'paused', 'archived')),
    placement TEXT NOT NULL,
    -- Space-separated language codes and article types; empty targets every one.
    languages TEXT NOT NULL,
    article_types TEXT NOT NULL,
    starts_at TIMESTAMP,
    ends_at TIMESTAMP,
    priority INTEGER NOT NULL,
    weight INTEGER NOT NULL CHECK (weight > 0),
    -- Display hints for frontends, a JSON object kept as sent.
    hints TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    updated_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    CHECK (ends_at IS NULL OR starts_at IS NULL OR ends_at > starts_at)
);
CREATE INDEX donation_prompts_status ON donation_prompts (status, placement, id);

-- The tags a prompt is shown with (any of them), or never shown with (excluded).
CREATE TABLE donation_prompt_tags (
    prompt_id BIGINT NOT NULL REFERENCES donation_prompts (id) ON DELETE CASCADE,
    tag_id BIGINT NOT NULL REFERENCES tags (id) ON DELETE RESTRICT,
    excluded BOOLEAN NOT NULL,
    PRIMARY KEY (prompt_id, tag_id)
);
CREATE INDEX donation_prompt_tags_tag ON donation_prompt_tags (tag_id);

CREATE TABLE donation_prompt_translations (
    prompt_id BIGINT NOT NULL REFERENCES donation_prompts (id) ON DELETE CASCADE,
    lang TEXT NOT NULL REFERENCES languages (code) ON DELETE RESTRICT,
    headline TEXT NOT NULL,
    body TEXT NOT NULL,
    button_label TEXT NOT NULL,
    target_url TEXT NOT NULL,
    PRIMARY KEY (prompt_id, lang)
);

-- What readers saw and did, per prompt, language and day.
CREATE TABLE donation_prompt_events (
    prompt_id BIGINT NOT NULL REFERENCES donation_prompts (id) ON DELETE CASCADE,
    lang TEXT NOT NULL,
    day DATE NOT NULL,
    impressions BIGINT NOT NULL,
    clicks BIGINT NOT NULL,
    dismissals BIGINT NOT NULL,
    PRIMARY KEY (prompt_id, day, lang)
);
CREATE INDEX donation_prompt_events_day ON donation_prompt_events (day, prompt_id);
