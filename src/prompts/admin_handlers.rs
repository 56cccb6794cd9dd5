//! Donation prompts in the Admin API: management, and reports of what readers did with them.

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::app::AppState;
use crate::articles::changes::{self, Change};
use crate::audit::{self, Actor};
use crate::auth::{AuthUser, Role};
use crate::db::now;
use crate::error::{AppError, AppResult};
use crate::http::IfMatch;
use crate::languages::LanguageCode;
use crate::pagination::{IdCursor, Limit};
use crate::problem_responses;
use crate::prompts::events::{self, PromptComparison, PromptStats};
use crate::prompts::input::{apply, parse_status, query_placement, CreatePrompt, UpdatePrompt};
use crate::prompts::{self, Draft, Placement, Prompt, PromptStatus};

problem_responses!(
    /// Errors of reading donation prompts in the Admin API.
    PromptReadErrors: 400, 401, 404, 500, 503
);
problem_responses!(
    /// Errors of changing donation prompts.
    PromptWriteErrors: 400, 401, 403, 404, 409, 412, 413, 415, 422, 428, 500, 503
);
/// Longest report, in days.
const MAX_REPORT_DAYS: i64 = 366;

/// A prompt's text in one language, as stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct PromptTextResponse {
    /// Plain text: frontends escape it; it never holds markup.
    pub headline: String,
    /// Sanitized HTML.
    pub body: String,
    /// Plain text: frontends escape it; it never holds markup.
    pub button_label: String,
    pub target_url: String,
}

/// A donation prompt as editors' tools see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PromptResponse {
    pub id: i64,
    pub name: String,
    pub status: PromptStatus,
    pub placement: Placement,
    /// Empty: every language.
    pub languages: Vec<String>,
    /// Empty: every story, and pages that are not about a story.
    pub tags: Vec<String>,
    pub excluded_tags: Vec<String>,
    /// Empty: every type.
    pub article_types: Vec<String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub priority: i32,
    pub weight: i32,
    #[schema(value_type = Object)]
    pub hints: serde_json::Value,
    /// Text by language code.
    pub translations: BTreeMap<String, PromptTextResponse>,
    /// Active and inside its window now.
    pub shown_now: bool,
    /// Goes up by one with every change; the `ETag` is `"prompt-<id>-<version>"`.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The user who saved this version.
    pub updated_by: Option<i64>,
}

impl From<Prompt> for PromptResponse {
    fn from(p: Prompt) -> Self {
        let shown_now = p.row.active_at(now());
        let r = p.row;
        PromptResponse {
            id: r.id,
            name: r.name,
            status: PromptStatus::from_db(&r.status),
            placement: Placement::parse(&r.placement).unwrap_or(Placement::ArticleEnd),
            languages: prompts::split_list(&r.languages),
            tags: p.tags,
            excluded_tags: p.excluded_tags,
            article_types: prompts::split_list(&r.article_types),
            starts_at: r.starts_at.map(|t| t.and_utc()),
            ends_at: r.ends_at.map(|t| t.and_utc()),
            priority: r.priority,
            weight: r.weight,
            hints: serde_json::from_str(&r.hints).unwrap_or_default(),
            translations: p
                .texts
                .into_iter()
                .map(|t| {
                    (
                        t.lang,
                        PromptTextResponse {
                            headline: t.headline,
                            body: t.body,
                            button_label: t.button_label,
                            target_url: t.target_url,
                        },
                    )
                })
                .collect(),
            shown_now,
            version: r.version,
            created_at: r.created_at.and_utc(),
            updated_at: r.updated_at.and_utc(),
            updated_by: r.updated_by,
        }
    }
}

