//! Search results shown from their item cards, which the change pipeline writes
//! (`articles::projections::cards`). What cards name but do not hold — tag names, people's
//! names, which languages are enabled and in what order — is joined here, from a
//! [`Directory`] read once per cache generation; a tag deleted since is left out, as the
//! database leaves it out. A translation without a card (an archive whose cards are still
//! being written by the backfill) is shown the slower way, from its tables.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::articles::projections::cards::unpack;
use crate::articles::ArticleType;
use crate::cache::Generational;
use crate::content::queries::{self, arrange_tags, ArticleItem, ItemTag, View};
use crate::content::search;
use crate::db::schema::{tags as tags_table, users};
use crate::db::{specific, DbConn};
use crate::db_run;
use crate::error::{AppError, AppResult};
use crate::media::ShownImage;
use crate::tags::{Tag, TagName};

/// What cards name but do not hold, as one cache generation reads it: every tag with its
/// names, every person's display name, and the enabled languages in switcher order.
pub struct Directory {
    tags: HashMap<i64, (Tag, Vec<TagName>)>,
    people: HashMap<i64, String>,
    languages: Vec<String>,
}

impl Directory {
    fn load(conn: &mut DbConn) -> AppResult<Directory> {
        let all: Vec<Tag> = db_run!(conn, |c| tags_table::table.select(Tag::as_select()).load(c))?;
        let mut names = crate::tags::all_names(conn)?;
        let people: Vec<(i64, String)> = db_run!(conn, |c| users::table
            .select((users::id, users::display_name))
            .load(c))?;
        Ok(Directory {
            tags: all
                .into_iter()
                .map(|t| {
                    let n = names.remove(&t.id).unwrap_or_default();
                    (t.id, (t, n))
                })
                .collect(),
            people: people.into_iter().collect(),
            languages: crate::languages::list(conn, true)?
                .into_iter()
                .map(|l| l.code)
                .collect(),
        })
    }

    /// A search result from its card, named for `chain`, with its snippet.
    fn item_out<'a>(
        &'a self,
        card: CardRead<'a>,
        chain: &[String],
        site: &str,
        media: &str,
        snippet: Box<RawValue>,
    ) -> AppResult<ItemOut<'a>> {
        let tags = card.tags.iter().filter_map(|id| {
            let (tag, names) = self.tags.get(id)?;
            let tag = TagOut {
                slug: &tag.slug,
                kind: &tag.kind,
                name: ItemTag::name(tag, names, chain),
            };
            Some((*id, tag))
        });
        let (primary_tag, tags) = arrange_tags(tags, card.primary_tag);
        let row = card.row;
        Ok(ItemOut {
            id: row.article_id,
            url: queries::canonical_url(site, &row.lang, &row.slug),
            lang: row.lang,
            slug: row.slug,
            title: row.title,
            subtitle: row.subtitle,
            excerpt: row.excerpt,
            kind: ArticleType::from_db(&card.kind)?,
            featured: card.featured,
            primary_tag,
            tags,
            bylines: card
                .bylines
                .iter()
                .filter_map(|id| {
                    Some(BylineOut {
                        id: *id,
                        display_name: self.people.get(id)?,
                    })
                })
                .collect(),
            image: card.image.map(|mut image| {
                image.rebase(media);
                image
            }),
            reading_minutes: row.reading_minutes,
            published_at: row.published_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
            translations: self
                .languages
                .iter()
                .filter_map(|lang| {
                    let (_, slug) = card.translations.iter().find(|(l, _)| l.0 == *lang)?;
                    Some(AlternateOut { lang, slug })
                })
                .collect(),
            snippet,
        })
    }
}

/// Each node's [`Directory`] for the current cache generation.
pub type DirectoryCache = Generational<Directory>;

/// A page of search results as read: each card's JSON and lead, decompressed, and the few
/// results without a card as items from their tables. [`SearchResults::items`] shows them
/// borrowing from here, so a result's strings are not copied on their way to the response.
pub struct SearchResults {
    ids: Vec<i64>,
    cards: HashMap<i64, (Vec<u8>, usize)>,
    from_tables: HashMap<i64, ArticleItem>,
    directory: Option<Arc<Directory>>,
    marker: search::Marker,
}

/// Search results `ids` (published translations), in that order, each to get a snippet for
/// the query `q`: from their cards, and the few without one from their tables.
pub fn search_items(
    conn: &mut DbConn,
    ids: &[i64],
    q: &str,
    view: &View,
    directory: &DirectoryCache,
) -> AppResult<SearchResults> {
    let rows = specific::item_cards(conn, ids)?;
    let marker = search::Marker::new(q);
    let mut cards = HashMap::with_capacity(rows.len());
    for (id, packed) in rows {
        cards.insert(id, unpack(&packed)?);
    }
    let directory = if cards.is_empty() {
        None
    } else {
        Some(directory.get(view.generation, || Directory::load(conn))?)
    };
    let missing: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|id| !cards.contains_key(id))
        .collect();
    let mut from_tables = HashMap::new();
    if !missing.is_empty() {
        let rows = queries::listed_by_ids(conn, &missing)?;
        let mut snippets = search::snippets(conn, q, &missing)?;
        let items = queries::items(conn, &rows, view)?;
        for (mut item, row) in items.into_iter().zip(&rows) {
            item.snippet = Some(snippets.remove(&row.id).unwrap_or_default());
            from_tables.insert(row.id, item);
        }
    }
    Ok(SearchResults {
        ids: ids.to_vec(),
        cards,
        from_tables,
        directory,
        marker,
    })
}

