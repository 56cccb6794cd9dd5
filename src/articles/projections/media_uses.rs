//! Which translations' texts show which media items (`<img data-media-id>`), for an item's
//! usage, the library's `unused` filter, and the pages a changed item is shown on.

use diesel::prelude::*;

use crate::articles::translations::Translation;
use crate::db::schema::{media, media_uses};
use crate::db::DbConn;
use crate::db_run;
use crate::error::AppResult;
use crate::media::body;

/// Records the media items `t`'s text shows, as it now stands.
pub fn sync(conn: &mut DbConn, t: &Translation) -> AppResult<()> {
    remove(conn, t.id)?;
    let named = body::references(&t.body);
    if named.is_empty() {
        return Ok(());
    }
    let existing: Vec<i64> = db_run!(conn, |c| media::table
        .filter(media::id.eq_any(&named))
        .select(media::id)
        .load(c))?;
    let rows: Vec<_> = existing
        .into_iter()
        .map(|id| {
            (
                media_uses::media_id.eq(id),
                media_uses::translation_id.eq(t.id),
                media_uses::article_id.eq(t.article_id),
            )
        })
        .collect();
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
