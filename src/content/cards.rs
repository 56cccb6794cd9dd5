//! Item cards: each published translation as a list item shows it, kept in one small row, so
//! that a search result costs one indexed read instead of its story, tags, bylines, sibling
//! translations and a whole body.
//!
//! A card holds what belongs to the story and its translations: the translation's own fields,
//! the story's type, image and `featured` flag, the ids of its tags and bylines in order, its
//! published translations, and the start of the translation's text for snippets. It is
//! rewritten in the transaction of every change to any of those ([`refresh`]: a translation
//! written, published, unpublished or deleted, story fields edited). What other objects own —
//! tag names, people's names, which languages are enabled and in what order — is joined when a
//! card is shown, from a [`Directory`] read once per cache generation; a tag deleted since is
//! left out, as the database leaves it out. A translation without a card (an archive whose
//! cards are still being written by [`backfill`]) is shown the slower way, from its tables.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::articles::{ArticleType, Image};
use crate::content::cache::PerGeneration;
use crate::content::queries::{self, arrange_tags, ArticleItem, ItemTag, Listed, View};
use crate::content::search;
use crate::db::schema::published_translations as pt;
use crate::db::schema::{articles, item_cards, tags as tags_table, users};
use crate::db::{json_ids, Bind, Database, DbConn, Kept};
use crate::db_run;
use crate::error::{AppError, AppResult};
use crate::html;
use crate::tags::{Tag, TagName};

/// How much of a story's text a card keeps for snippets, in bytes.
pub const LEAD_BYTES: usize = 3 * 1024;

/// The start of a body's text that snippets are cut from.
pub fn lead(body: &str) -> String {
    let text = html::text_of(html::prefix(body, 2 * LEAD_BYTES));
    html::prefix(&text, LEAD_BYTES).to_owned()
}

#[derive(Serialize)]
struct Card {
    row: Listed,
    kind: String,
    featured: bool,
    primary_tag: Option<i64>,
    tags: Vec<i64>,
    bylines: Vec<i64>,
    image: Option<Image>,
    /// Every published translation of the story, this one included: (language, slug).
    translations: Vec<(String, String)>,
}

#[derive(Insertable)]
#[diesel(table_name = item_cards)]
struct NewCard {
    translation_id: i64,
    article_id: i64,
    packed: Vec<u8>,
}

/// A card's JSON and its lead in one LZ4-compressed value, the JSON first and a newline
/// (which JSON text never holds unescaped) between them. Together as text they come to about
/// 4.5 KB, more than a 4 KB SQLite page holds, so every search result cost a page and an
/// overflow page; packed they come to 2–3 KB.
fn pack(card: &str, lead: &str) -> Vec<u8> {
    let mut plain = Vec::with_capacity(card.len() + 1 + lead.len());
    plain.extend_from_slice(card.as_bytes());
    plain.push(b'\n');
    plain.extend_from_slice(lead.as_bytes());
    lz4_flex::compress_prepend_size(&plain)
}

/// A packed card's JSON and lead, as bytes.
fn unpack(packed: &[u8]) -> AppResult<(Vec<u8>, usize)> {
    let plain = lz4_flex::decompress_size_prepended(packed)
        .map_err(|e| AppError::Internal(format!("item card: {e}")))?;
    let split = memchr::memchr(b'\n', &plain)
        .ok_or_else(|| AppError::Internal("item card without its lead".into()))?;
    Ok((plain, split))
}

/// Rewrites the cards of one story. Call in the transaction of every change to it.
pub fn refresh(conn: &mut DbConn, article_id: i64) -> AppResult<()> {
    refresh_many(conn, &[article_id])
}

/// Rewrites the cards of these stories: one per published translation, none for the rest.
pub fn refresh_many(conn: &mut DbConn, article_ids: &[i64]) -> AppResult<()> {
    if article_ids.is_empty() {
        return Ok(());
    }
    let ids = article_ids.to_vec();
    if let DbConn::Postgres(c) = conn {
        // Two editors saving translations of one story at once: the second rewrites its cards
        // after the first has committed, and sees both changes.
        articles::table
            .filter(articles::id.eq_any(&ids))
            .order(articles::id)
            .select(articles::id)
            .for_update()
            .load::<i64>(&mut **c)?;
    }
    let rows: Vec<(Listed, String)> = db_run!(conn, |c| pt::table
        .filter(pt::article_id.eq_any(&ids))
        .order(pt::id)
        .select((Listed::as_select(), pt::body))
        .load(c))?;
    let parts = queries::story_parts(conn, article_ids)?;
    let mut siblings: HashMap<i64, Vec<(String, String)>> = HashMap::new();
    for (row, _) in &rows {
        siblings
            .entry(row.article_id)
            .or_default()
            .push((row.lang.clone(), row.slug.clone()));
    }
    let mut cards = Vec::with_capacity(rows.len());
    for (row, body) in rows {
        let Some(facts) = parts.articles.get(&row.article_id) else {
            continue;
        };
        let card = Card {
            kind: facts.kind.clone(),
            featured: facts.featured,
            primary_tag: facts.primary_tag,
            tags: parts
                .tags
                .get(&row.article_id)
                .map(|t| t.iter().map(|t| t.id).collect())
                .unwrap_or_default(),
            bylines: parts
                .bylines
                .get(&row.article_id)
                .map(|b| b.iter().map(|(b, _)| b.id).collect())
                .unwrap_or_default(),
            image: facts.image.clone(),
            translations: siblings.get(&row.article_id).cloned().unwrap_or_default(),
            row,
        };
        cards.push(NewCard {
            translation_id: card.row.id,
            article_id: card.row.article_id,
            packed: pack(&serde_json::to_string(&card)?, &lead(&body)),
        });
    }
    db_run!(conn, |c| {
        diesel::delete(item_cards::table.filter(item_cards::article_id.eq_any(&ids))).execute(c)?;
        for chunk in cards.chunks(100) {
            diesel::insert_into(item_cards::table)
                .values(chunk)
                .execute(c)?;
        }
        QueryResult::Ok(())
    })?;
    Ok(())
}

