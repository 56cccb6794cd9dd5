//! The Content API's reads. Every query starts from `published_translations`.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::articles::published::{story_parts, StoryFacts};
pub use crate::articles::published::{Full, Listed};
use crate::articles::{ArticleType, Byline};
use crate::cache::keys;
use crate::cache::GenerationalMap;
use crate::db::schema::published_translations as pt;
use crate::db::schema::{article_bylines, article_tags, articles, live_entries, translation_slugs};
use crate::db::{specific, DbConn};
use crate::db_run;
use crate::error::{AppError, AppResult};
use crate::media::ShownImage;
use crate::pagination::{KeyCursor, Limit, PUBLISHED};
use crate::tags::{Tag, TagName};

/// How a list is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    NewestFirst,
    OldestFirst,
}

impl Sort {
    pub const ALLOWED: &'static str = "-published_at, published_at";
    /// A cursor this list returned in this order.
    pub fn parse_cursor(self, raw: Option<&str>) -> AppResult<Option<KeyCursor>> {
        KeyCursor::parse(raw, PUBLISHED, self as u8)
    }

    pub fn parse(raw: Option<&str>) -> AppResult<Sort> {
        match raw.unwrap_or("-published_at") {
            "-published_at" => Ok(Sort::NewestFirst),
            "published_at" => Ok(Sort::OldestFirst),
            _ => Err(AppError::bad_parameter(
                "sort",
                format!("must be one of {}", Self::ALLOWED),
            )),
        }
    }
}

/// Filters of the public lists; `lang` is always one.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub lang: String,
    pub tag_id: Option<i64>,
    pub kind: Option<ArticleType>,
    pub author: Option<i64>,
    pub featured: Option<bool>,
    pub published_after: Option<NaiveDateTime>,
    pub published_before: Option<NaiveDateTime>,
    /// Only these translations (search results).
    pub ids: Option<Vec<i64>>,
}

/// A page of published translations matching `f`.
pub fn list(
    conn: &mut DbConn,
    f: &Filter,
    sort: Sort,
    cursor: Option<KeyCursor>,
    fetch: i64,
) -> AppResult<Vec<Listed>> {
    let f = f.clone();
    Ok(db_run!(conn, |c| {
        let mut q = pt::table
            .filter(pt::lang.eq(f.lang.clone()))
            .select(Listed::as_select())
            .into_boxed();
        if let Some(tag) = f.tag_id {
            q = q.filter(
                pt::article_id.eq_any(
                    article_tags::table
                        .filter(article_tags::tag_id.eq(tag))
                        .select(article_tags::article_id),
                ),
            );
        }
        if f.kind.is_some() || f.featured.is_some() {
            let mut a = articles::table.select(articles::id).into_boxed();
            if let Some(kind) = f.kind {
                a = a.filter(articles::kind.eq(kind.as_str()));
            }
            if let Some(featured) = f.featured {
                a = a.filter(articles::featured.eq(featured));
            }
            q = q.filter(pt::article_id.eq_any(a));
        }
        if let Some(author) = f.author {
            q = q.filter(
                pt::article_id.eq_any(
                    article_bylines::table
                        .filter(article_bylines::user_id.eq(author))
                        .select(article_bylines::article_id),
                ),
            );
        }
        if let Some(after) = f.published_after {
            q = q.filter(pt::published_at.gt(after));
        }
        if let Some(before) = f.published_before {
            q = q.filter(pt::published_at.lt(before));
        }
        if let Some(ids) = &f.ids {
            q = q.filter(pt::id.eq_any(ids.clone()));
        }
        q = match (sort, cursor) {
            (Sort::NewestFirst, Some(k)) => q.filter(
                pt::published_at
                    .lt(k.at)
                    .or(pt::published_at.eq(k.at).and(pt::id.lt(k.id))),
            ),
            (Sort::OldestFirst, Some(k)) => q.filter(
                pt::published_at
                    .gt(k.at)
                    .or(pt::published_at.eq(k.at).and(pt::id.gt(k.id))),
            ),
            (_, None) => q,
        };
        q = match sort {
            Sort::NewestFirst => q.order((pt::published_at.desc(), pt::id.desc())),
            Sort::OldestFirst => q.order((pt::published_at.asc(), pt::id.asc())),
        };
        q.limit(fetch).load(c)
    })?)
}

