//! Media endpoints of the Admin API: uploads (contributors and up), the library's list, an
//! item's texts and focal point, its uses and its deletion. Every change is in the audit log
//! and goes through the change pipeline, so the pages that show an item are made afresh.

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};

use crate::app::{off_executor, AppState};
use crate::articles::changes::{self, Change};
use crate::articles::escape_like;
use crate::audit::{self, Actor};
use crate::auth::{AuthUser, Role};
use crate::db::schema::{media, media_texts, media_uses};
use crate::db::{now, DbConn};
use crate::db_run;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::http::{self as http_util, Current, IfMatch};
use crate::languages;
use crate::media::process::{self, Permit};
use crate::media::store::{self, Store};
use crate::media::{self as library, FocalPoint, Item, MediaRow, MediaText, Use, PROCESSING};
use crate::pagination::{IdCursor, Limit};
use crate::problem_responses;
use crate::text::plain_text;

problem_responses!(
    /// Errors of reading media.
    MediaReadErrors: 400, 401, 403, 404, 500, 503
);
problem_responses!(
    /// Errors of uploading media.
    MediaUploadErrors: 400, 401, 403, 413, 415, 422, 500, 503
);
problem_responses!(
    /// Errors of changing media.
    MediaWriteErrors: 400, 401, 403, 404, 409, 412, 413, 415, 422, 428, 500, 503
);

/// Room for a multipart body's boundaries, headers and metadata beside the file.
const MULTIPART_OVERHEAD: u64 = 64 * 1024;
const MAX_ALT: usize = 1000;
const MAX_CAPTION: usize = 2000;
const MAX_CREDIT: usize = 300;

/// Alt text, caption and credit in one language.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MediaTextInput {
    /// Plain text, at most 1,000 characters.
    #[serde(default)]
    pub alt: String,
    /// Plain text, at most 2,000 characters.
    #[serde(default)]
    pub caption: String,
    /// Plain text, at most 300 characters; empty: the item's credit.
    #[serde(default)]
    pub credit: String,
}

/// What may be said about a media item: at upload (as the `metadata` part, JSON) or later.
/// Absent fields stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MediaFields {
    /// Photographer or agency. Plain text.
    pub credit: Option<String>,
    /// The licence it is used under. Plain text.
    pub licence: Option<String>,
    /// Where the image's subject is: crops (the social card) keep it in view.
    pub focal_point: Option<FocalPoint>,
    /// Texts by language code; `null` removes a language's texts.
    #[schema(value_type = Option<BTreeMap<String, MediaTextInput>>)]
    pub translations: Option<BTreeMap<String, Option<MediaTextInput>>>,
}

/// The image types an upload may be, as told from its bytes.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum UploadType {
    Jpeg,
    Png,
    Webp,
    Gif,
}

/// Where a media item's renditions stand.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MediaStatus {
    Processing,
    Ready,
    Failed,
}

/// A rendition, as editors see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RenditionOut {
    #[schema(example = "w640.webp")]
    pub name: String,
    pub width: u32,
    pub height: u32,
    #[serde(rename = "type")]
    #[schema(value_type = crate::media::RenditionType)]
    pub mime: String,
    pub bytes: u64,
    pub url: String,
}

