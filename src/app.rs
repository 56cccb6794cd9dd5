//! Builds the actix application: shared state, routes, middleware and error handling. `main`
//! and the tests call the same [`build_app`], so tests exercise exactly what production runs.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_cors::Cors;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::{from_fn, Condition, ErrorHandlers, Next};
use actix_web::{web, App};
use futures_util::FutureExt;
use tracing::Instrument;

use crate::auth::password::Hasher;
use crate::auth::token::JwtKeys;
use crate::cache::{Generational, ResponseCache};
use crate::config::Config;
use crate::content::cards::DirectoryCache;
use crate::content::queries::{ItemCache, MAX_ITEMS};
use crate::content::views::ViewCounter;
use crate::db::{Database, DbConn};
use crate::error::{self, AppError, AppResult};
use crate::html::Sanitizer;
use crate::languages::Language;
use crate::partners::access::{KeyRing, RateLimits};
use crate::partners::usage::UsageCounter;
use crate::prompts::events::EventCounter;
use crate::prompts::live::LiveCache;

/// What every handler can reach.
pub struct AppState {
    pub db: Database,
    pub config: Config,
    pub keys: JwtKeys,
    /// Signs and checks editors' draft-preview links.
    pub previews: crate::content::preview::PreviewKeys,
    pub hasher: Hasher,
    pub sanitizer: Sanitizer,
    /// This node's cache of Content API responses.
    pub cache: Arc<ResponseCache>,
    /// Content API list items made in the current cache generation.
    pub items: ItemCache,
    /// What item cards name, for the current cache generation.
    pub directory: DirectoryCache,
    /// The enabled languages in switcher order, for the current cache generation: every
    /// Content API request that is not answered from the cache needs its language's chain.
    pub languages: Generational<Vec<Language>>,
    /// The donation prompts readers can be shown, for the current cache generation.
    pub live_prompts: LiveCache,
    /// Article views counted and not yet written.
    pub views: Arc<ViewCounter>,
    /// Donation prompt events counted and not yet written.
    pub prompt_events: Arc<EventCounter>,
    /// The partner keys that work, for the current cache generation.
    pub partner_keys: Generational<KeyRing>,
    /// Partner requests in the current minute, per key, on this node.
    pub partner_limits: RateLimits,
    /// Partner usage counted and not yet written.
    pub partner_usage: Arc<UsageCounter>,
    /// Requests and their latency by route, for `GET /metrics`.
    pub metrics: crate::metrics::Metrics,
    /// This node's webhook senders.
    pub dispatcher: Arc<crate::webhooks::worker::Dispatcher>,
    /// The media store, the rendition job and the renditions held in memory.
    pub media: Arc<crate::media::Library>,
}

impl AppState {
    /// Connects to the database, applies migrations and prepares keys and hasher.
    pub fn init(config: Config) -> Result<Arc<AppState>, String> {
        let secret = config.resolve_jwt_secret()?;
        let db = Database::connect(&config.database_url, config.database_pool_size)?
            .shedding_after(Duration::from_millis(config.database_max_wait_ms));
        let applied = db.migrate()?;
        if applied > 0 {
            tracing::info!(applied, "applied database migrations");
        }
        let db = if config.database_replica_urls.is_empty() {
            db
        } else {
            let replicas = crate::db::replicas::Replicas::open(
                &config.database_replica_urls,
                config.database_pool_size,
                Duration::from_millis(config.replica_max_lag_ms),
            )?;
            db.with_replicas(Arc::new(replicas))
        };
        crate::articles::projections::cards::backfill(&db).map_err(|e| e.to_string())?;
        let cache = Arc::new(ResponseCache::new(
            config.content_cache_mib,
            config.content_max_age_secs,
            config.content_stale_secs,
        ));
        // A change made through this node shows through it at once; other nodes see it within
        // CONTENT_FRESHNESS_MS through the content version they watch. Only the answers the
        // change touched are forgotten.
        let forget = cache.clone();
        let dispatcher = Arc::new(crate::webhooks::worker::Dispatcher::default());
        let wake = dispatcher.clone();
        db.on_committed_change(move |stale| {
            forget.forget(stale);
            wake.wake();
        });
        let media = Arc::new(crate::media::Library::open(&config, &db)?);
        Ok(Arc::new(AppState {
            media,
            keys: JwtKeys::new(&secret, &config),
            previews: crate::content::preview::PreviewKeys::new(&secret, &config),
            hasher: Hasher::new(config.argon2_memory_kib, config.argon2_iterations)?,
            sanitizer: Sanitizer::new(&config.embed_hosts),
            cache,
            items: ItemCache::new(MAX_ITEMS),
            directory: Default::default(),
            languages: Default::default(),
            live_prompts: Default::default(),
            views: Arc::new(ViewCounter::new(Duration::from_secs(
                config.view_repeat_minutes * 60,
            ))),
            prompt_events: Default::default(),
            partner_keys: Default::default(),
            partner_limits: Default::default(),
            partner_usage: Default::default(),
            metrics: Default::default(),
            dispatcher,
            db,
            config,
        }))
    }

