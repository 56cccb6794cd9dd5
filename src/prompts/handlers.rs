//! Donation prompt endpoints: management and reports in the Admin API; the eligible prompts,
//! one resolved prompt and the event beacon in the Content API.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::app::{client_addr, AppState};
use crate::articles::changes::{self, Change};
use crate::articles::ArticleType;
use crate::audit::{self, Actor};
use crate::auth::{AuthUser, Role};
use crate::cache::http::{cached, Fresh};
use crate::db::{now, DbConn};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::http::present;
use crate::http::IfMatch;
use crate::languages::LanguageCode;
use crate::pagination::{IdCursor, Limit};
use crate::problem_responses;
use crate::prompts::events::{self, EventKind, PromptComparison, PromptStats};
use crate::prompts::live::{self, LivePrompt, LiveSet, Page, StoryContext};
use crate::prompts::{self, Draft, Placement, Prompt, PromptStatus, PromptText};
use crate::slug::Slug;
use crate::text::{plain_text, short_name};

problem_responses!(
    /// Errors of reading donation prompts in the Admin API.
    PromptReadErrors: 400, 401, 404, 500, 503
);
problem_responses!(
    /// Errors of changing donation prompts.
    PromptWriteErrors: 400, 401, 403, 404, 409, 412, 413, 415, 422, 428, 500, 503
);
problem_responses!(
    /// Errors of the public donation prompt endpoints.
    PublicPromptErrors: 400, 404, 500, 503
);
problem_responses!(
    /// Errors of the prompt event beacon.
    PromptEventErrors: 400, 404, 413, 415, 422, 429, 500, 503
);

/// Longest report, in days.
const MAX_REPORT_DAYS: i64 = 366;

/// A prompt's text in one language.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromptTextInput {
    #[schema(example = "Support our newsroom")]
    pub headline: String,
    /// HTML, sanitized like article bodies; may be empty.
    #[schema(
        example = "<p>Independent journalism in five languages depends on readers like you.</p>"
    )]
    pub body: Option<String>,
    #[schema(example = "Support Us")]
    pub button_label: String,
    /// An absolute `http` or `https` URL.
    #[schema(example = "https://example.org/donate")]
    pub target_url: String,
}

/// A new donation prompt.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePrompt {
    /// For editors only; readers never see it.
    #[schema(example = "Year-end appeal")]
    pub name: String,
    /// `active` (the default), `paused` or `archived`.
    pub status: Option<String>,
    /// `header`, `article_end`, `article_inline`, `sidebar`, `popup` or `footer`.
    #[schema(example = "article_end")]
    pub placement: String,
    /// Shown to readers of these languages; absent or empty for every language.
    pub languages: Option<Vec<String>>,
    /// Shown only with stories carrying any of these tags (slugs); absent or empty for all.
    pub tags: Option<Vec<String>>,
    /// Never shown with stories carrying any of these tags (slugs).
    pub excluded_tags: Option<Vec<String>>,
    /// Shown only with stories of these types; absent or empty for all.
    pub article_types: Option<Vec<String>>,
    /// Shown from this time on (RFC 3339); absent for at once.
    pub starts_at: Option<DateTime<Utc>>,
    /// Shown until this time; absent for no end. Must be after `starts_at`.
    pub ends_at: Option<DateTime<Utc>>,
    /// Higher priorities are shown first; -1000 to 1000, 0 by default.
    pub priority: Option<i32>,
    /// Share in rotation among prompts of the same priority; 1 to 10000, 100 by default.
    pub weight: Option<i32>,
    /// For frontends (for example `{"dismiss_days": 7}`), passed through untouched. A JSON
    /// object of at most 4 KB.
    #[schema(value_type = Option<Object>)]
    pub hints: Option<serde_json::Value>,
    /// Text by language code; the default language is required.
    pub translations: BTreeMap<String, PromptTextInput>,
}