/// A media item, as editors see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct MediaResponse {
    pub id: i64,
    /// SHA-256 of the uploaded bytes.
    pub hash: String,
    /// `jpeg`, `png`, `webp` or `gif`, as told from the bytes.
    #[serde(rename = "type")]
    #[schema(example = "jpeg", value_type = UploadType)]
    pub kind: String,
    /// As shown: with the EXIF orientation applied.
    pub width: i32,
    pub height: i32,
    /// Of the upload.
    pub bytes: i64,
    pub has_alpha: bool,
    pub focal_point: FocalPoint,
    pub credit: String,
    pub licence: String,
    /// Texts by language code.
    pub translations: BTreeMap<String, MediaText>,
    /// A BlurHash.
    pub placeholder: String,
    /// `processing` while renditions are made after the upload, then `ready` (or `failed`,
    /// with `problem`). Not part of the version: it changes without a new ETag.
    #[schema(example = "ready", value_type = MediaStatus)]
    pub status: String,
    pub problem: Option<String>,
    /// The default rendition.
    pub url: String,
    pub renditions: Vec<RenditionOut>,
    pub social_image: Option<String>,
    pub uploaded_by: Option<i64>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A page of media items, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct MediaList {
    pub items: Vec<MediaResponse>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Where a media item is used.
#[derive(Debug, Serialize, ToSchema)]
pub struct MediaUsage {
    pub media_id: i64,
    pub uses: Vec<Use>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MediaQuery {
    /// `jpeg`, `png`, `webp` or `gif`.
    #[serde(rename = "type")]
    #[param(rename = "type", value_type = Option<UploadType>)]
    pub kind: Option<String>,
    /// The uploader's user id.
    pub uploaded_by: Option<i64>,
    /// Only items no story shows (`true`), or only those some story shows (`false`).
    pub unused: Option<bool>,
    /// Words in an alt text or caption, in any language.
    pub q: Option<String>,
    /// Page size, 1 to 100.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    /// From `next_cursor`.
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeleteQuery {
    /// Delete even when published stories show it: they lose the image.
    #[serde(default)]
    pub force: bool,
}

fn response(base: &str, item: Item) -> MediaResponse {
    let chain: Vec<String> = Vec::new();
    let mut shown = item.shown(&chain, &Default::default());
    shown.rebase(base);
    let row = item.row;
    let renditions = row
        .renditions()
        .into_iter()
        .map(|r| RenditionOut {
            url: format!("{base}/{}/{}", row.hash, r.name),
            name: r.name,
            width: r.width,
            height: r.height,
            mime: r.mime,
            bytes: r.bytes,
        })
        .collect();
    MediaResponse {
        id: row.id,
        kind: row.kind,
        width: row.width,
        height: row.height,
        bytes: row.bytes,
        has_alpha: row.alpha,
        focal_point: FocalPoint {
            x: row.focal_x,
            y: row.focal_y,
        },
        credit: row.credit,
        licence: row.licence,
        translations: item
            .texts
            .into_iter()
            .map(|t| (t.lang.clone(), t))
            .collect(),
        placeholder: row.placeholder,
        status: row.status,
        problem: row.problem,
        url: shown.url,
        renditions,
        social_image: shown.social_image,
        uploaded_by: row.uploaded_by,
        version: row.version,
        created_at: row.created_at.and_utc(),
        updated_at: row.updated_at.and_utc(),
        hash: row.hash,
    }
}

fn load(conn: &mut DbConn, id: i64) -> AppResult<Item> {
    let row = library::find(conn, id)?;
    let texts = library::texts_of(conn, &[id])?
        .remove(&id)
        .unwrap_or_default();
    Ok(Item { row, texts })
}

/// Alt text, caption and credit, checked.
type TextParts = (String, String, String);

/// The fields checked that need no database.
struct Checked {
    credit: Option<String>,
    licence: Option<String>,
    focal: Option<(f64, f64)>,
    texts: Vec<(String, Option<TextParts>)>,
}

fn check(fields: MediaFields) -> AppResult<Checked> {
    let mut f = FieldErrors::default();
    let credit = fields
        .credit
        .and_then(|c| f.check(plain_text(&c, "credit", MAX_CREDIT)));
    let licence = fields
        .licence
        .and_then(|c| f.check(plain_text(&c, "licence", MAX_CREDIT)));
    let focal = fields.focal_point.and_then(|p| {
        let ok = (0.0..=1.0).contains(&p.x) && (0.0..=1.0).contains(&p.y);
        if !ok {
            f.check::<()>(Err(AppError::invalid(
                "focal_point",
                "x and y must each be between 0 and 1",
            )));
        }
        ok.then_some((p.x, p.y))
    });
    let mut texts = Vec::new();
    for (lang, input) in fields.translations.unwrap_or_default() {
        let field = format!("translations.{lang}");
        let text = input.map(|t| {
            let alt = f.check(plain_text(&t.alt, &format!("{field}.alt"), MAX_ALT));
            let caption = f.check(plain_text(
                &t.caption,
                &format!("{field}.caption"),
                MAX_CAPTION,
            ));
            let credit = f.check(plain_text(
                &t.credit,
                &format!("{field}.credit"),
                MAX_CREDIT,
            ));
            (
                alt.unwrap_or_default(),
                caption.unwrap_or_default(),
                credit.unwrap_or_default(),
            )
        });
        texts.push((lang, text));
    }
    f.finish()?;
    Ok(Checked {
        credit,
        licence,
        focal,
        texts,
    })
}

/// Writes checked texts of item `id`, and what the text search looks in; languages must exist
/// (422 naming the field).
fn write_texts(conn: &mut DbConn, id: i64, texts: &[(String, Option<TextParts>)]) -> AppResult<()> {
    write_each_text(conn, id, texts)?;
    let all = library::texts_of(conn, &[id])?
        .remove(&id)
        .unwrap_or_default();
    let search: Vec<String> = all
        .iter()
        .flat_map(|t| [t.alt.to_lowercase(), t.caption.to_lowercase()])
        .filter(|t| !t.is_empty())
        .collect();
    let search = search.join("\n");
    db_run!(conn, |c| diesel::update(media::table.find(id))
        .set(media::search_text.eq(&search))
        .execute(c))?;
    Ok(())
}

fn write_each_text(
    conn: &mut DbConn,
    id: i64,
    texts: &[(String, Option<TextParts>)],
) -> AppResult<()> {
    for (raw, text) in texts {
        let code = languages::require_existing(conn, raw, &format!("translations.{raw}"))?;
        let lang = code.as_str().to_owned();
        let l = lang.clone();
        db_run!(conn, |c| diesel::delete(
            media_texts::table
                .filter(media_texts::media_id.eq(id))
                .filter(media_texts::lang.eq(&l))
        )
        .execute(c))?;
        if let Some((alt, caption, credit)) = text {
            let row = (
                media_texts::media_id.eq(id),
                media_texts::lang.eq(&lang),
                media_texts::alt.eq(alt),
                media_texts::caption.eq(caption),
                media_texts::credit.eq(credit),
            );
            db_run!(conn, |c| diesel::insert_into(media_texts::table)
                .values(row)
                .execute(c))?;
        }
    }
    Ok(())
}

/// An upload as received: the file's bytes and the optional metadata.
struct Upload {
    file: Vec<u8>,
    fields: MediaFields,
}

/// Reads the request body, at most `max` bytes: 413 as soon as it says or proves to be longer.
async fn read_body(req: &HttpRequest, mut payload: web::Payload, max: u64) -> AppResult<Vec<u8>> {
    let too_large = || {
        AppError::PayloadTooLarge(format!(
            "uploads may be at most {max} bytes (MEDIA_MAX_UPLOAD_BYTES)"
        ))
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(too_large());
    }
    let mut body = Vec::with_capacity(declared.unwrap_or(64 * 1024).min(max) as usize);
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| AppError::bad_request(format!("reading the upload: {e}")))?;
        if (body.len() + chunk.len()) as u64 > max {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A `multipart/form-data` body's parts: (name, bytes).
fn parts<'a>(body: &'a [u8], boundary: &str) -> AppResult<Vec<(String, &'a [u8])>> {
    let bad = |why: &str| AppError::bad_request(format!("the multipart body is malformed: {why}"));
    let delimiter = format!("--{boundary}");
    let finder = memchr::memmem::Finder::new(delimiter.as_bytes());
    let starts: Vec<usize> = finder.find_iter(body).collect();
    if starts.len() < 2 {
        return Err(bad("it has no complete part"));
    }
    let mut out = Vec::new();
    for pair in starts.windows(2) {
        let part = &body[pair[0] + delimiter.len()..pair[1]];
        let part = part
            .strip_prefix(b"\r\n")
            .ok_or_else(|| bad("a boundary is not followed by a line break"))?;
        let part = part
            .strip_suffix(b"\r\n")
            .ok_or_else(|| bad("a part does not end with a line break"))?;
        let split =
            memchr::memmem::find(part, b"\r\n\r\n").ok_or_else(|| bad("a part has no headers"))?;
        let head = String::from_utf8_lossy(&part[..split]);
        let disposition = head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))
            .ok_or_else(|| bad("a part has no Content-Disposition"))?;
        let name = disposition
            .split(';')
            .map(str::trim)
            .find_map(|p| p.strip_prefix("name="))
            .map(|n| n.trim_matches('"').to_owned())
            .ok_or_else(|| bad("a part has no name"))?;
        out.push((name, &part[split + 4..]));
    }
    Ok(out)
}

fn boundary(content_type: &str) -> Option<String> {
    content_type
        .split(';')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("boundary="))
        .map(|b| b.trim_matches('"').to_owned())
        .filter(|b| !b.is_empty() && b.len() <= 70)
}