    /// The enabled languages in switcher order, as of the current cache generation.
    pub fn enabled_languages(&self, conn: &mut DbConn) -> AppResult<Arc<Vec<Language>>> {
        self.languages.get(self.cache.generation(), || {
            crate::languages::list(conn, true)
        })
    }

    /// The fallback chain of a language a reader asked for; 404 unless it is enabled.
    pub fn reader_chain(&self, conn: &mut DbConn, lang: &str) -> AppResult<Vec<String>> {
        crate::languages::reader_chain(conn, &self.languages, self.cache.generation(), lang)
    }

    /// Writes what readers and partners were counted doing since the last write: article
    /// views, donation prompt events and partner usage. Says, for each, how many it wrote;
    /// what could not be written is kept for the next try.
    pub async fn write_counts(&self) -> Vec<(&'static str, AppResult<usize>)> {
        self.counters().write().await
    }

    fn counters(&self) -> Counters {
        Counters {
            db: self.db.clone(),
            views: self.views.clone(),
            events: self.prompt_events.clone(),
            usage: self.partner_usage.clone(),
        }
    }
}

/// Everything counted in memory and written in batches.
struct Counters {
    db: Database,
    views: Arc<ViewCounter>,
    events: Arc<EventCounter>,
    usage: Arc<UsageCounter>,
}

impl Counters {
    async fn write(&self) -> Vec<(&'static str, AppResult<usize>)> {
        let db = &self.db;
        vec![
            ("article views", self.views.flush(db).await),
            ("donation prompt events", self.events.flush(db).await),
            ("partner usage", self.usage.flush(db).await),
        ]
    }

    /// Writes every `period` for as long as the node runs.
    async fn write_every(self, period: Duration) {
        let mut ticker = actix_web::rt::time::interval(period);
        loop {
            ticker.tick().await;
            let mut all = true;
            for (what, result) in self.write().await {
                if let Err(e) = result {
                    all = false;
                    tracing::warn!(error = %e, "writing {what} failed; they will be retried");
                }
            }
            if all {
                crate::metrics::COUNTS_WRITTEN.now();
            }
        }
    }
}

/// Purges expired rate-limit windows, and the webhook log older than `log_days`, every five
/// minutes for as long as the node runs.
async fn purge_every(db: Database, log_days: u32) {
    let mut every = actix_web::rt::time::interval(Duration::from_secs(300));
    loop {
        every.tick().await;
        if let Err(e) = db.run(crate::ratelimit::purge_expired).await {
            tracing::warn!(error = %e, "purging expired rate-limit windows failed");
        }
        let purged = db.run(move |c| crate::webhooks::worker::purge_log(c, log_days));
        if let Err(e) = purged.await {
            tracing::warn!(error = %e, "purging the webhook log failed");
        }
    }
}

/// Starts what every node runs beside serving requests: the scheduler, the watch on the
/// content version (and on PostgreSQL the listener for the versions other nodes announce), the writing of view counts and prompt events, the purge of expired
/// rate-limit windows and old webhook logs, the webhook senders, and the media renditions a
/// stopped node left unfinished. Each takes the one piece of the state it needs. Call from inside the
/// actix runtime.
pub fn spawn_background_tasks(state: &Arc<AppState>) {
    let config = &state.config;
    if let Some(replicas) = state.db.replicas() {
        actix_web::rt::spawn(replicas.clone().watch(state.db.clone()));
    }
    actix_web::rt::spawn(crate::scheduler::run(
        state.db.clone(),
        Duration::from_millis(config.scheduler_interval_ms),
    ));
    actix_web::rt::spawn(crate::cache::watch(
        state.cache.clone(),
        state.db.clone(),
        Duration::from_millis(config.content_freshness_ms),
    ));
    actix_web::rt::spawn(
        state
            .counters()
            .write_every(Duration::from_millis(config.view_flush_ms)),
    );
    actix_web::rt::spawn(purge_every(state.db.clone(), config.webhook_log_days));
    crate::webhooks::worker::start(state);
    if state.db.backend() == crate::db::Backend::Postgres {
        let url = config.database_url.clone();
        let cache = Arc::downgrade(&state.cache);
        let live = cache.clone();
        std::thread::Builder::new()
            .name("change-listener".into())
            .spawn(move || {
                crate::db::specific::follow_changes(
                    &url,
                    |version, stale| {
                        if let Some(cache) = cache.upgrade() {
                            let version = version as u64;
                            cache.catch_up(version.saturating_sub(1), version, stale);
                        }
                    },
                    || live.strong_count() > 0,
                )
            })
            .expect("a thread for change notifications");
    }
    let media = state.media.clone();
    let db = state.db.clone();
    actix_web::rt::spawn(async move {
        match off_executor(move || crate::media::jobs::resume(&db, &media.jobs)).await {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => tracing::info!(items = n, "making the renditions left unfinished"),
            Ok(Err(e)) | Err(e) => tracing::error!(error = %e, "cannot resume media renditions"),
        }
    });
}

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The request id a client sent, if it is short and plain enough to log safely.
fn incoming_request_id(req: &ServiceRequest) -> Option<String> {
    let value = req.headers().get(&REQUEST_ID)?.to_str().ok()?;
    let plain = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    plain.then(|| value.to_owned())
}