/// Changes to a prompt; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePrompt {
    pub name: Option<String>,
    pub status: Option<String>,
    pub placement: Option<String>,
    pub languages: Option<Vec<String>>,
    pub tags: Option<Vec<String>>,
    pub excluded_tags: Option<Vec<String>>,
    pub article_types: Option<Vec<String>>,
    /// `null` removes the start.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub starts_at: Option<Option<DateTime<Utc>>>,
    /// `null` removes the end.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub ends_at: Option<Option<DateTime<Utc>>>,
    pub priority: Option<i32>,
    pub weight: Option<i32>,
    #[schema(value_type = Option<Object>)]
    pub hints: Option<serde_json::Value>,
    /// Texts to set by language code; `null` for a language removes its text. Languages not
    /// named keep theirs.
    #[schema(value_type = Option<BTreeMap<String, PromptTextInput>>)]
    pub translations: Option<BTreeMap<String, Option<PromptTextInput>>>,
}

/// A prompt's text in one language, as stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct PromptTextResponse {
    pub headline: String,
    /// Sanitized HTML.
    pub body: String,
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
    pub status: Option<String>,
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

/// A prompt as readers see it, in one language.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicPrompt {
    pub id: i64,
    pub placement: Placement,
    /// The language of the text: the one asked for, or one from its fallback chain.
    #[schema(example = "ka")]
    pub lang: String,
    pub headline: String,
    /// Sanitized HTML.
    pub body: String,
    pub button_label: String,
    pub target_url: String,
    /// Show prompts of the highest priority first.
    pub priority: i32,
    /// Rotate between prompts of the same priority in proportion to their weights.
    pub weight: i32,
    #[schema(value_type = Object)]
    pub hints: serde_json::Value,
    /// When it stops being shown, if it does.
    pub ends_at: Option<DateTime<Utc>>,
    /// Where to send `impression`, `click` and `dismiss` events.
    #[schema(example = "/api/v1/donation-prompts/3/events")]
    pub events_url: String,
}

impl PublicPrompt {
    pub fn new(p: &LivePrompt, chain: &[String]) -> Option<PublicPrompt> {
        let text = p.text_for(chain)?;
        Some(PublicPrompt {
            id: p.id,
            placement: p.placement,
            lang: text.lang.clone(),
            headline: text.headline.clone(),
            body: text.body.clone(),
            button_label: text.button_label.clone(),
            target_url: text.target_url.clone(),
            priority: p.priority,
            weight: p.weight,
            hints: p.hints.clone(),
            ends_at: p.ends_at.map(|t| t.and_utc()),
            events_url: format!("/api/v1/donation-prompts/{}/events", p.id),
        })
    }
}

/// The prompts eligible for a page, for a frontend or CDN to cache and pick from.
#[derive(Debug, Serialize, ToSchema)]
pub struct EligiblePrompts {
    #[schema(example = "ka")]
    pub lang: String,
    /// Highest priority first, then heaviest.
    pub items: Vec<PublicPrompt>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EligibleQuery {
    /// The reader's language.
    #[param(example = "en")]
    pub lang: String,
    /// Only this placement; every placement when absent.
    #[param(example = "article_end")]
    pub placement: Option<String>,
    /// The page's tags (slugs), comma-separated.
    #[param(example = "georgia-russia")]
    pub tag: Option<String>,
    /// The type of the story on the page.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub kind: Option<ArticleType>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ResolveQuery {
    /// The reader's language.
    #[param(example = "en")]
    pub lang: String,
    #[param(example = "article_end")]
    pub placement: String,
    /// The slug (in `lang`) of the story on the page; its tags and type are targeted.
    pub article: Option<String>,
    /// The page's tags (slugs), comma-separated, when the page is not a story.
    pub tag: Option<String>,
    /// The story type, when the page is not a story given by `article`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub kind: Option<ArticleType>,
    /// A stable, opaque reader id (at most 128 characters): the same value gets the same prompt
    /// while the eligible prompts stay the same. Without it each request is drawn anew.
    pub visitor: Option<String>,
}

/// An event a reader's browser reports.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromptEvent {
    /// `impression`, `click` or `dismiss`.
    #[serde(rename = "type")]
    #[schema(example = "impression")]
    pub kind: String,
    /// The language the prompt was shown in.
    #[schema(example = "en")]
    pub lang: String,
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
    pub placement: Option<String>,
    /// Only this language's counts.
    pub lang: Option<String>,
    /// Only prompts of this status.
    pub status: Option<String>,
}

fn parse_status(raw: &str, field: &str) -> AppResult<PromptStatus> {
    match raw {
        "active" => Ok(PromptStatus::Active),
        "paused" => Ok(PromptStatus::Paused),
        "archived" => Ok(PromptStatus::Archived),
        _ => Err(AppError::invalid(
            field,
            "must be one of active, paused, archived",
        )),
    }
}

