//! Each node's in-process caches: the cache of Content API responses ([`ResponseCache`], sent
//! through [`http`]), and what requests of one cache generation share ([`Generational`] for
//! one value, [`GenerationalMap`] for many). How they stay correct when several nodes share
//! one database:
//!
//! Every change the Content API could show moves `content_version` in the database, in the
//! transaction that makes the change (the change pipeline, `articles::changes`). A node that
//! commits such a change starts a new generation at once; every node reads that version twice per
//! freshness period and, when it has moved, starts a new cache generation: nothing cached
//! before is served again. So a change made through any node is visible through every node
//! within the period (`CONTENT_FRESHNESS_MS`, 1 s by default).
//!
//! A response computed while a change lands could carry the old state; it is only stored if
//! the generation it was computed in is still the current one when it is stored.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::web::Bytes;
use diesel::prelude::*;
use futures_channel::oneshot;

use crate::db::schema::content_version;
use crate::db::{Database, DbConn};
use crate::db_run;
use crate::error::AppResult;

pub mod http;
pub mod keys;

/// The content version as the database holds it now.
pub fn current_version(conn: &mut DbConn) -> AppResult<i64> {
    Ok(db_run!(conn, |c| content_version::table
        .find(1)
        .select(content_version::version)
        .first(c))?)
}

/// A finished response, ready to be sent again: its headers are built once, when it is made.
#[derive(Debug)]
pub struct Cached {
    pub status: u16,
    /// The body as made; empty when only its gzip form is kept (see [`Cached::gzip_only`]).
    pub body: Bytes,
    /// Whether the answer is sent gzipped to clients that accept it.
    pub compressible: bool,
    /// The body gzipped: made by the first client that accepts gzip (a large body's when the
    /// answer is made), then kept with it.
    pub gzip: OnceLock<Option<Bytes>>,
    /// A large body is kept gzipped only, and unzipped for the rare client that wants neither.
    pub gzip_only: bool,
    pub etag: String,
    /// The headers it is sent with, `ETag` included, `Cache-Control` not (it counts down).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// For `If-Modified-Since`.
    pub last_modified: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// Responses that change without an editorial change (view counts) expire on their own.
    pub expires: Option<Instant>,
    /// A `Cache-Control` of its own, for answers given to one reader.
    pub cache_control: Option<HeaderValue>,
}

impl Cached {
    fn size(&self) -> usize {
        self.body.len()
            + self
                .gzip
                .get()
                .and_then(Option::as_ref)
                .map_or(0, Bytes::len)
            + self
                .headers
                .iter()
                .map(|(_, v)| v.len() + 32)
                .sum::<usize>()
            + 256
    }
}

struct Generation {
    id: u64,
    /// Two halves: new entries go to `young`; when it is full, it becomes `old` and the
    /// previous `old` is dropped. An approximate LRU with O(1) work per request.
    young: HashMap<String, Arc<Cached>>,
    old: HashMap<String, Arc<Cached>>,
    young_bytes: usize,
}

/// One value that every request of a cache generation reads alike (the enabled languages, the
/// names item cards point to, the live prompts): read from the database by the first request
/// that needs it in a generation, and shared by the rest until the next. A value read while a
/// newer generation begins is only kept if none newer is kept already.
pub struct Generational<T> {
    kept: Mutex<Option<(u64, Arc<T>)>>,
}

impl<T> Default for Generational<T> {
    fn default() -> Self {
        Generational {
            kept: Mutex::new(None),
        }
    }
}

impl<T> Generational<T> {
    /// The value kept for `generation`, if one is.
    pub fn peek(&self, generation: u64) -> Option<Arc<T>> {
        let kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        kept.as_ref()
            .filter(|(g, _)| *g == generation)
            .map(|(_, value)| value.clone())
    }

    /// The value of `generation`, read with `load` unless it is kept.
    pub fn get(&self, generation: u64, load: impl FnOnce() -> AppResult<T>) -> AppResult<Arc<T>> {
        if let Some(value) = self.peek(generation) {
            return Ok(value);
        }
        let fresh = Arc::new(load()?);
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        if kept.as_ref().is_none_or(|(g, _)| *g <= generation) {
            *kept = Some((generation, fresh.clone()));
        }
        Ok(fresh)
    }
}

