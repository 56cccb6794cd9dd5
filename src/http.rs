//! How the Content API answers: through this node's response cache, with a strong ETag,
//! conditional GETs (304), `Cache-Control`, `Last-Modified` and cache tags for CDN purging.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::content::cache::Cached;
use crate::db::DbConn;
use crate::error::AppResult;

/// A response the Content API computed, before it is cached and sent.
pub struct Fresh {
    status: StatusCode,
    body: Vec<u8>,
    last_modified: Option<NaiveDateTime>,
    keys: Vec<String>,
    location: Option<String>,
    content_language: Option<String>,
    ttl: Option<Duration>,
}

impl Fresh {
    /// 200 with `value` as JSON.
    pub fn json<T: Serialize>(value: &T) -> AppResult<Fresh> {
        Ok(Fresh {
            status: StatusCode::OK,
            body: serde_json::to_vec(value)?,
            last_modified: None,
            keys: Vec::new(),
            location: None,
            content_language: None,
            ttl: None,
        })
    }

    /// 301 to `location`: where an old link now lives.
    pub fn moved(location: String) -> Fresh {
        Fresh {
            status: StatusCode::MOVED_PERMANENTLY,
            body: Vec::new(),
            last_modified: None,
            keys: Vec::new(),
            location: Some(location),
            content_language: None,
            ttl: None,
        }
    }

    /// The newest change the response shows.
    pub fn modified(mut self, at: Option<NaiveDateTime>) -> Self {
        self.last_modified = at;
        self
    }

    /// Cache tags: the story, its tags and language, so a CDN can purge exactly what changed.
    pub fn tags<I: IntoIterator<Item = String>>(mut self, keys: I) -> Self {
        self.keys.extend(keys);
        self
    }

    /// For a response served in another language than asked for.
    pub fn language(mut self, lang: String) -> Self {
        self.content_language = Some(lang);
        self
    }

    /// For responses that change without an editorial change (view counts): how long this
    /// node may keep serving it.
    pub fn expires_after(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    fn into_cached(mut self) -> Cached {
        let etag = format!("\"{}\"", hex::encode(&Sha256::digest(&self.body)[..16]));
        self.keys.sort();
        self.keys.dedup();
        Cached {
            status: self.status.as_u16(),
            body: Bytes::from(self.body),
            etag,
            last_modified: self
                .last_modified
                .map(|t| t.and_utc().format("%a, %d %b %Y %H:%M:%S GMT").to_string()),
            location: self.location,
            content_language: self.content_language,
            surrogate_keys: self.keys.join(" "),
            expires: self.ttl.map(|ttl| Instant::now() + ttl),
        }
    }
}

/// The cache key of a request: its path and its query parameters in a fixed order.
fn cache_key(req: &HttpRequest) -> String {
    let mut pairs: Vec<&str> = req
        .query_string()
        .split('&')
        .filter(|p| !p.is_empty())
        .collect();
    pairs.sort_unstable();
    format!("{}?{}", req.path(), pairs.join("&"))
}

/// Answers from this node's cache, or computes the response with `compute` (on the blocking
/// pool, with a database connection), caches it and answers.
pub async fn cached<F>(req: &HttpRequest, state: &AppState, compute: F) -> AppResult<HttpResponse>
where
    F: FnOnce(&mut DbConn) -> AppResult<Fresh> + Send + 'static,
{
    let key = cache_key(req);
    if let Some(hit) = state.cache.get(&key) {
        return Ok(send(req, state, &hit));
    }
    let generation = state.cache.generation();
    let fresh = state.db.run(compute).await?;
    let entry = Arc::new(fresh.into_cached());
    state.cache.put(key, entry.clone(), generation);
    Ok(send(req, state, &entry))
}

/// Computes without the cache (for responses that must not be kept), with the same headers.
pub fn uncached(req: &HttpRequest, state: &AppState, fresh: Fresh) -> HttpResponse {
    send(req, state, &fresh.into_cached())
}

fn not_modified(req: &HttpRequest, entry: &Cached) -> bool {
    let headers = req.headers();
    if let Some(inm) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        // Weak comparison, as RFC 9110 asks for If-None-Match.
        return inm.split(',').any(|t| {
            let t = t.trim();
            t == "*" || t.trim_start_matches("W/") == entry.etag
        });
    }
    match (
        headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| chrono::DateTime::parse_from_rfc2822(v).ok()),
        entry
            .last_modified
            .as_deref()
            .and_then(|v| chrono::DateTime::parse_from_rfc2822(v).ok()),
    ) {
        (Some(since), Some(modified)) => modified <= since,
        _ => false,
    }
}

fn send(req: &HttpRequest, state: &AppState, entry: &Cached) -> HttpResponse {
    let status = StatusCode::from_u16(entry.status).unwrap_or(StatusCode::OK);
    let fresh_for = match entry.expires {
        Some(at) => at
            .saturating_duration_since(Instant::now())
            .as_secs()
            .min(u64::from(state.config.content_max_age_secs)),
        None => u64::from(state.config.content_max_age_secs),
    };
    let mut builder = if status == StatusCode::OK && not_modified(req, entry) {
        HttpResponse::NotModified()
    } else {
        HttpResponse::build(status)
    };
    builder
        .insert_header((header::ETAG, entry.etag.clone()))
        .insert_header((
            header::CACHE_CONTROL,
            format!(
                "public, max-age={fresh_for}, stale-while-revalidate={}",
                state.config.content_stale_secs
            ),
        ));
    if let Some(lm) = &entry.last_modified {
        builder.insert_header((header::LAST_MODIFIED, lm.clone()));
    }
    if !entry.surrogate_keys.is_empty() {
        builder
            .insert_header(("surrogate-key", entry.surrogate_keys.clone()))
            .insert_header(("cache-tag", entry.surrogate_keys.replace(' ', ",")));
    }
    if let Some(lang) = &entry.content_language {
        builder.insert_header((header::CONTENT_LANGUAGE, lang.clone()));
    }
    if let Some(location) = &entry.location {
        builder.insert_header((header::LOCATION, location.clone()));
    }
    if status == StatusCode::OK && not_modified(req, entry) {
        return builder.finish();
    }
    if entry.body.is_empty() {
        return builder.finish();
    }
    builder
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        ))
        .body(entry.body.clone())
}

/// For PATCH bodies: tells a field sent as `null` (`Some(None)`) from one left out (`None`).
/// Use with `#[serde(default, deserialize_with = "crate::http::present")]`.
pub fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}