fn upload_of(content_type: &str, body: Vec<u8>) -> AppResult<Upload> {
    if !content_type
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        return Ok(Upload {
            file: body,
            fields: MediaFields::default(),
        });
    }
    let boundary = boundary(content_type)
        .ok_or_else(|| AppError::bad_request("multipart/form-data needs a boundary"))?;
    let mut file: Option<&[u8]> = None;
    let mut fields = MediaFields::default();
    for (name, data) in parts(&body, &boundary)? {
        match name.as_str() {
            "file" if file.is_some() => {
                return Err(AppError::bad_parameter("file", "send one file per upload"))
            }
            "file" => file = Some(data),
            "metadata" => {
                fields = serde_json::from_slice(data).map_err(|e| {
                    AppError::bad_parameter("metadata", format!("is not valid metadata: {e}"))
                })?;
            }
            other => {
                return Err(AppError::bad_parameter(
                    other,
                    "is not a part of an upload: send `file` and, optionally, `metadata`",
                ))
            }
        }
    }
    let file =
        file.ok_or_else(|| AppError::bad_parameter("file", "the upload has no `file` part"))?;
    Ok(Upload {
        file: file.to_vec(),
        fields,
    })
}

/// What an upload became before it is recorded: its original and first rendition stored.
struct Prepared {
    hash: String,
    kind: &'static str,
    width: u32,
    height: u32,
    bytes: usize,
    alpha: bool,
    placeholder: String,
    first: process::Rendition,
}

