//! PostgreSQL read replicas (`DATABASE_REPLICA_URL`): where the Content API's uncached reads go
//! while a replica is healthy — it answers, and it is at most `REPLICA_MAX_LAG_MS` behind the
//! primary — and how each replica's health is followed. Everything else (the Admin API, sign-in,
//! every write, and so an editor reading what they just wrote) stays on the primary.
//!
//! Lag is measured from replay positions: every few hundred milliseconds the primary's WAL
//! position is sampled with the time, and a replica that has replayed up to a position is as far
//! behind as the newest sample it has not reached is old. A read sent to a replica first checks
//! that the replica has the content version this node's cache already reflects; one that does not,
//! or that cannot be reached, is served by the primary instead, so no reader sees an error or
//! older content because of a replica.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::content_version;
use crate::db::{Database, DbConn};
use crate::db_run;
use crate::error::AppResult;

/// How often the primary's position and each replica's are read.
const EVERY: Duration = Duration::from_millis(200);
/// Samples of the primary's position kept: a replica further behind is reported at this bound.
const SAMPLES: usize = 150;

/// One replica and what is known of it.
pub struct Replica {
    /// Host, port and database, without credentials: for logs, metrics and `/readyz`.
    pub name: String,
    pub db: Database,
    healthy: AtomicBool,
    lag_ms: AtomicU64,
    /// Reads it served.
    reads: AtomicU64,
}

/// A replica's health as `/readyz` reports it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReplicaStatus {
    /// Host, port and database.
    #[schema(example = "replica-1:5432/newsdesk")]
    pub name: String,
    /// Whether Content API reads go to it.
    pub healthy: bool,
    /// How far behind the primary it was last measured; absent when it could not be reached.
    pub lag_ms: Option<u64>,
    /// Reads it has served since this node started.
    pub reads: u64,
}

/// The replicas of this node.
pub struct Replicas {
    list: Vec<Replica>,
    next: AtomicUsize,
    max_lag: Duration,
    /// Reads meant for a replica that the primary served (none healthy, behind, unreachable).
    fallbacks: AtomicU64,
}