/// The path as the access log shows it: a preview link's token is a password, and is left out.
fn logged_path(path: &str) -> &str {
    if path.starts_with("/api/v1/preview/") {
        "/api/v1/preview/…"
    } else {
        path
    }
}

/// Outermost middleware: a request id, a tracing span and an access-log line per request,
/// the headers every response carries, and a problem body even when something below panics.
async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let request_id = incoming_request_id(&req).unwrap_or_else(|| crate::auth::random_token(8));
    let span = tracing::info_span!(
        "request",
        id = %request_id,
        method = %req.method(),
        path = %logged_path(req.path())
    );
    let started = Instant::now();
    // Decided on the path as the router reads it: `/api/v1/%61dmin/…` is routed to the Admin
    // API, and must not be cacheable because it was spelled another way.
    let routed = routed_path(req.path());
    let private = routed.starts_with("/api/v1/admin") || routed.starts_with("/api/v1/auth");
    // A preview link is a password for one draft: nothing on the way may keep what it answers.
    let preview = routed.starts_with("/api/v1/preview/");
    let outcome = AssertUnwindSafe(next.call(req).instrument(span.clone()))
        .catch_unwind()
        .await;
    // An error or panic from below has no response to decorate; returning it as an AppError
    // still makes actix answer with a problem body.
    let mut res = match outcome {
        Ok(Ok(res)) => res,
        Ok(Err(e)) => {
            let status = e.as_response_error().status_code();
            span.in_scope(|| tracing::warn!(error = %e, "middleware error"));
            return Err(AppError::Http(status, e.to_string()).into());
        }
        Err(_) => {
            span.in_scope(|| tracing::error!("request handler panicked"));
            return Err(AppError::Internal("handler panicked".into()).into());
        }
    };
    let headers = res.headers_mut();
    headers.insert(
        REQUEST_ID.clone(),
        HeaderValue::from_str(&request_id).expect("plain ascii"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if private {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    } else if preview {
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        );
    }
    let status = res.status().as_u16();
    let took = started.elapsed();
    let request = res.request();
    if let Some(state) = request.app_data::<web::Data<AppState>>() {
        let route = request
            .app_data::<crate::metrics::Route>()
            .map_or("unmatched", |r| r.0);
        state.metrics.record(route, request.method(), status, took);
    }
    let elapsed_ms = took.as_secs_f64() * 1000.0;
    span.in_scope(|| {
        if status >= 500 {
            tracing::error!(status, elapsed_ms, "request failed");
        } else {
            tracing::info!(status, elapsed_ms, "request");
        }
    });
    Ok(res)
}

/// `path` with its percent-escapes decoded as the router decodes them: every one but `%2F`,
/// which stays inside its segment. Escapes that do not decode to UTF-8 are left as they are.
pub(crate) fn routed_path(path: &str) -> std::borrow::Cow<'_, str> {
    if !path.contains('%') {
        return std::borrow::Cow::Borrowed(path);
    }
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = escaped_byte(&bytes[i..]).filter(|b| *b != b'/');
        match escaped {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    match String::from_utf8(out) {
        Ok(decoded) => std::borrow::Cow::Owned(decoded),
        Err(_) => std::borrow::Cow::Borrowed(path),
    }
}

