//! What an operator's Prometheus scrapes at `GET /metrics`: requests and their latency by
//! route, the response cache's hits and misses, the database queue, memory and uptime, in the
//! Prometheus text format.
//!
//! Counting a request is a read lock and a few atomic additions; a route is added to the map
//! the first time it answers. Routes are their patterns (`/api/v1/articles/{lang}/{slug}`),
//! so the number of series is bounded by the route list, not by what clients ask for.
//!
//! Who may read it: with `METRICS_TOKEN` set, whoever sends it as a bearer token; without, only
//! clients on this machine (the peer address, never a forwarded one).

use std::collections::HashMap;
use std::fmt::Write;

use crate::db::replicas::ReplicaStatus;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::problem_responses;

problem_responses!(
    /// Errors of the metrics endpoint.
    MetricsErrors: 401, 403, 500
);

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Default)]
struct RouteStats {
    /// Answers by status class: 1xx … 5xx.
    by_class: [AtomicU64; 5],
    /// Answers at or under each bound of [`BUCKETS`] (not cumulative; summed when written).
    buckets: [AtomicU64; BUCKETS.len()],
    micros: AtomicU64,
    count: AtomicU64,
}

/// The pattern of the route a request was routed to, as each resource carries it (`lib.rs`):
/// read after routing at no cost, where matching the path again would cost a walk of every route.
#[derive(Debug, Clone, Copy)]
pub struct Route(pub &'static str);

/// This node's counters, by route pattern and method.
pub struct Metrics {
    started: Instant,
    routes: RwLock<HashMap<(&'static str, &'static str), Arc<RouteStats>>>,
}

/// The methods counted apart; any other is `OTHER`.
fn method_name(method: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PATCH => "PATCH",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// When something that runs in the background last did its work, in Unix milliseconds (0:
/// never), and what it measured; one per process, which is one node.
pub struct Mark(std::sync::atomic::AtomicU64);

impl Mark {
    const fn new() -> Mark {
        Mark(std::sync::atomic::AtomicU64::new(0))
    }

    pub fn set(&self, value: u64) {
        self.0.store(value, std::sync::atomic::Ordering::Relaxed);
    }

    /// Records that it happened now.
    pub fn now(&self) {
        self.set(chrono::Utc::now().timestamp_millis().max(0) as u64);
    }

    fn get(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Seconds since [`Mark::now`] was last called, if it was.
    fn age(&self) -> Option<f64> {
        let at = self.get();
        (at > 0)
            .then(|| (chrono::Utc::now().timestamp_millis() as f64 - at as f64).max(0.0) / 1000.0)
    }
}

/// The scheduler's last pass that could read the database.
pub static SCHEDULER_PASS: Mark = Mark::new();
/// How late, in milliseconds, the scheduler published the last translation it published.
pub static SCHEDULER_LAG_MS: Mark = Mark::new();
/// The last time every counter (views, prompt events, partner usage) was written.
pub static COUNTS_WRITTEN: Mark = Mark::new();

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            started: Instant::now(),
            routes: RwLock::default(),
        }
    }
}

impl Metrics {
    /// Counts one answer of `route` (its pattern) to `method`.
    pub fn record(
        &self,
        route: &'static str,
        method: &actix_web::http::Method,
        status: u16,
        took: Duration,
    ) {
        let key = (route, method_name(method));
        let found = self
            .routes
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .cloned();
        let stats = match found {
            Some(stats) => stats,
            None => self
                .routes
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .entry(key)
                .or_default()
                .clone(),
        };
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        stats.by_class[class].fetch_add(1, Ordering::Relaxed);
        let secs = took.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            stats.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        stats
            .micros
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
        stats.count.fetch_add(1, Ordering::Relaxed);
    }

