//! The partner routes: the change feed and single items. Every request here has passed
//! [`crate::partners::access::guard`]: a valid key, within its rate.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::app::AppState;
use crate::articles::projections::change_log::UPSERT;
use crate::error::{AppError, AppResult};
use crate::languages::LanguageCode;
use crate::pagination::ChangeCursor;
use crate::partners::access::{Delivered, Partner};
use crate::problem_responses;
use crate::syndication::{self, Action, ChangeEntry, Format, DEFAULT_PAGE, MAX_PAGE};

problem_responses!(
    /// Errors of the partner routes.
    SyndicationErrors: 400, 401, 403, 404, 429, 500, 503
);

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChangesQuery {
    /// `next` of the previous page; absent: from the beginning, so a new partner loads the
    /// whole archive through the feed.
    pub since: Option<String>,
    /// Only changes in this language (one the key may read).
    #[param(example = "ka")]
    pub lang: Option<String>,
    /// Changes per page, 1 to 500.
    #[param(minimum = 1, maximum = 500, default = 100)]
    pub limit: Option<i64>,
    /// `json` (default) or `ninjs`; `Accept: application/ninjs+json` also asks for ninjs.
    pub format: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ItemQuery {
    /// `json` (default) or `ninjs`; `Accept: application/ninjs+json` also asks for ninjs.
    pub format: Option<String>,
}

/// A page of the change feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangePage {
    /// In the order they happened; each item at most once, as it stands now.
    pub items: Vec<ChangeEntry>,
    /// Pass as `since` next time: the next page, or later the changes made meanwhile.
    pub next: String,
    /// Whether more changes follow at once.
    pub has_more: bool,
}

fn accept(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
}

/// 403 unless the key may read `lang`.
fn readable(partner: &Partner, raw: &str) -> AppResult<String> {
    let code = LanguageCode::parse(raw, "lang")
        .map_err(|_| AppError::bad_parameter("lang", "is not a language code"))?;
    let code = code.as_str().to_owned();
    if !partner.reads(&code) {
        return Err(AppError::Forbidden(format!(
            "this key may not read `{code}`"
        )));
    }
    Ok(code)
}

fn delivered(format: Format, body: &impl Serialize, n: usize) -> HttpResponse {
    let mut res = HttpResponse::Ok()
        .content_type(format.content_type())
        .json(body);
    res.extensions_mut().insert(Delivered(n));
    res
}

/// Follow what changed: every change the key may see, oldest first. An `upsert` carries the
/// item as it stands now; a `delete` is a tombstone with its reason. No change is ever
/// skipped, whatever order concurrent edits commit in. Partner key required.
#[utoipa::path(
    get,
    path = "/api/v1/syndication/changes",
    tag = "syndication",
    operation_id = "syndication_changes",
    security(("partner_key" = [])),
    params(ChangesQuery),
    responses(
        (status = 200, description = "A page of changes",
            content((ChangePage = "application/json"), (ChangePage = "application/ninjs+json")),
            headers(("RateLimit-Policy" = String), ("RateLimit" = String))),
        SyndicationErrors
    )
)]
pub async fn changes(
    req: HttpRequest,
    state: web::Data<AppState>,
    partner: Partner,
    query: web::Query<ChangesQuery>,
) -> AppResult<HttpResponse> {
    let q = query.into_inner();
    let format = Format::negotiate(q.format.as_deref(), accept(&req))?;
    let after = ChangeCursor::parse(q.since.as_deref(), "since")?;
    let limit = match q.limit {
        None => DEFAULT_PAGE,
        Some(n) if (1..=MAX_PAGE).contains(&n) => n,
        Some(_) => {
            return Err(AppError::bad_parameter(
                "limit",
                format!("must be between 1 and {MAX_PAGE}"),
            ))
        }
    };
    let langs = match q.lang.as_deref() {
        Some(raw) => vec![readable(&partner, raw)?],
        None => partner.languages.clone(),
    };
    let st = state.clone().into_inner();
    let page = state
        .db
        .run(move |c| {
            let mut rows = syndication::rows_after(c, after, &langs, limit + 1)?;
            let has_more = rows.len() as i64 > limit;
            rows.truncate(limit as usize);
            let next = rows.last().map_or(after, |r| (r.seq, r.id));
            Ok(ChangePage {
                items: syndication::entries(c, &st, &partner, &rows, format)?,
                next: ChangeCursor::encode(next),
                has_more,
            })
        })
        .await?;
    let n = page.items.len();
    Ok(delivered(format, &page, n))
}

/// One item as partners get it, for a partner that missed it: 404 unless the story is
/// published in the language, offered to partners and within the key's tags. Partner key
/// required.
#[utoipa::path(
    get,
    path = "/api/v1/syndication/articles/{id}/{lang}",
    tag = "syndication",
    operation_id = "syndication_item",
    security(("partner_key" = [])),
    params(("id" = i64, Path, description = "The story's id"),
        ("lang" = String, Path, example = "ka"), ItemQuery),
    responses(
        (status = 200, description = "The item: a SyndicatedItem, or a ninjs 3.1 document",
            content((syndication::SyndicatedItem = "application/json"),
                (syndication::ninjs::NinjsDocument = "application/ninjs+json")),
            headers(("RateLimit-Policy" = String), ("RateLimit" = String))),
        SyndicationErrors
    )
)]
pub async fn item(
    req: HttpRequest,
    state: web::Data<AppState>,
    partner: Partner,
    path: web::Path<(i64, String)>,
    query: web::Query<ItemQuery>,
) -> AppResult<HttpResponse> {
    let (id, lang) = path.into_inner();
    let format = Format::negotiate(query.format.as_deref(), accept(&req))?;
    let lang = readable(&partner, &lang)?;
    let st = state.clone().into_inner();
    let entry = state
        .db
        .run(move |c| {
            let missing = || AppError::NotFound(format!("story {id} is not offered in `{lang}`"));
            let row = syndication::row_of(c, id, &lang)?
                .filter(|r| r.action == UPSERT)
                .ok_or_else(missing)?;
            syndication::entries(c, &st, &partner, &[row], format)?
                .pop()
                .filter(|e| e.action == Action::Upsert)
                .and_then(|e| e.item)
                .ok_or_else(missing)
        })
        .await?;
    Ok(delivered(format, &entry, 1))
}
