//! Moving a translation through the workflow: the one write path of a move, whether a person
//! makes it (after their right to was checked) or the scheduler publishes what fell due.

use chrono::NaiveDateTime;
use serde_json::json;

use crate::articles::changes::{changed, Change};
use crate::articles::translations::{self, Row, Translation};
use crate::articles::Status;
use crate::audit::{self, Actor};
use crate::db::{now, DbConn};
use crate::error::AppResult;

/// Moves `current`, as read at version `expected`, to `to` (with `scheduled_at` for a move to
/// `scheduled`), with a revision, an audit entry and the change announced. 412 when another
/// write got there first. Call in a transaction.
pub fn move_to(
    conn: &mut DbConn,
    current: &Translation,
    expected: i32,
    to: Status,
    scheduled_at: Option<NaiveDateTime>,
    actor: &Actor,
) -> AppResult<Translation> {
    let from = current.status()?;
    let mut row = Row::of(current);
    row.status = to.as_str().to_owned();
    row.scheduled_at = scheduled_at;
    if to == Status::Published && row.published_at.is_none() {
        // The first publication is dated when it fell due, or now.
        let at = now();
        row.published_at = Some(current.scheduled_at.filter(|due| *due <= at).unwrap_or(at));
    }
    let verb = verb(from, to);
    let by_scheduler = actor.user_id.is_none();
    let action = if by_scheduler {
        format!("schedule:{verb}")
    } else {
        format!("transition:{}", to.as_str())
    };
    let saved = translations::write(conn, current, expected, row, &action, actor.user_id)?;
    let mut detail = json!({
        "article": saved.article_id,
        "lang": saved.lang,
        "from": from,
        "to": to,
        "scheduled_at": saved.scheduled_at.map(|d| d.and_utc()),
        "published_at": saved.published_at.map(|d| d.and_utc()),
        "version": saved.version,
    });
    if by_scheduler {
        detail["by"] = json!("scheduler");
    }
    audit::record(
        conn,
        actor,
        &format!("translation.{verb}"),
        "translation",
        &saved.id.to_string(),
        detail,
    )?;
    changed(conn, Change::translation(&saved))?;
    Ok(saved)
}

/// How the audit log names a move.
fn verb(from: Status, to: Status) -> &'static str {
    match (from, to) {
        (Status::Draft, Status::InReview) => "submit",
        (Status::InReview, Status::Draft) => "withdraw",
        (Status::Published, Status::Draft) => "unpublish",
        (Status::Scheduled, Status::Draft) => "unschedule",
        (Status::Archived, Status::Draft) => "unarchive",
        (_, Status::Scheduled) => "schedule",
        (_, Status::Published) => "publish",
        (_, Status::Archived) => "archive",
        _ => "transition",
    }
}