fn parse_placement(raw: &str, field: &str) -> AppResult<Placement> {
    Placement::parse(raw).ok_or_else(|| AppError::invalid(field, Placement::expected()))
}

fn parse_article_type(raw: &str, field: &str) -> AppResult<String> {
    const TYPES: [ArticleType; 5] = [
        ArticleType::News,
        ArticleType::Opinion,
        ArticleType::Analysis,
        ArticleType::Live,
        ArticleType::Digest,
    ];
    TYPES
        .iter()
        .find(|t| t.as_str() == raw)
        .map(|t| t.as_str().to_owned())
        .ok_or_else(|| {
            AppError::invalid(
                field,
                "must be one of news, opinion, analysis, live, digest",
            )
        })
}

/// Each item parsed by `parse`, named `field[i]`, without repeats.
fn parse_list(
    raw: Vec<String>,
    field: &str,
    f: &mut FieldErrors,
    parse: impl Fn(&str, &str) -> AppResult<String>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, item) in raw.iter().enumerate() {
        if let Some(v) = f.check(parse(item, &format!("{field}[{i}]"))) {
            if !out.contains(&v) {
                out.push(v);
            }
        }
    }
    out
}

fn parse_url(raw: &str, field: &str) -> AppResult<String> {
    let bad = || AppError::invalid(field, "must be an absolute http or https URL");
    let raw = raw.trim();
    if raw.len() > 2048 {
        return Err(AppError::invalid(field, "must be at most 2048 characters"));
    }
    let url = url::Url::parse(raw).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(bad());
    }
    Ok(url.to_string())
}

fn parse_text(
    state: &AppState,
    lang: &str,
    input: PromptTextInput,
    f: &mut FieldErrors,
) -> Option<PromptText> {
    let field = format!("translations.{lang}");
    let headline = f.check(
        plain_text(&input.headline, &format!("{field}.headline"), 200).and_then(|h| {
            if h.is_empty() {
                Err(AppError::invalid(
                    &format!("{field}.headline"),
                    "must not be empty",
                ))
            } else {
                Ok(h)
            }
        }),
    );
    let body = input.body.unwrap_or_default();
    let body = if body.chars().count() > 20_000 {
        f.check::<()>(Err(AppError::invalid(
            &format!("{field}.body"),
            "must be at most 20000 characters",
        )));
        None
    } else {
        Some(state.sanitizer.clean(&body))
    };
    let button_label = f.check(short_name(
        &input.button_label,
        &format!("{field}.button_label"),
    ));
    let target_url = f.check(parse_url(&input.target_url, &format!("{field}.target_url")));
    Some(PromptText {
        prompt_id: 0,
        lang: lang.to_owned(),
        headline: headline?,
        body: body?,
        button_label: button_label?,
        target_url: target_url?,
    })
}

fn parse_hints(raw: serde_json::Value, f: &mut FieldErrors) -> Option<String> {
    if !raw.is_object() {
        f.check::<()>(Err(AppError::invalid("hints", "must be a JSON object")));
        return None;
    }
    let text = raw.to_string();
    if text.len() > 4096 {
        f.check::<()>(Err(AppError::invalid(
            "hints",
            "must be at most 4096 bytes of JSON",
        )));
        return None;
    }
    Some(text)
}

