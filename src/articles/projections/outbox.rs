//! The webhook outbox: the events a change announces, and a delivery of each to every endpoint
//! that listens for it, written in the transaction of the change. A committed change always
//! has its events; a rolled-back one never does. What sends them is `crate::webhooks`.
//!
//! Which event a translation's write is — published, updated or unpublished — depends on
//! whether the last event had it published: `webhook_published` keeps that.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use serde_json::{json, Value};

use crate::articles::workflow::Status;
use crate::cache::keys;
use crate::db::schema::{
    article_tags, tags, translations, webhook_deliveries as wd, webhook_endpoints as we,
    webhook_events as ev, webhook_published as wp,
};
use crate::db::{now, DbConn};
use crate::db_run;
use crate::error::AppResult;

pub const PUBLISHED: &str = "article.published";
pub const UPDATED: &str = "article.updated";
pub const UNPUBLISHED: &str = "article.unpublished";
pub const DELETED: &str = "article.deleted";
pub const TAG_CHANGED: &str = "tag.changed";
pub const LANGUAGE_CHANGED: &str = "language.changed";
pub const PROMPT_CHANGED: &str = "donation_prompt.changed";
/// A test event an admin asks for; delivered only to the endpoint it was asked for.
pub const PING: &str = "ping";

/// Every event an endpoint may subscribe to.
pub const EVENT_TYPES: [&str; 7] = [
    PUBLISHED,
    UPDATED,
    UNPUBLISHED,
    DELETED,
    TAG_CHANGED,
    LANGUAGE_CHANGED,
    PROMPT_CHANGED,
];

/// Delivery states.
pub const PENDING: &str = "pending";
pub const DELIVERED: &str = "delivered";
pub const FAILED: &str = "failed";

/// One event to announce.
pub struct Event {
    pub kind: &'static str,
    /// What it is about, as its body's `data` starts from.
    pub subject: Value,
    /// Its language, for endpoints that listen to some languages only.
    pub lang: Option<String>,
    /// The surrogate keys of what it touched, for CDN purges.
    pub keys: Vec<String>,
}

/// A translation as the events see it.
struct Written {
    id: i64,
    article_id: i64,
    lang: String,
    published: bool,
}

