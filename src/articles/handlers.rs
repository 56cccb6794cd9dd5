//! `/api/v1/admin/articles`: stories and their story-level fields.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::app::AppState;
use crate::articles::changes::{changed, Change};
use crate::articles::editing::{parse_new_translation, visible_story, CreateTranslation};
use crate::articles::translations::{self, TranslationSummary};
use crate::articles::workflow::{self, Access};
use crate::articles::{
    self, ArticleType, Byline, Image, ListFilter, Sort, Status, Story, StoryFields,
};
use crate::audit::{self, Actor};
use crate::auth::{AuthUser, Role};
use crate::db::DbConn;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::http::IfMatch;
use crate::pagination::Limit;
use crate::problem_responses;
use crate::tags;
use crate::text::{plain_text, web_url};

problem_responses!(
    /// Errors of reading stories.
    ArticleReadErrors: 400, 401, 404, 500, 503
);
problem_responses!(
    /// Errors of changing stories.
    ArticleWriteErrors: 400, 401, 403, 404, 409, 413, 415, 422, 500, 503
);
problem_responses!(
    /// Errors of changing or deleting a story, which needs `If-Match`.
    ArticleChangeErrors: 400, 401, 403, 404, 409, 412, 413, 415, 422, 428, 500, 503
);

/// A tag on a story.
#[derive(Debug, Serialize, ToSchema)]
pub struct TagRef {
    pub id: i64,
    #[schema(example = "georgia-russia")]
    pub slug: String,
    #[schema(example = "topic", pattern = "^[a-z][a-z0-9-]{0,31}$")]
    pub kind: String,
}

/// A story with the state of each of its translations.
#[derive(Debug, Serialize, ToSchema)]
pub struct ArticleResponse {
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: ArticleType,
    /// The primary tag first, then the others in the order given.
    pub tags: Vec<TagRef>,
    /// The slug of the primary tag.
    #[schema(example = "georgia-russia")]
    pub primary_tag: Option<String>,
    pub bylines: Vec<Byline>,
    pub image: Option<Image>,
    /// Partners may syndicate this story.
    pub syndicate: bool,
    /// Shown among the top stories.
    pub featured: bool,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Goes up with every change to the story's own fields; the `ETag` is
    /// `"article-<id>-<version>"`.
    pub version: i32,
    /// Every translation, by language code.
    pub translations: Vec<TranslationSummary>,
}

/// One page of stories.
#[derive(Debug, Serialize, ToSchema)]
pub struct ArticleList {
    pub items: Vec<ArticleResponse>,
    /// Pass as `cursor` (with the same `sort`) for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A new story with its first translation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateArticle {
    #[serde(rename = "type")]
    pub kind: ArticleType,
    /// Tag slugs, in order.
    #[schema(example = json!(["georgia-russia", "georgia"]))]
    pub tags: Option<Vec<String>>,
    /// One of `tags`; the first tag when left out.
    pub primary_tag: Option<String>,
    /// User ids credited on the story; the caller when left out.
    pub bylines: Option<Vec<i64>>,
    pub image: Option<Image>,
    pub syndicate: Option<bool>,
    pub featured: Option<bool>,
    /// The first translation; `lang` is required here.
    pub translation: CreateTranslation,
}

/// Changes to story-level fields; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateArticle {
    #[serde(rename = "type")]
    pub kind: Option<ArticleType>,
    /// Replaces the tags.
    pub tags: Option<Vec<String>>,
    /// A slug from `tags`, or `null` for none.
    #[serde(default, deserialize_with = "crate::http::present")]
    #[schema(value_type = Option<String>, nullable)]
    pub primary_tag: Option<Option<String>>,
    /// Replaces the bylines.
    pub bylines: Option<Vec<i64>>,
    /// The featured image, or `null` to remove it.
    #[serde(default, deserialize_with = "crate::http::present")]
    #[schema(value_type = Option<Image>, nullable)]
    pub image: Option<Option<Image>>,
    pub syndicate: Option<bool>,
    pub featured: Option<bool>,
}

