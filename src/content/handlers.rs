//! `/api/v1/articles…` and `/api/v1/tags/{slug}/articles`: published stories for frontends.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::app::AppState;
use crate::articles::ArticleType;
use crate::cache::http::{cached, Fresh};
use crate::cache::keys;
use crate::content::article_page::{self, no_story, Decision, Include};
use crate::content::feed_links::{self, FeedLink};
use crate::content::page::{
    self, list_feeds, most_read_items, view, ArticleDetail, MostReadItem, MOST_READ_TTL,
};
use crate::content::queries::{self, ArticleItem, Filter, PublicEntry, Sort};
use crate::content::{cards, views};
use crate::dates;
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use crate::pagination::{IdCursor, Limit, SEARCH_RESULTS};
use crate::problem_responses;
use crate::tags::PublicTagCount;
use crate::tags::{self, PublicTag};

problem_responses!(
    /// Errors of the public article endpoints.
    ContentErrors: 400, 404, 500, 503
);

/// Results a search pages through; beyond them a reader should refine the query.
const SEARCH_CANDIDATES: i64 = 200;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ArticleListQuery {
    /// The language to list stories in.
    #[param(example = "en")]
    pub lang: String,
    /// Only stories with this tag (slug).
    pub tag: Option<String>,
    /// Only stories of this type.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub kind: Option<ArticleType>,
    /// Only stories with this user among the bylines.
    pub author: Option<i64>,
    /// Only featured (or only not featured) stories.
    pub featured: Option<bool>,
    /// Published after this time (RFC 3339).
    pub published_after: Option<DateTime<Utc>>,
    /// Published before this time (RFC 3339).
    pub published_before: Option<DateTime<Utc>>,
    /// Full-text search in the language; results carry a `snippet`.
    pub q: Option<String>,
    /// `-published_at` (default), `published_at`, or `relevance` (the default with `q`).
    #[param(value_type = Option<ListSort>)]
    pub sort: Option<String>,
    /// Page size, 1 to 100.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
}

/// A page of stories in one language.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublishedArticleList {
    #[schema(example = "en")]
    pub lang: String,
    pub items: Vec<ArticleItem>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
    /// The language's feeds (the tag's, when filtered by `tag`).
    pub feeds: Vec<FeedLink>,
}

/// A page of search results: [`PublishedArticleList`] as written from item cards.
#[derive(Serialize)]
struct SearchPage<'a> {
    lang: String,
    items: Vec<cards::SearchItem<'a>>,
    next_cursor: Option<String>,
    feeds: Vec<FeedLink>,
}