pub fn by_slug(conn: &mut DbConn, lang: &str, slug: &str) -> AppResult<Option<Full>> {
    let (lang, slug) = (lang.to_owned(), slug.to_owned());
    Ok(db_run!(conn, |c| pt::table
        .filter(pt::lang.eq(&lang))
        .filter(pt::slug.eq(&slug))
        .select(Full::as_select())
        .first(c)
        .optional())?)
}

pub fn by_id(conn: &mut DbConn, id: i64) -> AppResult<Option<Full>> {
    Ok(db_run!(conn, |c| pt::table
        .find(id)
        .select(Full::as_select())
        .first(c)
        .optional())?)
}

/// Whether the translation that holds or held a slug was ever published under it: only such
/// slugs were public, and only they redirect. A slug a draft had (a working headline) stays
/// unknown to readers.
fn was_public() -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
        "EXISTS (SELECT 1 FROM revisions AS r \
         WHERE r.translation_id = translation_slugs.translation_id \
         AND r.slug = translation_slugs.slug AND r.status = '{}')",
        crate::articles::Status::Published.as_str()
    ))
}

/// The published translation an old slug in `lang` belonged to, with its current slug.
pub fn renamed(conn: &mut DbConn, lang: &str, slug: &str) -> AppResult<Option<String>> {
    let (lang, slug) = (lang.to_owned(), slug.to_owned());
    Ok(db_run!(conn, |c| translation_slugs::table
        .inner_join(pt::table.on(pt::id.eq(translation_slugs::translation_id)))
        .filter(translation_slugs::lang.eq(&lang))
        .filter(translation_slugs::slug.eq(&slug))
        .filter(was_public())
        .select(pt::slug)
        .first(c)
        .optional())?)
}

/// The story a slug, current or old, names in any language, when it has a published
/// translation that was published under that slug.
pub fn story_of_slug(conn: &mut DbConn, slug: &str) -> AppResult<Option<i64>> {
    let slug = slug.to_owned();
    Ok(db_run!(conn, |c| translation_slugs::table
        .inner_join(pt::table.on(pt::id.eq(translation_slugs::translation_id)))
        .filter(translation_slugs::slug.eq(&slug))
        .filter(was_public())
        .select(pt::article_id)
        .first(c)
        .optional())?)
}

/// The published translations with these ids, in the order given.
pub fn listed_by_ids(conn: &mut DbConn, ids: &[i64]) -> AppResult<Vec<Listed>> {
    let wanted = ids.to_vec();
    let rows: Vec<Listed> = db_run!(conn, |c| pt::table
        .filter(pt::id.eq_any(&wanted))
        .select(Listed::as_select())
        .load(c))?;
    let mut by_id: HashMap<i64, Listed> = rows.into_iter().map(|r| (r.id, r)).collect();
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

/// Stories sharing tags with `article_id` in `lang`, best first: more shared tags first, then
/// newer. Looks at the newest few stories per tag, so the cost stays bounded however large the
/// archive grows.
pub fn related(
    conn: &mut DbConn,
    article_id: i64,
    lang: &str,
    limit: usize,
) -> AppResult<Vec<Listed>> {
    const PER_TAG: i64 = 40;
    let tag_ids: Vec<i64> = db_run!(conn, |c| article_tags::table
        .filter(article_tags::article_id.eq(article_id))
        .select(article_tags::tag_id)
        .load(c))?;
    let mut score: HashMap<i64, (usize, Listed)> = HashMap::new();
    for tag in tag_ids {
        let f = Filter {
            lang: lang.to_owned(),
            tag_id: Some(tag),
            ..Filter::default()
        };
        for row in list(conn, &f, Sort::NewestFirst, None, PER_TAG)? {
            if row.article_id != article_id {
                score.entry(row.id).or_insert((0, row)).0 += 1;
            }
        }
    }
    let mut ranked: Vec<(usize, Listed)> = score.into_values().collect();
    ranked.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then(b.1.published_at.cmp(&a.1.published_at))
            .then(b.1.id.cmp(&a.1.id))
    });
    Ok(ranked.into_iter().take(limit).map(|(_, r)| r).collect())
}

/// A live entry as readers see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicEntry {
    pub id: i64,
    /// Sanitized HTML.
    pub body: String,
    pub pinned: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// Entries of a published translation, newest first, newer than `since` (an entry id).