/// The orders of the admin list of stories.
#[derive(Serialize, ToSchema)]
pub enum AdminSort {
    #[serde(rename = "-updated_at")]
    RecentlyUpdated,
    #[serde(rename = "updated_at")]
    LeastRecentlyUpdated,
    #[serde(rename = "-created_at")]
    Newest,
    #[serde(rename = "created_at")]
    Oldest,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ArticleListQuery {
    /// Stories with a translation in this status.
    pub status: Option<Status>,
    /// Stories with a translation in this language (with `status`, `outdated` and `q`: the
    /// same translation).
    #[param(example = "ka")]
    pub lang: Option<String>,
    /// Stories with this tag (slug).
    pub tag: Option<String>,
    /// Stories with this user among the bylines.
    pub author: Option<i64>,
    /// Stories of this type.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub kind: Option<ArticleType>,
    /// Stories with a translation whose source changed since it was translated.
    pub outdated: Option<bool>,
    /// Text in a translation's title (case-insensitive for ASCII letters on SQLite).
    pub q: Option<String>,
    /// Stories changed at or after this time (RFC 3339).
    pub updated_since: Option<DateTime<Utc>>,
    /// `-updated_at` (default), `updated_at`, `-created_at` or `created_at`.
    #[param(value_type = Option<AdminSort>)]
    pub sort: Option<String>,
    /// Page size, 1 to 100.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
}

fn responses_for(conn: &mut DbConn, stories: Vec<Story>) -> AppResult<Vec<ArticleResponse>> {
    let ids: Vec<i64> = stories.iter().map(|s| s.article.id).collect();
    let all = translations::of_articles(conn, &ids)?;
    stories
        .into_iter()
        .map(|story| {
            let a = story.article;
            Ok(ArticleResponse {
                id: a.id,
                kind: ArticleType::from_db(&a.kind)?,
                primary_tag: a
                    .primary_tag_id
                    .and_then(|p| story.tags.iter().find(|t| t.id == p))
                    .map(|t| t.slug.clone()),
                tags: story
                    .tags
                    .into_iter()
                    .map(|t| TagRef {
                        id: t.id,
                        slug: t.slug,
                        kind: t.kind,
                    })
                    .collect(),
                bylines: story.bylines,
                image: Image::of(&a),
                syndicate: a.syndicate,
                featured: a.featured,
                created_by: a.created_by,
                created_at: a.created_at.and_utc(),
                updated_at: a.updated_at.and_utc(),
                version: a.version,
                translations: all
                    .iter()
                    .filter(|t| t.article_id == a.id)
                    .map(TranslationSummary::new)
                    .collect::<AppResult<_>>()?,
            })
        })
        .collect()
}

pub fn article_response(conn: &mut DbConn, id: i64) -> AppResult<ArticleResponse> {
    let story = articles::load_story(conn, id)?.ok_or_else(|| workflow::not_found(id))?;
    responses_for(conn, vec![story])?
        .pop()
        .ok_or_else(|| workflow::not_found(id))
}

fn parse_image(image: Image, f: &mut FieldErrors) -> Option<Image> {
    let url = match (&image.url, image.media_id) {
        (Some(url), None) => Some(f.check(web_url(url, "image.url", 2000))?),
        (None, Some(_)) => {
            for (field, value) in [("image.alt", &image.alt), ("image.credit", &image.credit)] {
                if !value.is_empty() {
                    f.check::<()>(Err(AppError::invalid(
                        field,
                        "a media library image takes its alt text and credit from the library",
                    )));
                }
            }
            None
        }
        _ => {
            f.check::<()>(Err(AppError::invalid(
                "image",
                "give either `media_id` (an item of the media library) or `url`",
            )));
            return None;
        }
    };
    let alt = f.check(plain_text(&image.alt, "image.alt", 300));
    let credit = f.check(plain_text(&image.credit, "image.credit", 200));
    let mut captions = std::collections::BTreeMap::new();
    for (lang, caption) in &image.captions {
        let field = format!("image.captions.{lang}");
        if let Some(c) = f.check(plain_text(caption, &field, 2000)) {
            captions.insert(lang.clone(), c);
        }
    }
    Some(Image {
        media_id: image.media_id,
        url,
        alt: alt?,
        credit: credit?,
        captions,
    })
}

/// 422 naming the field unless the image's media item and caption languages exist; the
/// captions keyed by the languages' codes as stored.
fn resolve_image(conn: &mut DbConn, image: Image) -> AppResult<Image> {
    if let Some(id) = image.media_id {
        if crate::media::find(conn, id).is_err() {
            return Err(AppError::invalid(
                "image.media_id",
                format!("no media item with id {id}"),
            ));
        }
    }
    let mut captions = std::collections::BTreeMap::new();
    for (lang, caption) in image.captions {
        let code =
            crate::languages::require_existing(conn, &lang, &format!("image.captions.{lang}"))?;
        captions.insert(code.as_str().to_owned(), caption);
    }
    Ok(Image { captions, ..image })
}

/// The raw story-level fields of a request, before tags and bylines are looked up.
struct RawStory {
    kind: Option<ArticleType>,
    tags: Option<Vec<String>>,
    primary_tag: Option<Option<String>>,
    bylines: Option<Vec<i64>>,
    image: Option<Option<Image>>,
    syndicate: Option<bool>,
    featured: Option<bool>,
}

/// Resolves tag slugs (422 naming `tags` or `primary_tag` for unknown ones).
fn resolve_story(conn: &mut DbConn, raw: RawStory) -> AppResult<StoryFields> {
    let mut f = FieldErrors::default();
    let tags = raw
        .tags
        .and_then(|slugs| f.check(tags::resolve_slugs(conn, &slugs, "tags")));
    let primary_tag = match raw.primary_tag {
        Some(Some(slug)) => f
            .check(tags::resolve_slugs(conn, &[slug], "primary_tag"))
            .map(|mut t| t.pop()),
        Some(None) => Some(None),
        None => None,
    };
    let image = match raw.image {
        Some(Some(image)) => f.check(resolve_image(conn, image)).map(Some),
        other => other,
    };
    f.finish()?;
    Ok(StoryFields {
        kind: raw.kind,
        tags,
        primary_tag,
        bylines: raw.bylines,
        image,
        syndicate: raw.syndicate,
        featured: raw.featured,
    })
}

/// List stories. Contributors see only their own; everyone else sees every story.
#[utoipa::path(
    get,
    path = "/api/v1/admin/articles",
    tag = "articles",
    security(("bearer" = [])),
    params(ArticleListQuery),
    responses((status = 200, description = "A page of stories", body = ArticleList), ArticleReadErrors)
)]
pub async fn list_articles(
    state: web::Data<AppState>,
    caller: AuthUser,
    query: web::Query<ArticleListQuery>,
) -> AppResult<HttpResponse> {
    let q = query.into_inner();
    let limit = Limit::parse(q.limit)?;
    let sort = Sort::parse(q.sort.as_deref())?;
    let cursor = sort.parse_cursor(q.cursor.as_deref())?;
    let filter = ListFilter {
        status: q.status,
        lang: q.lang,
        tag: q.tag,
        author: q.author,
        kind: q.kind,
        outdated: q.outdated,
        title_contains: q.q.filter(|t| !t.trim().is_empty()),
        updated_since: crate::dates::query_time("updated_since", q.updated_since)?,
        owned_by: (caller.role == Role::Contributor).then_some(caller.id),
    };
    let list = state
        .db
        .run(move |c| {
            let rows = articles::list(c, &filter, sort, cursor, limit)?;
            let (rows, next) = limit.split(rows, |a| sort.cursor_after(a));
            let ids: Vec<i64> = rows.iter().map(|a| a.id).collect();
            let stories = articles::load_stories(c, &ids)?;
            Ok(ArticleList {
                items: responses_for(c, stories)?,
                next_cursor: next,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Create a story with its first translation, as a draft. Any signed-in user.
#[utoipa::path(
    post,
    path = "/api/v1/admin/articles",
    tag = "articles",
    security(("bearer" = [])),
    request_body = CreateArticle,
    responses(
        (status = 201, description = "Created", body = ArticleResponse,
            headers(("Location" = String, description = "The new story's URL"))),
        ArticleWriteErrors
    )
)]
pub async fn create_article(
    state: web::Data<AppState>,
    caller: AuthUser,
    body: web::Json<CreateArticle>,
) -> AppResult<HttpResponse> {
    let b = body.into_inner();
    if b.featured == Some(true) || b.syndicate == Some(true) {
        Access::set_editorial_flags(caller.role)?;
    }
    let mut f = FieldErrors::default();
    let image = b.image.map(|i| parse_image(i, &mut f));
    let lang = match b.translation.lang.clone() {
        Some(lang) => Some(lang),
        None => {
            f.check::<()>(Err(AppError::invalid(
                "translation.lang",
                "the first translation needs a language",
            )));
            None
        }
    };
    let new = parse_new_translation(&state.sanitizer, b.translation, "translation.", &mut f);
    f.finish()?;
    let (Some(lang), Some(new)) = (lang, new) else {
        return Err(AppError::Internal("validated fields missing".into()));
    };
    let raw = RawStory {
        kind: Some(b.kind),
        tags: b.tags,
        primary_tag: b.primary_tag.map(Some),
        bylines: b.bylines,
        image,
        syndicate: b.syndicate,
        featured: b.featured,
    };
    let actor = Actor::from(&caller);
    let user_id = caller.id;
    let article = state
        .db
        .transaction(move |c| {
            let lang = crate::languages::require_existing(c, &lang, "translation.lang")?;
            Access::credit(&caller, raw.bylines.as_deref().unwrap_or_default())?;
            let fields = resolve_story(c, raw)?;
            let article = articles::insert(c, fields, user_id)?;
            let t = new.insert(c, article.id, lang.as_str(), user_id)?;
            audit::record(
                c,
                &actor,
                "article.create",
                "article",
                &article.id.to_string(),
                json!({ "type": article.kind, "translation": t.id, "lang": t.lang }),
            )?;
            changed(c, Change::translation(&t))?;
            article_response(c, article.id)
        })
        .await?;
    let mut res = HttpResponse::Created();
    res.insert_header((
        header::LOCATION,
        format!("/api/v1/admin/articles/{}", article.id),
    ));
    Ok(with_etag(res, article))
}

/// Read a story with the state of each translation.
#[utoipa::path(
    get,
    path = "/api/v1/admin/articles/{id}",
    tag = "articles",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The story's id")),
    responses(
        (status = 200, description = "The story", body = ArticleResponse,
            headers(("ETag" = String, description = "Send as `If-Match` to change its own fields"))),
        ArticleReadErrors
    )
)]
pub async fn get_article(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let article = state
        .db
        .run(move |c| {
            visible_story(c, &caller, id)?;
            article_response(c, id)
        })
        .await?;
    Ok(with_etag(HttpResponse::Ok(), article))
}

/// `article` with its `ETag`, which changes of its own fields need in `If-Match`.
fn with_etag(mut res: actix_web::HttpResponseBuilder, article: ArticleResponse) -> HttpResponse {
    res.insert_header((header::ETAG, articles::etag(article.id, article.version)))
        .json(article)
}

/// Change story-level fields: type, tags, bylines, image, syndication, featured. Needs
/// `If-Match` with the story's ETag.
///
/// Editors on any story, authors on their own, contributors on their own while none of its
/// translations is scheduled, published or archived. Only editors and admins feature a story
/// or open it to syndication.
#[utoipa::path(
    patch,
    path = "/api/v1/admin/articles/{id}",
    tag = "articles",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "The story's id"),
        ("If-Match" = String, Header, description = "The ETag of the version being changed")
    ),
    request_body = UpdateArticle,
    responses(
        (status = 200, description = "The changed story", body = ArticleResponse,
            headers(("ETag" = String))),
        ArticleChangeErrors
    )
)]
pub async fn update_article(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<i64>,
    body: web::Json<UpdateArticle>,
    if_match: IfMatch,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let b = body.into_inner();
    let mut f = FieldErrors::default();
    let image = b.image.map(|i| i.and_then(|i| parse_image(i, &mut f)));
    f.finish()?;
    let raw = RawStory {
        kind: b.kind,
        tags: b.tags,
        primary_tag: b.primary_tag,
        bylines: b.bylines,
        image,
        syndicate: b.syndicate,
        featured: b.featured,
    };
    let actor = Actor::from(&caller);
    let article = state
        .db
        .transaction(move |c| {
            let (story, access) = visible_story(c, &caller, id)?;
            let a = &story.article;
            if !if_match.matches(&a.etag()) {
                return Err(articles::stale(a));
            }
            Access::credit(&caller, raw.bylines.as_deref().unwrap_or_default())?;
            if raw.featured.is_some_and(|v| v != a.featured)
                || raw.syndicate.is_some_and(|v| v != a.syndicate)
            {
                Access::set_editorial_flags(caller.role)?;
            }
            let any_live = translations::of_articles(c, &[id])?.iter().any(|t| {
                t.status != Status::Draft.as_str() && t.status != Status::InReview.as_str()
            });
            access.edit_story(any_live)?;
            let detail = json!({
                "type": raw.kind.map(ArticleType::as_str),
                "tags": raw.tags,
                "primary_tag": raw.primary_tag,
                "bylines": raw.bylines,
                "image": raw.image.as_ref().map(|i| i.as_ref().map(|i| json!({ "url": i.url, "media_id": i.media_id }))),
                "syndicate": raw.syndicate,
                "featured": raw.featured,
            });
            let fields = resolve_story(c, raw)?;
            articles::update(c, id, Some(a.version), fields)?;
            audit::record(
                c,
                &actor,
                "article.update",
                "article",
                &id.to_string(),
                detail,
            )?;
            changed(c, Change::Story(id))?;
            article_response(c, id)
        })
        .await?;
    Ok(with_etag(HttpResponse::Ok(), article))
}

/// Delete a story with all its translations, revisions and entries. Editors and admins; a
/// story with a published or scheduled translation must be taken off the site first (409).
#[utoipa::path(
    delete,
    path = "/api/v1/admin/articles/{id}",
    tag = "articles",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "The story's id"),
        ("If-Match" = String, Header, description = "The ETag of the version being deleted")
    ),
    responses((status = 204, description = "Deleted"), ArticleChangeErrors)
)]
pub async fn delete_article(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<i64>,
    if_match: IfMatch,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let actor = Actor::from(&caller);
    state
        .db
        .transaction(move |c| {
            let (story, access) = visible_story(c, &caller, id)?;
            if !if_match.matches(&story.article.etag()) {
                return Err(articles::stale(&story.article));
            }
            access.delete_story()?;
            articles::delete(c, id)?;
            audit::record(
                c,
                &actor,
                "article.delete",
                "article",
                &id.to_string(),
                json!({ "type": story.article.kind }),
            )?;
            changed(c, Change::StoryDeleted(id))
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