/// A tag page: the tag in one language and a page of its stories.
#[derive(Debug, Serialize, ToSchema)]
pub struct TagPage {
    pub tag: PublicTagCount,
    pub items: Vec<ArticleItem>,
    pub next_cursor: Option<String>,
    /// The tag's feeds in the language.
    pub feeds: Vec<FeedLink>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TagArticlesQuery {
    #[param(example = "ka")]
    pub lang: String,
    /// `-published_at` (default) or `published_at`.
    #[param(value_type = Option<PageSort>)]
    pub sort: Option<String>,
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ArticleQuery {
    /// Serve the translation from the language's fallback chain when the story is not
    /// published in the language asked for.
    pub fallback: Option<bool>,
    /// Comma-separated parts to add: `related`, `most_read`, `live_entries`,
    /// `donation_prompt`.
    #[param(example = "related,most_read,donation_prompt")]
    pub include: Option<String>,
    /// The placement `include=donation_prompt` resolves a prompt for; `article_end` by default.
    #[param(example = "article_end")]
    #[param(value_type = Option<crate::prompts::Placement>)]
    pub prompt_placement: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MostReadQuery {
    #[param(example = "en")]
    pub lang: String,
    /// `1d`, `7d` (default) or `30d`.
    #[param(value_type = Option<Period>)]
    pub period: Option<String>,
    #[param(minimum = 1, maximum = 100, default = 10)]
    pub limit: Option<i64>,
}

/// The orders of the public list: newest first (the default), oldest first, or best match
/// first (the default with `q`).
#[derive(Serialize, ToSchema)]
pub enum ListSort {
    #[serde(rename = "-published_at")]
    NewestFirst,
    #[serde(rename = "published_at")]
    OldestFirst,
    #[serde(rename = "relevance")]
    Relevance,
}

/// The orders of a tag page: newest first (the default) or oldest first.
#[derive(Serialize, ToSchema)]
pub enum PageSort {
    #[serde(rename = "-published_at")]
    NewestFirst,
    #[serde(rename = "published_at")]
    OldestFirst,
}

/// The periods "Most read" counts over.
#[derive(Serialize, ToSchema)]
pub enum Period {
    #[serde(rename = "1d")]
    Day,
    #[serde(rename = "7d")]
    Week,
    #[serde(rename = "30d")]
    Month,
}

/// The most read stories in a language.
#[derive(Debug, Serialize, ToSchema)]
pub struct MostReadList {
    pub lang: String,
    #[schema(example = "7d", value_type = Period)]
    pub period: String,
    pub items: Vec<MostReadItem>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EntriesQuery {
    /// `cursor` from an earlier answer: only entries added after it.
    pub since: Option<String>,
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
}

/// A live story's entries, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntryPage {
    pub items: Vec<PublicEntry>,
    /// Pass as `since` to get only what is added later.
    pub cursor: Option<String>,
}

/// A published translation can only have a slug made of these.
fn tag_id(conn: &mut DbConn, slug: &str) -> AppResult<Option<i64>> {
    Ok(tags::find_by_slug(conn, slug)?.map(|t| t.id))
}

/// List published stories in one language, newest first; with `q`, full-text search.
#[utoipa::path(
    get,
    path = "/api/v1/articles",
    operation_id = "list_published_articles",
    tag = "content",
    params(ArticleListQuery),
    responses(
        (status = 200, description = "A page of stories", body = PublishedArticleList,
            headers(("ETag" = String), ("Cache-Control" = String), ("Surrogate-Key" = String))),
        (status = 304, description = "Not modified since the ETag in `If-None-Match`"),
        ContentErrors
    )
)]
pub async fn list_articles(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<ArticleListQuery>,
) -> AppResult<HttpResponse> {
    let q = query.into_inner();
    let limit = Limit::parse(q.limit)?;
    let text =
        q.q.clone()
            .filter(|t| !crate::db::search::terms(t).is_empty());
    let relevance = match q.sort.as_deref() {
        Some("relevance") if text.is_some() => true,
        Some("relevance") => {
            return Err(AppError::bad_parameter(
                "sort",
                "`relevance` needs a search (`q`)",
            ))
        }
        None => text.is_some(),
        Some(_) => false,
    };
    let sort = if relevance {
        Sort::NewestFirst
    } else {
        Sort::parse(q.sort.as_deref())?
    };
    let st = state.clone().into_inner();
    cached(&req, &state.cache, &state.db, move |c| {
        let chain = st.reader_chain(c, &q.lang)?;
        let lang = chain[0].clone();
        let tag_id = match &q.tag {
            Some(slug) => match tag_id(c, slug)? {
                Some(id) => Some(id),
                None => {
                    return Fresh::json(&PublishedArticleList {
                        feeds: list_feeds(&st, &lang, None),
                        lang,
                        items: Vec::new(),
                        next_cursor: None,
                    })
                }
            },
            None => None,
        };
        let mut filter = Filter {
            lang: lang.clone(),
            tag_id,
            kind: q.kind,
            author: q.author,
            featured: q.featured,
            published_after: dates::query_time("published_after", q.published_after)?,
            published_before: dates::query_time("published_before", q.published_before)?,
            ids: None,
        };
        let mut keys = vec![keys::ARTICLES.to_owned(), keys::lang(&lang)];
        if let Some(tag) = &q.tag {
            keys.push(keys::tag(tag));
        }
        let (items, next_cursor) = match &text {
            None => {
                let cursor = sort.parse_cursor(q.cursor.as_deref())?;
                let rows = queries::list(c, &filter, sort, cursor, limit.fetch())?;
                queries::page(c, rows, limit, sort, &view(&st, &chain))?
            }
            Some(text) => {
                let offset = parse_offset(q.cursor.as_deref())?;
                let filtered = filter.tag_id.is_some()
                    || filter.kind.is_some()
                    || filter.author.is_some()
                    || filter.featured.is_some()
                    || filter.published_after.is_some()
                    || filter.published_before.is_some();
                // Ranked results are cut where this page ends (one more tells whether a next
                // page exists); filtered or re-sorted ones need every candidate first.
                let need = if filtered || !relevance {
                    SEARCH_CANDIDATES as usize
                } else {
                    (offset as usize + limit.size() + 1).min(SEARCH_CANDIDATES as usize)
                };
                let ranked = crate::db::search::search(c, &lang, text, need)?;
                // The final order of the results, then only the page's cards are read.
                let order: Vec<i64> = if filtered || !relevance {
                    let mut rows = if filtered {
                        filter.ids = Some(ranked.clone());
                        queries::list(c, &filter, sort, None, SEARCH_CANDIDATES)?
                    } else {
                        queries::listed_by_ids(c, &ranked)?
                    };
                    if relevance {
                        let rank = |id: i64| ranked.iter().position(|r| *r == id);
                        rows.sort_by_key(|r| rank(r.id));
                    } else {
                        rows.sort_by_key(|r| (r.published_at, r.id));
                        if sort == Sort::NewestFirst {
                            rows.reverse();
                        }
                    }
                    rows.iter().map(|r| r.id).collect()
                } else {
                    ranked
                };
                let total = order.len();
                let start = (offset as usize).min(total);
                let end = (start + limit.size()).min(total);
                let found = cards::search_items(
                    c,
                    &order[start..end],
                    text,
                    &view(&st, &chain),
                    &st.directory,
                )?;
                let page = SearchPage {
                    items: found.items(&chain, &st.config.public_site_url, &st.media.base)?,
                    feeds: list_feeds(&st, &lang, None),
                    lang,
                    next_cursor: (end < total).then(|| SEARCH_RESULTS.encode(end as i64)),
                };
                // About 2 KB a result, 3 in scripts of three bytes a letter.
                let size = 3 * 1024 * page.items.len() + 256;
                return Ok(Fresh::json_sized(&page, size)?.tags(keys).not_kept());
            }
        };
        Ok(Fresh::json(&PublishedArticleList {
            feeds: list_feeds(&st, &lang, q.tag.as_deref()),
            lang,
            items,
            next_cursor,
        })?
        .tags(keys))
    })
    .await
}

fn parse_offset(raw: Option<&str>) -> AppResult<i64> {
    Ok(SEARCH_RESULTS
        .parse(raw, 0..SEARCH_CANDIDATES)?
        .unwrap_or(0))
}

/// A tag page: the tag in one language and its published stories, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/tags/{slug}/articles",
    tag = "content",
    params(("slug" = String, Path, example = "georgia-russia"), TagArticlesQuery),
    responses(
        (status = 200, description = "The tag and a page of its stories", body = TagPage,
            headers(("ETag" = String), ("Cache-Control" = String), ("Surrogate-Key" = String))),
        (status = 304, description = "Not modified since the ETag in `If-None-Match`"),
        ContentErrors
    )
)]
pub async fn tag_articles(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
    query: web::Query<TagArticlesQuery>,
) -> AppResult<HttpResponse> {
    let slug = slug.into_inner();
    let q = query.into_inner();
    let limit = Limit::parse(q.limit)?;
    let sort = Sort::parse(q.sort.as_deref())?;
    let cursor = sort.parse_cursor(q.cursor.as_deref())?;
    let st = state.clone().into_inner();
    cached(&req, &state.cache, &state.db, move |c| {
        let chain = st.reader_chain(c, &q.lang)?;
        let lang = chain[0].clone();
        let tag = tags::find_by_slug(c, &slug)?
            .ok_or_else(|| AppError::NotFound(format!("no tag with slug `{slug}`")))?;
        let names = tags::names_of(c, &[tag.id])?;
        let filter = Filter {
            lang: lang.clone(),
            tag_id: Some(tag.id),
            ..Filter::default()
        };
        let count = tags::published_count(c, tag.id, &lang)?;
        let rows = queries::list(c, &filter, sort, cursor, limit.fetch())?;
        let (items, next_cursor) = queries::page(c, rows, limit, sort, &view(&st, &chain))?;
        let tag_name =
            queries::ItemTag::name(&tag, names.get(&tag.id).map_or(&[], Vec::as_slice), &chain)
                .to_owned();
        let page = TagPage {
            tag: PublicTagCount {
                tag: PublicTag::new(&tag, names.get(&tag.id).map_or(&[], Vec::as_slice), &chain),
                article_count: count,
            },
            items,
            next_cursor,
            feeds: feed_links::links(
                &st.config.public_api_url,
                &format!("{lang}/tags/{slug}"),
                &tag_name,
            ),
        };
        Ok(Fresh::json(&page)?.tags(["articles".to_owned(), keys::lang(&lang), keys::tag(&slug)]))
    })
    .await
}

