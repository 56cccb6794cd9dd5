//! The change feed partners follow (`syndication_changes`): one row per story and language,
//! an `upsert` while the translation is published in a syndicated story, a `delete` (a
//! tombstone with its reason) once it no longer is. Each change moves its rows to the head of
//! the feed with the content version it commits with (`seq`). That version's row is locked by
//! every change until it commits, so versions are taken in commit order and a reader that has
//! seen a `seq` has seen every smaller one: no change is skipped, whatever order two editors'
//! transactions run in.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel::upsert::excluded;

use crate::articles::workflow::Status;
use crate::db::schema::translations;
use crate::db::schema::{article_bylines, article_tags, articles, syndication_changes as sc};
use crate::db::{now, DbConn};
use crate::db_run;
use crate::error::AppResult;

pub const UPSERT: &str = "upsert";
pub const DELETE: &str = "delete";

/// Why a translation left the feed.
pub mod reason {
    /// Moved back to draft, review or scheduled.
    pub const UNPUBLISHED: &str = "unpublished";
    pub const ARCHIVED: &str = "archived";
    /// The translation or its story was deleted.
    pub const DELETED: &str = "deleted";
    /// Its story's `syndicate` flag was turned off.
    pub const NOT_SYNDICATED: &str = "not_syndicated";
}

/// Which translations a change touched.
pub enum Touched<'a> {
    /// These translations, by id.
    Translations(&'a [i64]),
    /// Every translation of these stories.
    Stories(&'a [i64]),
}

/// Brings the rows of the touched translations in step with them: an upsert for each that is
/// published in a syndicated story (its text or facts may have changed), a tombstone for each
/// that partners had and may no longer have.
pub fn sync(conn: &mut DbConn, seq: i64, touched: Touched) -> AppResult<()> {
    let current: Vec<(i64, i64, String, String, bool)> = db_run!(conn, |c| {
        let q = translations::table.inner_join(articles::table).into_boxed();
        let q = match touched {
            Touched::Translations(ids) => q.filter(translations::id.eq_any(ids)),
            Touched::Stories(ids) => q.filter(translations::article_id.eq_any(ids)),
        };
        q.select((
            translations::id,
            translations::article_id,
            translations::lang,
            translations::status,
            articles::syndicate,
        ))
        .load(c)
    })?;
    if current.is_empty() {
        return Ok(());
    }
    let stories: Vec<i64> = current.iter().map(|r| r.1).collect();
    let offered: HashMap<(i64, String), String> = db_run!(conn, |c| sc::table
        .filter(sc::article_id.eq_any(&stories))
        .select((sc::article_id, sc::lang, sc::action))
        .load::<(i64, String, String)>(c))?
    .into_iter()
    .map(|(a, l, action)| ((a, l), action))
    .collect();
    let mut rows = Vec::new();
    for (id, article_id, lang, status, syndicate) in &current {
        let published = status == Status::Published.as_str();
        if published && *syndicate {
            rows.push((*article_id, lang.as_str(), *id, UPSERT, None));
            continue;
        }
        let had_it = offered
            .get(&(*article_id, lang.clone()))
            .is_some_and(|a| a == UPSERT);
        if had_it {
            let why = if published {
                reason::NOT_SYNDICATED
            } else if status == Status::Archived.as_str() {
                reason::ARCHIVED
            } else {
                reason::UNPUBLISHED
            };
            rows.push((*article_id, lang.as_str(), *id, DELETE, Some(why)));
        }
    }
    write(conn, seq, &rows)
}

/// What was deleted.
pub enum Deleted {
    Translation(i64),
    Story(i64),
}

/// Tombstones for what was deleted. A translation partners already had as withdrawn moves too,
/// so they learn it will not come back.
pub fn deleted(conn: &mut DbConn, seq: i64, what: Deleted) -> AppResult<()> {
    let at = now();
    let tombstone = (
        sc::seq.eq(seq),
        sc::action.eq(DELETE),
        sc::reason.eq(reason::DELETED),
        sc::changed_at.eq(at),
    );
    db_run!(conn, |c| match what {
        Deleted::Translation(id) => {
            diesel::update(sc::table.filter(sc::translation_id.eq(id)))
                .set(tombstone)
                .execute(c)
        }
        Deleted::Story(id) => diesel::update(sc::table.filter(sc::article_id.eq(id)))
            .set(tombstone)
            .execute(c),
    })?;
    Ok(())
}

/// Whose stories a change to a shared fact touches.
pub enum Credited {
    /// The stories carrying a tag (its names are part of what partners get).
    Tag(i64),
    /// The stories crediting a person (their name is).
    Person(i64),
}

/// Announces again every offered translation of the stories `who` touches.
pub fn facts_changed(conn: &mut DbConn, seq: i64, who: Credited) -> AppResult<()> {
    let stories: Vec<i64> = db_run!(conn, |c| match who {
        Credited::Tag(id) => article_tags::table
            .filter(article_tags::tag_id.eq(id))
            .select(article_tags::article_id)
            .load(c),
        Credited::Person(id) => article_bylines::table
            .filter(article_bylines::user_id.eq(id))
            .select(article_bylines::article_id)
            .load(c),
    })?;
    let at = now();
    for chunk in stories.chunks(10_000) {
        db_run!(conn, |c| diesel::update(
            sc::table
                .filter(sc::action.eq(UPSERT))
                .filter(sc::article_id.eq_any(chunk))
        )
        .set((sc::seq.eq(seq), sc::changed_at.eq(at)))
        .execute(c))?;
    }
    Ok(())
}

/// A row of the feed: story, language, translation, action and the reason of a tombstone.
type Row<'a> = (i64, &'a str, i64, &'a str, Option<&'a str>);

/// Puts the rows of these (story, language) pairs at `seq`, in one statement.
fn write(conn: &mut DbConn, seq: i64, rows: &[Row]) -> AppResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let at = now();
    let values: Vec<_> = rows
        .iter()
        .map(|(article_id, lang, translation_id, action, why)| {
            (
                sc::seq.eq(seq),
                sc::article_id.eq(*article_id),
                sc::lang.eq(*lang),
                sc::translation_id.eq(*translation_id),
                sc::action.eq(*action),
                sc::reason.eq(*why),
                sc::changed_at.eq(at),
            )
        })
        .collect();
    db_run!(conn, |c| diesel::insert_into(sc::table)
        .values(&values)
        .on_conflict((sc::article_id, sc::lang))
        .do_update()
        .set((
            sc::seq.eq(excluded(sc::seq)),
            sc::translation_id.eq(excluded(sc::translation_id)),
            sc::action.eq(excluded(sc::action)),
            sc::reason.eq(excluded(sc::reason)),
            sc::changed_at.eq(excluded(sc::changed_at)),
        ))
        .execute(c))?;
    Ok(())
}
