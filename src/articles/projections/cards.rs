//! Item cards: each published translation as a list item shows it, kept in one small row, so
//! that a search result costs one indexed read instead of its story, tags, bylines, sibling
//! translations and a whole body.
//!
//! A card holds what belongs to the story and its translations: the translation's own fields,
//! the story's type, image and `featured` flag, the ids of its tags and bylines in order, its
//! published translations, and the start of the translation's text for snippets. The change
//! pipeline rewrites a story's cards in the transaction of every change to any of those
//! ([`refresh`]). What other objects own — tag names, people's names, which languages are
//! enabled and in what order — is joined when a card is shown (`content::cards`).

use std::collections::HashMap;

use diesel::prelude::*;
use serde::Serialize;

use crate::articles::published::{self, Listed};
use crate::db::schema::item_cards;
use crate::db::schema::published_translations as pt;
use crate::db::{specific, Database, DbConn};
use crate::db_run;
use crate::error::{AppError, AppResult};
use crate::html;
use crate::media::ShownImage;

/// How much of a story's text a card keeps for snippets, in bytes.
pub const LEAD_BYTES: usize = 3 * 1024;

/// The start of a body's text that snippets are cut from.
pub fn lead(body: &str) -> String {
    let text = html::text_of(html::prefix(body, 2 * LEAD_BYTES));
    html::prefix(&text, LEAD_BYTES).to_owned()
}

/// What a card holds, as written. The read side reads it back with borrowing types of its own
/// (`content::cards`), field for field.
#[derive(Serialize)]
struct Card {
    row: Listed,
    kind: String,
    featured: bool,
    primary_tag: Option<i64>,
    tags: Vec<i64>,
    bylines: Vec<i64>,
    /// In the translation's language, URLs relative to the media base.
    image: Option<ShownImage>,
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

/// A packed card's JSON and lead, as bytes, and where the lead starts.
pub fn unpack(packed: &[u8]) -> AppResult<(Vec<u8>, usize)> {
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
    // Two editors saving translations of one story at once: the second rewrites its cards
    // after the first has committed, and sees both changes.
    specific::lock_articles(conn, &ids)?;
    let rows: Vec<(Listed, String)> = db_run!(conn, |c| pt::table
        .filter(pt::article_id.eq_any(&ids))
        .order(pt::id)
        .select((Listed::as_select(), pt::body))
        .load(c))?;
    let parts = published::story_parts(conn, article_ids)?;
    // Only an image's texts are chosen through a language's chain.
    let languages = if parts.articles.values().any(|f| f.image.is_some()) {
        crate::languages::list(conn, true)?
    } else {
        Vec::new()
    };
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
            image: facts.image.as_ref().map(|image| {
                let chain = crate::languages::chain_in(&languages, &row.lang)
                    .unwrap_or_else(|| vec![row.lang.clone()]);
                image.shown(&chain)
            }),
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
        let stories = specific::published_stories_after(&mut conn, after, STORIES_PER_STEP)?;
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
