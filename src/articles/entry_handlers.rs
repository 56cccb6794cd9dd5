//! `/api/v1/admin/articles/{id}/translations/{lang}/entries`: the updates of a live story.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::app::AppState;
use crate::articles::changes::{self, Change};
use crate::articles::editing::{load, path_lang, Loaded};
use crate::articles::entries::{self, EntryResponse};
use crate::articles::ArticleType;
use crate::audit::{self, Actor};
use crate::auth::AuthUser;
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use crate::http::IfMatch;
use crate::pagination::{IdCursor, Limit};
use crate::problem_responses;

problem_responses!(
    /// Errors of reading live entries.
    EntryReadErrors: 400, 401, 404, 500, 503
);
problem_responses!(
    /// Errors of writing live entries.
    EntryWriteErrors: 400, 401, 403, 404, 409, 413, 415, 422, 500, 503
);
problem_responses!(
    /// Errors of changing or deleting an entry, which needs `If-Match`.
    EntryChangeErrors: 400, 401, 403, 404, 409, 412, 413, 415, 422, 428, 500, 503
);

/// A new live entry.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEntry {
    /// HTML; sanitized on write like article bodies.
    #[schema(example = "<p>Talks resumed at 14:00 local time.</p>")]
    pub body: String,
    pub pinned: Option<bool>,
}

/// Changes to a live entry; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateEntry {
    pub body: Option<String>,
    pub pinned: Option<bool>,
}

/// A page of entries, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntryList {
    pub items: Vec<EntryResponse>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EntryListQuery {
    /// Page size, 1 to 100.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
}

/// The live translation, with the caller allowed to change its entries.
fn load_live(conn: &mut DbConn, caller: &AuthUser, id: i64, lang: &str) -> AppResult<Loaded> {
    let l = load(conn, caller, id, lang)?;
    if l.story.kind()? != ArticleType::Live {
        return Err(AppError::Conflict(
            "only live stories have entries; change the story's type to `live` first".into(),
        ));
    }
    Ok(l)
}

fn sanitized_body(state: &AppState, raw: &str) -> AppResult<String> {
    let body = state.sanitizer.clean(raw);
    if crate::html::text_of(&body).is_empty() && !body.contains("<img") && !body.contains("<iframe")
    {
        return Err(AppError::invalid("body", "an entry needs some content"));
    }
    Ok(body)
}