/// Checks the upload's bytes and stores its original and first rendition. Nothing is stored
/// unless the image is accepted.
fn prepare(store: &Store, bounds: process::Bounds, file: &[u8], hash: &str) -> AppResult<Prepared> {
    let kind = library::sniff::sniff(file)?;
    let _permit = Permit::take();
    let decoded = process::decode(file, kind, bounds)?;
    let first = process::first(&decoded)?;
    let placeholder = process::placeholder(&decoded)?;
    let prepared = Prepared {
        hash: hash.to_owned(),
        kind: kind.name(),
        width: decoded.width(),
        height: decoded.height(),
        bytes: file.len(),
        alpha: decoded.alpha,
        placeholder,
        first: first.rendition.clone(),
    };
    drop(decoded);
    store.put(&store::original_key(hash), file, "application/octet-stream")?;
    store.put(
        &store::rendition_key(hash, &first.rendition.name),
        &first.data,
        &first.rendition.mime,
    )?;
    Ok(prepared)
}

/// Records a prepared upload as a media item, in the caller's transaction; when another
/// upload of the same bytes got there first, that item (and `false`).
fn record(
    c: &mut DbConn,
    prepared: &Prepared,
    checked: Checked,
    uploader: i64,
    actor: &Actor,
) -> AppResult<(Item, bool)> {
    if let Some(row) = library::by_hash(c, &prepared.hash)? {
        return Ok((load(c, row.id)?, false));
    }
    let at = now();
    let (fx, fy) = checked.focal.unwrap_or((0.5, 0.5));
    let renditions = serde_json::to_string(&[&prepared.first])?;
    let id: i64 = db_run!(c, |c| diesel::insert_into(media::table)
        .values((
            media::hash.eq(&prepared.hash),
            media::kind.eq(prepared.kind),
            media::width.eq(prepared.width as i32),
            media::height.eq(prepared.height as i32),
            media::bytes.eq(prepared.bytes as i64),
            media::alpha.eq(prepared.alpha),
            media::focal_x.eq(fx),
            media::focal_y.eq(fy),
            media::credit.eq(checked.credit.clone().unwrap_or_default()),
            media::licence.eq(checked.licence.clone().unwrap_or_default()),
            media::placeholder.eq(&prepared.placeholder),
            media::renditions.eq(&renditions),
            media::status.eq(PROCESSING),
            media::uploaded_by.eq(uploader),
            media::version.eq(1),
            media::created_at.eq(at),
            media::updated_at.eq(at),
        ))
        .returning(media::id)
        .get_result(c))?;
    write_texts(c, id, &checked.texts)?;
    audit::record(
        c,
        actor,
        "media.upload",
        "media",
        &id.to_string(),
        json!({ "hash": prepared.hash, "type": prepared.kind, "bytes": prepared.bytes }),
    )?;
    changes::changed(c, Change::Media(id))?;
    Ok((load(c, id)?, true))
}

