//! Webhooks and CDN purges: endpoints that hear of changes. The change pipeline writes each
//! event and its deliveries in the transaction of the change (the outbox,
//! [`crate::articles::projections::outbox`]); [`worker`] sends them, signed as Standard
//! Webhooks v1, retried with backoff, each attempt logged; [`guard`] keeps them off internal
//! addresses; [`handlers`] is the Admin API.
//!
//! Ordering is not promised: an event may arrive after a later one (retries, several nodes).
//! Receivers dedupe on `webhook-id`, which stays the same across retries and replays.

pub mod guard;
pub mod handlers;
pub mod worker;

use base64::Engine;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::db::schema::webhook_endpoints as we;
use crate::db::{now, DbConn};
use crate::db_run;
use crate::error::{AppError, AppResult};

/// Endpoint kinds.
pub const WEBHOOK: &str = "webhook";
pub const PURGE: &str = "purge";

/// CDN providers a purge endpoint speaks to.
pub const FASTLY: &str = "fastly";
pub const CLOUDFLARE: &str = "cloudflare";

const SECRET_PREFIX: &str = "whsec_";

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = we)]
pub struct Endpoint {
    pub id: i64,
    pub kind: String,
    pub url: String,
    pub provider: Option<String>,
    pub events: String,
    pub languages: String,
    pub description: String,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<NaiveDateTime>,
    pub failing_since: Option<NaiveDateTime>,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Endpoint {
    pub fn etag(&self) -> String {
        crate::http::etag("webhook", self.id, self.version)
    }

    pub fn event_list(&self) -> Vec<String> {
        serde_json::from_str(&self.events).unwrap_or_default()
    }

    pub fn language_list(&self) -> Vec<String> {
        serde_json::from_str(&self.languages).unwrap_or_default()
    }

    /// The secrets that sign now: the current one, and during a rotation's grace the one before.
    pub fn signing_secrets(&self, at: NaiveDateTime) -> Vec<&str> {
        let mut secrets = vec![self.secret.as_str()];
        if let (Some(previous), Some(until)) = (&self.previous_secret, self.previous_secret_until) {
            if until > at {
                secrets.push(previous);
            }
        }
        secrets
    }
}

/// A new signing secret: `whsec_` and the base64 of 32 random bytes.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    format!(
        "{SECRET_PREFIX}{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// `webhook-signature`'s value: `v1,<base64 HMAC-SHA256 of id.timestamp.body>` for each secret,
/// space-separated.
pub fn signature(secrets: &[&str], id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets
        .iter()
        .filter_map(|secret| {
            let key = base64::engine::general_purpose::STANDARD
                .decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret))
                .ok()?;
            let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
            mac.update(id.as_bytes());
            mac.update(b".");
            mac.update(timestamp.to_string().as_bytes());
            mac.update(b".");
            mac.update(body);
            Some(format!(
                "v1,{}",
                base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
            ))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn find(conn: &mut DbConn, id: i64) -> AppResult<Endpoint> {
    db_run!(conn, |c| we::table
        .find(id)
        .select(Endpoint::as_select())
        .first(c)
        .optional())?
    .ok_or_else(|| AppError::NotFound(format!("no webhook with id {id}")))
}

pub fn list(conn: &mut DbConn, after: Option<i64>, fetch: i64) -> AppResult<Vec<Endpoint>> {
    let after = after.unwrap_or(0);
    Ok(db_run!(conn, |c| we::table
        .filter(we::id.gt(after))
        .order(we::id)
        .limit(fetch)
        .select(Endpoint::as_select())
        .load(c))?)
}

/// An endpoint's settings as validated for writing.
pub struct Settings {
    pub kind: String,
    pub url: String,
    pub provider: Option<String>,
    pub events: Vec<String>,
    pub languages: Vec<String>,
    pub description: String,
    pub enabled: bool,
}

#[derive(Insertable, AsChangeset)]
#[diesel(table_name = we, treat_none_as_null = true)]
struct Stored<'a> {
    kind: &'a str,
    url: &'a str,
    provider: Option<&'a str>,
    events: String,
    languages: String,
    description: &'a str,
    enabled: bool,
    version: i32,
    updated_at: NaiveDateTime,
}

impl Settings {
    fn stored(&self, version: i32) -> Stored<'_> {
        Stored {
            kind: &self.kind,
            url: &self.url,
            provider: self.provider.as_deref(),
            events: serde_json::to_string(&self.events).unwrap_or_default(),
            languages: serde_json::to_string(&self.languages).unwrap_or_default(),
            description: &self.description,
            enabled: self.enabled,
            version,
            updated_at: now(),
        }
    }
}

pub fn insert(conn: &mut DbConn, s: &Settings, secret: &str) -> AppResult<Endpoint> {
    let stored = s.stored(1);
    let at = stored.updated_at;
    Ok(db_run!(conn, |c| diesel::insert_into(we::table)
        .values((&stored, we::secret.eq(secret), we::created_at.eq(at)))
        .returning(Endpoint::as_returning())
        .get_result(c))?)
}

/// Writes `s` over endpoint `id` at `version`. Enabling an endpoint clears why it was disabled
/// and how long it had been failing.
pub fn update(conn: &mut DbConn, id: i64, version: i32, s: &Settings) -> AppResult<Endpoint> {
    let stored = s.stored(version + 1);
    let enabled = s.enabled;
    db_run!(conn, |c| diesel::update(
        we::table
            .filter(we::id.eq(id))
            .filter(we::version.eq(version))
    )
    .set(&stored)
    .returning(Endpoint::as_returning())
    .get_result(c)
    .optional())?
    .map(|e| {
        if enabled {
            clear_failure(conn, id).map(|_| e)
        } else {
            Ok(e)
        }
    })
    .transpose()?
    .ok_or_else(|| AppError::Conflict(format!("webhook {id} changed while it was being saved")))
}

fn clear_failure(conn: &mut DbConn, id: i64) -> AppResult<()> {
    db_run!(conn, |c| diesel::update(we::table.find(id))
        .set((
            we::disabled_reason.eq(None::<String>),
            we::failing_since.eq(None::<NaiveDateTime>),
        ))
        .execute(c))?;
    Ok(())
}

pub fn delete(conn: &mut DbConn, id: i64) -> AppResult<()> {
    db_run!(conn, |c| diesel::delete(we::table.find(id)).execute(c))?;
    Ok(())
}

/// Makes `secret` the one that signs; the one before keeps signing until `grace_until`.
pub fn rotate_secret(
    conn: &mut DbConn,
    id: i64,
    secret: &str,
    grace_until: NaiveDateTime,
) -> AppResult<Endpoint> {
    let current = find(conn, id)?;
    Ok(db_run!(conn, |c| diesel::update(we::table.find(id))
        .set((
            we::previous_secret.eq(Some(&current.secret)),
            we::previous_secret_until.eq(Some(grace_until)),
            we::secret.eq(secret),
            we::version.eq(current.version + 1),
            we::updated_at.eq(now()),
        ))
        .returning(Endpoint::as_returning())
        .get_result(c))?)
}

/// Turns an endpoint off, saying why (a 410 from it, or days of failures).
pub fn disable(conn: &mut DbConn, id: i64, reason: &str) -> AppResult<()> {
    db_run!(conn, |c| diesel::update(we::table.find(id))
        .set((
            we::enabled.eq(false),
            we::disabled_reason.eq(Some(reason)),
            we::version.eq(we::version + 1),
            we::updated_at.eq(now()),
        ))
        .execute(c))?;
    Ok(())
}
