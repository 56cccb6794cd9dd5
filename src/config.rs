//! Typed settings from the environment (and `.env` in development). Every variable is listed,
//! with its default, in `.env.example`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

use crate::db::Backend;

/// The placeholder shipped in `.env.example`; a server configured with it refuses to start.
pub const JWT_SECRET_PLACEHOLDER: &str = "replace-with-at-least-32-random-bytes";
/// HS256 keys shorter than the hash output weaken the signature.
pub const MIN_JWT_SECRET_BYTES: usize = 32;
/// Access tokens live at most this long: revocation of a stolen one must not wait longer.
pub const MAX_ACCESS_TOKEN_TTL_SECS: u64 = 15 * 60;
/// OWASP's minimum for argon2id: 19 MiB of memory, two passes, one lane.
pub const MIN_ARGON2_MEMORY_KIB: u32 = 19_456;
pub const MIN_ARGON2_ITERATIONS: u32 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    pub database_pool_size: u32,
    /// How long queued database work may wait before uncached reads are refused (503), in
    /// ms; 0 never refuses.
    pub database_max_wait_ms: u64,
    /// PostgreSQL read replicas for the Content API's reads (`DATABASE_REPLICA_URL`,
    /// comma-separated).
    pub database_replica_urls: Vec<String>,
    /// A replica further behind the primary than this is skipped (`REPLICA_MAX_LAG_MS`).
    pub replica_max_lag_ms: u64,
    pub bind: SocketAddr,
    pub workers: usize,
    /// A configured secret; `None` lets the embedded default generate and keep one.
    pub jwt_secret: Option<String>,
    pub jwt_secret_file: PathBuf,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub access_token_ttl_secs: u64,
    pub refresh_token_ttl_secs: u64,
    pub cors_origins: Vec<String>,
    pub log_filter: String,
    pub log_format: LogFormat,
    pub max_json_body_bytes: usize,
    pub auth_rate_limit_per_minute: u32,
    pub login_max_failures: u32,
    pub login_lockout_secs: u64,
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub trust_forwarded_for: bool,
    pub content_max_age_secs: u32,
    /// Hosts whose `<iframe>` embeds (video players, social posts) survive in article bodies.
    pub embed_hosts: Vec<String>,
    /// How often this node looks for scheduled translations that are due, in milliseconds.
    pub scheduler_interval_ms: u64,
    /// Where readers read stories; canonical URLs are `<this>/<lang>/<slug>`.
    pub public_site_url: String,
    /// `stale-while-revalidate` of Content API responses, in seconds.
    pub content_stale_secs: u32,
    /// Memory for this node's Content API response cache, in MiB; 0 turns it off.
    pub content_cache_mib: usize,
    /// The longest a change made through any node may stay invisible through this one, in ms.
    pub content_freshness_ms: u64,
    /// How often counted views are written to the database, in ms: the most a crash can lose.
    pub view_flush_ms: u64,
    /// Donation prompt events each client address may send a node per minute; 0 for no limit.
    pub prompt_events_per_minute: u32,
    /// View beacons each client address may send a node per minute; 0 for no limit.
    pub view_beacons_per_minute: u32,
    /// A reader's views of one translation count once per this many minutes.
    pub view_repeat_minutes: u64,
    /// Where clients reach this API, for links feeds give to themselves (`rel="self"`):
    /// `http://<BIND_ADDRESS>` unless set.
    pub public_api_url: String,
    /// Hosts webhooks may reach over http and at internal addresses (development, tests).
    pub webhook_allowed_hosts: Vec<String>,
    /// Multiplies the retry schedule (1: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h).
    pub webhook_retry_scale: f64,
    /// Days the delivery log is kept.
    pub webhook_log_days: u32,
    /// Deliveries each node sends at once.
    pub webhook_workers: usize,
    /// How often each node looks for due deliveries, in ms (its own changes wake it at once).
    pub webhook_poll_ms: u64,
    /// How long one delivery attempt may take, connection to last byte, in ms.
    pub webhook_timeout_ms: u64,
    /// The bearer token `GET /metrics` asks for; without one, only this machine may read it.
    pub metrics_token: Option<String>,
    /// The newsroom's name, as feeds and the news sitemap give it.
    pub newsroom_name: String,
    /// The copyright notice syndicated items carry; empty: none.
    pub copyright_notice: String,
    /// The usage terms syndicated items carry; empty: none.
    pub usage_terms: String,
    /// Stories per sitemap page: at most 50,000, the sitemaps protocol's limit.
    pub sitemap_urls: u32,
    /// Whether feeds carry each story's whole text (`content:encoded`, Atom `content`, JSON
    /// Feed `content_html`) or only its excerpt.
    pub feed_full_text: bool,
    /// Where media bytes are kept: a directory, or `s3://bucket/prefix`.
    pub media_store: String,
    /// The S3-compatible store's endpoint, region and credentials.
    pub media_s3: S3Settings,
    /// Where readers fetch renditions (a CDN, or the bucket's public address); without it,
    /// `PUBLIC_API_URL/media`.
    pub media_public_url: Option<String>,
    pub media_max_upload_bytes: u64,
    pub media_max_pixels: u64,
    /// The longest side an upload may have, in pixels.
    pub media_max_side: u32,
}