/// Adds an image the node itself made (the demo's pictures) to the library, as an upload by
/// `uploader` with `fields`, inside the caller's transaction. The caller queues its
/// renditions once the transaction has committed.
pub fn add_own(
    c: &mut DbConn,
    library: &library::Library,
    file: &[u8],
    fields: MediaFields,
    uploader: i64,
    actor: &Actor,
) -> AppResult<i64> {
    let checked = check(fields)?;
    let hash = hex::encode(Sha256::digest(file));
    let prepared = prepare(&library.store, library.bounds, file, &hash)?;
    Ok(record(c, &prepared, checked, uploader, actor)?.0.row.id)
}

/// Upload an image. Contributors and up. The body is `multipart/form-data` with a `file` part
/// and an optional `metadata` part (JSON, as `PATCH` takes), or the image's bytes themselves.
/// The type is told from the bytes: JPEG, PNG, WebP or GIF, anything else is refused (415).
/// The answer comes once the default rendition is made; the others follow in the background
/// (`status`). The same bytes uploaded again answer 200 with the item they already are.
#[utoipa::path(
    post,
    path = "/api/v1/admin/media",
    tag = "media",
    security(("bearer" = [])),
    request_body(content = Vec<u8>, description = "`multipart/form-data` (`file`, optional `metadata`) or an image's bytes",
        content_type = "application/octet-stream"),
    responses(
        (status = 201, description = "Uploaded", body = MediaResponse, headers(("Location" = String), ("ETag" = String))),
        (status = 200, description = "These bytes are already in the library", body = MediaResponse, headers(("Location" = String), ("ETag" = String))),
        MediaUploadErrors
    )
)]
pub async fn upload_media(
    state: web::Data<AppState>,
    caller: AuthUser,
    req: HttpRequest,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    caller.require(Role::Contributor)?;
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let multipart = content_type.to_ascii_lowercase().starts_with("multipart/");
    let max = state.config.media_max_upload_bytes + if multipart { MULTIPART_OVERHEAD } else { 0 };
    let body = read_body(&req, payload, max).await?;
    let upload = upload_of(&content_type, body)?;
    if upload.file.len() as u64 > state.config.media_max_upload_bytes {
        return Err(AppError::PayloadTooLarge(format!(
            "uploads may be at most {} bytes (MEDIA_MAX_UPLOAD_BYTES)",
            state.config.media_max_upload_bytes
        )));
    }
    let checked = check(upload.fields)?;
    let file = upload.file;
    let hash = hex::encode(Sha256::digest(&file));
    let base = state.media.base.clone();
    let existing = {
        let hash = hash.clone();
        state.db.run(move |c| library::by_hash(c, &hash)).await?
    };
    if let Some(row) = existing {
        let id = row.id;
        let (item, etag) = state
            .db
            .run(move |c| {
                let item = load(c, id)?;
                let etag = item.row.etag();
                Ok((item, etag))
            })
            .await?;
        return Ok(HttpResponse::Ok()
            .insert_header((header::LOCATION, format!("/api/v1/admin/media/{id}")))
            .insert_header((header::ETAG, etag))
            .json(response(&base, item)));
    }
    let library = state.media.clone();
    let prepared = {
        let hash = hash.clone();
        off_executor(move || prepare(&library.store, library.bounds, &file, &hash)).await??
    };
    let actor = Actor::from(&caller);
    let uploader = caller.id;
    let outcome = state
        .db
        .transaction(move |c| record(c, &prepared, checked, uploader, &actor))
        .await;
    let (item, created) = match outcome {
        Ok(done) => done,
        Err(e) => {
            // Nothing is kept of an upload that was refused after its bytes were stored.
            let (library, db, hash) = (state.media.clone(), state.db.clone(), hash.clone());
            off_executor(move || {
                let mut conn = db.get()?;
                if library::by_hash(&mut conn, &hash)?.is_none() {
                    library.store.remove(&hash)?;
                }
                AppResult::Ok(())
            })
            .await??;
            return Err(e);
        }
    };
    let id = item.row.id;
    if created {
        state.media.jobs.enqueue(id);
    }
    let etag = item.row.etag();
    let mut answer = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(answer
        .insert_header((header::LOCATION, format!("/api/v1/admin/media/{id}")))
        .insert_header((header::ETAG, etag))
        .json(response(&base, item)))
}

