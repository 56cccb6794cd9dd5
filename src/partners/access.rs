//! Who may call the partner routes (`/api/v1/syndication/…`): one middleware checks the key,
//! holds the partner to its rate and counts what it was given, for every partner route alike.
//!
//! - Keys come in `Authorization: Bearer ndp_…` only, never in a query string. An editor's
//!   token is not a partner key, and a partner key is not an editor's token (the Admin API
//!   refuses it as it refuses any token it did not sign).
//! - Every key that works is held in memory per cache generation, by its SHA-256, so an
//!   unknown, revoked and expired key are refused by the same lookup, in the same time, with
//!   the same 401. A key revoked or a partner changed moves the content version, so every node
//!   reads the keys afresh within `CONTENT_FRESHNESS_MS`.
//! - The rate (`requests_per_minute`) is counted per key **on each node**: behind a load
//!   balancer of `n` nodes a partner may get up to `n` times its rate. Answers carry the
//!   `RateLimit-Policy` and `RateLimit` headers of the IETF HTTPAPI draft; over the rate, 429
//!   with `Retry-After`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use futures_util::future::{ready, Ready};

use crate::app::AppState;
use crate::auth::token_hash;
use crate::db::schema::{partner_keys, partners};
use crate::db::{now, DbConn};
use crate::db_run;
use crate::error::{AppError, AppResult};
use crate::partners::usage::Outcome;
use crate::partners::KEY_PREFIX;

/// Where the partner routes live.
pub const PARTNER_ROUTES: &str = "/api/v1/syndication/";

/// A partner let in by its key: what it may see.
#[derive(Debug, Clone)]
pub struct Partner {
    pub id: i64,
    pub key_id: i64,
    pub name: String,
    /// Language codes it may read; empty: every language.
    pub languages: Vec<String>,
    /// Tag ids its stories must carry one of; empty: every story.
    pub tag_ids: Vec<i64>,
    pub per_minute: u32,
}

impl Partner {
    /// Whether the partner may read `lang`.
    pub fn reads(&self, lang: &str) -> bool {
        self.languages.is_empty() || self.languages.iter().any(|l| l == lang)
    }

    /// Whether a story carrying `tags` is within the partner's tags.
    pub fn covers(&self, tags: &[i64]) -> bool {
        self.tag_ids.is_empty() || tags.iter().any(|t| self.tag_ids.contains(t))
    }
}

/// The items an answer delivered, for the partner's usage.
#[derive(Debug, Clone, Copy)]
pub struct Delivered(pub usize);

/// Every key that works, by hash, with when it stops working.
#[derive(Default)]
pub struct KeyRing {
    keys: HashMap<String, (Arc<Partner>, Option<NaiveDateTime>)>,
}

impl KeyRing {
    fn load(conn: &mut DbConn) -> AppResult<KeyRing> {
        let at = now();
        #[allow(clippy::type_complexity)]
        let rows: Vec<(
            i64,
            String,
            Option<NaiveDateTime>,
            i64,
            String,
            String,
            String,
            i32,
            Option<NaiveDateTime>,
        )> = db_run!(conn, |c| partner_keys::table
            .inner_join(partners::table)
            .filter(
                partner_keys::revoked_at
                    .is_null()
                    .or(partner_keys::revoked_at.gt(at))
            )
            .select((
                partner_keys::id,
                partner_keys::key_hash,
                partner_keys::revoked_at,
                partners::id,
                partners::name,
                partners::languages,
                partners::tags,
                partners::requests_per_minute,
                partners::expires_at,
            ))
            .load(c))?;
        let keys = rows
            .into_iter()
            .map(
                |(key_id, hash, revoked, id, name, langs, tags, rate, expires)| {
                    let partner = Partner {
                        id,
                        key_id,
                        name,
                        languages: serde_json::from_str(&langs).unwrap_or_default(),
                        tag_ids: serde_json::from_str(&tags).unwrap_or_default(),
                        per_minute: rate.max(1) as u32,
                    };
                    let ends = [revoked, expires].into_iter().flatten().min();
                    (hash, (Arc::new(partner), ends))
                },
            )
            .collect();
        Ok(KeyRing { keys })
    }

    /// The partner `key` lets in now, if any.
    fn find(&self, key: &str, at: NaiveDateTime) -> Option<Arc<Partner>> {
        let (partner, ends) = self.keys.get(&token_hash(key))?;
        ends.is_none_or(|end| end > at).then(|| partner.clone())
    }
}

