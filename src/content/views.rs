//! Article views for "Most read": counted in memory by the beacon and written to the database
//! in batches (see [`crate::tally`]).
//!
//! A reader — a client address and User-Agent — counts once per translation per
//! `VIEW_REPEAT_MINUTES` (a repeat may count again after one to two such windows), and an
//! address may send `VIEW_BEACONS_PER_MINUTE` beacons a minute to each node (429 beyond). Both
//! are decided in memory, without a database read: readers are remembered by a hash of who they
//! are and what they read, at most a million at a time, in two tables of fixed size made when the
//! node starts (8 MiB in all), so that memory does not grow as readers come.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;

use crate::cache::GenerationalMap;
use crate::db::schema::view_counts;
use crate::db::{Database, DbConn};
use crate::db_run;
use crate::error::AppResult;
use crate::ratelimit::PerAddress;
use crate::tally::{Count, Tally};

/// A translation's views on one day, with its language.
#[derive(Clone)]
pub struct Views {
    lang: String,
    n: i64,
}

impl Count for Views {
    fn merge(&mut self, more: Self) {
        self.n += more.n;
    }

    fn total(&self) -> i64 {
        self.n
    }
}

type Pending = HashMap<(i64, NaiveDate), Views>;

/// Views counted since the last write, by translation and day.
pub struct ViewCounter {
    pending: Tally<(i64, NaiveDate), Views>,
    /// (language, slug) → translation id, valid for one cache generation, so that counting a
    /// view needs no database read.
    ids: GenerationalMap<(String, String), i64>,
    readers: Mutex<Readers>,
    repeat_window: Duration,
    /// Beacons per client address this minute.
    pub per_address: PerAddress,
    /// Views counted, and beacons of a reader already counted in the window.
    pub counted: AtomicU64,
    pub repeated: AtomicU64,
}

/// Who read what lately, as hashes: this window's and the one before.
struct Readers {
    started: Instant,
    current: Seen,
    previous: Seen,
}

/// Slugs remembered at most; beyond, the memory starts afresh.
const MAX_REMEMBERED_SLUGS: usize = 100_000;
/// Readers remembered per window at most; a full window starts the next early.
const MAX_READERS: usize = 500_000;
/// Slots of a window's table: a power of two, about twice [`MAX_READERS`], so that probes
/// stay short.
const SLOTS: usize = 1 << 20;
/// A slot no reader holds.
const EMPTY: u32 = u32::MAX;

/// A set of 64-bit hashes in a table of [`SLOTS`] fixed when it is made: the low bits of a
/// hash choose the slot, the high 32 are kept in it (a false "seen" needs 52 equal bits: about
/// one in 10,000 readers when the table is full). Made filled, so that the whole table is in
/// memory from the start; emptied in place.
struct Seen {
    slots: Vec<u32>,
    len: usize,
}

impl Seen {
    fn new() -> Self {
        Seen {
            slots: vec![EMPTY; SLOTS],
            len: 0,
        }
    }

    /// The slot holding `hash`, or the empty one where it would go.
    fn slot(&self, hash: u64) -> (usize, u32) {
        let tag = ((hash >> 32) as u32).min(EMPTY - 1);
        let mut i = hash as usize & (SLOTS - 1);
        while self.slots[i] != EMPTY && self.slots[i] != tag {
            i = (i + 1) & (SLOTS - 1);
        }
        (i, tag)
    }

    fn contains(&self, hash: u64) -> bool {
        let (i, _) = self.slot(hash);
        self.slots[i] != EMPTY
    }

    /// Adds `hash`; false when it was there. Never called on a full table ([`MAX_READERS`]).
    fn insert(&mut self, hash: u64) -> bool {
        let (i, tag) = self.slot(hash);
        if self.slots[i] != EMPTY {
            return false;
        }
        self.slots[i] = tag;
        self.len += 1;
        true
    }

    fn clear(&mut self) {
        self.slots.fill(EMPTY);
        self.len = 0;
    }
}

impl Default for ViewCounter {
    fn default() -> Self {
        ViewCounter::new(Duration::from_secs(30 * 60))
    }
}