/// Read a published story in one language: a whole article page in one request.
///
/// An old slug, or the story's slug in another language, answers 301 with `Location`. A story
/// not published in `lang` answers 404 listing the languages it is in, or with
/// `fallback=true` the translation from `lang`'s fallback chain, with `served_lang` and
/// `Content-Language`.
#[utoipa::path(
    get,
    path = "/api/v1/articles/{lang}/{slug}",
    operation_id = "get_published_article",
    tag = "content",
    params(
        ("lang" = String, Path, example = "en"),
        ("slug" = String, Path, example = "georgia-and-russia-agree-to-reopen-talks-on-the-mountain-crossing"),
        ArticleQuery
    ),
    responses(
        (status = 200, description = "The story", body = ArticleDetail,
            headers(("ETag" = String), ("Cache-Control" = String), ("Last-Modified" = String),
                ("Content-Language" = String), ("Surrogate-Key" = String))),
        (status = 301, description = "The story lives at another slug; see `Location`",
            headers(("Location" = String))),
        (status = 304, description = "Not modified since the ETag in `If-None-Match`"),
        ContentErrors
    )
)]
pub async fn get_article(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    query: web::Query<ArticleQuery>,
) -> AppResult<HttpResponse> {
    let (lang, slug) = path.into_inner();
    let q = query.into_inner();
    let include = Include::parse(q.include.as_deref())?;
    let fallback = q.fallback.unwrap_or(false);
    let prompt_placement = page::prompt_placement(q.prompt_placement.as_deref())?;
    let st = state.clone().into_inner();
    let query_string = req.query_string().to_owned();
    cached(&req, &state.cache, &state.db, move |c| {
        let chain = st.reader_chain(c, &lang)?;
        let requested = chain[0].clone();
        let site = &st.config.public_site_url;
        let full = match article_page::decide(c, &chain, &slug, fallback, site)? {
            Decision::Here(full) => *full,
            Decision::Moved(current) => {
                let mut location = format!("/api/v1/articles/{requested}/{current}");
                if !query_string.is_empty() {
                    location = format!("{location}?{query_string}");
                }
                // Slugs move only when published text does, which every list's key follows.
                return Ok(Fresh::moved(location)
                    .tags([keys::lang(&requested), keys::ARTICLES.to_owned()]));
            }
        };
        let page = page::article(c, &st, full, &chain, include, prompt_placement)?;
        let mut fresh = Fresh::json(&page.detail)?
            .tags(page.keys)
            .language(page.detail.served_lang.clone());
        fresh = match page.ttl {
            Some(ttl) => fresh.expires_after(ttl),
            None => fresh.modified(page.modified),
        };
        Ok(fresh)
    })
    .await
}