/// Events for translations written (created, saved, moved): published, updated or unpublished.
pub fn translations(conn: &mut DbConn, ids: &[i64]) -> AppResult<Vec<Event>> {
    let ids = ids.to_vec();
    let rows: Vec<(i64, i64, String, String)> = db_run!(conn, |c| translations::table
        .filter(translations::id.eq_any(&ids))
        .select((
            translations::id,
            translations::article_id,
            translations::lang,
            translations::status,
        ))
        .load(c))?;
    let written: Vec<Written> = rows
        .into_iter()
        .map(|(id, article_id, lang, status)| Written {
            id,
            article_id,
            lang,
            published: status == Status::Published.as_str(),
        })
        .collect();
    let known: HashSet<i64> = db_run!(conn, |c| wp::table
        .filter(wp::translation_id.eq_any(&ids))
        .select(wp::translation_id)
        .load::<i64>(c))?
    .into_iter()
    .collect();
    // What each write announces; a draft that was never published announces nothing, and
    // costs nothing more.
    let announced: Vec<(&Written, &'static str)> = written
        .iter()
        .filter_map(|t| match (known.contains(&t.id), t.published) {
            (false, true) => Some((t, PUBLISHED)),
            (true, true) => Some((t, UPDATED)),
            (true, false) => Some((t, UNPUBLISHED)),
            (false, false) => None,
        })
        .collect();
    if announced.is_empty() {
        return Ok(Vec::new());
    }
    let mut stories: Vec<i64> = announced.iter().map(|(t, _)| t.article_id).collect();
    stories.sort_unstable();
    stories.dedup();
    let slugs = tag_slugs(conn, &stories)?;
    let mut events = Vec::with_capacity(announced.len());
    let mut now_published = Vec::new();
    let mut withdrawn = Vec::new();
    for (t, kind) in announced {
        if kind == PUBLISHED {
            now_published.push((
                wp::translation_id.eq(t.id),
                wp::article_id.eq(t.article_id),
                wp::lang.eq(&t.lang),
            ));
        } else if kind == UNPUBLISHED {
            withdrawn.push(t.id);
        }
        let tags = slugs.get(&t.article_id).map_or(&[][..], Vec::as_slice);
        events.push(article_event(kind, t.article_id, &t.lang, t.id, tags));
    }
    db_run!(conn, |c| {
        if !now_published.is_empty() {
            diesel::insert_into(wp::table)
                .values(&now_published)
                .execute(c)?;
        }
        if !withdrawn.is_empty() {
            diesel::delete(wp::table.filter(wp::translation_id.eq_any(&withdrawn))).execute(c)?;
        }
        QueryResult::Ok(())
    })?;
    Ok(events)
}

/// `article.updated` for each published translation of the story (its facts or entries changed).
pub fn story_changed(conn: &mut DbConn, article_id: i64) -> AppResult<Vec<Event>> {
    let rows = published_of(conn, article_id)?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let slugs = tag_slugs(conn, &[article_id])?
        .remove(&article_id)
        .unwrap_or_default();
    Ok(rows
        .into_iter()
        .map(|(id, lang)| article_event(UPDATED, article_id, &lang, id, &slugs))
        .collect())
}

/// `article.deleted` for a deleted translation that was published.
pub fn translation_deleted(
    conn: &mut DbConn,
    article_id: i64,
    translation_id: i64,
) -> AppResult<Vec<Event>> {
    let lang: Option<String> = db_run!(conn, |c| diesel::delete(wp::table.find(translation_id))
        .returning(wp::lang)
        .get_result(c)
        .optional())?;
    let Some(lang) = lang else {
        return Ok(Vec::new());
    };
    let slugs = tag_slugs(conn, &[article_id])?
        .remove(&article_id)
        .unwrap_or_default();
    Ok(vec![article_event(
        DELETED,
        article_id,
        &lang,
        translation_id,
        &slugs,
    )])
}

/// `article.deleted` for each published translation of a deleted story.
pub fn story_deleted(conn: &mut DbConn, article_id: i64) -> AppResult<Vec<Event>> {
    let rows = published_of(conn, article_id)?;
    db_run!(conn, |c| diesel::delete(
        wp::table.filter(wp::article_id.eq(article_id))
    )
    .execute(c))?;
    // The story's tags went with it: its keys name it, its translations and languages.
    Ok(rows
        .into_iter()
        .map(|(id, lang)| Event {
            kind: DELETED,
            subject: json!({ "id": article_id, "lang": lang, "translation_id": id }),
            keys: vec![
                keys::article(article_id),
                keys::translation(id),
                keys::lang(&lang),
                keys::ARTICLES.to_owned(),
            ],
            lang: Some(lang),
        })
        .collect())
}

/// `tag.changed`.
pub fn tag_changed(conn: &mut DbConn, id: i64) -> AppResult<Event> {
    let slug: Option<String> = db_run!(conn, |c| tags::table
        .find(id)
        .select(tags::slug)
        .first(c)
        .optional())?;
    let mut surrogate = vec![keys::TAGS.to_owned()];
    surrogate.extend(slug.as_deref().map(keys::tag));
    Ok(Event {
        kind: TAG_CHANGED,
        subject: json!({ "id": id, "slug": slug }),
        lang: None,
        keys: surrogate,
    })
}

/// `language.changed`.
pub fn language_changed(code: &str) -> Event {
    Event {
        kind: LANGUAGE_CHANGED,
        subject: json!({ "code": code }),
        lang: Some(code.to_owned()),
        keys: vec![keys::LANGUAGES.to_owned(), keys::lang(code)],
    }
}

/// `donation_prompt.changed`.
pub fn prompt_changed(id: i64) -> Event {
    Event {
        kind: PROMPT_CHANGED,
        subject: json!({ "id": id }),
        lang: None,
        keys: vec![keys::DONATION_PROMPTS.to_owned()],
    }
}

fn published_of(conn: &mut DbConn, article_id: i64) -> AppResult<Vec<(i64, String)>> {
    Ok(db_run!(conn, |c| wp::table
        .filter(wp::article_id.eq(article_id))
        .select((wp::translation_id, wp::lang))
        .load(c))?)
}

/// The slugs of the tags of each of these stories.
fn tag_slugs(conn: &mut DbConn, stories: &[i64]) -> AppResult<HashMap<i64, Vec<String>>> {
    let rows: Vec<(i64, String)> = db_run!(conn, |c| article_tags::table
        .inner_join(tags::table)
        .filter(article_tags::article_id.eq_any(stories))
        .select((article_tags::article_id, tags::slug))
        .load(c))?;
    let mut slugs: HashMap<i64, Vec<String>> = HashMap::new();
    for (story, slug) in rows {
        slugs.entry(story).or_default().push(slug);
    }
    Ok(slugs)
}

/// An event about one translation of a story carrying the tags `slugs`.
fn article_event(
    kind: &'static str,
    article_id: i64,
    lang: &str,
    translation_id: i64,
    slugs: &[String],
) -> Event {
    let mut surrogate = vec![
        keys::article(article_id),
        keys::translation(translation_id),
        keys::lang(lang),
        keys::ARTICLES.to_owned(),
        keys::MOST_READ.to_owned(),
    ];
    surrogate.extend(slugs.iter().map(|s| keys::tag(s)));
    Event {
        kind,
        subject: json!({ "id": article_id, "lang": lang, "translation_id": translation_id }),
        lang: Some(lang.to_owned()),
        keys: surrogate,
    }
}

/// A new event id: what receivers dedupe on (`webhook-id`).
pub fn new_event_id() -> String {
    format!("msg_{}", crate::auth::random_token(16))
}

/// Writes `events` and a pending delivery of each to every enabled endpoint that listens for
/// it (every purge endpoint hears every event). Call in the transaction of the change.
pub fn write(conn: &mut DbConn, events: Vec<Event>) -> AppResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let endpoints: Vec<(i64, String, String, String)> = db_run!(conn, |c| we::table
        .filter(we::enabled.eq(true))
        .select((we::id, we::kind, we::events, we::languages))
        .load(c))?;
    for chunk in events.chunks(500) {
        let ids = insert_events(conn, chunk)?;
        let mut pairs = Vec::new();
        for (event, id) in chunk.iter().zip(ids) {
            pairs.extend(
                endpoints
                    .iter()
                    .filter(|(_, kind, types, langs)| listens(kind, types, langs, event))
                    .map(|(endpoint, ..)| (id, *endpoint)),
            );
        }
        queue(conn, pairs)?;
    }
    Ok(())
}

