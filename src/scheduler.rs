//! Publishes scheduled translations when they fall due.
//!
//! Every node runs the loop. Publishing is one conditional `UPDATE … WHERE status =
//! 'scheduled' AND scheduled_at <= now RETURNING …`: whichever node's statement reaches a row
//! first moves it, and for every other node the row no longer matches, so a translation is
//! published exactly once however many nodes run. A node that was down catches up on its
//! first pass, since the condition is "due", not "due in this interval".

use std::sync::Arc;
use std::time::Duration;

use diesel::prelude::*;
use serde_json::json;

use crate::app::AppState;
use crate::articles::translations::Translation;
use crate::articles::{revisions, Status};
use crate::audit::{self, Actor};
use crate::db::schema::translations;
use crate::db::{now, DbConn};
use crate::db_run;
use crate::error::AppResult;

diesel::define_sql_function! {
    /// The first argument that is not NULL.
    fn coalesce(x: diesel::sql_types::Nullable<diesel::sql_types::Timestamp>, y: diesel::sql_types::Nullable<diesel::sql_types::Timestamp>) -> diesel::sql_types::Nullable<diesel::sql_types::Timestamp>;
}

/// Publishes every translation due by now, with a revision and an audit entry each. Returns
/// the ids it published. Call in a transaction.
pub fn publish_due(conn: &mut DbConn) -> AppResult<Vec<i64>> {
    let at = now();
    let published: Vec<Translation> = db_run!(conn, |c| diesel::update(
        translations::table
            .filter(translations::status.eq(Status::Scheduled.as_str()))
            .filter(translations::scheduled_at.le(at))
    )
    .set((
        translations::status.eq(Status::Published.as_str()),
        // The first publication is dated when it was due, not when the loop noticed.
        translations::published_at.eq(coalesce(
            translations::published_at,
            translations::scheduled_at,
        )),
        translations::scheduled_at.eq(None::<chrono::NaiveDateTime>),
        translations::version.eq(translations::version + 1),
        translations::updated_by.eq(None::<i64>),
        translations::updated_at.eq(at),
    ))
    .returning(Translation::as_returning())
    .get_results(c))?;
    for t in &published {
        revisions::insert(conn, t, "schedule:publish", None)?;
        crate::content::search::sync(conn, t)?;
        audit::record(
            conn,
            &Actor::system(),
            "translation.publish",
            "translation",
            &t.id.to_string(),
            json!({ "article": t.article_id, "lang": t.lang, "published_at": t.published_at.map(|d| d.and_utc()), "version": t.version, "by": "scheduler" }),
        )?;
        crate::articles::touch(conn, t.article_id)?;
    }
    Ok(published.into_iter().map(|t| t.id).collect())
}

/// One pass, off the async executor.
pub async fn run_once(state: &AppState) -> AppResult<Vec<i64>> {
    let published = state.db.transaction(publish_due).await?;
    if !published.is_empty() {
        state.cache.invalidate();
    }
    Ok(published)
}

/// Runs the scheduler every `interval` until the process ends. Errors (a database restart,
/// say) are logged and the next pass tries again.
pub async fn run(state: Arc<AppState>, interval: Duration) {
    let mut ticker = actix_web::rt::time::interval(interval);
    loop {
        ticker.tick().await;
        match run_once(&state).await {
            Ok(ids) if !ids.is_empty() => {
                tracing::info!(count = ids.len(), ?ids, "published scheduled translations")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "scheduler pass failed"),
        }
    }
}
