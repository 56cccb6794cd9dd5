//! Public feeds and sitemaps: what feed readers, aggregators and search engines read. RSS 2.0,
//! Atom 1.0 and JSON Feed 1.1 of a language, a tag or an author; a sitemap index, sitemaps
//! of at most 50,000 stories with their `hreflang` alternates, and a Google News sitemap.
//! Cached and ETag'd like the rest of the Content API.
//!
//! Feeds and sitemaps are written by hand rather than with an XML library: what they hold is
//! few elements, and every text goes through [`xml::text`], which escapes it and drops what
//! XML 1.0 cannot carry (control characters).

pub mod handlers;
pub mod render;
pub mod sitemaps;
pub mod xml;

use chrono::{DateTime, Utc};

use crate::app::AppState;
use crate::content::queries::{self, ArticleItem, Filter, Sort, View};
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use crate::languages::LanguageCode;
use crate::tags;

/// Stories a feed holds.
pub const FEED_LENGTH: i64 = 50;

/// The three feed formats, by the extension of their path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedFormat {
    Rss,
    Atom,
    Json,
}

impl FeedFormat {
    /// From a path's extension; 404 for any other, as for any path that names nothing.
    pub fn from_extension(ext: &str) -> AppResult<FeedFormat> {
        match ext {
            "rss" => Ok(FeedFormat::Rss),
            "atom" => Ok(FeedFormat::Atom),
            "json" => Ok(FeedFormat::Json),
            other => Err(AppError::NotFound(format!(
                "no `.{}` feed: feeds end in .rss, .atom or .json",
                other.escape_debug()
            ))),
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            FeedFormat::Rss => "rss",
            FeedFormat::Atom => "atom",
            FeedFormat::Json => "json",
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            FeedFormat::Rss => "application/rss+xml; charset=utf-8",
            FeedFormat::Atom => "application/atom+xml; charset=utf-8",
            FeedFormat::Json => "application/feed+json",
        }
    }
}

/// What a feed follows.
#[derive(Debug, Clone)]
pub enum Scope {
    /// Everything published in the language.
    Language,
    /// Stories carrying the tag, by slug.
    Tag(String),
    /// Stories a person is credited on, by account id.
    Author(i64),
}

/// A feed, ready to be written in any format.
pub struct Feed {
    pub title: String,
    pub description: String,
    pub lang: String,
    /// The feed's own address, without its extension.
    pub self_base: String,
    /// The page of the newsroom's site the feed stands for.
    pub home: String,
    pub newsroom: String,
    pub updated: DateTime<Utc>,
    pub entries: Vec<Entry>,
}

/// A story in a feed.
pub struct Entry {
    pub item: ArticleItem,
    /// The whole text (sanitized HTML), when feeds carry it.
    pub body: Option<String>,
    /// A stable identifier, whatever the story's slug becomes.
    pub id: String,
}

/// The feed of `scope` in `lang`, read in one go.
pub fn load(conn: &mut DbConn, st: &AppState, lang: &str, scope: &Scope) -> AppResult<Feed> {
    let chain = st.reader_chain(conn, lang)?;
    let lang = chain[0].clone();
    let config = &st.config;
    let language = crate::languages::find(conn, &LanguageCode::parse(&lang, "lang")?)?
        .ok_or_else(|| AppError::NotFound(format!("no language with code `{lang}`")))?;
    let mut filter = Filter {
        lang: lang.clone(),
        ..Filter::default()
    };
    let newsroom = config.newsroom_name.clone();
    let site = &config.public_site_url;
    let api = &config.public_api_url;
    let (title, description, self_base, home) = match scope {
        Scope::Language => (
            format!("{newsroom} ({})", language.native_name),
            format!("The latest stories of {newsroom} in {}", language.name),
            format!("{api}/api/v1/feeds/{lang}"),
            format!("{site}/{lang}"),
        ),
        Scope::Tag(slug) => {
            let missing = || AppError::NotFound(format!("no tag with slug `{slug}`"));
            let tag = tags::find_by_slug(conn, slug)?.ok_or_else(missing)?;
            if !tags::is_public(conn, tag.id)? {
                return Err(missing());
            }
            filter.tag_id = Some(tag.id);
            let names = tags::names_of(conn, &[tag.id])?;
            let name = names
                .get(&tag.id)
                .and_then(|n| tags::localize(n, &chain))
                .map_or(tag.slug.clone(), |n| n.name.clone());
            (
                format!("{newsroom}: {name}"),
                format!("Stories of {newsroom} filed under {name}"),
                format!("{api}/api/v1/feeds/{lang}/tags/{slug}"),
                format!("{site}/{lang}/tags/{slug}"),
            )
        }
        Scope::Author(id) => {
            let person = crate::users::find(conn, *id)
                .map_err(|_| AppError::NotFound(format!("no author with id {id}")))?;
            filter.author = Some(*id);
            (
                format!("{newsroom}: {}", person.display_name),
                format!("Stories by {} at {newsroom}", person.display_name),
                format!("{api}/api/v1/feeds/{lang}/authors/{id}"),
                format!("{site}/{lang}"),
            )
        }
    };
    let rows = queries::list(conn, &filter, Sort::NewestFirst, None, FEED_LENGTH)?;
    let view = View {
        chain: &chain,
        site,
        media: &st.media.base,
        cache: &st.items,
        generation: st.cache.generation(),
    };
    let items = queries::items(conn, &rows, &view)?;
    let mut bodies = if config.feed_full_text {
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        queries::bodies(conn, &ids)?
    } else {
        Default::default()
    };
    let updated = items
        .iter()
        .map(|i| i.updated_at)
        .max()
        .unwrap_or(language.updated_at.and_utc());
    let mut entries = Vec::with_capacity(items.len());
    for (item, row) in items.into_iter().zip(&rows) {
        let body = match bodies.remove(&row.id) {
            Some(body) => Some(crate::media::body::show(
                conn,
                body,
                &chain,
                &st.media.base,
            )?),
            None => None,
        };
        entries.push(Entry {
            id: crate::syndication::ninjs::uri(config, item.id, &item.lang),
            body,
            item,
        });
    }
    Ok(Feed {
        title,
        description,
        lang,
        self_base,
        home,
        newsroom,
        updated,
        entries,
    })
}
