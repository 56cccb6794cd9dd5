//! Partner sites: who may syndicate the newsroom's stories, with which keys, in which
//! languages and tags, at what rate — and what each key was used for.
//!
//! A key is `ndp_` and 64 hex digits (32 random bytes). It is shown once, when it is made; the
//! database keeps its SHA-256 (a key this long needs no slow hash) and its first characters, to
//! recognise it by in lists and logs.

pub mod access;
pub mod handlers;
pub mod usage;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::{random_token, token_hash};
use crate::db::schema::{partner_keys, partners};
use crate::db::{now, DbConn};
use crate::db_run;
use crate::error::{AppError, AppResult};

/// What every partner key starts with, so that a key is told from an editor's token at a glance.
pub const KEY_PREFIX: &str = "ndp_";
/// Characters of a key kept in the clear: the prefix and eight more.
const VISIBLE: usize = KEY_PREFIX.len() + 8;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = partners)]
pub struct PartnerRow {
    pub id: i64,
    pub name: String,
    pub contact_email: String,
    pub languages: String,
    pub tags: String,
    pub requests_per_minute: i32,
    pub expires_at: Option<NaiveDateTime>,
    pub last_used_at: Option<NaiveDateTime>,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl PartnerRow {
    pub fn languages(&self) -> Vec<String> {
        serde_json::from_str(&self.languages).unwrap_or_default()
    }

    pub fn tag_ids(&self) -> Vec<i64> {
        serde_json::from_str(&self.tags).unwrap_or_default()
    }

    pub fn etag(&self) -> String {
        crate::http::etag("partner", self.id, self.version)
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = partner_keys)]
pub struct KeyRow {
    pub id: i64,
    pub partner_id: i64,
    pub prefix: String,
    pub created_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
}

/// A key as lists show it: never the key itself.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KeyInfo {
    pub id: i64,
    /// The key's first characters, to recognise it by.
    #[schema(example = "ndp_3f9a1c07")]
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    /// When the key stops working: absent for a current key; in the future during a
    /// rotation's grace period.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<KeyRow> for KeyInfo {
    fn from(k: KeyRow) -> KeyInfo {
        KeyInfo {
            id: k.id,
            prefix: k.prefix,
            created_at: k.created_at.and_utc(),
            revoked_at: k.revoked_at.map(|t| t.and_utc()),
        }
    }
}

/// A partner's fields as validated for writing.
pub struct Fields {
    pub name: String,
    pub contact_email: String,
    pub languages: Vec<String>,
    pub tag_ids: Vec<i64>,
    pub requests_per_minute: i32,
    pub expires_at: Option<NaiveDateTime>,
}

/// A new key: what the partner is shown once, and what is stored.
pub struct NewKey {
    pub key: String,
    pub hash: String,
    pub prefix: String,
}

impl NewKey {
    pub fn generate() -> NewKey {
        let key = format!("{KEY_PREFIX}{}", random_token(32));
        NewKey {
            hash: token_hash(&key),
            prefix: key[..VISIBLE].to_owned(),
            key,
        }
    }
}

fn not_found(id: i64) -> AppError {
    AppError::NotFound(format!("no partner with id {id}"))
}

pub fn find(conn: &mut DbConn, id: i64) -> AppResult<PartnerRow> {
    db_run!(conn, |c| partners::table
        .find(id)
        .select(PartnerRow::as_select())
        .first(c)
        .optional())?
    .ok_or_else(|| not_found(id))
}

/// Partners by name, then id, after `after` (an id).
pub fn list(conn: &mut DbConn, after: Option<i64>, fetch: i64) -> AppResult<Vec<PartnerRow>> {
    let after = after.unwrap_or(0);
    Ok(db_run!(conn, |c| partners::table
        .filter(partners::id.gt(after))
        .order(partners::id)
        .limit(fetch)
        .select(PartnerRow::as_select())
        .load(c))?)
}