pub fn entries(
    conn: &mut DbConn,
    translation_id: i64,
    since: Option<i64>,
    limit: i64,
) -> AppResult<Vec<PublicEntry>> {
    let rows: Vec<(i64, String, bool, NaiveDateTime, NaiveDateTime)> = db_run!(conn, |c| {
        let mut q = live_entries::table
            .inner_join(pt::table.on(pt::id.eq(live_entries::translation_id)))
            .filter(live_entries::translation_id.eq(translation_id))
            .select((
                live_entries::id,
                live_entries::body,
                live_entries::pinned,
                live_entries::created_at,
                live_entries::updated_at,
            ))
            .into_boxed();
        if let Some(since) = since {
            q = q.filter(live_entries::id.gt(since));
        }
        q.order(live_entries::id.desc()).limit(limit).load(c)
    })?;
    Ok(rows
        .into_iter()
        .map(|(id, body, pinned, created, updated)| PublicEntry {
            id,
            body,
            pinned,
            created_at: created.and_utc(),
            updated_at: updated.and_utc(),
        })
        .collect())
}

/// A published translation of the same story, for the language switcher.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Alternate {
    #[schema(example = "ru")]
    pub lang: String,
    pub slug: String,
}

/// Where a story is published, with its canonical address there (for a 404's `available`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Availability {
    #[schema(example = "ru")]
    pub lang: String,
    pub slug: String,
    pub url: String,
}

/// A tag on a story in a list: what a frontend shows and links.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ItemTag {
    #[schema(example = "georgia-russia")]
    pub slug: String,
    #[schema(example = "topic", pattern = "^[a-z][a-z0-9-]{0,31}$")]
    pub kind: String,
    /// Plain text: frontends escape it; it never holds markup.
    #[schema(example = "Georgia–Russia")]
    pub name: String,
}

impl ItemTag {
    /// `tag` named as [`PublicTag`](crate::tags::PublicTag) names it, without the description
    /// a list does not show.
    pub fn new(tag: &Tag, names: &[TagName], chain: &[String]) -> Self {
        ItemTag {
            slug: tag.slug.clone(),
            kind: tag.kind.clone(),
            name: Self::name(tag, names, chain).to_owned(),
        }
    }

    /// The name an item shows for `tag`: its name in the first language of `chain` that has
    /// one, or its slug when it has none.
    pub fn name<'a>(tag: &'a Tag, names: &'a [TagName], chain: &[String]) -> &'a str {
        crate::tags::localize(names, chain).map_or(&tag.slug, |n| &n.name)
    }
}

/// A story in a list, in one language.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ArticleItem {
    /// The story's id, the same in every language.
    pub id: i64,
    #[schema(example = "en")]
    pub lang: String,
    pub slug: String,
    /// Plain text: frontends escape it; it never holds markup.
    pub title: String,
    /// Plain text: frontends escape it; it never holds markup.
    pub subtitle: String,
    /// Plain text: frontends escape it; it never holds markup.
    pub excerpt: String,
    #[serde(rename = "type")]
    pub kind: ArticleType,
    pub featured: bool,
    pub primary_tag: Option<ItemTag>,
    /// The primary tag first; named in the requested language, through its fallback chain.
    pub tags: Vec<ItemTag>,
    pub bylines: Vec<Byline>,
    /// The featured image in this item's language.
    pub image: Option<ShownImage>,
    pub reading_minutes: i32,
    pub published_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// The canonical address on the newsroom's site.
    pub url: String,
    /// Every language the story is published in, this one included.
    pub translations: Vec<Alternate>,
    /// For search results: where the words were found, with `<mark>` around them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snippet: Option<String>,
}

pub fn canonical_url(site: &str, lang: &str, slug: &str) -> String {
    format!("{site}/{lang}/{slug}")
}

/// What an item shows of its story, already named for the reader.
pub(crate) struct ItemStory<'a> {
    pub kind: &'a str,
    pub featured: bool,
    pub image: Option<ShownImage>,
    /// The primary tag, and every tag with the primary first.
    pub tags: (Option<ItemTag>, Vec<ItemTag>),
    pub bylines: Vec<Byline>,
    pub translations: Vec<Alternate>,
}

impl ArticleItem {
    pub(crate) fn new(row: &Listed, story: ItemStory, site: &str) -> AppResult<ArticleItem> {
        let (primary_tag, tags) = story.tags;
        Ok(ArticleItem {
            id: row.article_id,
            lang: row.lang.clone(),
            slug: row.slug.clone(),
            title: row.title.clone(),
            subtitle: row.subtitle.clone(),
            excerpt: row.excerpt.clone(),
            kind: ArticleType::from_db(story.kind)?,
            featured: story.featured,
            primary_tag,
            tags,
            bylines: story.bylines,
            image: story.image,
            reading_minutes: row.reading_minutes,
            published_at: row.published_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
            url: canonical_url(site, &row.lang, &row.slug),
            translations: story.translations,
            snippet: None,
        })
    }
}