/// The most read stories in a language over the last day, week or month.
#[utoipa::path(
    get,
    path = "/api/v1/articles/most-read",
    tag = "content",
    params(MostReadQuery),
    responses(
        (status = 200, description = "Most read first", body = MostReadList,
            headers(("ETag" = String), ("Cache-Control" = String))),
        (status = 304, description = "Not modified since the ETag in `If-None-Match`"),
        ContentErrors
    )
)]
pub async fn most_read(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<MostReadQuery>,
) -> AppResult<HttpResponse> {
    let q = query.into_inner();
    let period = q.period.unwrap_or_else(|| "7d".to_owned());
    let days = match period.as_str() {
        "1d" => 1,
        "7d" => 7,
        "30d" => 30,
        _ => {
            return Err(AppError::bad_parameter(
                "period",
                "must be one of 1d, 7d, 30d",
            ))
        }
    };
    let limit = match q.limit {
        None => 10,
        Some(n) if (1..=100).contains(&n) => n,
        Some(_) => {
            return Err(AppError::bad_parameter(
                "limit",
                "must be between 1 and 100",
            ))
        }
    };
    let st = state.clone().into_inner();
    cached(&req, &state.cache, &state.db, move |c| {
        let chain = st.reader_chain(c, &q.lang)?;
        let lang = chain[0].clone();
        let items = most_read_items(c, &lang, days, limit, &view(&st, &chain))?;
        Ok(Fresh::json(&MostReadList {
            lang: lang.clone(),
            period: period.clone(),
            items,
        })?
        .tags([keys::MOST_READ.to_owned(), keys::lang(&lang)])
        .expires_after(MOST_READ_TTL))
    })
    .await
}

