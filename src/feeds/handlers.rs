//! Feed and sitemap endpoints: public, cached and ETag'd like the rest of the Content API.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::app::AppState;
use crate::cache::http::{cached, Fresh};
use crate::cache::keys;
use crate::error::AppResult;
use crate::feeds::sitemaps::{self, Sitemap};
use crate::feeds::{self, render, FeedFormat, Scope};
use crate::problem_responses;

problem_responses!(
    /// Errors of feeds and sitemaps.
    FeedErrors: 400, 404, 500, 503
);

const XML: &str = "application/xml; charset=utf-8";

/// What a feed route answers besides problems: the feed in the format its extension names, or
/// 304.
pub struct FeedAnswers;

impl utoipa::IntoResponses for FeedAnswers {
    fn responses() -> std::collections::BTreeMap<
        String,
        utoipa::openapi::RefOr<utoipa::openapi::response::Response>,
    > {
        use utoipa::openapi::content::ContentBuilder;
        use utoipa::openapi::header::Header;
        use utoipa::openapi::response::ResponseBuilder;
        use utoipa::openapi::schema::{Object, Type};
        use utoipa::openapi::{Ref, RefOr};
        let mut feed = ResponseBuilder::new()
            .description("The feed: RSS 2.0, Atom 1.0 or JSON Feed 1.1, as the extension says");
        for media_type in ["application/rss+xml", "application/atom+xml"] {
            let content = ContentBuilder::new()
                .schema(Some(Object::with_type(Type::String)))
                .build();
            feed = feed.content(media_type, content);
        }
        let json = ContentBuilder::new()
            .schema(Some(RefOr::<utoipa::openapi::schema::Schema>::Ref(
                Ref::from_schema_name("JsonFeed"),
            )))
            .build();
        feed = feed.content("application/feed+json", json);
        for name in ["ETag", "Cache-Control", "Last-Modified"] {
            feed = feed.header(name, Header::new(Object::with_type(Type::String)));
        }
        let unchanged =
            ResponseBuilder::new().description("Not modified since the ETag in `If-None-Match`");
        [
            ("200".to_owned(), feed.build().into()),
            ("304".to_owned(), unchanged.build().into()),
        ]
        .into_iter()
        .collect()
    }
}

async fn feed(
    req: HttpRequest,
    state: web::Data<AppState>,
    lang: String,
    scope: Scope,
    format: &str,
) -> AppResult<HttpResponse> {
    let format = FeedFormat::from_extension(format)?;
    let st = state.clone().into_inner();
    cached(&req, &state.cache, &state.db, move |c| {
        let feed = feeds::load(c, &st, &lang, &scope)?;
        let mut tags = vec![keys::ARTICLES.to_owned(), keys::lang(&feed.lang)];
        if let Scope::Tag(slug) = &scope {
            tags.push(keys::tag(slug));
        }
        let modified = feed
            .entries
            .iter()
            .map(|e| e.item.updated_at.naive_utc())
            .max();
        Ok(
            Fresh::document(render::render(&feed, format), format.media_type())
                .tags(tags)
                .language(feed.lang.clone())
                .modified(modified),
        )
    })
    .await
}

/// The 50 newest stories in a language, as RSS 2.0 (`.rss`), Atom 1.0 (`.atom`) or JSON Feed
/// 1.1 (`.json`). Whole texts or excerpts, as `FEED_FULL_TEXT` says.
#[utoipa::path(
    get,
    path = "/api/v1/feeds/{lang}.{format}",
    tag = "feeds",
    params(("lang" = String, Path, example = "ka"),
        ("format" = String, Path, description = "`rss`, `atom` or `json`", example = "rss")),
    responses(FeedAnswers, FeedErrors)
)]
pub async fn language_feed(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (lang, format) = path.into_inner();
    feed(req, state, lang, Scope::Language, &format).await
}

