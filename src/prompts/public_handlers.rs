//! Donation prompts in the Content API: the prompts eligible for a page, one resolved prompt,
//! and the event beacon.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::app::{client_addr, AppState};
use crate::articles::ArticleType;
use crate::cache::http::{cached, Fresh};
use crate::cache::keys;
use crate::db::now;
use crate::error::{AppError, AppResult};
use crate::problem_responses;
use crate::prompts::events::EventKind;
use crate::prompts::input::query_placement;
use crate::prompts::live::{self, LiveSet, Page, StoryContext};
use crate::prompts::live::{stays_for, PublicPrompt};
use crate::prompts::Placement;
use crate::slug::Slug;

problem_responses!(
    /// Errors of the public donation prompt endpoints.
    PublicPromptErrors: 400, 404, 500, 503
);
problem_responses!(
    /// Errors of the prompt event beacon.
    PromptEventErrors: 400, 404, 413, 415, 422, 429, 500, 503
);

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
    #[param(example = "article_end", value_type = Option<crate::prompts::Placement>)]
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
    #[param(example = "article_end", value_type = crate::prompts::Placement)]
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
    #[schema(example = "impression", value_type = crate::prompts::events::EventKind)]
    pub kind: String,
    /// The language the prompt was shown in.
    #[schema(example = "en")]
    pub lang: String,
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

fn no_language(lang: &str) -> AppError {
    AppError::NotFound(format!("no language with code `{lang}`"))
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
            Fresh::json(&body)?.tags([keys::DONATION_PROMPTS.to_owned(), keys::lang(&chain[0])]);
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
    let Some(prompt) = set.find(id) else {
        return Err(AppError::NotFound(format!(
            "no active donation prompt with id {id}"
        )));
    };
    let lang = set
        .chain(&event.lang)
        .map(|mut chain| chain.swap_remove(0))
        .ok_or_else(|| {
            AppError::bad_parameter("lang", format!("no language with code `{}`", event.lang))
        })?;
    // Only what the prompt could have produced is counted: it is shown to readers of this
    // language, and its window is open.
    if !prompt.shown_to(&lang, now()) {
        return Err(AppError::NotFound(format!(
            "donation prompt {id} is not shown to `{lang}` readers now"
        )));
    }
    if !crate::content::views::from_robot(&req) {
        state.prompt_events.count(id, &lang, kind);
    }
    Ok(HttpResponse::Accepted()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}
