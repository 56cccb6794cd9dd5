//! What each partner key was used for, per day: requests, items delivered, client errors and
//! requests refused for the rate. Counted in memory and added to the database with the view
//! counts (`VIEW_FLUSH_MS`), so a partner request costs no write.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::{partner_keys, partner_usage as pu, partners};
use crate::db::{now, Database, DbConn};
use crate::db_run;
use crate::error::AppResult;
use crate::partners::access::Partner;
use crate::tally::{Count, Tally};

/// How one request ended, for the usage counts.
#[derive(Debug, Clone, Copy)]
pub enum Outcome {
    /// Answered, with this many items.
    Served(usize),
    /// Answered with a 4xx other than 429.
    ClientError,
    /// Refused for the rate (429).
    RateLimited,
}

#[derive(Debug, Clone)]
pub struct Usage {
    partner_id: i64,
    requests: i64,
    items: i64,
    client_errors: i64,
    rate_limited: i64,
    last_used: NaiveDateTime,
}

impl Count for Usage {
    fn merge(&mut self, more: Self) {
        self.requests += more.requests;
        self.items += more.items;
        self.client_errors += more.client_errors;
        self.rate_limited += more.rate_limited;
        self.last_used = self.last_used.max(more.last_used);
    }

    fn total(&self) -> i64 {
        self.requests
    }
}

type Pending = HashMap<(i64, NaiveDate), Usage>;

/// Usage counted since the last write, by key and day.
#[derive(Default)]
pub struct UsageCounter {
    pending: Tally<(i64, NaiveDate), Usage>,
}

impl UsageCounter {
    pub fn count(&self, partner: &Partner, outcome: Outcome) {
        let at = now();
        self.pending.add(
            (partner.key_id, Utc::now().date_naive()),
            || Usage {
                partner_id: partner.id,
                requests: 0,
                items: 0,
                client_errors: 0,
                rate_limited: 0,
                last_used: at,
            },
            |u| {
                u.requests += 1;
                u.last_used = u.last_used.max(at);
                match outcome {
                    Outcome::Served(n) => u.items += n as i64,
                    Outcome::ClientError => u.client_errors += 1,
                    Outcome::RateLimited => u.rate_limited += 1,
                }
            },
        );
    }

    /// Writes what has been counted; on failure the counts are kept for the next try.
    pub async fn flush(&self, db: &Database) -> AppResult<usize> {
        self.pending.flush(db, write).await
    }
}

/// Adds `counts` to the stored ones and moves each partner's `last_used_at`. Counts of keys
/// deleted since go with them. Call in a transaction.
fn write(conn: &mut DbConn, counts: &Pending) -> AppResult<()> {
    let ids: Vec<i64> = counts.keys().map(|(id, _)| *id).collect();
    let existing: HashSet<i64> = db_run!(conn, |c| partner_keys::table
        .filter(partner_keys::id.eq_any(&ids))
        .select(partner_keys::id)
        .load::<i64>(c))?
    .into_iter()
    .collect();
    let mut last_used: HashMap<i64, NaiveDateTime> = HashMap::new();
    for ((key_id, day), u) in counts {
        if !existing.contains(key_id) {
            continue;
        }
        let seen = last_used.entry(u.partner_id).or_insert(u.last_used);
        *seen = (*seen).max(u.last_used);
        let row = (
            pu::key_id.eq(*key_id),
            pu::partner_id.eq(u.partner_id),
            pu::day.eq(*day),
            pu::requests.eq(u.requests),
            pu::items.eq(u.items),
            pu::client_errors.eq(u.client_errors),
            pu::rate_limited.eq(u.rate_limited),
        );
        db_run!(conn, |c| diesel::insert_into(pu::table)
            .values(row)
            .on_conflict((pu::key_id, pu::day))
            .do_update()
            .set((
                pu::requests.eq(pu::requests + excluded(pu::requests)),
                pu::items.eq(pu::items + excluded(pu::items)),
                pu::client_errors.eq(pu::client_errors + excluded(pu::client_errors)),
                pu::rate_limited.eq(pu::rate_limited + excluded(pu::rate_limited)),
            ))
            .execute(c))?;
    }
    for (partner_id, at) in last_used {
        // Written without moving the partner's version: using a key is not editing it.
        db_run!(conn, |c| diesel::update(
            partners::table.filter(partners::id.eq(partner_id)).filter(
                partners::last_used_at
                    .is_null()
                    .or(partners::last_used_at.lt(at))
            )
        )
        .set(partners::last_used_at.eq(at))
        .execute(c))?;
    }
    Ok(())
}

/// A key's use on one day.
#[derive(Debug, Serialize, ToSchema)]
pub struct DayUsage {
    pub day: NaiveDate,
    /// The key's id; see the partner's `keys`.
    pub key_id: i64,
    pub requests: i64,
    pub items: i64,
    /// Answers with a 4xx status other than 429.
    pub client_errors: i64,
    /// Requests refused with 429.
    pub rate_limited: i64,
}

/// Partner `id`'s use between `from` and `to` (inclusive), by day and key.
pub fn report(
    conn: &mut DbConn,
    id: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<Vec<DayUsage>> {
    let rows: Vec<(NaiveDate, i64, i64, i64, i64, i64)> = db_run!(conn, |c| pu::table
        .filter(pu::partner_id.eq(id))
        .filter(pu::day.between(from, to))
        .order((pu::day, pu::key_id))
        .select((
            pu::day,
            pu::key_id,
            pu::requests,
            pu::items,
            pu::client_errors,
            pu::rate_limited,
        ))
        .load(c))?;
    Ok(rows
        .into_iter()
        .map(
            |(day, key_id, requests, items, client_errors, rate_limited)| DayUsage {
                day,
                key_id,
                requests,
                items,
                client_errors,
                rate_limited,
            },
        )
        .collect())
}
