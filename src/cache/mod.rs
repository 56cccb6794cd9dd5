//! Each node's in-process caches: the cache of Content API responses ([`ResponseCache`], sent
//! through [`http`]), and what requests of one cache generation share ([`Generational`] for
//! one value, [`GenerationalMap`] for many). How they stay correct when several nodes share
//! one database:
//!
//! Every change the Content API could show moves `content_version` in the database, in the
//! transaction that makes the change (the change pipeline, `articles::changes`), and writes the
//! surrogate keys of the answers it touched beside the new version (`content_changes`). The node
//! that commits forgets those answers at once; every other node hears of the version as it
//! commits (PostgreSQL's `NOTIFY`, which carries the keys) or reads it twice per freshness period,
//! and forgets the answers the versions it missed name — everything, when it missed too many to
//! read. Answers no change touched stay cached. Each change also starts a new generation, which
//! what requests share ([`Generational`], [`GenerationalMap`]) is read afresh in.
//!
//! A response computed while a change lands could carry the old state; it is only stored if no
//! change since its computation began named one of its keys.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::web::Bytes;
use diesel::prelude::*;
use futures_channel::oneshot;

use crate::db::schema::{content_changes, content_version};
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
    /// The body in brotli: made by the first client that accepts brotli, then kept with it.
    pub brotli: OnceLock<Option<Bytes>>,
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
    /// Its surrogate keys: a change that names one of them makes it stale.
    pub keys: Vec<String>,
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
                .brotli
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
    /// Moves with every change: what a computation started in is compared with what it ends in.
    id: u64,
    /// Two halves: new entries go to `young`; when it is full, it becomes `old` and the
    /// previous `old` is dropped. An approximate LRU with O(1) work per request.
    young: HashMap<String, Arc<Cached>>,
    old: HashMap<String, Arc<Cached>>,
    young_bytes: usize,
    /// Surrogate key → the cache keys of the answers that carry it (answers with none are filed
    /// under [`keys::EVERYTHING`]). Rebuilt when `old` is dropped, so it holds no more than the
    /// cache does.
    by_key: HashMap<String, HashSet<String>>,
    /// The latest changes, oldest first: the generation each began and the keys it named.
    recent: VecDeque<(u64, Vec<String>)>,
    /// The generation the last change that named everything began.
    everything_at: u64,
}

/// Changes remembered to decide whether an answer computed across them may be stored; one
/// computed across more is not.
const RECENT_CHANGES: usize = 256;

impl Generation {
    fn index(&mut self, key: &str, entry: &Cached) {
        if entry.keys.is_empty() {
            self.by_key
                .entry(keys::EVERYTHING.to_owned())
                .or_default()
                .insert(key.to_owned());
        }
        for k in &entry.keys {
            self.by_key
                .entry(k.clone())
                .or_default()
                .insert(key.to_owned());
        }
    }

    fn reindex(&mut self) {
        self.by_key.clear();
        let entries: Vec<(String, Arc<Cached>)> = self
            .young
            .iter()
            .chain(self.old.iter())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (k, v) in entries {
            self.index(&k, &v);
        }
    }

    fn remove(&mut self, key: &str) {
        if let Some(entry) = self.young.remove(key) {
            self.young_bytes = self.young_bytes.saturating_sub(entry.size());
        }
        self.old.remove(key);
    }

