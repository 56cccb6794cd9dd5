//! Publishes scheduled translations when they fall due, through the same write path as a
//! person's move ([`transitions::move_to`]).
//!
//! Every node runs the loop. Each due translation is moved in a transaction of its own by the
//! conditional write every move makes (`… WHERE version = <the version read>`): whichever
//! node's write reaches a row first moves it, and for every other node the version has moved,
//! so a translation is published exactly once however many nodes run. A node that was down
//! catches up on its first pass, since the condition is "due", not "due in this interval".

use std::time::Duration;

use diesel::prelude::*;

use crate::articles::transitions;
use crate::articles::translations;
use crate::articles::Status;
use crate::audit::Actor;
use crate::db::schema::translations as t;
use crate::db::{now, Database};
use crate::error::{AppError, AppResult};

/// Publishes every translation due by now. Returns the ids it published.
pub async fn run_once(db: &Database) -> AppResult<Vec<i64>> {
    let at = now();
    let due: Vec<i64> = db
        .run(move |c| {
            Ok(crate::db_run!(c, |c| t::table
                .filter(t::status.eq(Status::Scheduled.as_str()))
                .filter(t::scheduled_at.le(at))
                .order(t::scheduled_at)
                .select(t::id)
                .load(c))?)
        })
        .await?;
    let mut published = Vec::new();
    for id in due {
        let moved = db
            .transaction(move |c| {
                let Some(current) = translations::find_by_id(c, id)? else {
                    return Ok(false);
                };
                if current.status != Status::Scheduled.as_str()
                    || current.scheduled_at.is_none_or(|due| due > now())
                {
                    return Ok(false);
                }
                let version = current.version;
                if let Some(due) = current.scheduled_at {
                    let late = (now() - due).num_milliseconds().max(0) as u64;
                    crate::metrics::SCHEDULER_LAG_MS.set(late);
                }
                transitions::move_to(
                    c,
                    &current,
                    version,
                    Status::Published,
                    None,
                    &Actor::system(),
                )?;
                Ok(true)
            })
            .await;
        match moved {
            Ok(true) => published.push(id),
            Ok(false) => {}
            // Another node's scheduler, or an editor, moved it first.
            Err(AppError::PreconditionFailed { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(published)
}

/// Runs the scheduler every `interval` until the process ends. Errors (a database restart,
/// say) are logged and the next pass tries again.
pub async fn run(db: Database, interval: Duration) {
    let mut ticker = actix_web::rt::time::interval(interval);
    loop {
        ticker.tick().await;
        let pass = run_once(&db).await;
        if pass.is_ok() {
            crate::metrics::SCHEDULER_PASS.now();
        }
        match pass {
            Ok(ids) if !ids.is_empty() => {
                tracing::info!(count = ids.len(), ?ids, "published scheduled translations")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "scheduler pass failed"),
        }
    }
}
