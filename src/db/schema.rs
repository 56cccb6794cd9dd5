//! The tables, written once for both backends: every column type here means the same on SQLite
//! and PostgreSQL (ids are 64-bit, times are UTC `TIMESTAMP`s).

diesel::table! {
    languages (code) {
        code -> Text,
        name -> Text,
        native_name -> Text,
        direction -> Text,
        enabled -> Bool,
        position -> Integer,
        fallback_code -> Nullable<Text>,
        is_default -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        email -> Text,
        display_name -> Text,
        role -> Text,
        password_hash -> Text,
        disabled -> Bool,
        token_version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        last_login_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> BigInt,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        user_agent -> Nullable<Text>,
        client_addr -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Text,
        session_id -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    rate_limits (key) {
        key -> Text,
        hits -> Integer,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    tags (id) {
        id -> BigInt,
        slug -> Text,
        kind -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    tag_translations (tag_id, lang) {
        tag_id -> BigInt,
        lang -> Text,
        name -> Text,
        description -> Text,
    }
}

diesel::table! {
    articles (id) {
        id -> BigInt,
        kind -> Text,
        primary_tag_id -> Nullable<BigInt>,
        image_url -> Nullable<Text>,
        image_alt -> Nullable<Text>,
        image_credit -> Nullable<Text>,
        syndicate -> Bool,
        featured -> Bool,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
        facts_updated_at -> Timestamp,
        image_media_id -> Nullable<BigInt>,
        image_captions -> Text,
    }
}

diesel::table! {
    article_tags (article_id, tag_id) {
        article_id -> BigInt,
        tag_id -> BigInt,
        position -> Integer,
    }
}

diesel::table! {
    article_bylines (article_id, user_id) {
        article_id -> BigInt,
        user_id -> BigInt,
        position -> Integer,
    }
}

diesel::table! {
    translations (id) {
        id -> BigInt,
        article_id -> BigInt,
        lang -> Text,
        slug -> Text,
        title -> Text,
        subtitle -> Text,
        body -> Text,
        excerpt -> Text,
        excerpt_auto -> Bool,
        seo_title -> Text,
        seo_description -> Text,
        word_count -> Integer,
        reading_minutes -> Integer,
        status -> Text,
        scheduled_at -> Nullable<Timestamp>,
        published_at -> Nullable<Timestamp>,
        version -> Integer,
        content_version -> Integer,
        source_translation_id -> Nullable<BigInt>,
        source_version -> Nullable<Integer>,
        source_latest_version -> Nullable<Integer>,
        created_by -> Nullable<BigInt>,
        updated_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    translation_slugs (lang, slug) {
        lang -> Text,
        slug -> Text,
        translation_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    revisions (id) {
        id -> BigInt,
        translation_id -> BigInt,
        version -> Integer,
        action -> Text,
        status -> Text,
        slug -> Text,
        title -> Text,
        subtitle -> Text,
        body -> Text,
        excerpt -> Text,
        seo_title -> Text,
        seo_description -> Text,
        saved_by -> Nullable<BigInt>,
        saved_at -> Timestamp,
    }
}

diesel::table! {
    live_entries (id) {
        id -> BigInt,
        translation_id -> BigInt,
        body -> Text,
        pinned -> Bool,
        created_by -> Nullable<BigInt>,
        updated_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        at -> Timestamp,
        user_id -> Nullable<BigInt>,
        user_email -> Nullable<Text>,
        action -> Text,
        object_type -> Text,
        object_id -> Text,
        client_addr -> Nullable<Text>,
        detail -> Text,
    }
}

diesel::table! {
    /// The Content API's only window on translations: a view of the published ones.
    published_translations (id) {
        id -> BigInt,
        article_id -> BigInt,
        lang -> Text,
        slug -> Text,
        title -> Text,
        subtitle -> Text,
        body -> Text,
        excerpt -> Text,
        seo_title -> Text,
        seo_description -> Text,
        word_count -> Integer,
        reading_minutes -> Integer,
        published_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Each published translation as a list item shows it (see `content::cards`).
    item_cards (translation_id) {
        translation_id -> BigInt,
        article_id -> BigInt,
        packed -> Binary,
    }
}

diesel::table! {
    /// How far the cards of an archive from before them have been written.
    item_cards_backfill (id) {
        id -> Integer,
        after -> BigInt,
        done -> Bool,
    }
}

diesel::table! {
    content_changes (version) {
        version -> BigInt,
        keys -> Text,
    }
}

diesel::table! {
    content_version (id) {
        id -> Integer,
        version -> BigInt,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    view_counts (translation_id, day) {
        translation_id -> BigInt,
        lang -> Text,
        day -> Date,
        views -> BigInt,
    }
}

diesel::table! {
    donation_prompts (id) {
        id -> BigInt,
        name -> Text,
        status -> Text,
        placement -> Text,
        languages -> Text,
        article_types -> Text,
        starts_at -> Nullable<Timestamp>,
        ends_at -> Nullable<Timestamp>,
        priority -> Integer,
        weight -> Integer,
        hints -> Text,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        updated_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    donation_prompt_tags (prompt_id, tag_id) {
        prompt_id -> BigInt,
        tag_id -> BigInt,
        excluded -> Bool,
    }
}

diesel::table! {
    donation_prompt_translations (prompt_id, lang) {
        prompt_id -> BigInt,
        lang -> Text,
        headline -> Text,
        body -> Text,
        button_label -> Text,
        target_url -> Text,
    }
}

diesel::table! {
    donation_prompt_events (prompt_id, day, lang) {
        prompt_id -> BigInt,
        lang -> Text,
        day -> Date,
        impressions -> BigInt,
        clicks -> BigInt,
        dismissals -> BigInt,
    }
}

diesel::table! {
    partners (id) {
        id -> BigInt,
        name -> Text,
        contact_email -> Text,
        languages -> Text,
        tags -> Text,
        requests_per_minute -> Integer,
        expires_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    partner_keys (id) {
        id -> BigInt,
        partner_id -> BigInt,
        key_hash -> Text,
        prefix -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    partner_usage (key_id, day) {
        key_id -> BigInt,
        partner_id -> BigInt,
        day -> Date,
        requests -> BigInt,
        items -> BigInt,
        client_errors -> BigInt,
        rate_limited -> BigInt,
    }
}

diesel::table! {
    /// The change feed partners follow: one row per story and language (see the migration).
    syndication_changes (id) {
        id -> BigInt,
        seq -> BigInt,
        article_id -> BigInt,
        lang -> Text,
        translation_id -> BigInt,
        action -> Text,
        reason -> Nullable<Text>,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    webhook_endpoints (id) {
        id -> BigInt,
        kind -> Text,
        url -> Text,
        provider -> Nullable<Text>,
        events -> Text,
        languages -> Text,
        description -> Text,
        enabled -> Bool,
        disabled_reason -> Nullable<Text>,
        secret -> Text,
        previous_secret -> Nullable<Text>,
        previous_secret_until -> Nullable<Timestamp>,
        failing_since -> Nullable<Timestamp>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    webhook_events (id) {
        id -> BigInt,
        event_id -> Text,
        #[sql_name = "type"]
        kind -> Text,
        subject -> Text,
        surrogate_keys -> Text,
        payload -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> BigInt,
        event_id -> BigInt,
        endpoint_id -> BigInt,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        claimed_until -> Nullable<Timestamp>,
        last_status -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    webhook_attempts (id) {
        id -> BigInt,
        delivery_id -> BigInt,
        endpoint_id -> BigInt,
        attempt -> Integer,
        at -> Timestamp,
        duration_ms -> Integer,
        response_status -> Nullable<Integer>,
        response_body -> Nullable<Text>,
        error -> Nullable<Text>,
    }
}

diesel::table! {
    webhook_published (translation_id) {
        translation_id -> BigInt,
        article_id -> BigInt,
        lang -> Text,
    }
}

diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(published_translations -> articles (article_id));
diesel::joinable!(tag_translations -> tags (tag_id));
diesel::joinable!(article_tags -> articles (article_id));
diesel::joinable!(article_tags -> tags (tag_id));
diesel::joinable!(article_bylines -> articles (article_id));
diesel::joinable!(article_bylines -> users (user_id));
diesel::joinable!(translations -> articles (article_id));
diesel::joinable!(translation_slugs -> translations (translation_id));
diesel::joinable!(revisions -> translations (translation_id));
diesel::joinable!(live_entries -> translations (translation_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(donation_prompt_tags -> donation_prompts (prompt_id));
diesel::joinable!(donation_prompt_tags -> tags (tag_id));
diesel::joinable!(donation_prompt_translations -> donation_prompts (prompt_id));
diesel::joinable!(donation_prompt_events -> donation_prompts (prompt_id));
diesel::table! {
    media (id) {
        id -> BigInt,
        hash -> Text,
        kind -> Text,
        width -> Integer,
        height -> Integer,
        bytes -> BigInt,
        alpha -> Bool,
        focal_x -> Double,
        focal_y -> Double,
        credit -> Text,
        licence -> Text,
        placeholder -> Text,
        renditions -> Text,
        status -> Text,
        problem -> Nullable<Text>,
        search_text -> Text,
        uploaded_by -> Nullable<BigInt>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    media_texts (media_id, lang) {
        media_id -> BigInt,
        lang -> Text,
        alt -> Text,
        caption -> Text,
        credit -> Text,
    }
}

diesel::table! {
    media_uses (media_id, translation_id) {
        media_id -> BigInt,
        translation_id -> BigInt,
        article_id -> BigInt,
    }
}

diesel::joinable!(media_texts -> media (media_id));
diesel::joinable!(partner_keys -> partners (partner_id));
diesel::joinable!(webhook_deliveries -> webhook_events (event_id));
diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));
diesel::joinable!(webhook_attempts -> webhook_deliveries (delivery_id));

diesel::allow_tables_to_appear_in_same_query!(
    content_changes,
    languages,
    item_cards,
    item_cards_backfill,
    users,
    sessions,
    refresh_tokens,
    rate_limits,
    tags,
    tag_translations,
    articles,
    article_tags,
    article_bylines,
    translations,
    translation_slugs,
    revisions,
    live_entries,
    audit_log,
    published_translations,
    content_version,
    view_counts,
    donation_prompts,
    donation_prompt_tags,
    donation_prompt_translations,
    donation_prompt_events,
    partners,
    partner_keys,
    partner_usage,
    syndication_changes,
    webhook_endpoints,
    webhook_events,
    webhook_deliveries,
    webhook_attempts,
    webhook_published,
    media,
    media_texts,
    media_uses
);