/// The keys of these partners, newest first, that still work or worked within the last day.
pub fn keys_of(conn: &mut DbConn, ids: &[i64]) -> AppResult<Vec<KeyRow>> {
    let ids = ids.to_vec();
    let since = now() - chrono::Duration::days(1);
    Ok(db_run!(conn, |c| partner_keys::table
        .filter(partner_keys::partner_id.eq_any(&ids))
        .filter(
            partner_keys::revoked_at
                .is_null()
                .or(partner_keys::revoked_at.gt(since))
        )
        .order((partner_keys::partner_id, partner_keys::id.desc()))
        .select(KeyRow::as_select())
        .load(c))?)
}

/// The columns a partner's [`Fields`] are stored in.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = partners, treat_none_as_null = true)]
struct Stored<'a> {
    name: &'a str,
    contact_email: &'a str,
    languages: String,
    tags: String,
    requests_per_minute: i32,
    expires_at: Option<NaiveDateTime>,
    version: i32,
    updated_at: NaiveDateTime,
}

impl Fields {
    fn stored(&self, version: i32) -> Stored<'_> {
        Stored {
            name: &self.name,
            contact_email: &self.contact_email,
            languages: json_list(&self.languages),
            tags: json_list(&self.tag_ids),
            requests_per_minute: self.requests_per_minute,
            expires_at: self.expires_at,
            version,
            updated_at: now(),
        }
    }
}

pub fn insert(conn: &mut DbConn, f: &Fields, key: &NewKey) -> AppResult<PartnerRow> {
    let stored = f.stored(1);
    let created = stored.updated_at;
    let row = db_run!(conn, |c| diesel::insert_into(partners::table)
        .values((&stored, partners::created_at.eq(created)))
        .returning(PartnerRow::as_returning())
        .get_result(c))?;
    add_key(conn, row.id, key)?;
    Ok(row)
}

/// Writes `f` over partner `id` at `version`; 412 is the caller's to raise when it lost.
pub fn update(conn: &mut DbConn, id: i64, version: i32, f: &Fields) -> AppResult<PartnerRow> {
    let stored = f.stored(version + 1);
    db_run!(conn, |c| diesel::update(
        partners::table
            .filter(partners::id.eq(id))
            .filter(partners::version.eq(version))
    )
    .set(&stored)
    .returning(PartnerRow::as_returning())
    .get_result(c)
    .optional())?
    .ok_or_else(|| AppError::Conflict(format!("partner {id} changed while it was being saved")))
}

pub fn delete(conn: &mut DbConn, id: i64) -> AppResult<()> {
    db_run!(conn, |c| diesel::delete(partners::table.find(id))
        .execute(c))?;
    Ok(())
}

/// Adds `key` to partner `id`.
pub fn add_key(conn: &mut DbConn, id: i64, key: &NewKey) -> AppResult<KeyRow> {
    Ok(db_run!(conn, |c| diesel::insert_into(partner_keys::table)
        .values((
            partner_keys::partner_id.eq(id),
            partner_keys::key_hash.eq(&key.hash),
            partner_keys::prefix.eq(&key.prefix),
            partner_keys::created_at.eq(now()),
        ))
        .returning(KeyRow::as_returning())
        .get_result(c))?)
}

/// Ends every current key of partner `id` at `at` (now, or the end of a grace period); keys
/// already ending sooner keep their end.
pub fn retire_keys(conn: &mut DbConn, id: i64, at: NaiveDateTime) -> AppResult<usize> {
    let current = partner_keys::partner_id.eq(id).and(
        partner_keys::revoked_at
            .is_null()
            .or(partner_keys::revoked_at.gt(at)),
    );
    Ok(db_run!(conn, |c| diesel::update(
        partner_keys::table.filter(current)
    )
    .set(partner_keys::revoked_at.eq(at))
    .execute(c))?)
}

fn json_list<T: Serialize>(items: &[T]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}