/// Applies `u` to `d`, checking every field; 422 naming each bad one.
fn apply(state: &AppState, d: &mut Draft, u: UpdatePrompt) -> AppResult<()> {
    let mut f = FieldErrors::default();
    if let Some(name) = u.name {
        if let Some(name) = f.check(short_name(&name, "name")) {
            d.name = name;
        }
    }
    if let Some(status) = u.status {
        if let Some(status) = f.check(parse_status(&status, "status")) {
            d.status = status;
        }
    }
    if let Some(placement) = u.placement {
        if let Some(placement) = f.check(parse_placement(&placement, "placement")) {
            d.placement = placement;
        }
    }
    if let Some(languages) = u.languages {
        d.languages = parse_list(languages, "languages", &mut f, |raw, field| {
            LanguageCode::parse(raw, field).map(|c| c.as_str().to_owned())
        });
    }
    if let Some(tags) = u.tags {
        d.tags = parse_list(tags, "tags", &mut f, |raw, field| {
            Slug::parse(raw, field).map(Slug::into_string)
        });
    }
    if let Some(tags) = u.excluded_tags {
        d.excluded_tags = parse_list(tags, "excluded_tags", &mut f, |raw, field| {
            Slug::parse(raw, field).map(Slug::into_string)
        });
    }
    if let Some(types) = u.article_types {
        d.article_types = parse_list(types, "article_types", &mut f, parse_article_type);
    }
    if let Some(starts_at) = u.starts_at {
        d.starts_at = starts_at.map(|t| t.naive_utc());
    }
    if let Some(ends_at) = u.ends_at {
        d.ends_at = ends_at.map(|t| t.naive_utc());
    }
    if let (Some(s), Some(e)) = (d.starts_at, d.ends_at) {
        if e <= s {
            f.check::<()>(Err(AppError::invalid(
                "ends_at",
                "must be after `starts_at`",
            )));
        }
    }
    if let Some(priority) = u.priority {
        if (-1000..=1000).contains(&priority) {
            d.priority = priority;
        } else {
            f.check::<()>(Err(AppError::invalid(
                "priority",
                "must be between -1000 and 1000",
            )));
        }
    }
    if let Some(weight) = u.weight {
        if (1..=10_000).contains(&weight) {
            d.weight = weight;
        } else {
            f.check::<()>(Err(AppError::invalid(
                "weight",
                "must be between 1 and 10000",
            )));
        }
    }
    if let Some(hints) = u.hints {
        if let Some(hints) = parse_hints(hints, &mut f) {
            d.hints = hints;
        }
    }
    for (lang, input) in u.translations.unwrap_or_default() {
        let Some(code) = f.check(LanguageCode::parse(&lang, &format!("translations.{lang}")))
        else {
            continue;
        };
        let code = code.as_str().to_owned();
        d.texts.retain(|t| t.lang != code);
        if let Some(input) = input {
            if let Some(text) = parse_text(state, &code, input, &mut f) {
                d.texts.push(text);
            }
        }
    }
    d.texts.sort_by(|a, b| a.lang.cmp(&b.lang));
    f.finish()
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

/// The live prompts of `generation`: this node's copy, or read now.
async fn live_set(state: &web::Data<AppState>, generation: u64) -> AppResult<Arc<LiveSet>> {
    if let Some(set) = state.live_prompts.set(generation) {
        return Ok(set);
    }
    let st = state.clone().into_inner();
    state
        .db
        .run(move |c| st.live_prompts.set_or_load(c, generation))
        .await
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
        &state,
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
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<i64>,
    body: web::Json<UpdatePrompt>,
) -> AppResult<HttpResponse> {
    caller.require(Role::Editor)?;
    let id = id.into_inner();
    let if_match = IfMatch::from_request(&req)?;
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
            apply(&st, &mut draft, u)?;
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
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    caller.require(Role::Editor)?;
    let id = id.into_inner();
    let if_match = IfMatch::from_request(&req)?;
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
    let to = to.unwrap_or_else(|| Utc::now().date_naive());
    let from = from.unwrap_or(to - chrono::Duration::days(29));
    if from > to {
        return Err(AppError::bad_parameter("from", "must not be after `to`"));
    }
    if (to - from).num_days() >= MAX_REPORT_DAYS {
        return Err(AppError::bad_parameter(
            "to",
            format!("a report covers at most {MAX_REPORT_DAYS} days"),
        ));
    }
    Ok((from, to))
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

/// The page's tags from `tag=a,b`; 400 for a malformed slug.
fn page_tags(raw: Option<&str>) -> AppResult<Vec<String>> {
    raw.unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            Slug::parse(t, "tag")
                .map(Slug::into_string)
                .map_err(|_| AppError::bad_parameter("tag", format!("`{t}` is not a tag slug")))
        })
        .collect()
}

fn query_placement(raw: &str) -> AppResult<Placement> {
    Placement::parse(raw).ok_or_else(|| AppError::bad_parameter("placement", Placement::expected()))
}

fn no_language(lang: &str) -> AppError {
    AppError::NotFound(format!("no language with code `{lang}`"))
}

