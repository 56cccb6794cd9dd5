//! How the Content API answers: through this node's response cache, with a strong ETag,
//! conditional GETs (304), `Cache-Control`, `Last-Modified` and cache tags for CDN purging.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};
use chrono::{NaiveDateTime, SubsecRound};
use serde::Serialize;

use crate::cache::{public_cache_control, Cached, Flight, ResponseCache};
use crate::db::{Database, DbConn};
use crate::error::{AppError, AppResult};

/// A response the Content API computed, before it is cached and sent.
pub struct Fresh {
    status: StatusCode,
    body: Vec<u8>,
    last_modified: Option<NaiveDateTime>,
    keys: Vec<String>,
    location: Option<String>,
    content_language: Option<String>,
    ttl: Option<Duration>,
    keep: bool,
    cache_control: Option<String>,
    content_type: &'static str,
    /// The body is gzip already (a sitemap written straight into the compressor).
    gzipped: bool,
}

impl Fresh {
    /// 200 with `body`, a document of media type `content_type` (a feed, a sitemap).
    pub fn document(body: Vec<u8>, content_type: &'static str) -> Fresh {
        Fresh {
            status: StatusCode::OK,
            body,
            last_modified: None,
            keys: Vec::new(),
            location: None,
            content_language: None,
            ttl: None,
            keep: true,
            cache_control: None,
            content_type,
            gzipped: false,
        }
    }

    /// 200 with a document of media type `content_type` that is gzip already: kept and sent as
    /// it is to clients that accept gzip, unzipped for the others.
    pub fn gzipped(gzip: Vec<u8>, content_type: &'static str) -> Fresh {
        Fresh {
            gzipped: true,
            ..Self::document(gzip, content_type)
        }
    }

    /// 200 with `value` as JSON.
    pub fn json<T: Serialize>(value: &T) -> AppResult<Fresh> {
        Self::json_sized(value, 0)
    }

    /// 200 with `value` as JSON of about `size` bytes, written into a buffer that size from
    /// the start, so that a large page is not copied each time a growing buffer doubles.
    pub fn json_sized<T: Serialize>(value: &T, size: usize) -> AppResult<Fresh> {
        let mut body = Vec::with_capacity(size.max(128));
        serde_json::to_writer(&mut body, value)?;
        Ok(Self::document(body, "application/json"))
    }

    /// 301 to `location`: where an old link now lives.
    pub fn moved(location: String) -> Fresh {
        Fresh {
            status: StatusCode::MOVED_PERMANENTLY,
            location: Some(location),
            ..Self::document(Vec::new(), "application/json")
        }
    }

    /// The newest change the response shows.
    pub fn modified(mut self, at: Option<NaiveDateTime>) -> Self {
        self.last_modified = at;
        self
    }

    /// Cache tags: the story, its tags and language, so a CDN can purge exactly what changed.
    pub fn tags<I: IntoIterator<Item = String>>(mut self, keys: I) -> Self {
        self.keys.extend(keys);
        self
    }

    /// For a response served in another language than asked for.
    pub fn language(mut self, lang: String) -> Self {
        self.content_language = Some(lang);
        self
    }

    /// For responses that rarely repeat (searches): sent with the same headers, but not kept
    /// in the node's cache, where they would push out the pages readers do ask for again.
    pub fn not_kept(mut self) -> Self {
        self.keep = false;
        self
    }

