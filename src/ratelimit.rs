//! Fixed-window rate limits kept in the database, so that every Newsdesk node behind a load
//! balancer counts against the same budget. Each window is its own row (the key names the
//! subject and the window), so counting is one atomic upsert with no read-then-write race.

use chrono::Utc;
use diesel::prelude::*;

use crate::db::schema::rate_limits;
use crate::db::DbConn;
use crate::db_run;
use crate::error::{AppError, AppResult};

/// A window of `secs` seconds, and the key of the window that contains now.
struct Window {
    key: String,
    expires_at: chrono::NaiveDateTime,
    retry_after: u64,
}

fn current_window(subject: &str, secs: u64) -> Window {
    let secs = secs.max(1) as i64;
    let now = Utc::now().timestamp();
    let index = now.div_euclid(secs);
    let end = (index + 1) * secs;
    Window {
        key: format!("{subject}@{index}"),
        expires_at: chrono::DateTime::from_timestamp(end, 0)
            .unwrap_or_default()
            .naive_utc(),
        retry_after: (end - now).max(1) as u64,
    }
}

/// Counts one hit for `subject`; past `limit` hits in the window the answer is 429.
pub fn enforce(conn: &mut DbConn, subject: &str, limit: u32, window_secs: u64) -> AppResult<()> {
    let (hits, retry_after) = hit(conn, subject, window_secs)?;
    if hits > limit as i32 {
        return Err(AppError::TooManyRequests {
            detail: "too many requests from this client; try again later".into(),
            retry_after,
        });
    }
    Ok(())
}

/// Counts one hit and returns the hits so far in this window and the seconds until it ends.
pub fn hit(conn: &mut DbConn, subject: &str, window_secs: u64) -> AppResult<(i32, u64)> {
    let w = current_window(subject, window_secs);
    let hits = db_run!(conn, |c| diesel::insert_into(rate_limits::table)
        .values((
            rate_limits::key.eq(&w.key),
            rate_limits::hits.eq(1),
            rate_limits::expires_at.eq(w.expires_at),
        ))
        .on_conflict(rate_limits::key)
        .do_update()
        .set(rate_limits::hits.eq(rate_limits::hits + 1))
        .returning(rate_limits::hits)
        .get_result::<i32>(c))?;
    Ok((hits, w.retry_after))
}

/// The hits so far in this window, without counting one, and the seconds until it ends.
pub fn peek(conn: &mut DbConn, subject: &str, window_secs: u64) -> AppResult<(i32, u64)> {
    let w = current_window(subject, window_secs);
    let hits = db_run!(conn, |c| rate_limits::table
        .find(&w.key)
        .select(rate_limits::hits)
        .first::<i32>(c)
        .optional())?;
    Ok((hits.unwrap_or(0), w.retry_after))
}

/// Forgets the current window's hits for `subject` (a successful sign-in clears failures).
pub fn clear(conn: &mut DbConn, subject: &str, window_secs: u64) -> AppResult<()> {
    let w = current_window(subject, window_secs);
    db_run!(conn, |c| diesel::delete(rate_limits::table.find(&w.key))
        .execute(c))?;
    Ok(())
}

/// Deletes the rows of windows that have ended.
pub fn purge_expired(conn: &mut DbConn) -> AppResult<usize> {
    let now = crate::db::now();
    Ok(db_run!(conn, |c| diesel::delete(
        rate_limits::table.filter(rate_limits::expires_at.lt(now))
    )
    .execute(c))?)
}
