//! Live entries: the timestamped updates of a live story, per translation.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::live_entries;
use crate::db::{now, DbConn};
use crate::db_run;
use crate::error::{AppError, AppResult};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = live_entries)]
pub struct Entry {
    pub id: i64,
    pub translation_id: i64,
    pub body: String,
    pub pinned: bool,
    pub created_by: Option<i64>,
    pub updated_by: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

impl Entry {
    /// The strong validator of this version, for `ETag` and `If-Match`.
    pub fn etag(&self) -> String {
        crate::http::etag("entry", self.id, self.version)
    }
}

/// Entries of a translation, newest first, older than `before` (an id). Pinning is a flag a
/// frontend shows first; it does not reorder pages, so cursors stay stable.
pub fn list(
    conn: &mut DbConn,
    translation_id: i64,
    before: Option<i64>,
    fetch: i64,
) -> AppResult<Vec<Entry>> {
    Ok(db_run!(conn, |c| {
        let mut q = live_entries::table
            .filter(live_entries::translation_id.eq(translation_id))
            .select(Entry::as_select())
            .into_boxed();
        if let Some(before) = before {
            q = q.filter(live_entries::id.lt(before));
        }
        q.order(live_entries::id.desc()).limit(fetch).load(c)
    })?)
}

pub fn find(conn: &mut DbConn, translation_id: i64, id: i64) -> AppResult<Entry> {
    db_run!(conn, |c| live_entries::table
        .filter(live_entries::translation_id.eq(translation_id))
        .filter(live_entries::id.eq(id))
        .select(Entry::as_select())
        .first(c)
        .optional())?
    .ok_or_else(|| AppError::NotFound(format!("no entry with id {id} in this translation")))
}

/// Appends an entry with an already sanitized body.
pub fn insert(
    conn: &mut DbConn,
    translation_id: i64,
    body: &str,
    pinned: bool,
    user_id: i64,
) -> AppResult<Entry> {
    let at = now();
    Ok(db_run!(conn, |c| diesel::insert_into(live_entries::table)
        .values((
            live_entries::translation_id.eq(translation_id),
            live_entries::body.eq(body),
            live_entries::pinned.eq(pinned),
            live_entries::created_by.eq(Some(user_id)),
            live_entries::updated_by.eq(Some(user_id)),
            live_entries::created_at.eq(at),
            live_entries::updated_at.eq(at),
        ))
        .returning(Entry::as_returning())
        .get_result(c))?)
}

pub fn update(
    conn: &mut DbConn,
    entry: &Entry,
    body: Option<String>,
    pinned: Option<bool>,
    user_id: i64,
) -> AppResult<Entry> {
    let at = now();
    let body = body.unwrap_or_else(|| entry.body.clone());
    let pinned = pinned.unwrap_or(entry.pinned);
    let saved = db_run!(conn, |c| diesel::update(
        live_entries::table
            .filter(live_entries::id.eq(entry.id))
            .filter(live_entries::version.eq(entry.version))
    )
    .set((
        live_entries::body.eq(&body),
        live_entries::pinned.eq(pinned),
        live_entries::updated_by.eq(Some(user_id)),
        live_entries::updated_at.eq(at),
        live_entries::version.eq(entry.version + 1),
    ))
    .returning(Entry::as_returning())
    .get_result(c)
    .optional())?;
    match saved {
        Some(e) => Ok(e),
        None => Err(stale_now(conn, entry)?),
    }
}

/// Deletes `entry` if it is still at the version read. Call in a transaction.
pub fn delete(conn: &mut DbConn, entry: &Entry) -> AppResult<()> {
    let deleted = db_run!(conn, |c| diesel::delete(
        live_entries::table
            .filter(live_entries::id.eq(entry.id))
            .filter(live_entries::version.eq(entry.version))
    )
    .execute(c))?;
    if deleted == 0 {
        return Err(stale_now(conn, entry)?);
    }
    Ok(())
}

/// 412 carrying the entry's current version.
pub fn stale(current: &Entry) -> AppError {
    crate::http::stale(
        "this entry",
        crate::http::Current {
            version: current.version,
            etag: current.etag(),
            updated_at: current.updated_at,
            updated_by: serde_json::json!(current.updated_by),
        },
    )
}

/// 412 for a write that lost to another since `read` was read (or 404 if it is gone).
fn stale_now(conn: &mut DbConn, read: &Entry) -> AppResult<AppError> {
    let current = find(conn, read.translation_id, read.id)?;
    Ok(stale(&current))
}

/// A live entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntryResponse {
    pub id: i64,
    /// Sanitized HTML.
    pub body: String,
    /// Pinned entries are shown first.
    pub pinned: bool,
    pub created_by: Option<i64>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// Goes up with every change.
    pub version: i32,
    /// Send as `If-Match` to change or delete the entry.
    #[schema(example = "\"entry-7-2\"")]
    pub etag: String,
}

impl From<Entry> for EntryResponse {
    fn from(e: Entry) -> Self {
        EntryResponse {
            etag: e.etag(),
            version: e.version,
            id: e.id,
            body: e.body,
            pinned: e.pinned,
            created_by: e.created_by,
            created_at: e.created_at.and_utc(),
            updated_at: e.updated_at.and_utc(),
        }
    }
}