    /// For responses that change without an editorial change (view counts): how long this
    /// node may keep serving it.
    pub fn expires_after(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// For answers given to one reader (never cached by this node): their own
    /// `Cache-Control`.
    pub fn cache_control(mut self, value: String) -> Self {
        self.cache_control = Some(value);
        self.keep = false;
        self
    }

    fn into_cached(mut self) -> Cached {
        // A strong validator names these bytes: a 128-bit hash of them. It needs to tell
        // versions of one response apart, not to resist forgery (nothing is signed with it),
        // so a fast non-cryptographic hash serves.
        let etag = format!("\"{:032x}\"", xxhash_rust::xxh3::xxh3_128(&self.body));
        self.keys.sort();
        self.keys.dedup();
        let mut headers = Vec::new();
        let mut add = |name: HeaderName, value: String| {
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.push((name, v));
            }
        };
        add(header::ETAG, etag.clone());
        // HTTP dates have whole seconds; compare in them.
        let last_modified = self.last_modified.map(|t| t.and_utc().trunc_subsecs(0));
        if let Some(t) = last_modified {
            add(
                header::LAST_MODIFIED,
                t.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
            );
        }
        if !self.keys.is_empty() {
            add(
                HeaderName::from_static("surrogate-key"),
                self.keys.join(" "),
            );
            add(HeaderName::from_static("cache-tag"), self.keys.join(","));
        }
        if let Some(lang) = self.content_language {
            add(header::CONTENT_LANGUAGE, lang);
        }
        if let Some(location) = self.location {
            add(header::LOCATION, location);
        }
        if !self.body.is_empty() {
            add(header::CONTENT_TYPE, self.content_type.to_owned());
        }
        // The cache holds what it is given: no spare capacity from serialising. (A response
        // sent once and dropped keeps its buffer: shrinking it would copy the body.)
        if self.keep {
            self.body.shrink_to_fit();
        }
        // A kept answer is gzipped once: a large one now, kept gzipped only; a small one by
        // the first client that accepts gzip. A hit costs no compression.
        let gzip = std::sync::OnceLock::new();
        let compressible = self.gzipped || (self.keep && self.body.len() >= GZIP_OVER);
        let (body, gzip_only) = if self.gzipped {
            let _ = gzip.set(Some(Bytes::from(self.body)));
            (Bytes::new(), true)
        } else if compressible && self.body.len() >= GZIP_ONLY_OVER {
            match gzipped(&self.body) {
                Some(zipped) => {
                    let _ = gzip.set(Some(zipped));
                    (Bytes::new(), true)
                }
                None => (Bytes::from(self.body), false),
            }
        } else {
            (Bytes::from(self.body), false)
        };
        Cached {
            status: self.status.as_u16(),
            body,
            compressible,
            gzip,
            brotli: std::sync::OnceLock::new(),
            gzip_only,
            etag,
            headers,
            last_modified: last_modified.map(|t| t.fixed_offset()),
            expires: self.ttl.map(|ttl| Instant::now() + ttl),
            cache_control: self
                .cache_control
                .and_then(|v| HeaderValue::from_str(&v).ok()),
            keys: self.keys,
        }
    }
}

/// Bodies this long or longer are also kept gzipped.
const GZIP_OVER: usize = 1024;
/// Bodies this long or longer (feeds, sitemaps) are kept gzipped only.
const GZIP_ONLY_OVER: usize = 256 * 1024;
/// Bodies longer than this are sent in pieces of this size, so that a connection's write
/// buffer never holds a whole sitemap.
const PIECE: usize = 64 * 1024;

fn gzipped(body: &[u8]) -> Option<Bytes> {
    use flate2::{write::GzEncoder, Compression};
    use std::io::Write;
    // A large body is compressed fast; a small one well (it is made once and sent often).
    let level = if body.len() > 1024 * 1024 {
        Compression::fast()
    } else {
        Compression::default()
    };
    let mut encoder = GzEncoder::new(Vec::with_capacity(body.len() / 4), level);
    encoder.write_all(body).ok()?;
    encoder.finish().ok().map(Bytes::from)
}

/// The length of what `gzip` unzips to, from its trailer (RFC 1952's ISIZE: the length modulo
/// 2^32; a cached answer is far smaller).
fn unzipped_len(gzip: &[u8]) -> u64 {
    gzip.len()
        .checked_sub(4)
        .and_then(|at| gzip.get(at..))
        .and_then(|isize| <[u8; 4]>::try_from(isize).ok())
        .map_or(0, |isize| u64::from(u32::from_le_bytes(isize)))
}

/// What `gzip` unzips to, in pieces of [`PIECE`] bytes, each unzipped when the connection is
/// ready for it.
fn unzipping(
    gzip: Bytes,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + 'static {
    use std::io::Read;
    let mut unzipper = flate2::read::GzDecoder::new(std::io::Cursor::new(gzip));
    let mut done = false;
    futures_util::stream::iter(std::iter::from_fn(move || {
        if done {
            return None;
        }
        let mut piece = vec![0; PIECE];
        let mut filled = 0;
        while filled < PIECE {
            match unzipper.read(&mut piece[filled..]) {
                Ok(0) => {
                    done = true;
                    break;
                }
                Ok(n) => filled += n,
                Err(e) => {
                    done = true;
                    return Some(Err(e));
                }
            }
        }
        piece.truncate(filled);
        (filled > 0).then(|| Ok(Bytes::from(piece)))
    }))
}

fn gunzipped(gzip: &[u8]) -> Bytes {
    use std::io::Read;
    let mut out = Vec::new();
    match flate2::read::GzDecoder::new(gzip).read_to_end(&mut out) {
        Ok(_) => Bytes::from(out),
        Err(_) => Bytes::new(),
    }
}

/// How an answer is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Coding {
    Identity,
    Gzip,
    Brotli,
}

impl Coding {
    fn name(self) -> &'static str {
        match self {
            Coding::Identity => "identity",
            Coding::Gzip => "gzip",
            Coding::Brotli => "br",
        }
    }
}