    fn write_routes(&self, out: &mut String) {
        let routes = self.routes.read().unwrap_or_else(|p| p.into_inner());
        let mut keys: Vec<&(&'static str, &'static str)> = routes.keys().collect();
        keys.sort();
        out.push_str(
            "# HELP newsdesk_http_requests_total HTTP answers by route, method and status class.\n",
        );
        out.push_str("# TYPE newsdesk_http_requests_total counter\n");
        for key in &keys {
            let stats = &routes[*key];
            for (i, n) in stats.by_class.iter().enumerate() {
                let n = n.load(Ordering::Relaxed);
                if n > 0 {
                    let _ = writeln!(
                        out,
                        "newsdesk_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{}xx\"}} {n}",
                        label(key.0),
                        label(key.1),
                        i + 1
                    );
                }
            }
        }
        out.push_str(
            "# HELP newsdesk_http_request_duration_seconds Time to answer, by route and method.\n",
        );
        out.push_str("# TYPE newsdesk_http_request_duration_seconds histogram\n");
        for key in &keys {
            let stats = &routes[*key];
            let labels = format!("route=\"{}\",method=\"{}\"", label(key.0), label(key.1));
            let mut cumulative = 0;
            for (bound, n) in BUCKETS.iter().zip(&stats.buckets) {
                cumulative += n.load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "newsdesk_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                );
            }
            let count = stats.count.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "newsdesk_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {count}"
            );
            let sum = stats.micros.load(Ordering::Relaxed) as f64 / 1e6;
            let _ = writeln!(
                out,
                "newsdesk_http_request_duration_seconds_sum{{{labels}}} {sum}"
            );
            let _ = writeln!(
                out,
                "newsdesk_http_request_duration_seconds_count{{{labels}}} {count}"
            );
        }
    }
}

/// A label value, escaped as the text format asks.
fn label(raw: &str) -> String {
    raw.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn gauge(out: &mut String, name: &str, help: &str, kind: &str, value: impl std::fmt::Display) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
    );
}

/// The resident memory of this process, from `/proc` (Linux), in bytes.
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: u64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// 401/403 unless the caller may read the metrics.
fn allowed(req: &HttpRequest, token: Option<&str>) -> AppResult<()> {
    match token {
        Some(expected) => {
            let sent = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or_default();
            // Compared in constant time: the token guards what an attacker would like to see.
            let same = sent.len() == expected.len()
                && sent
                    .bytes()
                    .zip(expected.bytes())
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0;
            if same {
                Ok(())
            } else {
                Err(AppError::Unauthorized(
                    "send `Authorization: Bearer <METRICS_TOKEN>`".into(),
                ))
            }
        }
        None if req.peer_addr().is_some_and(|a| a.ip().is_loopback()) => Ok(()),
        None => Err(AppError::Forbidden(
            "metrics are served to this machine only unless METRICS_TOKEN is set".into(),
        )),
    }
}

