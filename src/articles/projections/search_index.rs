//! What the search index holds of a translation: its title and subtitle, and the plain text of
//! its body, while it is published; nothing otherwise.

use crate::articles::translations::Translation;
use crate::articles::Status;
use crate::db::search::{self, Document};
use crate::db::DbConn;
use crate::error::AppResult;
use crate::html;

/// Keeps the index in step with `written` as they now stand.
pub fn sync(conn: &mut DbConn, written: &[Translation]) -> AppResult<()> {
    let (published, withdrawn): (Vec<&Translation>, Vec<&Translation>) = written
        .iter()
        .partition(|t| t.status == Status::Published.as_str());
    let withdrawn: Vec<i64> = withdrawn.iter().map(|t| t.id).collect();
    search::remove(conn, &withdrawn)?;
    let docs: Vec<Document> = published
        .into_iter()
        .map(|t| Document {
            id: t.id,
            lang: t.lang.clone(),
            title: format!("{} {}", t.title, t.subtitle),
            text: html::text_of(&t.body),
        })
        .collect();
    search::put(conn, &docs)
}

/// Takes a deleted translation out of the index.
pub fn remove(conn: &mut DbConn, translation_id: i64) -> AppResult<()> {
    search::remove(conn, &[translation_id])
}