impl SearchResults {
    /// The results as a list shows them, with their snippets, in the search's order; a
    /// result unpublished since it was found is left out.
    pub fn items(
        &self,
        chain: &[String],
        site: &str,
        media: &str,
    ) -> AppResult<Vec<SearchItem<'_>>> {
        let mut out = Vec::with_capacity(self.ids.len());
        for id in &self.ids {
            if let (Some((plain, split)), Some(dir)) = (self.cards.get(id), &self.directory) {
                // One check that the card is UTF-8, where reading it as bytes checked every
                // string it borrowed on its own.
                let json = std::str::from_utf8(&plain[..*split])
                    .map_err(|e| AppError::Internal(format!("item card: {e}")))?;
                let card: CardRead = serde_json::from_str(json)?;
                let snippet = self.marker.snippet_json(&plain[split + 1..])?;
                out.push(SearchItem::Card(
                    dir.item_out(card, chain, site, media, snippet)?,
                ));
            } else if let Some(item) = self.from_tables.get(id) {
                out.push(SearchItem::Table(item));
            }
        }
        Ok(out)
    }
}

/// A search result in a response: shown from its card, or from its tables. (A page holds at
/// most a hundred, in one vector: the size of the larger variant costs nothing a box would
/// not cost more.)
#[allow(clippy::large_enum_variant)]
pub enum SearchItem<'a> {
    Card(ItemOut<'a>),
    Table(&'a ArticleItem),
}

impl Serialize for SearchItem<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            SearchItem::Card(item) => item.serialize(s),
            SearchItem::Table(item) => item.serialize(s),
        }
    }
}

/// A string of a card as read: borrowed from the decompressed card, unless JSON escaped it.
/// (serde borrows a `Cow<str>` only as a field of its own, marked `borrow`; within a tuple or
/// a vector it always copies.)
struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(s.to_owned())))
            }
        }
        d.deserialize_str(Visit)
    }
}

/// A [`Card`] as read for a search result, its strings borrowed.
#[derive(Deserialize)]
struct CardRead<'a> {
    #[serde(borrow)]
    row: RowRead<'a>,
    #[serde(borrow)]
    kind: Cow<'a, str>,
    featured: bool,
    primary_tag: Option<i64>,
    tags: Vec<i64>,
    bylines: Vec<i64>,
    image: Option<ShownImage>,
    #[serde(borrow)]
    translations: Vec<(Text<'a>, &'a RawValue)>,
}

/// The [`Listed`] row of a card, as read. Its longest strings, which a response shows as they
/// are, stay the JSON strings serde_json wrote into the card, escaped once: the response
/// copies them as they stand rather than reading and escaping them again.
#[derive(Deserialize)]
struct RowRead<'a> {
    article_id: i64,
    #[serde(borrow)]
    lang: Cow<'a, str>,
    #[serde(borrow)]
    slug: Cow<'a, str>,
    #[serde(borrow)]
    title: &'a RawValue,
    #[serde(borrow)]
    subtitle: &'a RawValue,
    #[serde(borrow)]
    excerpt: &'a RawValue,
    reading_minutes: i32,
    published_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
}

/// A search result shown from its card: [`ArticleItem`]'s fields in its order, with the same
/// names and values (a test compares the two), borrowed from the card and the directory.
#[derive(Serialize)]
pub struct ItemOut<'a> {
    id: i64,
    lang: Cow<'a, str>,
    slug: Cow<'a, str>,
    title: &'a RawValue,
    subtitle: &'a RawValue,
    excerpt: &'a RawValue,
    #[serde(rename = "type")]
    kind: ArticleType,
    featured: bool,
    primary_tag: Option<TagOut<'a>>,
    tags: Vec<TagOut<'a>>,
    bylines: Vec<BylineOut<'a>>,
    image: Option<ShownImage>,
    reading_minutes: i32,
    published_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
    url: String,
    translations: Vec<AlternateOut<'a>>,
    snippet: Box<RawValue>,
}

/// [`ItemTag`], borrowed.
#[derive(Serialize, Clone, Copy)]
struct TagOut<'a> {
    slug: &'a str,
    kind: &'a str,
    name: &'a str,
}

/// [`Byline`], borrowed.
#[derive(Serialize)]
struct BylineOut<'a> {
    id: i64,
    display_name: &'a str,
}

/// [`Alternate`], borrowed; the slug as the card's JSON string.
#[derive(Serialize)]
struct AlternateOut<'a> {
    lang: &'a str,
    slug: &'a RawValue,
}