/// Writes the cards of an archive from before them, a few hundred stories per transaction,
/// resuming where the last run stopped; returns how many stories it wrote. Once every story
/// has been walked, a run reads one row and returns: from then on every change writes its
/// story's cards itself. Safe to run on several nodes at once.
pub fn backfill(db: &Database) -> AppResult<usize> {
    const STORIES_PER_STEP: i64 = 250;
    use crate::db::schema::item_cards_backfill as progress;
    let mut written = 0;
    loop {
        let mut conn = db.get()?;
        let (after, done): (i64, bool) = db_run!(&mut conn, |c| progress::table
            .find(1)
            .select((progress::after, progress::done))
            .first(c))?;
        if done {
            return Ok(written);
        }
        let stories = published_stories_after(&mut conn, after, STORIES_PER_STEP)?;
        conn.transaction(|c| {
            refresh_many(c, &stories)?;
            let to = stories.last().copied().unwrap_or(after);
            // Never back over a step another node has taken, nor reopen what it finished.
            db_run!(c, |c| diesel::update(
                progress::table
                    .find(1)
                    .filter(progress::after.le(to))
                    .filter(progress::done.eq(false))
            )
            .set((
                progress::after.eq(to),
                progress::done.eq(stories.is_empty())
            ))
            .execute(c))?;
            AppResult::Ok(())
        })?;
        written += stories.len();
        if written % 10_000 < stories.len() {
            tracing::info!(stories = written, "writing item cards");
        }
    }
}

#[derive(QueryableByName)]
struct StoryId {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    article_id: i64,
}

/// Up to `limit` stories with a published translation, by id, after `after`. On SQLite the
/// query names the covering index on published (story, language, slug): its planner would
/// otherwise take the unique (story, language) index and read every row, body and all.
fn published_stories_after(conn: &mut DbConn, after: i64, limit: i64) -> AppResult<Vec<i64>> {
    Ok(match conn {
        DbConn::Sqlite(c) => diesel::sql_query(
            "SELECT DISTINCT article_id FROM translations \
             INDEXED BY translations_published_article \
             WHERE status = 'published' AND article_id > ? ORDER BY article_id LIMIT ?",
        )
        .bind::<diesel::sql_types::BigInt, _>(after)
        .bind::<diesel::sql_types::BigInt, _>(limit)
        .load::<StoryId>(&mut **c)?
        .into_iter()
        .map(|s| s.article_id)
        .collect(),
        DbConn::Postgres(c) => pt::table
            .filter(pt::article_id.gt(after))
            .select(pt::article_id)
            .distinct()
            .order(pt::article_id)
            .limit(limit)
            .load(&mut **c)?,
    })
}

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
            image: card.image,
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
pub type DirectoryCache = PerGeneration<Directory>;

#[derive(QueryableByName)]
struct CardRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    translation_id: i64,
    #[diesel(sql_type = diesel::sql_types::Binary)]
    packed: Vec<u8>,
}

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
    let rows: Vec<(i64, Vec<u8>)> = match conn {
        // One statement text whatever the number of results, which diesel keeps prepared:
        // with one bound parameter per id it prepared the read anew for every page.
        DbConn::Sqlite(c) => {
            let ids = json_ids(ids);
            Kept {
                sql: &[
                    "SELECT translation_id, packed FROM item_cards \
                     WHERE translation_id IN (SELECT value FROM json_each(",
                    "))",
                ],
                binds: vec![Bind::Text(&ids)],
            }
            .load::<CardRow>(&mut **c)?
            .into_iter()
            .map(|r| (r.translation_id, r.packed))
            .collect()
        }
        DbConn::Postgres(c) => item_cards::table
            .filter(item_cards::translation_id.eq_any(ids))
            .select((item_cards::translation_id, item_cards::packed))
            .load(&mut **c)?,
    };
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
    pub fn items(&self, chain: &[String], site: &str) -> AppResult<Vec<SearchItem<'_>>> {
        let mut out = Vec::with_capacity(self.ids.len());
        for id in &self.ids {
            if let (Some((plain, split)), Some(dir)) = (self.cards.get(id), &self.directory) {
                // One check that the card is UTF-8, where reading it as bytes checked every
                // string it borrowed on its own.
                let json = std::str::from_utf8(&plain[..*split])
                    .map_err(|e| AppError::Internal(format!("item card: {e}")))?;
                let card: CardRead = serde_json::from_str(json)?;
                let snippet = self.marker.snippet_json(&plain[split + 1..])?;
                out.push(SearchItem::Card(dir.item_out(card, chain, site, snippet)?));
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
    #[serde(borrow)]
    image: Option<ImageOut<'a>>,
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
    image: Option<ImageOut<'a>>,
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

/// [`Image`], borrowed where it can be.
#[derive(Serialize, Deserialize)]
struct ImageOut<'a> {
    #[serde(borrow)]
    url: Cow<'a, str>,
    #[serde(borrow, default)]
    alt: Cow<'a, str>,
    #[serde(borrow, default)]
    credit: Cow<'a, str>,
}

/// [`Alternate`], borrowed; the slug as the card's JSON string.
#[derive(Serialize)]
struct AlternateOut<'a> {
    lang: &'a str,
    slug: &'a RawValue,
}
