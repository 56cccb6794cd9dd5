//! Serving renditions: `GET /media/{hash}/{name}`. A rendition never changes under its name
//! (a new focal point makes a new social card under a new name), so it is cacheable for a
//! year, with a strong ETag and byte ranges. Only renditions are served, never an original,
//! and every answer says what it is and forbids being run as a page. A node keeps the
//! renditions it served last in memory, up to [`MEMORY`] bytes.

use std::collections::HashMap;
use std::sync::RwLock;

use actix_web::http::header;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};

use crate::app::{off_executor, AppState};
use crate::error::{AppError, AppResult};
use crate::media::store;

/// How many bytes of renditions a node keeps in memory.
pub const MEMORY: usize = 64 * 1024 * 1024;

/// Renditions served lately, by store key.
#[derive(Default)]
pub struct Served {
    held: RwLock<(HashMap<String, Bytes>, usize)>,
}

impl Served {
    fn get(&self, key: &str) -> Option<Bytes> {
        self.held.read().ok()?.0.get(key).cloned()
    }

    fn keep(&self, key: String, data: Bytes) {
        if data.len() > MEMORY / 16 {
            return;
        }
        let Ok(mut held) = self.held.write() else {
            return;
        };
        if held.1 + data.len() > MEMORY {
            held.0.clear();
            held.1 = 0;
        }
        held.1 += data.len();
        held.0.insert(key, data);
    }

    /// Drops what is held of item `hash` (deleted).
    pub fn forget(&self, hash: &str) {
        if let Ok(mut held) = self.held.write() {
            let prefix = store::rendition_key(hash, "");
            let (map, size) = &mut *held;
            map.retain(|k, d| {
                let keep = !k.starts_with(&prefix);
                if !keep {
                    *size -= d.len();
                }
                keep
            });
        }
    }
}

/// Whether `name` is a rendition's name: `w<width>.<jpg|webp|png>` or `social-<x>-<y>.jpg`.
fn rendition_type(name: &str) -> Option<&'static str> {
    let (stem, ext) = name.rsplit_once('.')?;
    let digits = |s: &str, max: usize| {
        !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit())
    };
    let ok = match stem.strip_prefix("w") {
        Some(width) => digits(width, 5),
        None => stem
            .strip_prefix("social-")
            .and_then(|p| p.split_once('-'))
            .is_some_and(|(x, y)| digits(x, 3) && digits(y, 3) && ext == "jpg"),
    };
    if !ok {
        return None;
    }
    match ext {
        "jpg" => Some("image/jpeg"),
        "webp" => Some("image/webp"),
        "png" => Some("image/png"),
        _ => None,
    }
}

/// One byte range of a `Range` header, for a body of `len` bytes: `None` when there is no
/// single range to honour (the whole body is sent), `Err` when it cannot be satisfied.
fn range(req: &HttpRequest, len: usize) -> Result<Option<(usize, usize)>, ()> {
    let Some(raw) = req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(None);
    };
    let Some(spec) = raw.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((first, last)) = spec.split_once('-') else {
        return Ok(None);
    };
    let (first, last) = (first.trim(), last.trim());
    let (start, end) = if first.is_empty() {
        let Ok(suffix) = last.parse::<usize>() else {
            return Ok(None);
        };
        if suffix == 0 {
            return Err(());
        }
        (len.saturating_sub(suffix), len.saturating_sub(1))
    } else {
        let Ok(start) = first.parse::<usize>() else {
            return Ok(None);
        };
        let end = if last.is_empty() {
            len.saturating_sub(1)
        } else {
            match last.parse::<usize>() {
                Ok(e) if e >= start => e.min(len.saturating_sub(1)),
                _ => return Ok(None),
            }
        };
        (start, end)
    };
    if start >= len {
        return Err(());
    }
    Ok(Some((start, end)))
}

/// A rendition of a media item: cacheable for a year, never a page.
#[utoipa::path(
    get,
    path = "/media/{hash}/{name}",
    tag = "media",
    params(
        ("hash" = String, Path, description = "The item's hash"),
        ("name" = String, Path, description = "The rendition: `w640.webp`, `w1280.jpg`, `social-50-50.jpg` …"),
        ("Range" = Option<String>, Header, description = "One byte range"),
        ("If-None-Match" = Option<String>, Header, description = "The ETag held"),
    ),
    responses(
        (status = 200, description = "The rendition", content(
            (Vec<u8> = "image/webp"), (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"))),
        (status = 206, description = "The range asked for", content(
            (Vec<u8> = "image/webp"), (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"))),
        (status = 304, description = "The ETag held is current"),
        (status = 404, description = "No such rendition", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 416, description = "The range is past the end", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn rendition(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (hash, name) = path.into_inner();
    let missing = || AppError::NotFound("no such rendition".into());
    let plain_hash =
        hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let mime = rendition_type(&name)
        .filter(|_| plain_hash)
        .ok_or_else(missing)?;
    let key = store::rendition_key(&hash, &name);
    let library = &state.media;
    let data = match library.served.get(&key) {
        Some(data) => data,
        None => {
            let lib = library.clone();
            let k = key.clone();
            let data: Bytes = off_executor(move || lib.store.get(&k))
                .await??
                .ok_or_else(missing)?
                .into();
            library.served.keep(key, data.clone());
            data
        }
    };
    let etag = format!("\"{}-{name}\"", &hash[..16]);
    let answer = |status: actix_web::http::StatusCode| {
        let mut res = HttpResponse::build(status);
        res.insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
            .insert_header((header::ETAG, etag.clone()))
            .insert_header((header::ACCEPT_RANGES, "bytes"))
            .insert_header((
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; sandbox",
            ))
            .insert_header((header::CONTENT_TYPE, mime));
        res
    };
    let held = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if held {
        return Ok(answer(actix_web::http::StatusCode::NOT_MODIFIED).finish());
    }
    match range(&req, data.len()) {
        Ok(None) => Ok(answer(actix_web::http::StatusCode::OK).body(data)),
        Ok(Some((start, end))) => Ok(answer(actix_web::http::StatusCode::PARTIAL_CONTENT)
            .insert_header((
                header::CONTENT_RANGE,
                format!("bytes {start}-{end}/{}", data.len()),
            ))
            .body(data.slice(start..=end))),
        Err(()) => Ok(HttpResponse::RangeNotSatisfiable()
            .insert_header((header::CONTENT_RANGE, format!("bytes */{}", data.len())))
            .content_type(crate::error::PROBLEM_JSON)
            .json(crate::error::Problem {
                kind: "urn:newsdesk:problem:range-not-satisfiable".into(),
                title: "Range Not Satisfiable".into(),
                status: 416,
                detail: format!("the rendition is {} bytes long", data.len()),
                errors: None,
            })),
    }
}