/// Requests per key in the current minute of this node.
#[derive(Default)]
pub struct RateLimits {
    windows: Mutex<HashMap<i64, (Instant, u32)>>,
}

/// Where a key stands against its rate after a request.
struct Standing {
    allowed: bool,
    remaining: u32,
    reset_secs: u64,
}

const WINDOW: Duration = Duration::from_secs(60);

impl RateLimits {
    fn hit(&self, key_id: i64, limit: u32) -> Standing {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let started = Instant::now();
        // A node keeps at most a window per key that called in the last minute.
        if windows.len() > 10_000 {
            windows.retain(|_, (start, _)| start.elapsed() < WINDOW);
        }
        let (start, used) = windows.entry(key_id).or_insert((started, 0));
        if start.elapsed() >= WINDOW {
            *start = started;
            *used = 0;
        }
        let allowed = *used < limit;
        if allowed {
            *used += 1;
        }
        let left = WINDOW.saturating_sub(start.elapsed());
        Standing {
            allowed,
            remaining: limit - *used,
            reset_secs: left.as_secs_f64().ceil().max(1.0) as u64,
        }
    }
}

/// The key in `Authorization: Bearer ndp_…`, if the header holds one.
fn presented_key(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, key) = value.split_once(' ')?;
    let key = key.trim();
    (scheme.eq_ignore_ascii_case("bearer") && key.starts_with(KEY_PREFIX)).then_some(key)
}

fn refused() -> AppError {
    AppError::Unauthorized(
        "the partner routes need a valid partner key in `Authorization: Bearer ndp_…`".into(),
    )
}

static RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
static RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");

fn rate_headers(headers: &mut HeaderMap, limit: u32, s: &Standing) {
    let policy = format!("\"partner\";q={limit};w=60");
    let now = format!("\"partner\";r={};t={}", s.remaining, s.reset_secs);
    for (name, value) in [(&RATELIMIT_POLICY, policy), (&RATELIMIT, now)] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name.clone(), value);
        }
    }
}

/// The middleware: passes every other route through untouched.
pub async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if !crate::app::routed_path(req.path()).starts_with(PARTNER_ROUTES) {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(req
            .error_response(AppError::Internal("application state missing".into()))
            .map_into_right_body());
    };
    let generation = state.cache.generation();
    let ring = match state.partner_keys.peek(generation) {
        Some(ring) => ring,
        None => {
            let st = state.clone();
            match state
                .db
                .run(move |c| st.partner_keys.get(generation, || KeyRing::load(c)))
                .await
            {
                Ok(ring) => ring,
                Err(e) => return Ok(req.error_response(e).map_into_right_body()),
            }
        }
    };
    let Some(partner) = presented_key(req.headers()).and_then(|k| ring.find(k, now())) else {
        return Ok(req.error_response(refused()).map_into_right_body());
    };
    let standing = state.partner_limits.hit(partner.key_id, partner.per_minute);
    if !standing.allowed {
        state.partner_usage.count(&partner, Outcome::RateLimited);
        let mut res = req.error_response(AppError::TooManyRequests {
            detail: format!(
                "this key may make {} requests a minute; wait for the next window",
                partner.per_minute
            ),
            retry_after: standing.reset_secs,
        });
        rate_headers(res.headers_mut(), partner.per_minute, &standing);
        return Ok(res.map_into_right_body());
    }
    req.extensions_mut().insert(partner.clone());
    let mut res = next.call(req).await?;
    let status = res.status();
    let delivered = res
        .response()
        .extensions()
        .get::<Delivered>()
        .map_or(0, |d| d.0);
    let outcome = if status.is_client_error() {
        Outcome::ClientError
    } else {
        Outcome::Served(delivered)
    };
    state.partner_usage.count(&partner, outcome);
    let headers = res.headers_mut();
    rate_headers(headers, partner.per_minute, &standing);
    // What a partner is given depends on its key: no shared cache may keep it.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    headers.insert(header::VARY, HeaderValue::from_static("Authorization"));
    Ok(res.map_into_left_body())
}

impl FromRequest for Partner {
    type Error = AppError;
    type Future = Ready<Result<Partner, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.extensions()
                .get::<Arc<Partner>>()
                .map(|p| (**p).clone())
                .ok_or_else(refused),
        )
    }
}