/// A story's tags in position order, arranged for an item: the primary one first, and also
/// on its own. A primary tag that is not among them (a tag deleted since) gives way to the
/// first, as it does in the database.
pub(crate) fn arrange_tags<T: Clone>(
    tags: impl Iterator<Item = (i64, T)>,
    primary: Option<i64>,
) -> (Option<T>, Vec<T>) {
    let mut all: Vec<(i64, T)> = tags.collect();
    let lead = primary.map(|p| all.iter().position(|(id, _)| *id == p).unwrap_or(0));
    if let Some(at) = lead.filter(|at| *at < all.len()) {
        let first = all.remove(at);
        all.insert(0, first);
        let tags: Vec<T> = all.into_iter().map(|(_, t)| t).collect();
        return (tags.first().cloned(), tags);
    }
    (None, all.into_iter().map(|(_, t)| t).collect())
}

/// The languages an item's image texts are looked for in: its own, then the reader's chain.
pub(crate) fn image_chain(lang: &str, chain: &[String]) -> Vec<String> {
    let mut out = vec![lang.to_owned()];
    out.extend(chain.iter().filter(|l| *l != lang).cloned());
    out
}

/// What a page of items carries besides their own rows, loaded in a few queries for the page.
pub struct Decorations {
    articles: HashMap<i64, StoryFacts>,
    tags: HashMap<i64, Vec<Tag>>,
    names: HashMap<i64, Vec<crate::tags::TagName>>,
    bylines: HashMap<i64, Vec<(Byline, NaiveDateTime)>>,
    alternates: HashMap<i64, Vec<(String, String)>>,
}

/// Names are read in the languages of `chain` only.
pub fn decorations(
    conn: &mut DbConn,
    article_ids: &[i64],
    chain: &[String],
) -> AppResult<Decorations> {
    let parts = story_parts(conn, article_ids)?;
    let mut tag_ids: Vec<i64> = parts.tags.values().flatten().map(|t| t.id).collect();
    tag_ids.sort_unstable();
    tag_ids.dedup();
    let mut alternates: HashMap<i64, Vec<(String, String)>> = HashMap::new();
    for (article, lang, slug) in specific::alternates(conn, article_ids)? {
        alternates.entry(article).or_default().push((lang, slug));
    }
    Ok(Decorations {
        articles: parts.articles,
        tags: parts.tags,
        names: crate::tags::names_in(conn, &tag_ids, chain)?,
        bylines: parts.bylines,
        alternates,
    })
}