/// How long what is eligible now stays so: until the next window opens or closes.
pub fn stays_for(set: &LiveSet, at: NaiveDateTime) -> Option<Duration> {
    set.next_change(at).map(|t| {
        (t - at)
            .to_std()
            .unwrap_or_default()
            .max(Duration::from_millis(1))
    })
}

/// The prompt resolved for an article page, for the article endpoint's
/// `include=donation_prompt`: rotated by story, so readers of different stories see
/// different prompts. Also returns how long the choice holds.
pub fn for_article(
    conn: &mut DbConn,
    state: &AppState,
    generation: u64,
    chain: &[String],
    placement: Placement,
    story: &StoryContext,
) -> AppResult<(Option<PublicPrompt>, Option<Duration>)> {
    let set = state.live_prompts.set_or_load(conn, generation)?;
    let at = now();
    let page = Page {
        lang: &chain[0],
        placement,
        tags: &story.tags,
        article_type: Some(&story.article_type),
    };
    let eligible = set.eligible(&page, at);
    let chosen = live::pick(&eligible, &format!("article-{}", story.translation_id))
        .and_then(|p| PublicPrompt::new(p, chain));
    Ok((chosen, stays_for(&set, at)))
}

/// The donation prompts eligible now for a page, localized through the language's fallback
/// chain, with their priorities and weights: a frontend or CDN caches this and picks one.
#[utoipa::path(
    get,
    path = "/api/v1/donation-prompts",
    tag = "donation prompts",
    params(EligibleQuery),
    responses(
        (status = 200, description = "Eligible prompts", body = EligiblePrompts,
            headers(("ETag" = String), ("Cache-Control" = String))),
        (status = 304, description = "Not modified since the ETag in `If-None-Match`"),
        PublicPromptErrors
    )
)]
pub async fn eligible_prompts(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<EligibleQuery>,
) -> AppResult<HttpResponse> {
    let q = query.into_inner();
    let placement = q.placement.as_deref().map(query_placement).transpose()?;
    let tags = page_tags(q.tag.as_deref())?;
    let st = state.clone().into_inner();
    let generation = state.cache.generation();
    cached(&req, &state.cache, &state.db, move |c| {
        let set = st.live_prompts.set_or_load(c, generation)?;
        let chain = set.chain(&q.lang).ok_or_else(|| no_language(&q.lang))?;
        let at = now();
        let placements: Vec<Placement> = match placement {
            Some(p) => vec![p],
            None => Placement::ALL.to_vec(),
        };
        let mut items: Vec<PublicPrompt> = Vec::new();
        for placement in placements {
            let page = Page {
                lang: &chain[0],
                placement,
                tags: &tags,
                article_type: q.kind.map(ArticleType::as_str),
            };
            items.extend(
                set.eligible(&page, at)
                    .into_iter()
                    .filter_map(|p| PublicPrompt::new(p, &chain)),
            );
        }
        let body = EligiblePrompts {
            lang: chain[0].clone(),
            items,
        };
        let mut fresh =
            Fresh::json(&body)?.tags(["donation-prompts".to_owned(), format!("lang-{}", chain[0])]);
        if let Some(ttl) = stays_for(&set, at) {
            fresh = fresh.expires_after(ttl);
        }
        Ok(fresh)
    })
    .await
}

