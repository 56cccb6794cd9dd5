//! Rate limits kept in the database, so that every Newsdesk node behind a load balancer counts
//! against the same budget. A subject's counter is one row; counting is one atomic upsert that
//! also starts a new window when the old one has ended, so there is no read-then-write race.
//!
//! Windows start with a hit, not on the clock's minute or quarter hour: a lockout reached just
//! before a clock window's edge would last a moment, and its `Retry-After` would say so.

use chrono::NaiveDateTime;
use diesel::dsl::case_when;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Integer, Timestamp};

use crate::db::schema::rate_limits;
use crate::db::DbConn;
use crate::db_run;
use crate::error::{AppError, AppResult};

/// How long a counter's window lasts.
#[derive(Debug, Clone, Copy)]
pub enum Window {
    /// `secs` from the first hit: a budget of hits per period, whatever their pace.
    FromFirst(u64),
    /// `secs` from the latest hit within the limit: hits are forgotten after that long
    /// without one, so a lockout reached with the last hit lasts the whole period.
    FromLatest(u64),
}

impl Window {
    fn secs(self) -> i64 {
        let (Window::FromFirst(s) | Window::FromLatest(s)) = self;
        s.clamp(1, i64::MAX as u64) as i64
    }
}

/// A counter's hits in its current window, and the seconds until that window ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Count {
    hits: i32,
    retry_after: u64,
}

impl Count {
    fn new(hits: i32, expires_at: NaiveDateTime, now: NaiveDateTime) -> Count {
        let left = (expires_at - now).num_milliseconds();
        Count {
            hits,
            // Rounded up, so that a client waiting this long finds the window over.
            retry_after: (left.max(0) as u64).div_ceil(1000).max(1),
        }
    }
}

/// Counts one hit for `subject`; past `limit` hits in the window the answer is 429 with
/// `detail`. Hits past the limit still count, but no longer move a [`Window::FromLatest`]: a
/// client retrying while refused does not push the window's end further away.
pub fn enforce(
    conn: &mut DbConn,
    subject: &str,
    limit: u32,
    window: Window,
    detail: &str,
) -> AppResult<()> {
    let count = hit(conn, subject, limit, window)?;
    if count.hits > limit as i32 {
        return Err(AppError::TooManyRequests {
            detail: detail.to_owned(),
            retry_after: count.retry_after,
        });
    }
    Ok(())
}

/// Counts one hit and returns the hits so far in the window.
fn hit(conn: &mut DbConn, subject: &str, limit: u32, window: Window) -> AppResult<Count> {
    let now = crate::db::now();
    let fresh = now + chrono::Duration::seconds(window.secs());
    let ended = rate_limits::expires_at.le(now);
    let moves = matches!(window, Window::FromLatest(_)).into_sql::<Bool>();
    // In SET, `hits` and `expires_at` are the row's values before this hit.
    let under = rate_limits::hits.lt(limit.min(i32::MAX as u32) as i32);
    let expires_at = case_when::<_, _, Timestamp>(ended.or(moves.and(under)), fresh)
        .otherwise(rate_limits::expires_at);
    let (hits, expires_at) = db_run!(conn, |c| diesel::insert_into(rate_limits::table)
        .values((
            rate_limits::key.eq(subject),
            rate_limits::hits.eq(1),
            rate_limits::expires_at.eq(fresh),
        ))
        .on_conflict(rate_limits::key)
        .do_update()
        .set((
            rate_limits::hits
                .eq(case_when::<_, _, Integer>(ended, 1).otherwise(rate_limits::hits + 1)),
            rate_limits::expires_at.eq(expires_at),
        ))
        .returning((rate_limits::hits, rate_limits::expires_at))
        .get_result::<(i32, NaiveDateTime)>(c))?;
    Ok(Count::new(hits, expires_at, now))
}

/// Forgets the subject's hits (a successful sign-in clears its failures).
pub fn clear(conn: &mut DbConn, subject: &str) -> AppResult<()> {
    db_run!(conn, |c| diesel::delete(rate_limits::table.find(subject))
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

/// Hits per client address in the current clock minute, kept in memory on this node only:
/// for limits on what costs too little to be worth a database write (beacons). Behind a
/// balancer of N nodes an address gets up to N times the limit.
#[derive(Default)]
pub struct PerAddress {
    window: std::sync::Mutex<(i64, std::collections::HashMap<String, u32>)>,
}

/// Addresses remembered per minute at most; beyond, the window starts afresh.
const MAX_ADDRESSES: usize = 200_000;

impl PerAddress {
    /// Counts one hit from `addr` against `per_minute` (0: no limit); past it, 429 with
    /// `detail` and the seconds to the next minute.
    pub fn admit(&self, addr: &str, per_minute: u32, detail: &str) -> AppResult<()> {
        if per_minute == 0 {
            return Ok(());
        }
        let now = chrono::Utc::now().timestamp();
        let minute = now.div_euclid(60);
        let mut w = self.window.lock().unwrap_or_else(|p| p.into_inner());
        if w.0 != minute || w.1.len() >= MAX_ADDRESSES {
            w.0 = minute;
            w.1.clear();
        }
        let hits = w.1.entry(addr.to_owned()).or_insert(0);
        *hits = hits.saturating_add(1);
        if *hits > per_minute {
            return Err(AppError::TooManyRequests {
                detail: detail.to_owned(),
                retry_after: (60 - now.rem_euclid(60)).max(1) as u64,
            });
        }
        Ok(())
    }
}