/// List a live translation's entries, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/admin/articles/{id}/translations/{lang}/entries",
    tag = "articles",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "The story's id"),
        ("lang" = String, Path, example = "en"),
        EntryListQuery
    ),
    responses((status = 200, description = "A page of entries", body = EntryList), EntryReadErrors)
)]
pub async fn list_entries(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<(i64, String)>,
    query: web::Query<EntryListQuery>,
) -> AppResult<HttpResponse> {
    let (id, raw_lang) = path.into_inner();
    let lang = path_lang(id, &raw_lang)?;
    let limit = Limit::parse(query.limit)?;
    let before = IdCursor::parse(query.cursor.as_deref())?;
    let list = state
        .db
        .run(move |c| {
            let l = load(c, &caller, id, &lang)?;
            let rows = entries::list(c, l.translation.id, before, limit.fetch())?;
            let (rows, next) = limit.split(rows, |e| e.id);
            Ok(EntryList {
                items: rows.into_iter().map(EntryResponse::from).collect(),
                next_cursor: next.map(IdCursor::encode),
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Append an entry to a live translation.
#[utoipa::path(
    post,
    path = "/api/v1/admin/articles/{id}/translations/{lang}/entries",
    tag = "articles",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The story's id"), ("lang" = String, Path, example = "en")),
    request_body = CreateEntry,
    responses(
        (status = 201, description = "Appended", body = EntryResponse,
            headers(("Location" = String))),
        EntryWriteErrors
    )
)]
pub async fn create_entry(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<(i64, String)>,
    body: web::Json<CreateEntry>,
) -> AppResult<HttpResponse> {
    let (id, raw_lang) = path.into_inner();
    let lang = path_lang(id, &raw_lang)?;
    let b = body.into_inner();
    let html = sanitized_body(&state, &b.body)?;
    let actor = Actor::from(&caller);
    let entry = state
        .db
        .transaction(move |c| {
            let l = load_live(c, &caller, id, &lang)?;
            l.access.edit_translation(l.translation.status()?)?;
            let e = entries::insert(
                c,
                l.translation.id,
                &html,
                b.pinned.unwrap_or(false),
                caller.id,
            )?;
            audit::record(
                c,
                &actor,
                "entry.create",
                "entry",
                &e.id.to_string(),
                json!({ "article": id, "lang": lang, "pinned": e.pinned }),
            )?;
            changes::changed(c, Change::Entry(id))?;
            Ok(e)
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!(
                "/api/v1/admin/articles/{id}/translations/{raw_lang}/entries/{}",
                entry.id
            ),
        ))
        .insert_header((header::ETAG, entry.etag()))
        .json(EntryResponse::from(entry)))
}

/// Edit or pin an entry.
#[utoipa::path(
    patch,
    path = "/api/v1/admin/articles/{id}/translations/{lang}/entries/{entry_id}",
    tag = "articles",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "The story's id"),
        ("lang" = String, Path, example = "en"),
        ("entry_id" = i64, Path, description = "The entry's id"),
        ("If-Match" = String, Header, description = "The entry's `etag`")
    ),
    request_body = UpdateEntry,
    responses(
        (status = 200, description = "The changed entry", body = EntryResponse,
            headers(("ETag" = String))),
        EntryChangeErrors
    )
)]
pub async fn update_entry(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<(i64, String, i64)>,
    body: web::Json<UpdateEntry>,
    if_match: IfMatch,
) -> AppResult<HttpResponse> {
    let (id, raw_lang, entry_id) = path.into_inner();
    let lang = path_lang(id, &raw_lang)?;
    let b = body.into_inner();
    let html = b.body.map(|raw| sanitized_body(&state, &raw)).transpose()?;
    let actor = Actor::from(&caller);
    let entry = state
        .db
        .transaction(move |c| {
            let l = load_live(c, &caller, id, &lang)?;
            let current = entries::find(c, l.translation.id, entry_id)?;
            if !if_match.matches(&current.etag()) {
                return Err(entries::stale(&current));
            }
            l.access.edit_translation(l.translation.status()?)?;
            let changed_body = html.is_some();
            let e = entries::update(c, &current, html, b.pinned, caller.id)?;
            audit::record(c, &actor, "entry.update", "entry", &e.id.to_string(), json!({ "article": id, "lang": lang, "body_changed": changed_body, "pinned": e.pinned }))?;
            changes::changed(c, Change::Entry(id))?;
            Ok(e)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, entry.etag()))
        .json(EntryResponse::from(entry)))
}

/// Delete an entry.
#[utoipa::path(
    delete,
    path = "/api/v1/admin/articles/{id}/translations/{lang}/entries/{entry_id}",
    tag = "articles",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "The story's id"),
        ("lang" = String, Path, example = "en"),
        ("entry_id" = i64, Path, description = "The entry's id"),
        ("If-Match" = String, Header, description = "The entry's `etag`")
    ),
    responses((status = 204, description = "Deleted"), EntryChangeErrors)
)]
pub async fn delete_entry(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<(i64, String, i64)>,
    if_match: IfMatch,
) -> AppResult<HttpResponse> {
    let (id, raw_lang, entry_id) = path.into_inner();
    let lang = path_lang(id, &raw_lang)?;
    let actor = Actor::from(&caller);
    state
        .db
        .transaction(move |c| {
            let l = load_live(c, &caller, id, &lang)?;
            let current = entries::find(c, l.translation.id, entry_id)?;
            if !if_match.matches(&current.etag()) {
                return Err(entries::stale(&current));
            }
            l.access.edit_translation(l.translation.status()?)?;
            entries::delete(c, &current)?;
            audit::record(
                c,
                &actor,
                "entry.delete",
                "entry",
                &entry_id.to_string(),
                json!({ "article": id, "lang": lang }),
            )?;
            changes::changed(c, Change::Entry(id))
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