impl ViewCounter {
    /// Counting each reader once per translation per `repeat_window`.
    pub fn new(repeat_window: Duration) -> Self {
        ViewCounter {
            pending: Tally::default(),
            ids: GenerationalMap::new(MAX_REMEMBERED_SLUGS),
            readers: Mutex::new(Readers {
                started: Instant::now(),
                current: Seen::new(),
                previous: Seen::new(),
            }),
            repeat_window,
            per_address: PerAddress::default(),
            counted: AtomicU64::new(0),
            repeated: AtomicU64::new(0),
        }
    }

    /// Whether this is the reader's first view of translation `id` in the window; remembers it.
    pub fn first_view(&self, addr: &str, user_agent: &str, id: i64) -> bool {
        let mut key = Vec::with_capacity(addr.len() + user_agent.len() + 10);
        key.extend_from_slice(addr.as_bytes());
        key.push(0);
        key.extend_from_slice(user_agent.as_bytes());
        key.push(0);
        key.extend_from_slice(&id.to_le_bytes());
        let hash = xxhash_rust::xxh3::xxh3_64(&key);
        let mut r = self.readers.lock().unwrap_or_else(|p| p.into_inner());
        if r.started.elapsed() >= self.repeat_window || r.current.len >= MAX_READERS {
            let r = &mut *r;
            std::mem::swap(&mut r.previous, &mut r.current);
            r.current.clear();
            r.started = Instant::now();
        }
        let first = !r.previous.contains(hash) && r.current.insert(hash);
        drop(r);
        let counter = if first { &self.counted } else { &self.repeated };
        counter.fetch_add(1, Ordering::Relaxed);
        first
    }

    /// The translation id remembered for (`lang`, `slug`) in cache generation `generation`.
    pub fn remembered(&self, generation: u64, lang: &str, slug: &str) -> Option<i64> {
        self.ids
            .get(generation, &(lang.to_owned(), slug.to_owned()))
    }

    pub fn remember(&self, generation: u64, lang: &str, slug: &str, id: i64) {
        self.ids
            .put(generation, (lang.to_owned(), slug.to_owned()), id);
    }

    /// Writes what has been counted. On failure the counts are kept for the next try.
    pub async fn flush(&self, db: &Database) -> AppResult<usize> {
        self.pending.flush(db, write).await
    }

    /// Counts one view of translation `id` (in `lang`) today.
    pub fn count(&self, id: i64, lang: &str) {
        let day = Utc::now().date_naive();
        self.pending.add(
            (id, day),
            || Views {
                lang: lang.to_owned(),
                n: 0,
            },
            |v| v.n += 1,
        );
    }
}

/// Adds views directly: (translation, language, day, views). Call in a transaction.
pub fn add(conn: &mut DbConn, views: &[(i64, String, NaiveDate, i64)]) -> AppResult<()> {
    let counts = views
        .iter()
        .map(|(id, lang, day, n)| {
            let views = Views {
                lang: lang.clone(),
                n: *n,
            };
            ((*id, *day), views)
        })
        .collect();
    write(conn, &counts)
}

/// Adds `counts` to the stored ones. Views of translations deleted since they were counted go
/// with them. Call in a transaction.
fn write(conn: &mut DbConn, counts: &Pending) -> AppResult<()> {
    use crate::db::schema::translations;
    let mut ids: Vec<i64> = counts.keys().map(|(id, _)| *id).collect();
    ids.sort_unstable();
    ids.dedup();
    let existing: std::collections::HashSet<i64> = db_run!(conn, |c| translations::table
        .filter(translations::id.eq_any(&ids))
        .select(translations::id)
        .load::<i64>(c))?
    .into_iter()
    .collect();
    for ((id, day), Views { lang, n }) in counts {
        if !existing.contains(id) {
            continue;
        }
        let row = (
            view_counts::translation_id.eq(*id),
            view_counts::lang.eq(lang),
            view_counts::day.eq(*day),
            view_counts::views.eq(*n),
        );
        db_run!(conn, |c| diesel::insert_into(view_counts::table)
            .values(row)
            .on_conflict((view_counts::translation_id, view_counts::day))
            .do_update()
            .set(view_counts::views.eq(view_counts::views + excluded(view_counts::views)))
            .execute(c))?;
    }
    Ok(())
}