/// List the media library, newest first. Contributors and up.
#[utoipa::path(
    get,
    path = "/api/v1/admin/media",
    tag = "media",
    security(("bearer" = [])),
    params(MediaQuery),
    responses((status = 200, description = "A page of media items", body = MediaList), MediaReadErrors)
)]
pub async fn list_media(
    state: web::Data<AppState>,
    caller: AuthUser,
    query: web::Query<MediaQuery>,
) -> AppResult<HttpResponse> {
    caller.require(Role::Contributor)?;
    let q = query.into_inner();
    let limit = Limit::parse(q.limit)?;
    let before = IdCursor::parse(q.cursor.as_deref())?;
    if let Some(kind) = &q.kind {
        if library::sniff::Kind::from_name(kind).is_none() {
            return Err(AppError::bad_parameter(
                "type",
                "must be jpeg, png, webp or gif",
            ));
        }
    }
    let words =
        q.q.as_deref()
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .map(|w| w.chars().take(200).collect::<String>());
    let base = state.media.base.clone();
    let list = state
        .db
        .run(move |c| {
            let rows: Vec<MediaRow> = db_run!(c, |c| {
                let mut query = media::table.select(MediaRow::as_select()).into_boxed();
                if let Some(before) = before {
                    query = query.filter(media::id.lt(before));
                }
                if let Some(kind) = &q.kind {
                    query = query.filter(media::kind.eq(kind.clone()));
                }
                if let Some(user) = q.uploaded_by {
                    query = query.filter(media::uploaded_by.eq(user));
                }
                if let Some(words) = &words {
                    // Both sides lowercased by Rust (the stored side when written): SQLite's
                    // lower() knows only ASCII.
                    let pattern = format!("%{}%", escape_like(&words.to_lowercase()));
                    query = query.filter(media::search_text.like(pattern).escape('\\'));
                }
                if let Some(unused) = q.unused {
                    use crate::db::schema::articles;
                    let featured = || {
                        articles::table
                            .filter(articles::image_media_id.is_not_null())
                            .select(articles::image_media_id.assume_not_null())
                    };
                    let in_bodies = || media_uses::table.select(media_uses::media_id);
                    query = if unused {
                        query
                            .filter(media::id.ne_all(featured()))
                            .filter(media::id.ne_all(in_bodies()))
                    } else {
                        query.filter(
                            media::id
                                .eq_any(featured())
                                .or(media::id.eq_any(in_bodies())),
                        )
                    };
                }
                query.order(media::id.desc()).limit(limit.fetch()).load(c)
            })?;
            let (rows, next) = limit.split(rows, |r| r.id);
            let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
            let mut texts = library::texts_of(c, &ids)?;
            let items = rows
                .into_iter()
                .map(|row| {
                    let texts = texts.remove(&row.id).unwrap_or_default();
                    response(&base, Item { row, texts })
                })
                .collect();
            Ok(MediaList {
                items,
                next_cursor: next.map(IdCursor::encode),
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Read a media item. Contributors and up.
#[utoipa::path(
    get,
    path = "/api/v1/admin/media/{id}",
    tag = "media",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The media item's id")),
    responses(
        (status = 200, description = "The media item", body = MediaResponse, headers(("ETag" = String))),
        MediaReadErrors
    )
)]
pub async fn get_media(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    caller.require(Role::Contributor)?;
    let id = id.into_inner();
    let item = state.db.run(move |c| load(c, id)).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, item.row.etag()))
        .json(response(&state.media.base, item)))
}

