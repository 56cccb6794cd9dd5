//! Revisions: every saved state of a translation, who saved it and when. A revision's number is
//! the translation version it produced, so an ETag, a revision and the audit log line up.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::articles::Status;
use crate::db::schema::{revisions, users};
use crate::db::DbConn;
use crate::db_run;
use crate::error::{AppError, AppResult};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = revisions)]
pub struct Revision {
    pub id: i64,
    pub translation_id: i64,
    pub version: i32,
    pub action: String,
    pub status: String,
    pub slug: String,
    pub title: String,
    pub subtitle: String,
    pub body: String,
    pub excerpt: String,
    pub seo_title: String,
    pub seo_description: String,
    pub saved_by: Option<i64>,
    pub saved_at: NaiveDateTime,
}

/// Revisions of a translation, newest first, older than `before` (a version).
pub fn list(
    conn: &mut DbConn,
    translation_id: i64,
    before: Option<i32>,
    fetch: i64,
) -> AppResult<Vec<(Revision, Option<String>)>> {
    Ok(db_run!(conn, |c| {
        let mut q = revisions::table
            .left_join(users::table.on(users::id.nullable().eq(revisions::saved_by)))
            .filter(revisions::translation_id.eq(translation_id))
            .select((Revision::as_select(), users::display_name.nullable()))
            .into_boxed();
        if let Some(before) = before {
            q = q.filter(revisions::version.lt(before));
        }
        q.order(revisions::version.desc()).limit(fetch).load(c)
    })?)
}

pub fn find(
    conn: &mut DbConn,
    translation_id: i64,
    version: i32,
) -> AppResult<(Revision, Option<String>)> {
    db_run!(conn, |c| revisions::table
        .left_join(users::table.on(users::id.nullable().eq(revisions::saved_by)))
        .filter(revisions::translation_id.eq(translation_id))
        .filter(revisions::version.eq(version))
        .select((Revision::as_select(), users::display_name.nullable()))
        .first(c)
        .optional())?
    .ok_or_else(|| AppError::NotFound(format!("no revision {version} of this translation")))
}

/// The account behind `user_id`, when there is one and it still exists.
pub fn saved_by(conn: &mut DbConn, user_id: Option<i64>) -> AppResult<Option<SavedBy>> {
    let Some(id) = user_id else { return Ok(None) };
    Ok(db_run!(conn, |c| users::table
        .find(id)
        .select((users::id, users::display_name))
        .first::<(i64, String)>(c)
        .optional())?
    .map(|(id, display_name)| SavedBy { id, display_name }))
}

/// Who saved a revision.
#[derive(Debug, Serialize, ToSchema)]
pub struct SavedBy {
    pub id: i64,
    pub display_name: String,
}

/// A revision in a list: what happened, who, when.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionSummary {
    /// The translation version this revision produced.
    pub version: i32,
    /// `create`, `update`, `transition:<status>`, `restore:<version>`, `schedule:publish`.
    #[schema(example = "update")]
    pub action: String,
    pub status: Status,
    pub title: String,
    /// Absent for changes Newsdesk made itself (the scheduler) or by a deleted account.
    pub saved_by: Option<SavedBy>,
    pub saved_at: chrono::DateTime<chrono::Utc>,
}

/// A revision with the full content it saved.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionResponse {
    #[serde(flatten)]
    pub summary: RevisionSummary,
    pub slug: String,
    pub subtitle: String,
    pub body: String,
    pub excerpt: String,
    pub seo_title: String,
    pub seo_description: String,
}

impl RevisionSummary {
    pub fn new(r: &Revision, saved_by: Option<String>) -> AppResult<Self> {
        Ok(RevisionSummary {
            version: r.version,
            action: r.action.clone(),
            status: Status::from_db(&r.status)?,
            title: r.title.clone(),
            saved_by: r
                .saved_by
                .zip(saved_by)
                .map(|(id, display_name)| SavedBy { id, display_name }),
            saved_at: r.saved_at.and_utc(),
        })
    }
}

impl RevisionResponse {
    pub fn new(r: Revision, saved_by: Option<String>) -> AppResult<Self> {
        Ok(RevisionResponse {
            summary: RevisionSummary::new(&r, saved_by)?,
            slug: r.slug,
            subtitle: r.subtitle,
            body: r.body,
            excerpt: r.excerpt,
            seo_title: r.seo_title,
            seo_description: r.seo_description,
        })
    }
}