/// How to reach an S3-compatible media store: the standard `AWS_*` variables.
#[derive(Clone, Default)]
pub struct S3Settings {
    /// `AWS_ENDPOINT_URL`: an S3-compatible server (path-style addresses); AWS without it.
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// The media directory beside a SQLite file (`news.db` → `news-media`), or `media` in the
/// working directory.
fn default_media_store(database_url: &str) -> String {
    let file = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .filter(|f| !f.is_empty() && !f.starts_with(':'));
    match file {
        Some(file) => {
            let path = std::path::Path::new(file.split('?').next().unwrap_or(file));
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("newsdesk");
            path.with_file_name(format!("{stem}-media"))
                .display()
                .to_string()
        }
        None => "media".into(),
    }
}

impl Config {
    /// Defaults for everything, on the given database.
    pub fn new(database_url: impl Into<String>) -> Self {
        let database_url = database_url.into();
        let media_store = default_media_store(&database_url);
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Config {
            // SQLite queries run in this process, one database thread per connection: with
            // more threads than cores they only share the cores, and a search caught mid-way
            // waits behind the others, which widens the latency's tail. An archive much larger
            // than memory, whose reads wait on the disk, wants more. PostgreSQL's queries run
            // on the database server.
            database_pool_size: match Backend::from_url(&database_url) {
                Backend::Sqlite => cores as u32,
                Backend::Postgres => 8,
            },
            database_max_wait_ms: 2000,
            database_replica_urls: Vec::new(),
            replica_max_lag_ms: 1000,
            database_url,
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            workers: cores,
            jwt_secret: None,
            jwt_secret_file: PathBuf::from(".newsdesk-jwt-secret"),
            jwt_issuer: "newsdesk".into(),
            jwt_audience: "newsdesk-admin".into(),
            access_token_ttl_secs: MAX_ACCESS_TOKEN_TTL_SECS,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            cors_origins: Vec::new(),
            log_filter: "info".into(),
            log_format: LogFormat::Text,
            max_json_body_bytes: 1024 * 1024,
            auth_rate_limit_per_minute: 30,
            login_max_failures: 5,
            login_lockout_secs: 15 * 60,
            argon2_memory_kib: MIN_ARGON2_MEMORY_KIB,
            argon2_iterations: MIN_ARGON2_ITERATIONS,
            trust_forwarded_for: false,
            content_max_age_secs: 60,
            embed_hosts: DEFAULT_EMBED_HOSTS
                .iter()
                .map(|h| (*h).to_owned())
                .collect(),
            scheduler_interval_ms: 1000,
            public_site_url: "http://localhost:3000".into(),
            content_stale_secs: 30,
            content_cache_mib: 64,
            content_freshness_ms: 1000,
            view_flush_ms: 1000,
            prompt_events_per_minute: 300,
            view_beacons_per_minute: 120,
            view_repeat_minutes: 30,
            public_api_url: "http://127.0.0.1:8080".into(),
            metrics_token: None,
            webhook_allowed_hosts: Vec::new(),
            webhook_retry_scale: 1.0,
            webhook_log_days: 30,
            webhook_workers: 16,
            webhook_poll_ms: 250,
            webhook_timeout_ms: 15_000,
            newsroom_name: "Newsdesk".into(),
            copyright_notice: String::new(),
            usage_terms: String::new(),
            feed_full_text: true,
            sitemap_urls: 50_000,
            media_store,
            media_s3: S3Settings {
                region: "us-east-1".into(),
                ..S3Settings::default()
            },
            media_public_url: None,
            media_max_upload_bytes: 20 * 1024 * 1024,
            media_max_pixels: 50_000_000,
            media_max_side: 12_000,
        }
    }