/// Item `id` as it stands, if `if_match` names it and `caller` may change it.
fn current(
    conn: &mut DbConn,
    id: i64,
    if_match: &IfMatch,
    caller: (i64, Role),
) -> AppResult<MediaRow> {
    let row = library::find(conn, id)?;
    if caller.1 < Role::Editor && row.uploaded_by != Some(caller.0) {
        return Err(AppError::Forbidden(
            "only editors and admins change media someone else uploaded".into(),
        ));
    }
    if !if_match.matches(&row.etag()) {
        return Err(http_util::stale(
            "this media item",
            Current {
                version: row.version,
                etag: row.etag(),
                updated_at: row.updated_at,
                updated_by: serde_json::Value::Null,
            },
        ));
    }
    Ok(row)
}

/// Change a media item's credit, licence, focal point or texts. Its uploader, editors and
/// admins; needs `If-Match`. A new focal point makes a new social card in the background.
#[utoipa::path(
    patch,
    path = "/api/v1/admin/media/{id}",
    tag = "media",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The media item's id"),
        ("If-Match" = String, Header, description = "The ETag of the item as read")),
    request_body = MediaFields,
    responses(
        (status = 200, description = "The changed item", body = MediaResponse, headers(("ETag" = String))),
        MediaWriteErrors
    )
)]
pub async fn update_media(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<i64>,
    body: web::Json<MediaFields>,
    if_match: IfMatch,
) -> AppResult<HttpResponse> {
    caller.require(Role::Contributor)?;
    let id = id.into_inner();
    let checked = check(body.into_inner())?;
    let actor = Actor::from(&caller);
    let who = (caller.id, caller.role);
    let (item, refocused) = state
        .db
        .transaction(move |c| {
            let row = current(c, id, &if_match, who)?;
            let focal = checked.focal.unwrap_or(row.focal());
            let refocused = focal != row.focal()
                && !row
                    .renditions()
                    .iter()
                    .any(|r| r.name == process::social_name(focal));
            let updated = db_run!(c, |c| diesel::update(
                media::table.find(id).filter(media::version.eq(row.version))
            )
            .set((
                media::credit.eq(checked.credit.clone().unwrap_or(row.credit.clone())),
                media::licence.eq(checked.licence.clone().unwrap_or(row.licence.clone())),
                media::focal_x.eq(focal.0),
                media::focal_y.eq(focal.1),
                media::version.eq(row.version + 1),
                media::updated_at.eq(now()),
            ))
            .execute(c))?;
            if updated == 0 {
                return Err(AppError::Conflict(
                    "the media item changed meanwhile; read it again".into(),
                ));
            }
            if refocused {
                db_run!(c, |c| diesel::update(media::table.find(id))
                    .set(media::status.eq(PROCESSING))
                    .execute(c))?;
            }
            write_texts(c, id, &checked.texts)?;
            let fields: Vec<&str> = [
                ("credit", checked.credit.is_some()),
                ("licence", checked.licence.is_some()),
                ("focal_point", checked.focal.is_some()),
                ("translations", !checked.texts.is_empty()),
            ]
            .into_iter()
            .filter_map(|(n, set)| set.then_some(n))
            .collect();
            audit::record(
                c,
                &actor,
                "media.update",
                "media",
                &id.to_string(),
                json!({ "fields": fields }),
            )?;
            changes::changed(c, Change::Media(id))?;
            Ok((load(c, id)?, refocused))
        })
        .await?;
    if refocused {
        state.media.jobs.enqueue(id);
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, item.row.etag()))
        .json(response(&state.media.base, item)))
}

