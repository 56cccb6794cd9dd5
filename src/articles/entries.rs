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
    Ok(db_run!(conn, |c| diesel::update(
        live_entries::table.find(entry.id)
    )
    .set((
        live_entries::body.eq(&body),
        live_entries::pinned.eq(pinned),
        live_entries::updated_by.eq(Some(user_id)),
        live_entries::updated_at.eq(at),
    ))
    .returning(Entry::as_returning())
    .get_result(c))?)
}

pub fn delete(conn: &mut DbConn, entry: &Entry) -> AppResult<()> {
    db_run!(conn, |c| diesel::delete(live_entries::table.find(entry.id))
        .execute(c))?;
    Ok(())
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
}

impl From<Entry> for EntryResponse {
    fn from(e: Entry) -> Self {
        EntryResponse {
            id: e.id,
            body: e.body,
            pinned: e.pinned,
            created_by: e.created_by,
            created_at: e.created_at.and_utc(),
            updated_at: e.updated_at.and_utc(),
        }
    }
}