    /// Reads the environment (after `.env`, if present). Unknown values are errors, not
    /// silently replaced by defaults.
    pub fn from_env() -> Result<Self, String> {
        // The `.env` of the directory Newsdesk runs in, not of one above it.
        if let Err(e) = dotenvy::from_path(".env") {
            if !e.not_found() {
                return Err(format!(".env: {e}"));
            }
        }
        let url = var("DATABASE_URL").unwrap_or_else(|| "sqlite://newsdesk.db".into());
        let known = ["sqlite://", "sqlite:", "postgres://", "postgresql://"];
        if !known.iter().any(|scheme| url.starts_with(scheme)) {
            return Err(format!(
                "DATABASE_URL must be sqlite://FILE or postgres://…, not `{}`",
                url.split("://").next().unwrap_or_default()
            ));
        }
        let mut c = Config::new(url);
        parse_into(&mut c.database_pool_size, "DATABASE_POOL_SIZE")?;
        parse_into(&mut c.database_max_wait_ms, "DATABASE_MAX_WAIT_MS")?;
        if let Some(v) = var("DATABASE_REPLICA_URL") {
            c.database_replica_urls = comma_list(&v);
        }
        parse_into(&mut c.replica_max_lag_ms, "REPLICA_MAX_LAG_MS")?;
        parse_into(&mut c.bind, "BIND_ADDRESS")?;
        parse_into(&mut c.workers, "WORKERS")?;
        c.jwt_secret = var("JWT_SECRET");
        if let Some(path) = var("JWT_SECRET_FILE") {
            c.jwt_secret_file = PathBuf::from(path);
        }
        if let Some(v) = var("JWT_ISSUER") {
            c.jwt_issuer = v;
        }
        if let Some(v) = var("JWT_AUDIENCE") {
            c.jwt_audience = v;
        }
        parse_into(&mut c.access_token_ttl_secs, "ACCESS_TOKEN_TTL_SECONDS")?;
        parse_into(&mut c.refresh_token_ttl_secs, "REFRESH_TOKEN_TTL_SECONDS")?;
        if let Some(v) = var("CORS_ORIGINS") {
            c.cors_origins = comma_list(&v);
        }
        if let Some(v) = var("EMBED_HOSTS") {
            c.embed_hosts = comma_list(&v.to_ascii_lowercase());
        }
        parse_into(&mut c.scheduler_interval_ms, "SCHEDULER_INTERVAL_MS")?;
        if let Some(v) = var("PUBLIC_SITE_URL") {
            c.public_site_url = v.trim_end_matches('/').to_owned();
        }
        parse_into(
            &mut c.content_stale_secs,
            "CONTENT_STALE_WHILE_REVALIDATE_SECONDS",
        )?;
        parse_into(&mut c.content_cache_mib, "CONTENT_CACHE_MIB")?;
        parse_into(&mut c.content_freshness_ms, "CONTENT_FRESHNESS_MS")?;
        parse_into(&mut c.view_flush_ms, "VIEW_FLUSH_MS")?;
        parse_into(&mut c.prompt_events_per_minute, "PROMPT_EVENTS_PER_MINUTE")?;
        parse_into(&mut c.view_beacons_per_minute, "VIEW_BEACONS_PER_MINUTE")?;
        parse_into(&mut c.view_repeat_minutes, "VIEW_REPEAT_MINUTES")?;
        c.public_api_url = match var("PUBLIC_API_URL") {
            Some(v) => v.trim_end_matches('/').to_owned(),
            None => format!("http://{}", c.bind),
        };
        c.metrics_token = var("METRICS_TOKEN").map(|v| v.trim().to_owned());
        if let Some(v) = var("WEBHOOK_ALLOWED_HOSTS") {
            c.webhook_allowed_hosts = comma_list(&v.to_ascii_lowercase());
        }
        parse_into(&mut c.webhook_retry_scale, "WEBHOOK_RETRY_SCALE")?;
        parse_into(&mut c.webhook_log_days, "WEBHOOK_LOG_DAYS")?;
        parse_into(&mut c.webhook_workers, "WEBHOOK_WORKERS")?;
        parse_into(&mut c.webhook_poll_ms, "WEBHOOK_POLL_MS")?;
        parse_into(&mut c.webhook_timeout_ms, "WEBHOOK_TIMEOUT_MS")?;
        if let Some(v) = var("NEWSROOM_NAME") {
            c.newsroom_name = v.trim().to_owned();
        }
        if let Some(v) = var("SYNDICATION_COPYRIGHT_NOTICE") {
            c.copyright_notice = v.trim().to_owned();
        }
        if let Some(v) = var("SYNDICATION_USAGE_TERMS") {
            c.usage_terms = v.trim().to_owned();
        }
        parse_into(&mut c.feed_full_text, "FEED_FULL_TEXT")?;
        if let Some(v) = var("MEDIA_STORE") {
            c.media_store = v.trim().to_owned();
        }
        c.media_s3.endpoint = var("AWS_ENDPOINT_URL").map(|v| v.trim_end_matches('/').to_owned());
        if let Some(v) = var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")) {
            c.media_s3.region = v;
        }
        c.media_s3.access_key_id = var("AWS_ACCESS_KEY_ID");
        c.media_s3.secret_access_key = var("AWS_SECRET_ACCESS_KEY");
        c.media_s3.session_token = var("AWS_SESSION_TOKEN");
        c.media_public_url = var("MEDIA_PUBLIC_URL").map(|v| v.trim_end_matches('/').to_owned());
        parse_into(&mut c.media_max_upload_bytes, "MEDIA_MAX_UPLOAD_BYTES")?;
        parse_into(&mut c.media_max_pixels, "MEDIA_MAX_PIXELS")?;
        parse_into(&mut c.media_max_side, "MEDIA_MAX_SIDE")?;
        parse_into(&mut c.sitemap_urls, "SITEMAP_URLS")?;
        if let Some(v) = var("LOG_FILTER").or_else(|| var("RUST_LOG")) {
            c.log_filter = v;
        }
        if let Some(v) = var("LOG_FORMAT") {
            c.log_format = match v.as_str() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                other => {
                    return Err(format!(
                        "LOG_FORMAT must be `text` or `json`, not `{other}`"
                    ))
                }
            };
        }
        parse_into(&mut c.max_json_body_bytes, "MAX_JSON_BODY_BYTES")?;
        parse_into(
            &mut c.auth_rate_limit_per_minute,
            "AUTH_RATE_LIMIT_PER_MINUTE",
        )?;
        parse_into(&mut c.login_max_failures, "LOGIN_MAX_FAILURES")?;
        parse_into(&mut c.login_lockout_secs, "LOGIN_LOCKOUT_SECONDS")?;
        parse_into(&mut c.argon2_memory_kib, "PASSWORD_HASH_MEMORY_KIB")?;
        parse_into(&mut c.argon2_iterations, "PASSWORD_HASH_ITERATIONS")?;
        parse_into(&mut c.trust_forwarded_for, "TRUST_FORWARDED_FOR")?;
        parse_into(&mut c.content_max_age_secs, "CONTENT_MAX_AGE_SECONDS")?;
        c.validate()?;
        Ok(c)
    }

    /// Checks the limits that keep a deployment safe.
    pub fn validate(&self) -> Result<(), String> {
        if self.access_token_ttl_secs == 0 || self.access_token_ttl_secs > MAX_ACCESS_TOKEN_TTL_SECS
        {
            return Err(format!(
                "ACCESS_TOKEN_TTL_SECONDS must be between 1 and {MAX_ACCESS_TOKEN_TTL_SECS}"
            ));
        }
        if self.refresh_token_ttl_secs < self.access_token_ttl_secs {
            return Err(
                "REFRESH_TOKEN_TTL_SECONDS must not be shorter than the access token's".into(),
            );
        }
        if self.argon2_memory_kib < MIN_ARGON2_MEMORY_KIB
            || self.argon2_iterations < MIN_ARGON2_ITERATIONS
        {
            return Err(format!(
                "password hashing below OWASP's minimum (m={MIN_ARGON2_MEMORY_KIB} KiB, t={MIN_ARGON2_ITERATIONS}) is refused"
            ));
        }
        if self.database_pool_size == 0 || self.workers == 0 || self.login_max_failures == 0 {
            return Err(
                "DATABASE_POOL_SIZE, WORKERS and LOGIN_MAX_FAILURES must be at least 1".into(),
            );
        }
        if !(100..=60_000).contains(&self.content_freshness_ms) {
            return Err("CONTENT_FRESHNESS_MS must be between 100 and 60000".into());
        }
        if !(100..=60_000).contains(&self.view_flush_ms) {
            return Err("VIEW_FLUSH_MS must be between 100 and 60000".into());
        }
        if !(self.public_site_url.starts_with("https://")
            || self.public_site_url.starts_with("http://"))
        {
            return Err("PUBLIC_SITE_URL must be an http or https URL".into());
        }
        if !(self.public_api_url.starts_with("https://")
            || self.public_api_url.starts_with("http://"))
        {
            return Err("PUBLIC_API_URL must be an http or https URL".into());
        }
        if !(self.webhook_retry_scale > 0.0 && self.webhook_retry_scale <= 100.0) {
            return Err("WEBHOOK_RETRY_SCALE must be above 0 and at most 100".into());
        }
        if !(1..=64).contains(&self.webhook_workers) {
            return Err("WEBHOOK_WORKERS must be between 1 and 64".into());
        }
        if !(10..=60_000).contains(&self.webhook_poll_ms) {
            return Err("WEBHOOK_POLL_MS must be between 10 and 60000".into());
        }
        if !(100..=60_000).contains(&self.webhook_timeout_ms) {
            return Err("WEBHOOK_TIMEOUT_MS must be between 100 and 60000".into());
        }
        if !(1024..=1024 * 1024 * 1024).contains(&self.media_max_upload_bytes) {
            return Err("MEDIA_MAX_UPLOAD_BYTES must be between 1024 and 1073741824".into());
        }
        if !(1_000_000..=500_000_000).contains(&self.media_max_pixels) {
            return Err("MEDIA_MAX_PIXELS must be between 1000000 and 500000000".into());
        }
        if !(320..=65_535).contains(&self.media_max_side) {
            return Err("MEDIA_MAX_SIDE must be between 320 and 65535".into());
        }
        if let Some(url) = &self.media_public_url {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err("MEDIA_PUBLIC_URL must be an http or https URL".into());
            }
        }
        if self.webhook_log_days == 0 {
            return Err("WEBHOOK_LOG_DAYS must be at least 1".into());
        }
        if self.metrics_token.as_ref().is_some_and(|t| t.len() < 16) {
            return Err("METRICS_TOKEN must be at least 16 characters".into());
        }
        if !(1..=24 * 60).contains(&self.view_repeat_minutes) {
            return Err("VIEW_REPEAT_MINUTES must be between 1 and 1440".into());
        }
        if !(1..=50_000).contains(&self.sitemap_urls) {
            return Err("SITEMAP_URLS must be between 1 and 50000".into());
        }
        if self.newsroom_name.is_empty() {
            return Err("NEWSROOM_NAME must not be empty".into());
        }
        if !(100..=60_000).contains(&self.scheduler_interval_ms) {
            return Err("SCHEDULER_INTERVAL_MS must be between 100 and 60000".into());
        }
        if self.max_json_body_bytes < 1024 {
            return Err("MAX_JSON_BODY_BYTES must be at least 1024".into());
        }
        if !self.database_replica_urls.is_empty() && self.backend() != Backend::Postgres {
            return Err("DATABASE_REPLICA_URL is for PostgreSQL: SQLite has no replicas".into());
        }
        if !(10..=600_000).contains(&self.replica_max_lag_ms) {
            return Err("REPLICA_MAX_LAG_MS must be between 10 and 600000".into());
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        Backend::from_url(&self.database_url)
    }

    /// The signing key: the configured secret, or on the embedded default one generated once
    /// and kept in an owner-only file. PostgreSQL deployments run several nodes that must share
    /// the key, so there it has to be configured.
    pub fn resolve_jwt_secret(&self) -> Result<Vec<u8>, String> {
        if let Some(secret) = &self.jwt_secret {
            return check_secret(secret).map(|()| secret.as_bytes().to_vec());
        }
        if self.backend() == Backend::Postgres {
            return Err("JWT_SECRET must be set when DATABASE_URL is PostgreSQL: every node must sign with the same key".into());
        }
        load_or_create_secret_file(&self.jwt_secret_file)
    }
}