/// The coding the client prefers of brotli and gzip (`Accept-Encoding` with q-values; brotli
/// on a tie, as it is smaller), or none.
fn preferred_coding(req: &HttpRequest) -> Coding {
    let Some(accept) = req
        .headers()
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
    else {
        return Coding::Identity;
    };
    let (mut br, mut gzip, mut any) = (None::<f32>, None::<f32>, None::<f32>);
    for coding in accept.split(',') {
        let mut parts = coding.split(';');
        let name = parts.next().unwrap_or_default().trim();
        let q = parts
            .find_map(|p| p.trim().strip_prefix("q="))
            .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())
            .unwrap_or(0.0);
        if name.eq_ignore_ascii_case("br") {
            br = Some(q);
        } else if name.eq_ignore_ascii_case("gzip") {
            gzip = Some(q);
        } else if name == "*" {
            any = Some(q);
        }
    }
    let (br, gzip) = (br.or(any).unwrap_or(0.0), gzip.or(any).unwrap_or(0.0));
    if br > 0.0 && br >= gzip {
        Coding::Brotli
    } else if gzip > 0.0 {
        Coding::Gzip
    } else {
        Coding::Identity
    }
}

fn brotli_of(body: &[u8]) -> Option<Bytes> {
    use std::io::Write;
    // A large body is compressed fast. A small one at quality 5: on a 6 KB article, quality 9
    // took 5 ms for a body 0.1% smaller than quality 5's, made in 0.1 ms — and the first reader
    // of every page waits for it.
    let quality = if body.len() > 256 * 1024 { 4 } else { 5 };
    let mut out = Vec::with_capacity(body.len() / 4);
    {
        let mut writer = brotli::CompressorWriter::new(&mut out, 4096, quality, 22);
        writer.write_all(body).ok()?;
    }
    Some(Bytes::from(out))
}

/// The ETag of the `coding` form of an answer whose ETag is `etag`.
fn coded_etag(etag: &str, coding: Coding) -> String {
    format!("{}-{}\"", etag.trim_end_matches('"'), coding.name())
}

/// The cache key of a request: its path and its query parameters in a fixed order.
fn cache_key(req: &HttpRequest) -> String {
    let query = req.query_string();
    if !query.contains('&') {
        return format!("{}?{query}", req.path());
    }
    let mut pairs: Vec<&str> = query.split('&').filter(|p| !p.is_empty()).collect();
    pairs.sort_unstable();
    format!("{}?{}", req.path(), pairs.join("&"))
}

/// Answers with `fresh` as computed, without this node's cache: ETag, 304 and headers as for
/// cached answers.
pub fn answer(req: &HttpRequest, cache: &ResponseCache, fresh: Fresh) -> HttpResponse {
    send(req, cache, &fresh.into_cached())
}

/// Answers from this node's cache, or computes the response with `compute` (on the blocking
/// pool, with a database connection), caches it and answers. Concurrent requests for the same
/// uncached response wait for one computation.
pub async fn cached<F>(
    req: &HttpRequest,
    cache: &ResponseCache,
    db: &Database,
    compute: F,
) -> AppResult<HttpResponse>
where
    F: Fn(&mut DbConn) -> AppResult<Fresh> + Send + Sync + 'static,
{
    let key = cache_key(req);
    if let Some(hit) = cache.get(&key) {
        return Ok(send(req, cache, &hit));
    }
    let leader = match cache.join(&key) {
        Flight::Waiting(answer) => {
            if let Ok(entry) = answer.await {
                return Ok(send(req, cache, &entry));
            }
            // The computation we waited for failed: try on our own.
            None
        }
        Flight::Leading(leader) => Some(leader),
    };
    if db.overloaded() {
        return Err(AppError::Unavailable(
            "the database is busy; try again in a moment".into(),
        ));
    }
    let generation = cache.generation();
    // A replica may answer, if it holds at least what this node's cache reflects.
    let fresh = db.read(cache.seen_version(), compute).await?;
    let keep = fresh.keep;
    let entry = Arc::new(fresh.into_cached());
    if keep {
        cache.put(key, entry.clone(), generation);
    }
    if let Some(leader) = leader {
        leader.finish(&entry);
    }
    Ok(send(req, cache, &entry))
}

fn not_modified(req: &HttpRequest, entry: &Cached) -> bool {
    let headers = req.headers();
    if let Some(inm) = headers.get(header::IF_NONE_MATCH) {
        let Ok(inm) = inm.to_str() else { return false };
        let coded = entry.compressible.then(|| {
            [
                coded_etag(&entry.etag, Coding::Gzip),
                coded_etag(&entry.etag, Coding::Brotli),
            ]
        });
        // Weak comparison, as RFC 9110 asks for If-None-Match; any form's tag will do.
        return inm.split(',').any(|t| {
            let t = t.trim().trim_start_matches("W/");
            t == "*" || t == entry.etag || coded.as_ref().is_some_and(|c| c.iter().any(|c| c == t))
        });
    }
    match (
        headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| chrono::DateTime::parse_from_rfc2822(v).ok()),
        entry.last_modified,
    ) {
        // A date in the future is no date the client can have seen (RFC 9110): ignored.
        (Some(since), Some(modified)) => modified <= since && since <= chrono::Utc::now(),
        _ => false,
    }
}