/// Many values of one cache generation, by key (items already made, slugs already looked up),
/// at most `max` of them: beyond, the map starts afresh. Values made in an older generation
/// than the one kept are not kept.
pub struct GenerationalMap<K, V> {
    inner: Mutex<(u64, HashMap<K, V>)>,
    max: usize,
}

impl<K: std::hash::Hash + Eq, V: Clone> GenerationalMap<K, V> {
    pub fn new(max: usize) -> Self {
        GenerationalMap {
            inner: Mutex::new((0, HashMap::new())),
            max,
        }
    }

    pub fn get(&self, generation: u64, key: &K) -> Option<V> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if inner.0 != generation {
            return None;
        }
        inner.1.get(key).cloned()
    }

    pub fn put(&self, generation: u64, key: K, value: V) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if inner.0 > generation {
            return;
        }
        if inner.0 < generation || inner.1.len() >= self.max {
            inner.0 = generation;
            inner.1.clear();
        }
        inner.1.insert(key, value);
    }
}

/// The response cache of one node, with the `Cache-Control` its responses are sent with.
pub struct ResponseCache {
    inner: Mutex<Generation>,
    /// Keys being computed now, with whoever waits for them: when many readers ask for the
    /// same uncached page at once, one computes it and the others get its answer.
    in_flight: Mutex<HashMap<String, Vec<oneshot::Sender<Arc<Cached>>>>>,
    generation: AtomicU64,
    half_budget: usize,
    seen_version: AtomicU64,
    /// `CONTENT_MAX_AGE_SECS` and `CONTENT_STALE_SECS`.
    max_age: u32,
    stale: u32,
    /// The `Cache-Control` of Content API responses, built once.
    cache_control: HeaderValue,
    /// Answers found in the cache, and answers looked for and not found.
    hits: AtomicU64,
    misses: AtomicU64,
}

impl ResponseCache {
    /// A cache of `budget_mib` MiB whose responses may be kept by clients and CDNs for
    /// `max_age` seconds, and served stale for `stale` more while they revalidate.
    pub fn new(budget_mib: usize, max_age: u32, stale: u32) -> Self {
        ResponseCache {
            max_age,
            stale,
            cache_control: public_cache_control(max_age, stale),
            inner: Mutex::new(Generation {
                id: 0,
                young: HashMap::new(),
                old: HashMap::new(),
                young_bytes: 0,
            }),
            in_flight: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
            half_budget: budget_mib * 1024 * 1024 / 2,
            seen_version: AtomicU64::new(u64::MAX),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// Hits and misses so far.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }

    pub fn enabled(&self) -> bool {
        self.half_budget > 0
    }

    /// The generation a response about to be computed belongs to.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub fn get(&self, key: &str) -> Option<Arc<Cached>> {
        if !self.enabled() {
            return None;
        }
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let hit = match g.young.get(key) {
            Some(hit) => Some(hit.clone()),
            None => {
                let promoted = g.old.remove(key);
                if let Some(entry) = &promoted {
                    g.young_bytes += entry.size();
                    g.young.insert(key.to_owned(), entry.clone());
                }
                promoted
            }
        };
        let hit = match hit {
            Some(entry) if entry.expires.is_some_and(|at| at <= Instant::now()) => {
                g.young.remove(key);
                None
            }
            other => other,
        };
        let counter = if hit.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        hit
    }

    /// Stores `value` unless the content changed since `generation` began.
    pub fn put(&self, key: String, value: Arc<Cached>, generation: u64) {
        if !self.enabled() || value.size() > self.half_budget {
            return;
        }
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if g.id != generation {
            return;
        }
        if g.young_bytes + value.size() > self.half_budget {
            g.old = std::mem::take(&mut g.young);
            g.young_bytes = 0;
        }
        g.young_bytes += value.size();
        g.young.insert(key, value);
    }

    /// Joins the computation of `key` if one is running (`Waiting`), or takes it on
    /// (`Leading`: compute, then [`Leader::finish`]).
    pub fn join(&self, key: &str) -> Flight<'_> {
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        match in_flight.get_mut(key) {
            Some(waiters) => {
                let (tx, rx) = oneshot::channel();
                waiters.push(tx);
                Flight::Waiting(rx)
            }
            None => {
                in_flight.insert(key.to_owned(), Vec::new());
                Flight::Leading(Leader {
                    cache: self,
                    key: key.to_owned(),
                    finished: false,
                })
            }
        }
    }