/// The 50 newest stories in a language filed under a tag, as RSS, Atom or JSON Feed.
#[utoipa::path(
    get,
    path = "/api/v1/feeds/{lang}/tags/{slug}.{format}",
    tag = "feeds",
    params(("lang" = String, Path, example = "ka"),
        ("slug" = String, Path, example = "georgia-russia"),
        ("format" = String, Path, description = "`rss`, `atom` or `json`", example = "atom")),
    responses(FeedAnswers, FeedErrors)
)]
pub async fn tag_feed(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
) -> AppResult<HttpResponse> {
    let (lang, slug, format) = path.into_inner();
    feed(req, state, lang, Scope::Tag(slug), &format).await
}

/// The 50 newest stories in a language with a person's byline, as RSS, Atom or JSON Feed.
#[utoipa::path(
    get,
    path = "/api/v1/feeds/{lang}/authors/{id}.{format}",
    tag = "feeds",
    params(("lang" = String, Path, example = "ka"),
        ("id" = i64, Path, description = "The author's id, as bylines give it"),
        ("format" = String, Path, description = "`rss`, `atom` or `json`", example = "json")),
    responses(FeedAnswers, FeedErrors)
)]
pub async fn author_feed(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, i64, String)>,
) -> AppResult<HttpResponse> {
    let (lang, id, format) = path.into_inner();
    feed(req, state, lang, Scope::Author(id), &format).await
}

/// The sitemap index: every language's sitemap pages and Google News sitemap, at
/// `PUBLIC_SITE_URL`.
#[utoipa::path(
    get,
    path = "/sitemap.xml",
    tag = "feeds",
    responses(
        (status = 200, description = "A sitemap index", content_type = "application/xml", body = String,
            headers(("ETag" = String), ("Cache-Control" = String))),
        (status = 304, description = "Not modified since the ETag in `If-None-Match`"),
        FeedErrors
    )
)]
pub async fn sitemap_index(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let st = state.clone().into_inner();
    cached(&req, &state.cache, &state.db, move |c| {
        let languages = st.enabled_languages(c)?;
        let (xml, modified) = sitemaps::index(c, &st.config, &languages)?;
        Ok(Fresh::document(xml.into_bytes(), XML)
            .tags([keys::ARTICLES.to_owned(), keys::LANGUAGES.to_owned()])
            .modified(modified))
    })
    .await
}

/// A sitemap: `{lang}-{n}` is page `n` of a language's stories, oldest first, each with
/// its `hreflang` alternates and `x-default`; `news-{lang}` is the language's Google News
/// sitemap (the last 48 hours, at most 1,000).
#[utoipa::path(
    get,
    path = "/sitemaps/{name}.xml",
    tag = "feeds",
    params(("name" = String, Path, description = "`{lang}-{n}` or `news-{lang}`", example = "en-1")),
    responses(
        (status = 200, description = "A sitemap", content_type = "application/xml", body = String,
            headers(("ETag" = String), ("Cache-Control" = String))),
        (status = 304, description = "Not modified since the ETag in `If-None-Match`"),
        FeedErrors
    )
)]
pub async fn sitemap(
    req: HttpRequest,
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> AppResult<HttpResponse> {
    let which = Sitemap::parse(&name.into_inner())?;
    let st = state.clone().into_inner();
    cached(&req, &state.cache, &state.db, move |c| {
        let (lang, fresh) = match &which {
            Sitemap::Page { lang, n } => {
                let (lang, n) = (st.reader_chain(c, lang)?.remove(0), *n);
                let languages = st.enabled_languages(c)?;
                let (gzip, modified) = sitemaps::page(c, &st.config, &languages, &lang, n)?;
                let fresh = Fresh::gzipped(gzip, XML).modified(modified);
                (lang, fresh)
            }
            Sitemap::News { lang } => {
                let lang = st.reader_chain(c, lang)?.remove(0);
                let xml = sitemaps::news(c, &st.config, &lang)?;
                // Stories leave it as they pass 48 hours, without any change.
                let fresh = Fresh::document(xml.into_bytes(), XML)
                    .expires_after(std::time::Duration::from_secs(300));
                (lang, fresh)
            }
        };
        Ok(fresh.tags([keys::ARTICLES.to_owned(), keys::lang(&lang)]))
    })
    .await
}