/// Count a reader's view of a story, for "Most read". Cheap: counted in memory and written in
/// batches. Obvious robots (by `User-Agent`) get the same answer but are not counted.
#[utoipa::path(
    post,
    path = "/api/v1/articles/{lang}/{slug}/views",
    tag = "content",
    params(("lang" = String, Path, example = "en"), ("slug" = String, Path)),
    responses((status = 202, description = "Counted"), ContentErrors)
)]
pub async fn count_view(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (lang, slug) = path.into_inner();
    let addr = crate::app::client_addr(&req, &state.config);
    state.views.per_address.admit(
        &addr,
        state.config.view_beacons_per_minute,
        "too many views from this address; try again later",
    )?;
    let generation = state.cache.generation();
    let id = match state.views.remembered(generation, &lang, &slug) {
        Some(id) => id,
        None => {
            let (l, s, st) = (lang.clone(), slug.clone(), state.clone());
            let id = state
                .db
                .run(move |c| {
                    // Views in a disabled language are not counted: it has no readers.
                    st.reader_chain(c, &l)?;
                    queries::id_of(c, &l, &s)
                })
                .await?
                .ok_or_else(|| no_story(&lang, &slug))?;
            state.views.remember(generation, &lang, &slug, id);
            id
        }
    };
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !views::from_robot(&req) && state.views.first_view(&addr, user_agent, id) {
        state.views.count(id, &lang);
    }
    Ok(HttpResponse::Accepted()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}

/// A live story's entries, newest first; with `since`, only those added after it.
#[utoipa::path(
    get,
    path = "/api/v1/articles/{lang}/{slug}/entries",
    operation_id = "list_published_entries",
    tag = "content",
    params(("lang" = String, Path, example = "en"), ("slug" = String, Path), EntriesQuery),
    responses(
        (status = 200, description = "Entries", body = EntryPage,
            headers(("ETag" = String), ("Cache-Control" = String))),
        (status = 304, description = "Not modified since the ETag in `If-None-Match`"),
        ContentErrors
    )
)]
pub async fn list_entries(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    query: web::Query<EntriesQuery>,
) -> AppResult<HttpResponse> {
    let (lang, slug) = path.into_inner();
    let q = query.into_inner();
    let limit = Limit::parse(q.limit)?;
    let since = IdCursor::parse(q.since.as_deref())
        .map_err(|_| AppError::bad_parameter("since", "is not a cursor this endpoint returned"))?;
    let st = state.clone().into_inner();
    cached(&req, &state.cache, &state.db, move |c| {
        let chain = st.reader_chain(c, &lang)?;
        let full =
            queries::by_slug(c, &chain[0], &slug)?.ok_or_else(|| no_story(&chain[0], &slug))?;
        let items = queries::entries(c, full.listed.id, since, limit.size() as i64)?;
        let cursor = items.first().map(|e| e.id).or(since).map(IdCursor::encode);
        Ok(Fresh::json(&EntryPage { items, cursor })?.tags([
            keys::article(full.listed.article_id),
            keys::translation(full.listed.id),
        ]))
    })
    .await
}