    /// Forgets everything: a change may have made any response stale.
    pub fn invalidate(&self) {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.id += 1;
        g.young.clear();
        g.old.clear();
        g.young_bytes = 0;
        self.generation.store(g.id, Ordering::Release);
    }

    /// Compares the database's content version with the last one seen and invalidates when it
    /// moved. Returns whether it did.
    pub fn observe(&self, version: i64) -> bool {
        let version = version as u64;
        let previous = self.seen_version.swap(version, Ordering::AcqRel);
        if previous != version {
            self.invalidate();
            true
        } else {
            false
        }
    }
}

/// `public, max-age=…, stale-while-revalidate=…`.
fn public_cache_control(max_age: impl std::fmt::Display, stale: u32) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "public, max-age={max_age}, stale-while-revalidate={stale}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("no-cache"))
}

/// Whether this request computes a response or waits for another's.
pub enum Flight<'a> {
    Leading(Leader<'a>),
    /// Gets the leader's answer, or is cancelled when the leader fails (then compute alone).
    Waiting(oneshot::Receiver<Arc<Cached>>),
}

/// The request computing a response others may be waiting for. Dropping it without
/// [`Leader::finish`] (an error, a client gone) releases the waiters to compute for themselves.
pub struct Leader<'a> {
    cache: &'a ResponseCache,
    key: String,
    finished: bool,
}

impl Leader<'_> {
    pub fn finish(mut self, entry: &Arc<Cached>) {
        let waiters = self.take();
        self.finished = true;
        for w in waiters {
            let _ = w.send(entry.clone());
        }
    }

    fn take(&self) -> Vec<oneshot::Sender<Arc<Cached>>> {
        let mut in_flight = self
            .cache
            .in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        in_flight.remove(&self.key).unwrap_or_default()
    }
}

impl Drop for Leader<'_> {
    fn drop(&mut self) {
        if !self.finished {
            drop(self.take());
        }
    }
}

/// Watches the content version for as long as the node runs, twice per `freshness`.
pub async fn watch(cache: Arc<ResponseCache>, db: Database, freshness: Duration) {
    let mut ticker = actix_web::rt::time::interval(freshness / 2);
    loop {
        ticker.tick().await;
        match db.run(current_version).await {
            Ok(version) => {
                cache.observe(version);
            }
            Err(e) => {
                // Without the version this node cannot know what is fresh: serve nothing from
                // the cache until it can.
                cache.invalidate();
                tracing::warn!(error = %e, "reading the content version failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(body: &str) -> Arc<Cached> {
        Arc::new(Cached {
            status: 200,
            body: Bytes::from(body.to_owned()),
            compressible: false,
            gzip: OnceLock::new(),
            gzip_only: false,
            etag: "\"x\"".into(),
            headers: Vec::new(),
            last_modified: None,
            expires: None,
            cache_control: None,
        })
    }

    #[test]
    fn a_response_computed_before_a_change_is_not_stored_after_it() {
        let cache = ResponseCache::new(1, 60, 30);
        let before = cache.generation();
        cache.observe(1);
        cache.put("a".into(), entry("old"), before);
        assert!(cache.get("a").is_none());
        let now = cache.generation();
        cache.put("a".into(), entry("new"), now);
        assert_eq!(cache.get("a").unwrap().body, "new");
        assert!(!cache.observe(1), "same version, nothing to do");
        assert!(cache.observe(2));
        assert!(cache.get("a").is_none());
    }

    #[test]
    fn the_cache_stays_within_its_budget() {
        let cache = ResponseCache::new(1, 60, 30);
        let g = cache.generation();
        let big = "x".repeat(100 * 1024);
        for i in 0..50 {
            cache.put(format!("k{i}"), entry(&big), g);
        }
        let kept = (0..50)
            .filter(|i| cache.get(&format!("k{i}")).is_some())
            .count();
        assert!(kept > 0 && kept <= 10, "{kept}");
        assert!(cache.get("k49").is_some(), "the newest stays");
    }
}