/// One page of prompts, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct PromptList {
    pub items: Vec<PromptResponse>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PromptListQuery {
    /// `active`, `paused` or `archived`.
    #[param(value_type = Option<crate::prompts::PromptStatus>)]
    pub status: Option<String>,
    #[param(value_type = Option<crate::prompts::Placement>)]
    pub placement: Option<String>,
    /// Only prompts shown to readers of this language.
    pub lang: Option<String>,
    /// Only prompts shown now (`true`), or only those not shown now (`false`).
    pub active_now: Option<bool>,
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// First day (UTC), `YYYY-MM-DD`; 29 days before `to` by default.
    pub from: Option<NaiveDate>,
    /// Last day (UTC), inclusive; today by default. At most 366 days after `from`.
    pub to: Option<NaiveDate>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CompareQuery {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Only prompts of this placement.
    #[param(value_type = Option<crate::prompts::Placement>)]
    pub placement: Option<String>,
    /// Only this language's counts.
    pub lang: Option<String>,
    /// Only prompts of this status.
    #[param(value_type = Option<crate::prompts::PromptStatus>)]
    pub status: Option<String>,
}

fn with_etag(mut res: actix_web::HttpResponseBuilder, p: PromptResponse) -> HttpResponse {
    res.insert_header((header::ETAG, prompts::etag(p.id, p.version)))
        .json(p)
}

/// The admin lists' `status`, `placement` and `lang` parameters; 400 naming a bad one.
fn list_filter(
    status: Option<&str>,
    placement: Option<&str>,
    lang: Option<&str>,
) -> AppResult<prompts::ListFilter> {
    let status = match status {
        None => None,
        Some(raw) => Some(parse_status(raw, "status").map_err(|_| {
            AppError::bad_parameter("status", "must be one of active, paused, archived")
        })?),
    };
    let lang = match lang {
        None => None,
        Some(raw) => Some(
            LanguageCode::parse(raw, "lang")
                .map_err(|_| AppError::bad_parameter("lang", "is not a language code"))?
                .as_str()
                .to_owned(),
        ),
    };
    Ok(prompts::ListFilter {
        status,
        placement: placement.map(query_placement).transpose()?,
        lang,
        active_now: None,
    })
}

/// List donation prompts, newest first. Any signed-in user may read.
#[utoipa::path(
    get,
    path = "/api/v1/admin/donation-prompts",
    tag = "donation prompts",
    security(("bearer" = [])),
    params(PromptListQuery),
    responses((status = 200, description = "A page of prompts", body = PromptList), PromptReadErrors)
)]
pub async fn list_prompts(
    state: web::Data<AppState>,
    _caller: AuthUser,
    query: web::Query<PromptListQuery>,
) -> AppResult<HttpResponse> {
    let q = query.into_inner();
    let limit = Limit::parse(q.limit)?;
    let before = IdCursor::parse(q.cursor.as_deref())?;
    let mut filter = list_filter(
        q.status.as_deref(),
        q.placement.as_deref(),
        q.lang.as_deref(),
    )?;
    filter.active_now = q.active_now;
    let list = state
        .db
        .run(move |c| {
            let rows = prompts::list(c, &filter, before, limit.fetch())?;
            let (rows, next) = limit.split(rows, |r| r.id);
            Ok(PromptList {
                items: prompts::complete(c, rows)?
                    .into_iter()
                    .map(PromptResponse::from)
                    .collect(),
                next_cursor: next.map(IdCursor::encode),
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Read a donation prompt. Any signed-in user may read.
#[utoipa::path(
    get,
    path = "/api/v1/admin/donation-prompts/{id}",
    tag = "donation prompts",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The prompt's id")),
    responses(
        (status = 200, description = "The prompt", body = PromptResponse,
            headers(("ETag" = String, description = "Send as `If-Match` to change it"))),
        PromptReadErrors
    )
)]
pub async fn get_prompt(
    state: web::Data<AppState>,
    _caller: AuthUser,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let prompt = state.db.run(move |c| prompts::find(c, id)).await?;
    Ok(with_etag(HttpResponse::Ok(), prompt.into()))
}

/// Create a donation prompt. Editors and admins.
#[utoipa::path(
    post,
    path = "/api/v1/admin/donation-prompts",
    tag = "donation prompts",
    security(("bearer" = [])),
    request_body = CreatePrompt,
    responses(
        (status = 201, description = "Created", body = PromptResponse,
            headers(("Location" = String), ("ETag" = String))),
        PromptWriteErrors
    )
)]
pub async fn create_prompt(
    state: web::Data<AppState>,
    caller: AuthUser,
    body: web::Json<CreatePrompt>,
) -> AppResult<HttpResponse> {
    caller.require(Role::Editor)?;
    let b = body.into_inner();
    let mut draft = Draft {
        name: String::new(),
        status: PromptStatus::Active,
        placement: Placement::ArticleEnd,
        languages: Vec::new(),
        article_types: Vec::new(),
        starts_at: None,
        ends_at: None,
        priority: 0,
        weight: 100,
        hints: "{}".into(),
        tags: Vec::new(),
        excluded_tags: Vec::new(),
        texts: Vec::new(),
    };
    let translations = b.translations.into_iter().map(|(k, v)| (k, Some(v)));
    apply(
        &state.sanitizer,
        &mut draft,
        UpdatePrompt {
            name: Some(b.name),
            status: b.status,
            placement: Some(b.placement),
            languages: b.languages,
            tags: b.tags,
            excluded_tags: b.excluded_tags,
            article_types: b.article_types,
            starts_at: Some(b.starts_at),
            ends_at: Some(b.ends_at),
            priority: b.priority,
            weight: b.weight,
            hints: b.hints,
            translations: Some(translations.collect()),
        },
    )?;
    let actor = Actor::from(&caller);
    let prompt = state
        .db
        .transaction(move |c| {
            let (tags, excluded) = draft.check(c)?;
            let prompt = prompts::insert(c, &draft, (&tags, &excluded), actor.user_id)?;
            audit::record(
                c,
                &actor,
                "donation_prompt.create",
                "donation_prompt",
                &prompt.row.id.to_string(),
                json!({ "name": prompt.row.name, "status": prompt.row.status,
                        "placement": prompt.row.placement }),
            )?;
            changes::changed(c, Change::Prompt(prompt.row.id))?;
            Ok(prompt)
        })
        .await?;
    let location = format!("/api/v1/admin/donation-prompts/{}", prompt.row.id);
    let mut res = HttpResponse::Created();
    res.insert_header((header::LOCATION, location));
    Ok(with_etag(res, prompt.into()))
}

/// Change a donation prompt. Editors and admins; needs `If-Match`.
#[utoipa::path(
    patch,
    path = "/api/v1/admin/donation-prompts/{id}",
    tag = "donation prompts",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "The prompt's id"),
        ("If-Match" = String, Header, description = "The ETag of the version being changed")
    ),
    request_body = UpdatePrompt,
    responses(
        (status = 200, description = "The changed prompt", body = PromptResponse,
            headers(("ETag" = String))),
        PromptWriteErrors
    )
)]
pub async fn update_prompt(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<i64>,
    body: web::Json<UpdatePrompt>,
    if_match: IfMatch,
) -> AppResult<HttpResponse> {
    caller.require(Role::Editor)?;
    let id = id.into_inner();
    let actor = Actor::from(&caller);
    let st = state.clone().into_inner();
    let prompt = state
        .db
        .transaction(move |c| {
            let current = prompts::find(c, id)?;
            if !if_match.matches(&current.row.etag()) {
                return Err(prompts::stale(c, &current.row)?);
            }
            let mut draft = Draft::of(&current);
            let u = body.into_inner();
            let changed: Vec<&str> = [
                ("name", u.name.is_some()),
                ("status", u.status.is_some()),
                ("placement", u.placement.is_some()),
                ("languages", u.languages.is_some()),
                ("tags", u.tags.is_some()),
                ("excluded_tags", u.excluded_tags.is_some()),
                ("article_types", u.article_types.is_some()),
                ("starts_at", u.starts_at.is_some()),
                ("ends_at", u.ends_at.is_some()),
                ("priority", u.priority.is_some()),
                ("weight", u.weight.is_some()),
                ("hints", u.hints.is_some()),
                ("translations", u.translations.is_some()),
            ]
            .into_iter()
            .filter_map(|(name, set)| set.then_some(name))
            .collect();
            apply(&st.sanitizer, &mut draft, u)?;
            let (tags, excluded) = draft.check(c)?;
            let prompt = prompts::update(
                c,
                id,
                current.row.version,
                &draft,
                (&tags, &excluded),
                actor.user_id,
            )?;
            audit::record(
                c,
                &actor,
                "donation_prompt.update",
                "donation_prompt",
                &id.to_string(),
                json!({ "fields": changed, "status": prompt.row.status,
                        "version": prompt.row.version }),
            )?;
            changes::changed(c, Change::Prompt(id))?;
            Ok(prompt)
        })
        .await?;
    Ok(with_etag(HttpResponse::Ok(), prompt.into()))
}