/// New pending deliveries, one per (event row id, endpoint id); returns how many.
pub fn queue(conn: &mut DbConn, pairs: impl IntoIterator<Item = (i64, i64)>) -> AppResult<usize> {
    let at = now();
    let rows: Vec<_> = pairs
        .into_iter()
        .map(|(event, endpoint)| {
            (
                wd::event_id.eq(event),
                wd::endpoint_id.eq(endpoint),
                wd::status.eq(PENDING),
                wd::attempts.eq(0),
                wd::next_attempt_at.eq(at),
                wd::created_at.eq(at),
                wd::updated_at.eq(at),
            )
        })
        .collect();
    if rows.is_empty() {
        return Ok(0);
    }
    Ok(db_run!(conn, |c| diesel::insert_into(wd::table)
        .values(&rows)
        .execute(c))?)
}

/// Writes one event without deliveries; returns its row id.
pub fn insert_event(conn: &mut DbConn, event: &Event) -> AppResult<i64> {
    Ok(insert_events(conn, std::slice::from_ref(event))?[0])
}

/// Writes events without deliveries, in one statement; returns their row ids in their order.
fn insert_events(conn: &mut DbConn, events: &[Event]) -> AppResult<Vec<i64>> {
    let at = now();
    let event_ids: Vec<String> = events.iter().map(|_| new_event_id()).collect();
    let rows: Vec<_> = events
        .iter()
        .zip(&event_ids)
        .map(|(event, event_id)| {
            let mut subject = event.subject.clone();
            if let (Some(lang), Value::Object(map)) = (&event.lang, &mut subject) {
                map.entry("lang").or_insert_with(|| json!(lang));
            }
            (
                ev::event_id.eq(event_id),
                ev::kind.eq(event.kind),
                ev::subject.eq(subject.to_string()),
                ev::surrogate_keys.eq(serde_json::to_string(&event.keys).unwrap_or_default()),
                ev::created_at.eq(at),
            )
        })
        .collect();
    // Matched back by event id: a statement's RETURNING order is not promised.
    let written: HashMap<String, i64> = db_run!(conn, |c| diesel::insert_into(ev::table)
        .values(&rows)
        .returning((ev::event_id, ev::id))
        .get_results::<(String, i64)>(c))?
    .into_iter()
    .collect();
    event_ids
        .iter()
        .map(|event_id| {
            written.get(event_id).copied().ok_or_else(|| {
                crate::error::AppError::Internal("an event row was not written".into())
            })
        })
        .collect()
}

/// Whether an endpoint of `kind` with these JSON lists of event types and languages hears
/// `event`.
pub fn listens(kind: &str, types: &str, langs: &str, event: &Event) -> bool {
    if kind == "purge" {
        return !event.keys.is_empty();
    }
    let types: Vec<String> = serde_json::from_str(types).unwrap_or_default();
    let langs: Vec<String> = serde_json::from_str(langs).unwrap_or_default();
    let typed = types.iter().any(|t| t == "*" || t == event.kind);
    let in_lang = langs.is_empty()
        || event
            .lang
            .as_ref()
            .is_none_or(|l| langs.iter().any(|x| x == l));
    typed && in_lang
}