fn cors(config: &Config) -> Cors {
    let cors = Cors::default()
        .allowed_methods(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_MATCH,
            header::IF_NONE_MATCH,
            REQUEST_ID.clone(),
        ])
        .expose_headers([
            header::ETAG,
            header::LOCATION,
            header::RETRY_AFTER,
            REQUEST_ID.clone(),
        ])
        .max_age(3600);
    if config.cors_origins.iter().any(|o| o == "*") {
        cors.allow_any_origin()
    } else {
        config
            .cors_origins
            .iter()
            .fold(cors, |cors, origin| cors.allowed_origin(origin))
    }
}

/// The whole application, ready for `HttpServer` or `actix_web::test::init_service`.
pub fn build_app(
    state: Arc<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let json = web::JsonConfig::default()
        .limit(state.config.max_json_body_bytes)
        .error_handler(error::json_error);
    let payload = web::PayloadConfig::new(state.config.max_json_body_bytes);
    let cors_enabled = !state.config.cors_origins.is_empty();
    let cors = cors(&state.config);
    App::new()
        .app_data(web::Data::from(state))
        .app_data(json)
        .app_data(payload)
        .app_data(web::QueryConfig::default().error_handler(error::query_error))
        .app_data(web::PathConfig::default().error_handler(error::path_error))
        .configure(crate::routes)
        .default_service(web::to(not_found))
        .wrap(from_fn(crate::partners::access::guard))
        .wrap(from_fn(refuse_control_characters))
        .wrap(ErrorHandlers::new().default_handler(error::ensure_problem))
        .wrap(Condition::new(cors_enabled, cors))
        .wrap(from_fn(request_context))
}

/// No path segment or query parameter of this API means anything with a control character in
/// it, and PostgreSQL cannot even compare text holding a NUL. So such a request is answered
/// here, before any handler reads it: 404 for a path (it names no resource), 400 naming the
/// parameter for a query string.
async fn refuse_control_characters(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let refused = if has_control_escape(req.path()) {
        Some(AppError::NotFound("no resource at this path".into()))
    } else if has_control_escape(req.query_string()) {
        control_parameter(req.query_string()).map(|name| {
            AppError::bad_parameter(&name, "must not contain control characters such as NUL")
        })
    } else {
        None
    };
    match refused {
        Some(err) => Ok(req.error_response(err).map_into_right_body()),
        None => Ok(next.call(req).await?.map_into_left_body()),
    }
}

/// An ASCII control character (NUL, ESC, DEL …) other than tab, line feed and carriage return.
fn is_refused_control(c: char) -> bool {
    c.is_ascii_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// Whether a percent-encoded path or query string decodes to an ASCII control byte. A raw
/// control byte never gets this far: the HTTP parser refuses it.
fn has_control_escape(raw: &str) -> bool {
    raw.as_bytes()
        .windows(3)
        .any(|w| escaped_byte(w).is_some_and(|b| is_refused_control(char::from(b))))
}

/// The byte a percent-escape (`%` and two hex digits) at the start of `bytes` stands for.
fn escaped_byte(bytes: &[u8]) -> Option<u8> {
    match bytes {
        [b'%', hi, lo, ..] => std::str::from_utf8(&[*hi, *lo])
            .ok()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok()),
        _ => None,
    }
}

/// The first query parameter whose name or value holds a refused control character.
fn control_parameter(query: &str) -> Option<String> {
    let pairs = web::Query::<Vec<(String, String)>>::from_query(query).ok()?;
    pairs
        .into_inner()
        .into_iter()
        .find(|(name, value)| name.chars().chain(value.chars()).any(is_refused_control))
        .map(|(name, _)| name)
}

async fn not_found() -> Result<actix_web::HttpResponse, AppError> {
    Err(AppError::NotFound("no resource at this path".into()))
}

/// Runs CPU-heavy or blocking work (password hashing, a database call) on actix's blocking
/// thread pool, never on the async executor.
pub async fn off_executor<T, F>(f: F) -> AppResult<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    web::block(f)
        .await
        .map_err(|e| AppError::Unavailable(format!("blocking pool: {e}")))
}

/// The address rate limits count against: the peer, or with `TRUST_FORWARDED_FOR` the address
/// the trusted proxy in front of Newsdesk appended last to `X-Forwarded-For` (earlier entries
/// are whatever the client chose to send).
pub fn client_addr(req: &actix_web::HttpRequest, config: &Config) -> String {
    if config.trust_forwarded_for {
        let forwarded = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .map(str::trim)
            .and_then(|ip| ip.parse::<std::net::IpAddr>().ok());
        if let Some(ip) = forwarded {
            return ip.to_string();
        }
    }
    req.peer_addr()
        .map_or_else(|| "unknown".to_owned(), |a| a.ip().to_string())
}