/// Whether `req` comes from an obvious robot, by its User-Agent.
pub fn from_robot(req: &actix_web::HttpRequest) -> bool {
    is_bot(
        req.headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok()),
    )
}

/// Whether a User-Agent is an obvious robot, whose views are not counted. A missing one counts
/// as a robot too: every browser sends one.
pub fn is_bot(user_agent: Option<&str>) -> bool {
    const MARKERS: [&str; 14] = [
        "bot",
        "crawl",
        "spider",
        "slurp",
        "preview",
        "fetch",
        "monitor",
        "headless",
        "lighthouse",
        "python-requests",
        "curl/",
        "wget/",
        "go-http-client",
        "facebookexternalhit",
    ];
    match user_agent {
        None => true,
        Some(ua) if ua.trim().is_empty() => true,
        Some(ua) => {
            let ua = ua.to_ascii_lowercase();
            MARKERS.iter().any(|m| ua.contains(m))
        }
    }
}

/// The most-read translation ids in `lang` since `since`, with their views, most first.
pub fn most_read(
    conn: &mut DbConn,
    lang: &str,
    since: NaiveDate,
    limit: i64,
) -> AppResult<Vec<(i64, i64)>> {
    use crate::db::schema::published_translations as pt;
    use diesel::dsl::sql;
    use diesel::sql_types::BigInt;
    let lang = lang.to_owned();
    // SUM's type differs between the backends; the cast makes it a 64-bit integer on both.
    Ok(db_run!(conn, |c| view_counts::table
        .inner_join(pt::table.on(pt::id.eq(view_counts::translation_id)))
        .filter(view_counts::lang.eq(&lang))
        .filter(view_counts::day.ge(since))
        .group_by(view_counts::translation_id)
        .select((
            view_counts::translation_id,
            sql::<BigInt>("CAST(SUM(view_counts.views) AS BIGINT)"),
        ))
        .order((
            sql::<BigInt>("CAST(SUM(view_counts.views) AS BIGINT)").desc(),
            view_counts::translation_id.desc(),
        ))
        .limit(limit)
        .load(c))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn obvious_robots_are_not_counted() {
        assert!(is_bot(None));
        assert!(is_bot(Some(
            "Googlebot/2.1 (+http://www.google.com/bot.html)"
        )));
        assert!(is_bot(Some("curl/8.5.0")));
        assert!(!is_bot(Some(
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120 Safari/537.36"
        )));
    }

    #[test]
    fn a_reader_counts_once_per_story_across_a_full_window_and_is_forgotten_after_two() {
        let views = ViewCounter::new(Duration::from_secs(3600));
        assert!(views.first_view("10.0.0.1", "Firefox", 7));
        assert!(!views.first_view("10.0.0.1", "Firefox", 7));
        assert!(views.first_view("10.0.0.1", "Firefox", 8));
        assert!(views.first_view("10.0.0.2", "Firefox", 7));
        assert!(views.first_view("10.0.0.1", "Chrome", 7));
        // Enough other readers to fill a window: the first readers move to the previous window
        // and are still remembered; filling the next forgets them.
        for n in 0..MAX_READERS as i64 {
            views.first_view("10.9.9.9", "Firefox", 1_000_000 + n);
        }
        assert!(!views.first_view("10.0.0.1", "Firefox", 7));
        for n in 0..MAX_READERS as i64 {
            views.first_view("10.9.9.9", "Firefox", 5_000_000 + n);
        }
        assert!(views.first_view("10.0.0.1", "Firefox", 7));
        assert_eq!(
            views.counted.load(Ordering::Relaxed),
            5 + 2 * MAX_READERS as u64
        );
    }

    #[test]
    fn a_window_that_has_passed_is_forgotten_a_window_later() {
        let views = ViewCounter::new(Duration::from_millis(30));
        assert!(views.first_view("10.0.0.1", "Firefox", 7));
        std::thread::sleep(Duration::from_millis(40));
        assert!(
            !views.first_view("10.0.0.1", "Firefox", 7),
            "remembered one window more"
        );
        std::thread::sleep(Duration::from_millis(40));
        assert!(views.first_view("10.0.0.1", "Firefox", 7));
    }
}
