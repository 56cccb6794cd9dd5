//! What the Content API's pages are made of: the article page around its translation (shared by
//! the published page and an editor's preview), the items of "Most read", and the feeds a page
//! names.

use std::time::Duration;

use chrono::{NaiveDateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::AppState;
use crate::articles::ArticleType;
use crate::cache::keys;
use crate::content::article_page::Include;
use crate::content::feed_links::{self, FeedLink};
use crate::content::queries::{self, ArticleItem, Full, PublicEntry, View};
use crate::content::views;
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use crate::prompts::live::{PublicPrompt, StoryContext};
use crate::prompts::{self, Placement};

const RELATED: usize = 5;
/// "Most read" beside an article: the six the seed page shows.
pub const MOST_READ_INCLUDED: i64 = 6;
/// How long a "Most read" list, or a page that includes one, may be kept by this node, clients
/// and CDNs: it moves with every view, but a reader cannot tell a list half a minute old, and a
/// CDN can then absorb a popular page's traffic.
pub const MOST_READ_TTL: Duration = Duration::from_secs(30);
const LIVE_ENTRIES_INCLUDED: i64 = 50;

/// A story read in a language it is published in.
#[derive(Debug, Serialize, ToSchema)]
pub struct MostReadItem {
    #[serde(flatten)]
    pub item: ArticleItem,
    /// Views in the period.
    pub views: i64,
}

/// A whole article page: the translation, and on request what sits around it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ArticleDetail {
    #[serde(flatten)]
    pub item: ArticleItem,
    /// Sanitized HTML.
    pub body: String,
    pub seo_title: String,
    pub seo_description: String,
    pub word_count: i32,
    /// The language asked for.
    #[schema(example = "ka")]
    pub requested_lang: String,
    /// The language served: the one asked for, or with `fallback=true` one from its chain.
    #[schema(example = "ru")]
    pub served_lang: String,
    /// With `include=related`: stories sharing tags, most shared and newest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub related: Option<Vec<ArticleItem>>,
    /// With `include=most_read`: the week's most read in the language.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub most_read: Option<Vec<MostReadItem>>,
    /// With `include=live_entries`: a live story's newest entries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live_entries: Option<Vec<PublicEntry>>,
    /// With `include=donation_prompt`: the prompt resolved for the story's placement, language,
    /// tags and type (rotated by story; `null` when none is eligible). Per-reader rotation is
    /// `/api/v1/donation-prompts/resolve`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<PublicPrompt>)]
    pub donation_prompt: Option<Option<PublicPrompt>>,
    /// The feeds of the language served and of the story's primary tag.
    pub feeds: Vec<FeedLink>,
    /// Only in a draft preview (`/api/v1/preview/{token}`): always `true` there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preview: Option<bool>,
    /// Only in a draft preview: the translation's workflow status (`draft`, `in_review`,
    /// `scheduled`, `published`, `archived`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "draft", value_type = Option<crate::articles::Status>)]
    pub status: Option<String>,
}

/// The placement `include=donation_prompt` resolves a prompt for (`prompt_placement`):
/// `article_end` when not given, 400 naming the parameter when it is not one.
pub fn prompt_placement(raw: Option<&str>) -> AppResult<Placement> {
    match raw {
        None => Ok(Placement::ArticleEnd),
        Some(raw) => Placement::parse(raw)
            .ok_or_else(|| AppError::bad_parameter("prompt_placement", Placement::expected())),
    }
}

/// An article page and what a cache needs to know of it.
pub struct Page {
    pub detail: ArticleDetail,
    /// Its surrogate keys.
    pub keys: Vec<String>,
    /// How long it may be kept, when it holds parts that move on their own (most read, a
    /// prompt's window).
    pub ttl: Option<Duration>,
    /// When what it shows last changed, when nothing in it moves on its own.
    pub modified: Option<NaiveDateTime>,
}