/// This node's metrics, in the Prometheus text format (0.0.4). With `METRICS_TOKEN` set, it
/// must be sent as a bearer token; without, only clients on this machine are answered.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "health",
    operation_id = "get_metrics",
    security((), ("metrics_token" = [])),
    responses(
        (status = 200, description = "Metrics in the Prometheus text format",
            content_type = "text/plain; version=0.0.4", body = String),
        MetricsErrors
    )
)]
pub async fn metrics(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    allowed(&req, state.config.metrics_token.as_deref())?;
    let mut out = String::with_capacity(16 * 1024);
    state.metrics.write_routes(&mut out);
    let (hits, misses) = state.cache.counts();
    gauge(
        &mut out,
        "newsdesk_response_cache_hits_total",
        "Content API answers served from this node's cache.",
        "counter",
        hits,
    );
    gauge(
        &mut out,
        "newsdesk_response_cache_misses_total",
        "Content API answers this node computed.",
        "counter",
        misses,
    );
    gauge(
        &mut out,
        "newsdesk_response_cache_generation",
        "Cache generations this node has begun: one per change it learned of.",
        "counter",
        state.cache.generation(),
    );
    gauge(
        &mut out,
        "newsdesk_views_counted_total",
        "View beacons counted.",
        "counter",
        state
            .views
            .counted
            .load(std::sync::atomic::Ordering::Relaxed),
    );
    gauge(
        &mut out,
        "newsdesk_views_repeated_total",
        "View beacons of a reader already counted for that story in the window, not counted.",
        "counter",
        state
            .views
            .repeated
            .load(std::sync::atomic::Ordering::Relaxed),
    );
    let (jobs, oldest) = state.db.queue_stats();
    gauge(
        &mut out,
        "newsdesk_db_queue_jobs",
        "Database work waiting for a connection.",
        "gauge",
        jobs,
    );
    gauge(
        &mut out,
        "newsdesk_db_queue_oldest_wait_seconds",
        "How long the oldest waiting database work has waited.",
        "gauge",
        oldest.as_secs_f64(),
    );
    let (connections, idle) = state.db.pool_state();
    gauge(
        &mut out,
        "newsdesk_db_pool_connections",
        "Database connections open.",
        "gauge",
        connections,
    );
    gauge(
        &mut out,
        "newsdesk_db_pool_connections_in_use",
        "Database connections open and working.",
        "gauge",
        connections.saturating_sub(idle),
    );
    if let Some(replicas) = state.db.replicas() {
        let status = replicas.status();
        let series =
            |name: &str, help: &str, kind: &str, value: &dyn Fn(&ReplicaStatus) -> String| {
                let mut text = format!("# HELP {name} {help}\n# TYPE {name} {kind}\n");
                for r in &status {
                    let _ = writeln!(text, "{name}{{replica=\"{}\"}} {}", r.name, value(r));
                }
                text
            };
        out.push_str(&series(
            "newsdesk_replica_healthy",
            "Whether Content API reads go to the replica (1) or it is skipped (0).",
            "gauge",
            &|r| u8::from(r.healthy).to_string(),
        ));
        out.push_str(&series(
            "newsdesk_replica_lag_milliseconds",
            "How far behind the primary the replica was last measured (-1: unreachable).",
            "gauge",
            &|r| r.lag_ms.map_or("-1".into(), |l| l.to_string()),
        ));
        out.push_str(&series(
            "newsdesk_replica_reads_total",
            "Content API reads the replica served.",
            "counter",
            &|r| r.reads.to_string(),
        ));
        gauge(
            &mut out,
            "newsdesk_replica_fallbacks_total",
            "Reads meant for a replica that the primary served (none healthy, behind, unreachable).",
            "counter",
            replicas.fallbacks(),
        );
    }
    if let Some(age) = SCHEDULER_PASS.age() {
        gauge(
            &mut out,
            "newsdesk_scheduler_last_pass_age_seconds",
            "Seconds since the scheduler last looked for due translations.",
            "gauge",
            age,
        );
    }
    gauge(
        &mut out,
        "newsdesk_scheduler_publish_lag_seconds",
        "How late the scheduler published the last translation it published.",
        "gauge",
        SCHEDULER_LAG_MS.get() as f64 / 1000.0,
    );
    if let Some(age) = COUNTS_WRITTEN.age() {
        gauge(
            &mut out,
            "newsdesk_counts_last_write_age_seconds",
            "Seconds since views, prompt events and partner usage were last all written.",
            "gauge",
            age,
        );
    }
    if let Some(rss) = resident_bytes() {
        gauge(
            &mut out,
            "process_resident_memory_bytes",
            "Resident memory of this process.",
            "gauge",
            rss,
        );
    }
    gauge(
        &mut out,
        "newsdesk_uptime_seconds",
        "Seconds since this node started.",
        "gauge",
        state.metrics.started.elapsed().as_secs_f64(),
    );
    let _ = writeln!(
        out,
        "# HELP newsdesk_build_info The running version.\n# TYPE newsdesk_build_info gauge\nnewsdesk_build_info{{version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    );
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(out))
}