/// Delete a media item, its original and every rendition. Its uploader, editors and admins;
/// needs `If-Match`. 409 naming the stories when published stories show it, unless
/// `force=true`: those stories then lose the image.
#[utoipa::path(
    delete,
    path = "/api/v1/admin/media/{id}",
    tag = "media",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The media item's id"),
        ("If-Match" = String, Header, description = "The ETag of the item as read"),
        DeleteQuery),
    responses((status = 204, description = "Deleted"), MediaWriteErrors)
)]
pub async fn delete_media(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<i64>,
    query: web::Query<DeleteQuery>,
    if_match: IfMatch,
) -> AppResult<HttpResponse> {
    caller.require(Role::Contributor)?;
    let id = id.into_inner();
    let force = query.force;
    let actor = Actor::from(&caller);
    let who = (caller.id, caller.role);
    let hash = state
        .db
        .transaction(move |c| {
            let row = current(c, id, &if_match, who)?;
            let uses = library::uses(c, id)?;
            let mut published: Vec<i64> = uses.iter().filter(|u| u.published).map(|u| u.article_id).collect();
            published.dedup();
            if !published.is_empty() && !force {
                return Err(AppError::ConflictWith {
                    detail: format!(
                        "published stories show this image: {}; pass force=true to delete it anyway",
                        published.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
                    ),
                    extra: json!({ "articles": published, "uses": uses }),
                });
            }
            let stories = library::stories_showing(c, id)?;
            {
                use crate::db::schema::articles;
                db_run!(c, |c| diesel::update(articles::table.filter(articles::image_media_id.eq(id)))
                    .set(articles::image_media_id.eq(None::<i64>))
                    .execute(c))?;
            }
            db_run!(c, |c| diesel::delete(media_uses::table.filter(media_uses::media_id.eq(id))).execute(c))?;
            db_run!(c, |c| diesel::delete(media_texts::table.filter(media_texts::media_id.eq(id))).execute(c))?;
            db_run!(c, |c| diesel::delete(media::table.find(id)).execute(c))?;
            audit::record(
                c,
                &actor,
                "media.delete",
                "media",
                &id.to_string(),
                json!({ "hash": row.hash, "forced": force, "stories": stories }),
            )?;
            for story in &stories {
                changes::changed(c, Change::Story(*story))?;
            }
            changes::changed(c, Change::Media(id))?;
            Ok(row.hash)
        })
        .await?;
    // The bytes go once the row has: a crash between leaves files no row names, never a row
    // without its files.
    let library = state.media.clone();
    let removed = off_executor(move || {
        library.served.forget(&hash);
        library.store.remove(&hash)
    })
    .await?;
    // The item is gone either way; bytes a store could not remove are only unreachable.
    if let Err(e) = removed {
        tracing::warn!(media = id, error = %e, "the deleted item's files stay in the store");
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Where a media item is used: stories showing it as their featured image, and translations
/// showing it in their text. Contributors and up.
#[utoipa::path(
    get,
    path = "/api/v1/admin/media/{id}/usage",
    tag = "media",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The media item's id")),
    responses((status = 200, description = "Its uses", body = MediaUsage), MediaReadErrors)
)]
pub async fn media_usage(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    caller.require(Role::Contributor)?;
    let id = id.into_inner();
    let uses = state
        .db
        .run(move |c| {
            library::find(c, id)?;
            library::uses(c, id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(MediaUsage { media_id: id, uses }))
}