/// Delete a donation prompt and its counts. Editors and admins; needs `If-Match`. Archive it
/// instead to keep its reports.
#[utoipa::path(
    delete,
    path = "/api/v1/admin/donation-prompts/{id}",
    tag = "donation prompts",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "The prompt's id"),
        ("If-Match" = String, Header, description = "The ETag of the version being deleted")
    ),
    responses((status = 204, description = "Deleted"), PromptWriteErrors)
)]
pub async fn delete_prompt(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<i64>,
    if_match: IfMatch,
) -> AppResult<HttpResponse> {
    caller.require(Role::Editor)?;
    let id = id.into_inner();
    let actor = Actor::from(&caller);
    state
        .db
        .transaction(move |c| {
            let current = prompts::find(c, id)?;
            if !if_match.matches(&current.row.etag()) {
                return Err(prompts::stale(c, &current.row)?);
            }
            prompts::delete(c, id, current.row.version)?;
            audit::record(
                c,
                &actor,
                "donation_prompt.delete",
                "donation_prompt",
                &id.to_string(),
                json!({ "name": current.row.name }),
            )?;
            changes::changed(c, Change::Prompt(id))
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The period of a report: `to` defaults to today and `from` to 29 days before it.
fn period(from: Option<NaiveDate>, to: Option<NaiveDate>) -> AppResult<(NaiveDate, NaiveDate)> {
    crate::dates::report_period(from, to, MAX_REPORT_DAYS)
}

/// A prompt's impressions, clicks, dismissals and click-through rate per day and language.
/// Any signed-in user may read. Counts reach reports within `VIEW_FLUSH_MS`.
#[utoipa::path(
    get,
    path = "/api/v1/admin/donation-prompts/{id}/stats",
    tag = "donation prompts",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The prompt's id"), StatsQuery),
    responses((status = 200, description = "The prompt's counts", body = PromptStats), PromptReadErrors)
)]
pub async fn prompt_stats(
    state: web::Data<AppState>,
    _caller: AuthUser,
    id: web::Path<i64>,
    query: web::Query<StatsQuery>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let (from, to) = period(query.from, query.to)?;
    let stats = state
        .db
        .run(move |c| {
            let prompt = prompts::find(c, id)?;
            events::report(c, &prompt.row, from, to)
        })
        .await?;
    Ok(HttpResponse::Ok().json(stats))
}

/// Every prompt's counts over a period, side by side, best click-through rate first, with
/// the best prompt in each language. Any signed-in user may read.
#[utoipa::path(
    get,
    path = "/api/v1/admin/donation-prompts/stats",
    tag = "donation prompts",
    security(("bearer" = [])),
    params(CompareQuery),
    responses((status = 200, description = "Prompts compared", body = PromptComparison), PromptReadErrors)
)]
pub async fn compare_prompts(
    state: web::Data<AppState>,
    _caller: AuthUser,
    query: web::Query<CompareQuery>,
) -> AppResult<HttpResponse> {
    let q = query.into_inner();
    let (from, to) = period(q.from, q.to)?;
    let filter = list_filter(q.status.as_deref(), q.placement.as_deref(), None)?;
    let lang = list_filter(None, None, q.lang.as_deref())?.lang;
    let comparison = state
        .db
        .run(move |c| {
            let rows = prompts::list(c, &filter, None, 500)?;
            events::compare(c, rows, lang.as_deref(), from, to)
        })
        .await?;
    Ok(HttpResponse::Ok().json(comparison))
}
