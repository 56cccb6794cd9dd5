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

use std::collections::HashMap;

use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::articles::{Byline, Image};
use crate::content::cache::PerGeneration;
use crate::content::queries::{
    self, arrange_tags, Alternate, ArticleItem, ItemStory, ItemTag, Listed, View,
};
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

#[derive(Serialize, Deserialize)]
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

    fn item(&self, card: Card, chain: &[String], site: &str) -> AppResult<ArticleItem> {
        let tags = card.tags.iter().filter_map(|id| {
            let (tag, names) = self.tags.get(id)?;
            Some((*id, ItemTag::new(tag, names, chain)))
        });
        let story = ItemStory {
            kind: &card.kind,
            featured: card.featured,
            image: card.image.clone(),
            tags: arrange_tags(tags, card.primary_tag),
            bylines: card
                .bylines
                .iter()
                .filter_map(|id| {
                    Some(Byline {
                        id: *id,
                        display_name: self.people.get(id)?.clone(),
                    })
                })
                .collect(),
            translations: self
                .languages
                .iter()
                .filter_map(|lang| {
                    let (_, slug) = card.translations.iter().find(|(l, _)| l == lang)?;
                    Some(Alternate {
                        lang: lang.clone(),
                        slug: slug.clone(),
                    })
                })
                .collect(),
        };
        ArticleItem::new(&card.row, story, site)
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

/// Search results `ids` (published translations) as items in that order, each with a snippet
/// for the query `q`: from their cards, and the few without one from their tables.
pub fn search_items(
    conn: &mut DbConn,
    ids: &[i64],
    q: &str,
    view: &View,
    directory: &DirectoryCache,
) -> AppResult<Vec<ArticleItem>> {
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
    let mut found: HashMap<i64, ArticleItem> = HashMap::with_capacity(rows.len());
    if !rows.is_empty() {
        let dir = directory.get(view.generation, || Directory::load(conn))?;
        let marker = search::Marker::new(q);
        for (id, packed) in rows {
            let (plain, split) = unpack(&packed)?;
            let card = serde_json::from_slice(&plain[..split])?;
            let mut item = dir.item(card, view.chain, view.site)?;
            item.snippet = Some(marker.snippet(&plain[split + 1..]));
            found.insert(id, item);
        }
    }
    let missing: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|id| !found.contains_key(id))
        .collect();
    if !missing.is_empty() {
        let rows = queries::listed_by_ids(conn, &missing)?;
        let mut snippets = search::snippets(conn, q, &missing)?;
        let items = queries::items(conn, &rows, view)?;
        for (mut item, row) in items.into_iter().zip(&rows) {
            item.snippet = Some(snippets.remove(&row.id).unwrap_or_default());
            found.insert(row.id, item);
        }
    }
    Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
}