/// Video players and social networks whose embeds a newsroom commonly uses.
pub const DEFAULT_EMBED_HOSTS: [&str; 7] = [
    "www.youtube.com",
    "www.youtube-nocookie.com",
    "player.vimeo.com",
    "www.facebook.com",
    "platform.twitter.com",
    "www.instagram.com",
    "www.tiktok.com",
];

fn comma_list(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn check_secret(secret: &str) -> Result<(), String> {
    if secret == JWT_SECRET_PLACEHOLDER {
        return Err(
            "JWT_SECRET is still the placeholder from .env.example; set a random value".into(),
        );
    }
    if secret.len() < MIN_JWT_SECRET_BYTES {
        return Err(format!(
            "JWT_SECRET must be at least {MIN_JWT_SECRET_BYTES} bytes long"
        ));
    }
    Ok(())
}

fn load_or_create_secret_file(path: &std::path::Path) -> Result<Vec<u8>, String> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    match std::fs::read_to_string(path) {
        Ok(existing) => {
            let secret = existing.trim();
            check_secret(secret).map_err(|e| format!("{}: {e}", path.display()))?;
            let mode = std::fs::metadata(path)
                .map_err(|e| e.to_string())?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(format!(
                    "{} is readable by other users (mode {:o}); run `chmod 600` on it",
                    path.display(),
                    mode & 0o777
                ));
            }
            Ok(secret.as_bytes().to_vec())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let secret = crate::auth::random_token(48);
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
            file.write_all(secret.as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            tracing::info!(path = %path.display(), "generated a JWT signing key");
            Ok(secret.into_bytes())
        }
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn parse_into<T: FromStr>(target: &mut T, name: &str) -> Result<(), String>
where
    T::Err: std::fmt::Display,
{
    if let Some(raw) = var(name) {
        *target = raw
            .trim()
            .parse()
            .map_err(|e| format!("{name}=`{raw}` is not valid: {e}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_or_placeholder_secrets_are_refused() {
        let mut config = Config::new("sqlite://x.db");
        config.jwt_secret = Some(JWT_SECRET_PLACEHOLDER.into());
        assert!(config
            .resolve_jwt_secret()
            .unwrap_err()
            .contains("placeholder"));
        config.jwt_secret = Some("short".into());
        assert!(config.resolve_jwt_secret().is_err());
        config.jwt_secret = Some("x".repeat(32));
        assert_eq!(config.resolve_jwt_secret().unwrap().len(), 32);
    }

    #[test]
    fn postgres_needs_a_configured_secret() {
        let config = Config::new("postgres://localhost/newsdesk");
        assert!(config
            .resolve_jwt_secret()
            .unwrap_err()
            .contains("JWT_SECRET"));
    }

    #[test]
    fn the_embedded_default_generates_a_private_secret_once() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::new("sqlite://x.db");
        config.jwt_secret_file = dir.path().join("secret");
        let first = config.resolve_jwt_secret().unwrap();
        assert!(first.len() >= 64);
        let mode = std::fs::metadata(&config.jwt_secret_file)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(
            config.resolve_jwt_secret().unwrap(),
            first,
            "kept, not regenerated"
        );

        std::fs::set_permissions(
            &config.jwt_secret_file,
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        assert!(config
            .resolve_jwt_secret()
            .unwrap_err()
            .contains("chmod 600"));
    }

    #[test]
    fn sqlite_pools_follow_the_cores_and_postgresql_pools_do_not() {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as u32;
        assert_eq!(Config::new("sqlite://x.db").database_pool_size, cores);
        assert_eq!(Config::new("postgres://db/newsdesk").database_pool_size, 8);
    }

    #[test]
    fn limits_below_the_safe_minimum_are_refused() {
        let mut config = Config::new("sqlite://x.db");
        config.access_token_ttl_secs = 3600;
        assert!(config.validate().is_err());
        let mut config = Config::new("sqlite://x.db");
        config.argon2_memory_kib = 4096;
        assert!(config.validate().is_err());
        assert!(Config::new("sqlite://x.db").validate().is_ok());
    }
}