/// Pick one donation prompt for a page: the highest priority first, then rotation by weight.
/// The same `visitor` gets the same prompt while the eligible prompts stay the same; 204 when
/// none is eligible.
#[utoipa::path(
    get,
    path = "/api/v1/donation-prompts/resolve",
    tag = "donation prompts",
    params(ResolveQuery),
    responses(
        (status = 200, description = "The prompt to show", body = PublicPrompt,
            headers(("ETag" = String), ("Cache-Control" = String))),
        (status = 204, description = "No prompt is eligible for this page"),
        (status = 304, description = "Not modified since the ETag in `If-None-Match`"),
        PublicPromptErrors
    )
)]
pub async fn resolve_prompt(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<ResolveQuery>,
) -> AppResult<HttpResponse> {
    let q = query.into_inner();
    let placement = query_placement(&q.placement)?;
    if q.article.is_some() && (q.tag.is_some() || q.kind.is_some()) {
        return Err(AppError::bad_parameter(
            "article",
            "give either `article` or `tag` and `type`: a story's own tags and type are used",
        ));
    }
    if q.visitor.as_ref().is_some_and(|v| v.chars().count() > 128) {
        return Err(AppError::bad_parameter(
            "visitor",
            "must be at most 128 characters",
        ));
    }
    let generation = state.cache.generation();
    let set = live_set(&state, generation).await?;
    let chain = set.chain(&q.lang).ok_or_else(|| no_language(&q.lang))?;
    let lang = chain[0].clone();
    let story = match &q.article {
        None => None,
        Some(slug) => Some(story_context(&state, generation, &lang, slug).await?),
    };
    let tags = match &story {
        Some(s) => s.tags.clone(),
        None => page_tags(q.tag.as_deref())?,
    };
    let page = Page {
        lang: &lang,
        placement,
        tags: &tags,
        article_type: match &story {
            Some(s) => Some(s.article_type.as_str()),
            None => q.kind.map(ArticleType::as_str),
        },
    };
    let at = now();
    let eligible = set.eligible(&page, at);
    let seed = match &q.visitor {
        Some(v) => v.clone(),
        None => format!("{:016x}", rand::random::<u64>()),
    };
    let chosen = live::pick(&eligible, &seed).and_then(|p| PublicPrompt::new(p, &chain));
    let cache_control = match (&q.visitor, stays_for(&set, at)) {
        (None, _) => "no-store".to_owned(),
        (Some(_), ttl) => {
            let max_age = ttl.map_or(u64::from(state.config.content_max_age_secs), |t| {
                t.as_secs()
                    .min(u64::from(state.config.content_max_age_secs))
            });
            format!("private, max-age={max_age}")
        }
    };
    let Some(chosen) = chosen else {
        return Ok(HttpResponse::NoContent()
            .insert_header((header::CACHE_CONTROL, cache_control))
            .finish());
    };
    Ok(crate::cache::http::answer(
        &req,
        &state.cache,
        Fresh::json(&chosen)?.cache_control(cache_control),
    ))
}

/// The story published in `lang` under `slug`, remembered for the cache generation.
async fn story_context(
    state: &web::Data<AppState>,
    generation: u64,
    lang: &str,
    slug: &str,
) -> AppResult<Arc<StoryContext>> {
    let known = match state.live_prompts.story(generation, lang, slug) {
        Some(known) => known,
        None => {
            let (l, s) = (lang.to_owned(), slug.to_owned());
            let found = state
                .db
                .run(move |c| StoryContext::load(c, &l, &s))
                .await?
                .map(Arc::new);
            state
                .live_prompts
                .keep_story(generation, lang, slug, found.clone());
            found
        }
    };
    known.ok_or_else(|| {
        AppError::NotFound(format!(
            "no story is published in `{lang}` under the slug `{slug}`"
        ))
    })
}

/// Report what a reader did with a prompt: `impression`, `click` or `dismiss`. Counted per
/// prompt, language and day, in memory and written in batches; obvious robots get the same
/// answer but are not counted. Each address may send `PROMPT_EVENTS_PER_MINUTE` events a
/// minute to each node (429 beyond).
#[utoipa::path(
    post,
    path = "/api/v1/donation-prompts/{id}/events",
    tag = "donation prompts",
    params(("id" = i64, Path, description = "The prompt's id")),
    request_body = PromptEvent,
    responses((status = 202, description = "Counted"), PromptEventErrors)
)]
pub async fn record_event(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<PromptEvent>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let event = body.into_inner();
    state.prompt_events.admit(
        &client_addr(&req, &state.config),
        state.config.prompt_events_per_minute,
    )?;
    let kind = EventKind::parse(&event.kind).ok_or_else(|| {
        AppError::bad_parameter("type", "must be one of impression, click, dismiss")
    })?;
    let generation = state.cache.generation();
    let set = live_set(&state, generation).await?;
    if set.find(id).is_none() {
        return Err(AppError::NotFound(format!(
            "no active donation prompt with id {id}"
        )));
    }
    let lang = set
        .chain(&event.lang)
        .map(|mut chain| chain.swap_remove(0))
        .ok_or_else(|| {
            AppError::bad_parameter("lang", format!("no language with code `{}`", event.lang))
        })?;
    if !crate::content::views::from_robot(&req) {
        state.prompt_events.count(id, &lang, kind);
    }
    Ok(HttpResponse::Accepted()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}