impl Decorations {
    /// `row` as a list item, with names in the first language of `chain` that has them.
    pub fn item(
        &self,
        row: &Listed,
        chain: &[String],
        site: &str,
        media: &str,
    ) -> AppResult<ArticleItem> {
        let facts = self
            .articles
            .get(&row.article_id)
            .ok_or_else(|| AppError::Internal(format!("story {} vanished", row.article_id)))?;
        let story_tags = self
            .tags
            .get(&row.article_id)
            .map_or(&[][..], Vec::as_slice);
        let tags = story_tags.iter().map(|t| {
            let names = self.names.get(&t.id).map_or(&[][..], Vec::as_slice);
            (t.id, ItemTag::new(t, names, chain))
        });
        ArticleItem::new(
            row,
            ItemStory {
                kind: &facts.kind,
                featured: facts.featured,
                image: facts.image.as_ref().map(|image| {
                    let mut shown = image.shown(&image_chain(&row.lang, chain));
                    shown.rebase(media);
                    shown
                }),
                tags: arrange_tags(tags, facts.primary_tag),
                bylines: self
                    .bylines
                    .get(&row.article_id)
                    .map(|b| b.iter().map(|(b, _)| b.clone()).collect())
                    .unwrap_or_default(),
                translations: self
                    .alternates
                    .get(&row.article_id)
                    .map(|alts| {
                        alts.iter()
                            .map(|(lang, slug)| Alternate {
                                lang: lang.clone(),
                                slug: slug.clone(),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            },
            site,
        )
    }

    /// The newest change among what an item of `article_id` shows besides its own row.
    pub fn modified(&self, article_id: i64) -> Option<NaiveDateTime> {
        let story = self.articles.get(&article_id).map(|a| a.updated_at);
        let tags = self
            .tags
            .get(&article_id)
            .and_then(|t| t.iter().map(|t| t.updated_at).max());
        let bylines = self
            .bylines
            .get(&article_id)
            .and_then(|b| b.iter().map(|(_, at)| *at).max());
        [story, tags, bylines].into_iter().flatten().max()
    }

    /// The ids of the tags story `article_id` carries.
    pub fn tag_ids(&self, article_id: i64) -> Vec<i64> {
        self.tags
            .get(&article_id)
            .map(|t| t.iter().map(|t| t.id).collect())
            .unwrap_or_default()
    }

    /// Cache tags naming what an item of `article_id` shows.
    pub fn keys(&self, article_id: i64) -> Vec<String> {
        let mut keys = vec![keys::article(article_id)];
        if let Some(tags) = self.tags.get(&article_id) {
            keys.extend(tags.iter().map(|t| keys::tag(&t.slug)));
        }
        keys
    }
}

/// Items already made in the current cache generation, by translation and the language they
/// were named for: lists, searches, tag pages and article pages share them, so a page whose
/// stories were shown elsewhere is made without reading their tags, bylines and translations.
pub type ItemCache = GenerationalMap<(i64, String), ArticleItem>;

/// Items kept at most (a few MB); beyond, the cache starts afresh.
pub const MAX_ITEMS: usize = 5_000;

/// How items are made for one request: named through `chain`, linked to `site`, shared
/// through `cache` within `generation`.
pub struct View<'a> {
    pub chain: &'a [String],
    pub site: &'a str,
    /// The media base: `MEDIA_PUBLIC_URL`, or the API's `/media`.
    pub media: &'a str,
    pub cache: &'a ItemCache,
    pub generation: u64,
}

/// Items for `rows`: from the item cache, the rest decorated in a handful of queries.
pub fn items(conn: &mut DbConn, rows: &[Listed], v: &View) -> AppResult<Vec<ArticleItem>> {
    let lang = v.chain[0].as_str();
    let mut out: Vec<Option<ArticleItem>> = rows
        .iter()
        .map(|r| v.cache.get(v.generation, &(r.id, lang.to_owned())))
        .collect();
    let missing: Vec<&Listed> = rows
        .iter()
        .zip(&out)
        .filter(|(_, o)| o.is_none())
        .map(|(r, _)| r)
        .collect();
    if !missing.is_empty() {
        let ids: Vec<i64> = missing.iter().map(|r| r.article_id).collect();
        let d = decorations(conn, &ids, v.chain)?;
        for (slot, row) in out.iter_mut().zip(rows) {
            if slot.is_none() {
                let item = d.item(row, v.chain, v.site, v.media)?;
                v.cache
                    .put(v.generation, (row.id, lang.to_owned()), item.clone());
                *slot = Some(item);
            }
        }
    }
    Ok(out.into_iter().flatten().collect())
}

/// One page of `rows` (fetched one beyond the page), as items with the cursor that follows.
pub fn page(
    conn: &mut DbConn,
    rows: Vec<Listed>,
    limit: Limit,
    sort: Sort,
    view: &View,
) -> AppResult<(Vec<ArticleItem>, Option<String>)> {
    let (rows, next) = limit.split(rows, |r| KeyCursor {
        at: r.published_at,
        id: r.id,
    });
    Ok((
        items(conn, &rows, view)?,
        next.map(|c| c.encode(PUBLISHED, sort as u8)),
    ))
}

/// The bodies of these published translations, for search snippets.
pub fn bodies(conn: &mut DbConn, ids: &[i64]) -> AppResult<HashMap<i64, String>> {
    let ids = ids.to_vec();
    let rows: Vec<(i64, String)> = db_run!(conn, |c| pt::table
        .filter(pt::id.eq_any(&ids))
        .select((pt::id, pt::body))
        .load(c))?;
    Ok(rows.into_iter().collect())
}

/// The id of the published translation at (`lang`, `slug`).
pub fn id_of(conn: &mut DbConn, lang: &str, slug: &str) -> AppResult<Option<i64>> {
    let (lang, slug) = (lang.to_owned(), slug.to_owned());
    Ok(db_run!(conn, |c| pt::table
        .filter(pt::lang.eq(&lang))
        .filter(pt::slug.eq(&slug))
        .select(pt::id)
        .first(c)
        .optional())?)
}