fn send(req: &HttpRequest, cache: &ResponseCache, entry: &Cached) -> HttpResponse {
    let status = StatusCode::from_u16(entry.status).unwrap_or(StatusCode::OK);
    let unchanged = status == StatusCode::OK && not_modified(req, entry);
    let wanted = if entry.compressible {
        preferred_coding(req)
    } else {
        Coding::Identity
    };
    let gzip = if wanted == Coding::Gzip || entry.gzip_only {
        entry.gzip.get_or_init(|| gzipped(&entry.body)).as_ref()
    } else {
        None
    };
    let brotli = if wanted == Coding::Brotli {
        entry
            .brotli
            .get_or_init(|| match gzip {
                Some(gzip) if entry.gzip_only => brotli_of(&gunzipped(gzip)),
                _ => brotli_of(&entry.body),
            })
            .as_ref()
    } else {
        None
    };
    // A large answer kept only gzipped, for a client that takes no gzip, is unzipped as it is
    // sent, a piece at a time, so that it never stands whole in memory.
    let (body, coding, unzip) = match (brotli, gzip) {
        (Some(br), _) => (br.clone(), Coding::Brotli, false),
        (None, Some(gzip)) if wanted == Coding::Gzip => (gzip.clone(), Coding::Gzip, false),
        (None, Some(gzip)) => (gzip.clone(), Coding::Identity, true),
        (None, None) => (entry.body.clone(), Coding::Identity, false),
    };
    let mut res = if unchanged {
        HttpResponse::NotModified().finish()
    } else if unzip {
        HttpResponse::build(status)
            .no_chunking(unzipped_len(&body))
            .streaming(unzipping(body))
    } else if body.is_empty() {
        HttpResponse::build(status).finish()
    } else if body.len() > PIECE {
        let len = body.len() as u64;
        let pieces: Vec<Result<Bytes, std::convert::Infallible>> = (0..body.len())
            .step_by(PIECE)
            .map(|at| Ok(body.slice(at..(at + PIECE).min(body.len()))))
            .collect();
        HttpResponse::build(status)
            .no_chunking(len)
            .streaming(futures_util::stream::iter(pieces))
    } else {
        HttpResponse::build(status).body(body)
    };
    let headers = res.headers_mut();
    for (name, value) in &entry.headers {
        if unchanged && *name == header::CONTENT_TYPE {
            continue;
        }
        headers.insert(name.clone(), value.clone());
    }
    if entry.compressible {
        headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        if coding != Coding::Identity {
            if let Ok(tag) = HeaderValue::from_str(&coded_etag(&entry.etag, coding)) {
                headers.insert(header::ETAG, tag);
            }
            if !unchanged {
                headers.insert(
                    header::CONTENT_ENCODING,
                    HeaderValue::from_static(coding.name()),
                );
            }
        }
    }
    let cache_control = match entry.expires {
        _ if entry.cache_control.is_some() => entry.cache_control.clone(),
        Some(at) => {
            let left = at
                .saturating_duration_since(Instant::now())
                .as_secs()
                .min(u64::from(cache.max_age));
            Some(public_cache_control(left, cache.stale))
        }
        None => Some(cache.cache_control.clone()),
    };
    if let Some(cc) = cache_control {
        headers.insert(header::CACHE_CONTROL, cc);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use std::io::Write;

    #[actix_web::test]
    async fn a_gzipped_answer_is_unzipped_piece_by_piece_into_what_was_zipped() {
        let body: Vec<u8> = (0..5 * PIECE + 123).map(|i| (i * 7 % 251) as u8).collect();
        let mut zipper = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        zipper.write_all(&body).unwrap();
        let gzip = Bytes::from(zipper.finish().unwrap());
        assert_eq!(unzipped_len(&gzip), body.len() as u64);
        let pieces: Vec<Bytes> = unzipping(gzip).map(|piece| piece.unwrap()).collect().await;
        assert_eq!(pieces.len(), 6);
        assert!(pieces[..5].iter().all(|p| p.len() == PIECE));
        assert_eq!(pieces.concat(), body);
        // Bytes that are not gzip end the answer with an error, never a panic.
        let broken: Vec<Result<Bytes, _>> = unzipping(Bytes::from_static(b"not gzip at all"))
            .collect()
            .await;
        assert!(broken.iter().any(Result::is_err));
        assert_eq!(unzipped_len(b"ab"), 0);
    }
}