    /// Whether an answer with `keys`, computed since generation `started`, is still current.
    fn current(&self, keys: &[String], started: u64) -> bool {
        if self.id == started {
            return true;
        }
        if self.everything_at > started {
            return false;
        }
        // The changes since `started` must all be remembered, and none may name these keys.
        match self.recent.front() {
            Some((first, _)) if *first <= started => {}
            _ => return false,
        }
        !self
            .recent
            .iter()
            .filter(|(g, _)| *g >= started)
            .any(|(_, named)| {
                named.iter().any(|n| {
                    n == keys::EVERYTHING
                        || (keys.is_empty() && !named.is_empty())
                        || keys.contains(n)
                })
            })
    }
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
    /// The content version this node's cache reflects; `None` until it has read one.
    seen_version: Mutex<Option<u64>>,
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
                by_key: HashMap::new(),
                recent: VecDeque::new(),
                everything_at: 0,
            }),
            in_flight: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
            half_budget: budget_mib * 1024 * 1024 / 2,
            seen_version: Mutex::new(None),
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
                g.remove(key);
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

    /// Stores `value` unless a change since `generation` began named one of its keys.
    pub fn put(&self, key: String, value: Arc<Cached>, generation: u64) {
        if !self.enabled() || value.size() > self.half_budget {
            return;
        }
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if !g.current(&value.keys, generation) {
            return;
        }
        if g.young_bytes + value.size() > self.half_budget {
            g.old = std::mem::take(&mut g.young);
            g.young_bytes = 0;
            g.reindex();
        }
        g.young_bytes += value.size();
        g.index(&key, &value);
        if let Some(previous) = g.young.insert(key, value) {
            g.young_bytes = g.young_bytes.saturating_sub(previous.size());
        }
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
        g.by_key.clear();
        g.recent.clear();
        g.everything_at = g.id;
        self.generation.store(g.id, Ordering::Release);
    }

    /// Forgets the answers that carry one of `keys` (and those that carry none), or everything
    /// when `keys` holds [`keys::EVERYTHING`]; starts a new generation either way.
    pub fn forget(&self, stale: &[String]) {
        if stale.iter().any(|k| k == keys::EVERYTHING) {
            self.invalidate();
            return;
        }
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let began = g.id;
        g.id += 1;
        let mut dropped: Vec<String> = Vec::new();
        for k in stale.iter().map(String::as_str).chain([keys::EVERYTHING]) {
            if let Some(cached) = g.by_key.remove(k) {
                dropped.extend(cached);
            }
        }
        for key in &dropped {
            g.remove(key);
        }
        g.recent.push_back((began, stale.to_vec()));
        if g.recent.len() > RECENT_CHANGES {
            g.recent.pop_front();
        }
        self.generation.store(g.id, Ordering::Release);
    }

    /// The content version this cache reflects, once it has read one.
    pub fn seen_version(&self) -> Option<u64> {
        *self.seen_version.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Brings the cache up to content version `to`, given what the versions after `from` named
    /// (`None`: not known). Forgets what they named when the cache was at `from`, everything
    /// when it was elsewhere or the keys are not known, and nothing when it is already at `to`
    /// or past it. Returns whether it forgot anything.
    pub fn catch_up(&self, from: u64, to: u64, stale: Option<&[String]>) -> bool {
        let mut seen = self.seen_version.lock().unwrap_or_else(|p| p.into_inner());
        match (*seen, stale) {
            (Some(at), _) if at >= to => return false,
            (Some(at), Some(stale)) if at == from => self.forget(stale),
            _ => self.invalidate(),
        }
        *seen = Some(to);
        true
    }

    /// Starts afresh after the content version could not be read: nothing cached is trusted,
    /// and the next version read is caught up with from nothing.
    pub fn lost_track(&self) {
        *self.seen_version.lock().unwrap_or_else(|p| p.into_inner()) = None;
        self.invalidate();
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

/// Watches the content version for as long as the node runs, twice per `freshness`: when it
/// moved, reads what the versions since named and forgets that.
pub async fn watch(cache: Arc<ResponseCache>, db: Database, freshness: Duration) {
    let mut ticker = actix_web::rt::time::interval(freshness / 2);
    loop {
        ticker.tick().await;
        let seen = cache.seen_version();
        let read = db
            .run(move |c| {
                let version = current_version(c)? as u64;
                let stale = match seen {
                    Some(from) if from < version => stale_between(c, from, version)?,
                    _ => None,
                };
                Ok((version, stale))
            })
            .await;
        match read {
            Ok((version, stale)) => {
                cache.catch_up(seen.unwrap_or(0), version, stale.as_deref());
            }
            Err(e) => {
                // Without the version this node cannot know what is fresh: serve nothing from
                // the cache until it can.
                cache.lost_track();
                tracing::warn!(error = %e, "reading the content version failed");
            }
        }
    }
}

/// The surrogate keys the versions after `from` up to `to` named, or `None` when some of them
/// are no longer kept (or `to` is too far ahead to be worth reading).
pub fn stale_between(conn: &mut DbConn, from: u64, to: u64) -> AppResult<Option<Vec<String>>> {
    if to - from > RECENT_CHANGES as u64 {
        return Ok(None);
    }
    let (from, to) = (from as i64, to as i64);
    let rows: Vec<String> = db_run!(conn, |c| content_changes::table
        .filter(content_changes::version.gt(from))
        .filter(content_changes::version.le(to))
        .select(content_changes::keys)
        .load(c))?;
    if rows.len() as i64 != to - from {
        return Ok(None);
    }
    let mut stale: Vec<String> = rows
        .iter()
        .flat_map(|r| r.split(' ').filter(|k| !k.is_empty()).map(str::to_owned))
        .collect();
    stale.sort();
    stale.dedup();
    Ok(Some(stale))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(body: &str) -> Arc<Cached> {
        tagged(body, &[])
    }

    fn tagged(body: &str, keys: &[&str]) -> Arc<Cached> {
        Arc::new(Cached {
            status: 200,
            body: Bytes::from(body.to_owned()),
            compressible: false,
            gzip: OnceLock::new(),
            brotli: OnceLock::new(),
            gzip_only: false,
            etag: "\"x\"".into(),
            headers: Vec::new(),
            last_modified: None,
            expires: None,
            cache_control: None,
            keys: keys.iter().map(|k| (*k).to_owned()).collect(),
        })
    }

    fn stale(keys: &[&str]) -> Vec<String> {
        keys.iter().map(|k| (*k).to_owned()).collect()
    }

    #[test]
    fn a_change_forgets_only_the_answers_that_carry_its_keys() {
        let cache = ResponseCache::new(1, 60, 30);
        let g = cache.generation();
        cache.put("page-1".into(), tagged("one", &["article-1", "lang-en"]), g);
        cache.put("page-2".into(), tagged("two", &["article-2", "lang-en"]), g);
        cache.put("list".into(), tagged("list", &["articles"]), g);
        cache.put("plain".into(), entry("no keys"), g);
        cache.forget(&stale(&["article-1"]));
        assert!(cache.get("page-1").is_none());
        assert_eq!(cache.get("page-2").unwrap().body, "two");
        assert_eq!(cache.get("list").unwrap().body, "list");
        assert!(
            cache.get("plain").is_none(),
            "an answer with no keys goes with any change"
        );
        cache.forget(&stale(&["articles", "article-2"]));
        assert!(cache.get("list").is_none() && cache.get("page-2").is_none());
        let g = cache.generation();
        cache.put("page-2".into(), tagged("two", &["article-2"]), g);
        cache.forget(&stale(&["*"]));
        assert!(cache.get("page-2").is_none(), "everything");
    }

    #[test]
    fn a_response_computed_across_a_change_it_shows_is_not_stored() {
        let cache = ResponseCache::new(1, 60, 30);
        let started = cache.generation();
        cache.forget(&stale(&["article-1"]));
        cache.put("a".into(), tagged("old", &["article-1"]), started);
        assert!(cache.get("a").is_none(), "it may show the story as it was");
        cache.put("b".into(), tagged("other", &["article-2"]), started);
        assert_eq!(
            cache.get("b").unwrap().body,
            "other",
            "a change to another story does not make it stale"
        );
        cache.put("c".into(), entry("no keys"), started);
        assert!(cache.get("c").is_none());
        let now = cache.generation();
        cache.put("a".into(), tagged("new", &["article-1"]), now);
        assert_eq!(cache.get("a").unwrap().body, "new");
        // Across more changes than are remembered, nothing is stored.
        let long_ago = cache.generation();
        for i in 0..=RECENT_CHANGES {
            cache.forget(&stale(&[&format!("article-{}", 1000 + i)]));
        }
        cache.put("d".into(), tagged("d", &["article-2"]), long_ago);
        assert!(cache.get("d").is_none());
    }

    #[test]
    fn catching_up_forgets_what_the_missed_versions_named_or_everything() {
        let cache = ResponseCache::new(1, 60, 30);
        assert!(cache.catch_up(0, 5, None), "the first version read");
        let g = cache.generation();
        cache.put("p1".into(), tagged("1", &["article-1"]), g);
        cache.put("p2".into(), tagged("2", &["article-2"]), g);
        assert!(
            !cache.catch_up(5, 5, Some(&stale(&["article-2"]))),
            "nothing new"
        );
        assert!(cache.catch_up(5, 7, Some(&stale(&["article-1"]))));
        assert!(cache.get("p1").is_none());
        assert!(cache.get("p2").is_some());
        assert!(
            !cache.catch_up(6, 7, Some(&stale(&["article-2"]))),
            "already there"
        );
        // Versions it did not follow, or whose keys are unknown: everything.
        assert!(cache.catch_up(5, 9, Some(&stale(&["article-3"]))));
        assert!(cache.get("p2").is_none());
        let g = cache.generation();
        cache.put("p2".into(), tagged("2", &["article-2"]), g);
        assert!(cache.catch_up(9, 10, None));
        assert!(cache.get("p2").is_none());
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