impl Replicas {
    /// Pools on `urls`, each of `pool_size` connections, none opened yet; every replica starts
    /// unhealthy until its first measurement.
    pub fn open(urls: &[String], pool_size: u32, max_lag: Duration) -> Result<Self, String> {
        let list = urls
            .iter()
            .map(|url| {
                Ok(Replica {
                    name: display_name(url),
                    db: Database::connect_replica(url, pool_size)?,
                    healthy: AtomicBool::new(false),
                    lag_ms: AtomicU64::new(u64::MAX),
                    reads: AtomicU64::new(0),
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Replicas {
            list,
            next: AtomicUsize::new(0),
            max_lag,
            fallbacks: AtomicU64::new(0),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The next healthy replica, in turn.
    fn pick(&self) -> Option<usize> {
        let n = self.list.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..n)
            .map(|i| (start + i) % n)
            .find(|&i| self.list[i].healthy.load(Ordering::Acquire))
    }

    pub fn status(&self) -> Vec<ReplicaStatus> {
        self.list
            .iter()
            .map(|r| ReplicaStatus {
                name: r.name.clone(),
                healthy: r.healthy.load(Ordering::Acquire),
                lag_ms: Some(r.lag_ms.load(Ordering::Relaxed)).filter(|l| *l != u64::MAX),
                reads: r.reads.load(Ordering::Relaxed),
            })
            .collect()
    }

    /// Reads sent to the primary instead of a replica.
    pub fn fallbacks(&self) -> u64 {
        self.fallbacks.load(Ordering::Relaxed)
    }

    fn set_health(&self, i: usize, healthy: bool, lag: Option<u64>, why: &str) {
        let r = &self.list[i];
        r.lag_ms.store(lag.unwrap_or(u64::MAX), Ordering::Relaxed);
        let was = r.healthy.swap(healthy, Ordering::AcqRel);
        if was && !healthy {
            tracing::warn!(replica = %r.name, reason = why, "replica skipped; the primary serves its reads");
        } else if !was && healthy {
            tracing::info!(replica = %r.name, lag_ms = lag, "replica serving reads");
        }
    }

    /// Follows every replica's health for as long as the node runs.
    pub async fn watch(self: Arc<Self>, primary: Database) {
        let mut ticker = actix_web::rt::time::interval(EVERY);
        let samples: Arc<Mutex<VecDeque<(Instant, u64)>>> = Arc::default();
        loop {
            ticker.tick().await;
            match primary.run(|c| lsn(c, "pg_current_wal_lsn()")).await {
                Ok(Some(at)) => {
                    let mut s = samples.lock().unwrap_or_else(|p| p.into_inner());
                    s.push_back((Instant::now(), at));
                    if s.len() > SAMPLES {
                        s.pop_front();
                    }
                }
                // Without the primary's position no lag can be measured; the replicas keep
                // their last state until it can.
                _ => continue,
            }
            for i in 0..self.list.len() {
                let replayed = self.list[i]
                    .db
                    .run(|c| {
                        lsn(
                            c,
                            "COALESCE(pg_last_wal_replay_lsn(), pg_current_wal_lsn())",
                        )
                    })
                    .await;
                match replayed {
                    Ok(Some(replayed)) => {
                        let lag = {
                            let s = samples.lock().unwrap_or_else(|p| p.into_inner());
                            lag_behind(&s, replayed, Instant::now())
                        };
                        let within = lag <= self.max_lag;
                        let ms = lag.as_millis() as u64;
                        self.set_health(i, within, Some(ms), "lagging");
                    }
                    Ok(None) => self.set_health(i, false, None, "no replay position"),
                    Err(_) => self.set_health(i, false, None, "unreachable"),
                }
            }
        }
    }
}

impl Database {
    /// Runs a read on a healthy replica when there is one, else on this (the primary). The
    /// replica must hold content version `fresh_as` at least (what the caller's cache already
    /// reflects). When it does not, when it cannot be reached, or when the read fails on it with
    /// a server-side error (the replica stopped mid-query), the primary runs `f` again: a reader
    /// never gets an error or older content because of a replica. Any other error of `f` (a 404,
    /// a 400) is the answer.
    pub async fn read<T, F>(&self, fresh_as: Option<u64>, f: F) -> AppResult<T>
    where
        F: Fn(&mut DbConn) -> AppResult<T> + Send + Sync + 'static,
        T: Send + 'static,
    {
        let f = Arc::new(f);
        let replicas = self.replicas.as_ref();
        let Some((replicas, i)) = replicas.and_then(|r| r.pick().map(|i| (r.clone(), i))) else {
            if let Some(r) = replicas {
                r.fallbacks.fetch_add(1, Ordering::Relaxed);
            }
            return self.run(move |c| f(c)).await;
        };
        let on_replica = f.clone();
        let outcome = replicas.list[i]
            .db
            .run(move |c| {
                if let Some(wanted) = fresh_as {
                    let has: i64 = db_run!(c, |c| content_version::table
                        .find(1)
                        .select(content_version::version)
                        .first(c))?;
                    if (has as u64) < wanted {
                        return Ok(None);
                    }
                }
                on_replica(c).map(Some)
            })
            .await;
        match outcome {
            Ok(Some(value)) => {
                replicas.list[i].reads.fetch_add(1, Ordering::Relaxed);
                Ok(value)
            }
            Err(e) if !actix_web::ResponseError::status_code(&e).is_server_error() => Err(e),
            behind_or_failed => {
                if let Err(e) = &behind_or_failed {
                    // Skipped until the next measurement finds it well again.
                    tracing::debug!(replica = %replicas.list[i].name, error = %e, "a replica read failed");
                    replicas.set_health(i, false, None, "a read failed");
                }
                replicas.fallbacks.fetch_add(1, Ordering::Relaxed);
                self.run(move |c| f(c)).await
            }
        }
    }
}

/// A WAL position (`16/B374D848`) read with `expr`, as a number.
fn lsn(c: &mut DbConn, expr: &str) -> AppResult<Option<u64>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        lsn: Option<String>,
    }
    let DbConn::Postgres(pg) = c else {
        return Ok(None);
    };
    let row: Row = diesel::sql_query(format!("SELECT {expr}::text AS lsn")).get_result(pg)?;
    Ok(row.lsn.as_deref().and_then(parse_lsn))
}

fn parse_lsn(text: &str) -> Option<u64> {
    let (hi, lo) = text.split_once('/')?;
    Some((u64::from_str_radix(hi, 16).ok()? << 32) | u64::from_str_radix(lo, 16).ok()?)
}

/// How far behind a replica that has replayed up to `replayed` is, given the primary's positions
/// over time (oldest first): nothing when it has the newest; else the age of the newest position
/// it has; else the age of the oldest kept.
fn lag_behind(samples: &VecDeque<(Instant, u64)>, replayed: u64, now: Instant) -> Duration {
    match samples.back() {
        None => Duration::ZERO,
        Some((_, newest)) if replayed >= *newest => Duration::ZERO,
        _ => {
            // The first position it has not reached: it has been behind since just before then.
            let first_missing = samples
                .iter()
                .find(|(_, at)| *at > replayed)
                .map_or(now, |(t, _)| *t);
            now.saturating_duration_since(first_missing)
        }
    }
}

/// `postgres://user:secret@host:5432/db?x` → `host:5432/db`.
fn display_name(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    rest.split('?').next().unwrap_or(rest).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_parse_and_lag_is_the_age_of_what_is_missing() {
        assert_eq!(parse_lsn("16/B374D848"), Some((0x16 << 32) | 0xB374_D848));
        assert_eq!(parse_lsn("nonsense"), None);
        let t0 = Instant::now();
        let samples: VecDeque<(Instant, u64)> = [
            (t0, 100),
            (t0 + Duration::from_millis(200), 200),
            (t0 + Duration::from_millis(400), 300),
        ]
        .into();
        let now = t0 + Duration::from_millis(500);
        assert_eq!(lag_behind(&samples, 300, now), Duration::ZERO);
        assert_eq!(lag_behind(&samples, 250, now), Duration::from_millis(100));
        assert_eq!(lag_behind(&samples, 150, now), Duration::from_millis(300));
        assert_eq!(lag_behind(&samples, 50, now), Duration::from_millis(500));
        assert_eq!(
            display_name("postgres://u:p@db-2:5433/news?sslmode=require"),
            "db-2:5433/news"
        );
    }
}