/// The article page of `full` for a reader whose languages are `chain`, with what `include`
/// adds.
pub fn article(
    c: &mut DbConn,
    st: &AppState,
    full: Full,
    chain: &[String],
    include: Include,
    placement: Placement,
) -> AppResult<Page> {
    let row = full.listed.clone();
    let d = queries::decorations(c, &[row.article_id], chain)?;
    let item = d.item(&row, chain, &st.config.public_site_url, &st.media.base)?;
    let is_live = item.kind == ArticleType::Live;
    let primary_tag = item.primary_tag.clone();
    let newest_entry = if is_live {
        queries::entries(c, row.id, None, 1)?
            .first()
            .map(|e| e.updated_at.naive_utc())
    } else {
        None
    };
    let mut keys = d.keys(row.article_id);
    keys.push(keys::translation(row.id));
    keys.push(keys::lang(&row.lang));
    let related = if include.related {
        let rows = queries::related(c, row.article_id, &row.lang, RELATED)?;
        // The page shows these stories' titles and pictures: it is stale when they change.
        keys.extend(rows.iter().map(|r| keys::article(r.article_id)));
        Some(queries::items(c, &rows, &view(st, chain))?)
    } else {
        None
    };
    let most_read = if include.most_read {
        Some(most_read_items(
            c,
            &row.lang,
            7,
            MOST_READ_INCLUDED,
            &view(st, chain),
        )?)
    } else {
        None
    };
    let live_entries = if include.live_entries {
        Some(if is_live {
            queries::entries(c, row.id, None, LIVE_ENTRIES_INCLUDED)?
        } else {
            Vec::new()
        })
    } else {
        None
    };
    let mut prompt_ttl = None;
    let donation_prompt = if include.donation_prompt {
        let story = StoryContext {
            translation_id: row.id,
            article_type: item.kind.as_str().to_owned(),
            tags: item.tags.iter().map(|t| t.slug.clone()).collect(),
        };
        let (prompt, ttl) = prompts::live::for_article(
            c,
            &st.live_prompts,
            st.cache.generation(),
            chain,
            placement,
            &story,
        )?;
        prompt_ttl = ttl;
        Some(prompt)
    } else {
        None
    };
    let served_lang = row.lang.clone();
    let detail = ArticleDetail {
        item,
        body: crate::media::body::show(
            c,
            full.body,
            &queries::image_chain(&served_lang, chain),
            &st.media.base,
        )?,
        seo_title: full.seo_title,
        seo_description: full.seo_description,
        word_count: full.word_count,
        requested_lang: chain[0].clone(),
        served_lang: served_lang.clone(),
        related,
        most_read,
        live_entries,
        donation_prompt,
        feeds: article_feeds(st, &served_lang, primary_tag.as_ref()),
        preview: None,
        status: None,
    };
    if include.donation_prompt {
        keys.push(keys::DONATION_PROMPTS.to_owned());
    }
    // Most read moves with every view; related stories with every publication. A prompt's
    // window opening or closing changes the prompt included.
    let (ttl, modified) = if include.any() {
        let ttl = match (include.most_read, prompt_ttl) {
            (true, Some(t)) => Some(t.min(MOST_READ_TTL)),
            (true, None) => Some(MOST_READ_TTL),
            (false, t) => t,
        };
        (ttl, None)
    } else {
        let modified = [
            Some(row.updated_at),
            d.modified(row.article_id),
            newest_entry,
        ]
        .into_iter()
        .flatten()
        .max();
        (None, modified)
    };
    Ok(Page {
        detail,
        keys,
        ttl,
        modified,
    })
}

/// How this request makes items: `chain` from its language, the node's item cache.
pub fn view<'a>(state: &'a AppState, chain: &'a [String]) -> View<'a> {
    View {
        chain,
        site: &state.config.public_site_url,
        media: &state.media.base,
        cache: &state.items,
        generation: state.cache.generation(),
    }
}

/// The feeds a list names: the language's, or with a tag filter the tag's.
pub fn list_feeds(st: &AppState, lang: &str, tag: Option<&str>) -> Vec<FeedLink> {
    let api = &st.config.public_api_url;
    match tag {
        Some(slug) => feed_links::links(api, &format!("{lang}/tags/{slug}"), slug),
        None => feed_links::links(api, lang, &st.config.newsroom_name),
    }
}

/// The feeds an article page names: its language's and its primary tag's.
pub fn article_feeds(
    st: &AppState,
    lang: &str,
    primary: Option<&queries::ItemTag>,
) -> Vec<FeedLink> {
    let mut links = list_feeds(st, lang, None);
    if let Some(tag) = primary {
        links.extend(feed_links::links(
            &st.config.public_api_url,
            &format!("{lang}/tags/{}", tag.slug),
            &tag.name,
        ));
    }
    links
}

pub fn most_read_items(
    conn: &mut DbConn,
    lang: &str,
    days: i64,
    limit: i64,
    view: &View,
) -> AppResult<Vec<MostReadItem>> {
    let since = Utc::now().date_naive() - chrono::Duration::days(days - 1);
    let counts = views::most_read(conn, lang, since, limit)?;
    let ids: Vec<i64> = counts.iter().map(|(id, _)| *id).collect();
    let rows = queries::listed_by_ids(conn, &ids)?;
    let items = queries::items(conn, &rows, view)?;
    Ok(items
        .into_iter()
        .zip(&rows)
        .map(|(item, row)| MostReadItem {
            item,
            views: counts
                .iter()
                .find(|(id, _)| *id == row.id)
                .map_or(0, |(_, n)| *n),
        })
        .collect())
}
