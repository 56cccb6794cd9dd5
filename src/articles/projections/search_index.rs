//! What the search index holds of a translation: its title and subtitle, and the plain text of
//! its body, while it is published; nothing otherwise.

use crate::articles::translations::Translation;
use crate::articles::Status;
use crate::db::search;
use crate::db::DbConn;
use crate::error::AppResult;
use crate::html;

/// Keeps the index in step with `t` as it now stands.
pub fn sync(conn: &mut DbConn, t: &Translation) -> AppResult<()> {
    if t.status != Status::Published.as_str() {
        return search::remove(conn, t.id);
    }
    let title = format!("{} {}", t.title, t.subtitle);
    search::put(conn, t.id, &t.lang, &title, &html::text_of(&t.body))
}

/// Takes a deleted translation out of the index.
pub fn remove(conn: &mut DbConn, translation_id: i64) -> AppResult<()> {
    search::remove(conn, translation_id)
}
