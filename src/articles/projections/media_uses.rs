//! Which translations' texts show which media items (`<img data-media-id>`), for an item's
//! usage, the library's `unused` filter, and the pages a changed item is shown on.

use std::collections::HashSet;

use diesel::prelude::*;

use crate::articles::translations::Translation;
use crate::db::schema::{media, media_uses};
use crate::db::DbConn;
use crate::db_run;
use crate::error::AppResult;
use crate::media::body;

/// Records the media items the texts of `written` show, as they now stand.
pub fn sync(conn: &mut DbConn, written: &[Translation]) -> AppResult<()> {
    let ids: Vec<i64> = written.iter().map(|t| t.id).collect();
    db_run!(conn, |c| diesel::delete(
        media_uses::table.filter(media_uses::translation_id.eq_any(&ids))
    )
    .execute(c))?;
    let named: Vec<(&Translation, Vec<i64>)> = written
        .iter()
        .map(|t| (t, body::references(&t.body)))
        .filter(|(_, refs)| !refs.is_empty())
        .collect();
    if named.is_empty() {
        return Ok(());
    }
    let mut all: Vec<i64> = named
        .iter()
        .flat_map(|(_, refs)| refs.iter().copied())
        .collect();
    all.sort_unstable();
    all.dedup();
    let existing: HashSet<i64> = db_run!(conn, |c| media::table
        .filter(media::id.eq_any(&all))
        .select(media::id)
        .load::<i64>(c))?
    .into_iter()
    .collect();
    let rows: Vec<_> = named
        .iter()
        .flat_map(|(t, refs)| {
            refs.iter().filter(|id| existing.contains(id)).map(|id| {
                (
                    media_uses::media_id.eq(*id),
                    media_uses::translation_id.eq(t.id),
                    media_uses::article_id.eq(t.article_id),
                )
            })
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    db_run!(conn, |c| diesel::insert_into(media_uses::table)
        .values(&rows)
        .execute(c))?;
    Ok(())
}

/// Forgets what a deleted translation showed.
pub fn remove(conn: &mut DbConn, translation_id: i64) -> AppResult<()> {
    db_run!(conn, |c| diesel::delete(
        media_uses::table.filter(media_uses::translation_id.eq(translation_id))
    )
    .execute(c))?;
    Ok(())
}

/// Forgets what a deleted story's translations showed.
pub fn remove_story(conn: &mut DbConn, article_id: i64) -> AppResult<()> {
    db_run!(conn, |c| diesel::delete(
        media_uses::table.filter(media_uses::article_id.eq(article_id))
    )
    .execute(c))?;
    Ok(())
}
