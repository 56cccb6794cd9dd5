//! The change pipeline: the one function every write calls, once, inside its transaction, to
//! say what it changed. It keeps what derives from published stories in step (item cards, the
//! search index), moves the content version that every node's caches watch (announced to every
//! node on PostgreSQL at commit), and tells this node to forget what it cached once the
//! transaction commits. What listens for changes
//! beyond this node (the change feed partners follow, the webhook outbox) is written here too,
//! in the same transaction, so that a committed change is always announced and a rolled-back
//! one never is.

use diesel::prelude::*;

use crate::articles::projections::change_log::{self, Credited, Deleted, Touched};
use crate::articles::projections::{cards, media_uses, outbox, search_index};
use crate::articles::translations::Translation;
use crate::db::schema::content_version;
use crate::db::{self, now, specific, DbConn};
use crate::db_run;
use crate::error::AppResult;

/// What a write changed.
#[derive(Debug, Clone, Copy)]
pub enum Change<'a> {
    /// Translations created or written (text, slug, workflow status), as they now stand.
    Translations(&'a [Translation]),
    /// A translation deleted.
    TranslationDeleted {
        article_id: i64,
        translation_id: i64,
    },
    /// A story's own fields: type, tags, bylines, image, flags.
    Story(i64),
    /// A story deleted, with everything it held.
    StoryDeleted(i64),
    /// A live entry of a story added, edited or removed.
    Entry(i64),
    /// A tag: its slug, kind, names or descriptions, or the tag itself.
    Tag(i64),
    /// A language: whether it is enabled, its names, position or fallback.
    Language(&'a str),
    /// A donation prompt.
    Prompt(i64),
    /// A person's account, as bylines show it.
    User(i64),
    /// A partner or its keys: every node reads the keys that work afresh.
    Partner(i64),
    /// A media item: its texts, focal point, renditions, or the item itself.
    Media(i64),
}

impl<'a> Change<'a> {
    /// One translation written.
    pub fn translation(t: &'a Translation) -> Change<'a> {
        Change::Translations(std::slice::from_ref(t))
    }
}

/// Announces `change`. Call inside the transaction of the write, after it.
pub fn changed(conn: &mut DbConn, change: Change) -> AppResult<()> {
    let seq = bump_version(conn)?;
    specific::notify_change(conn, seq)?;
    let events = match change {
        Change::Translations(written) => {
            for t in written {
                search_index::sync(conn, t)?;
                media_uses::sync(conn, t)?;
            }
            let mut stories: Vec<i64> = written.iter().map(|t| t.article_id).collect();
            stories.sort_unstable();
            stories.dedup();
            cards::refresh_many(conn, &stories)?;
            let ids: Vec<i64> = written.iter().map(|t| t.id).collect();
            change_log::sync(conn, seq, Touched::Translations(&ids))?;
            outbox::translations(conn, &ids)?
        }
        Change::TranslationDeleted {
            article_id,
            translation_id,
        } => {
            search_index::remove(conn, translation_id)?;
            media_uses::remove(conn, translation_id)?;
            cards::refresh(conn, article_id)?;
            change_log::deleted(conn, seq, Deleted::Translation(translation_id))?;
            outbox::translation_deleted(conn, article_id, translation_id)?
        }
        Change::Story(id) => {
            cards::refresh(conn, id)?;
            change_log::sync(conn, seq, Touched::Stories(&[id]))?;
            outbox::story_changed(conn, id)?
        }
        // Its cards and index entries went with its translations.
        Change::StoryDeleted(id) => {
            media_uses::remove_story(conn, id)?;
            change_log::deleted(conn, seq, Deleted::Story(id))?;
            outbox::story_deleted(conn, id)?
        }
        Change::Tag(id) => {
            change_log::facts_changed(conn, seq, Credited::Tag(id))?;
            vec![outbox::tag_changed(conn, id)?]
        }
        Change::User(id) => {
            change_log::facts_changed(conn, seq, Credited::Person(id))?;
            Vec::new()
        }
        // A live entry shows on its story's page.
        Change::Entry(id) => outbox::story_changed(conn, id)?,
        Change::Language(code) => vec![outbox::language_changed(code)],
        Change::Prompt(id) => vec![outbox::prompt_changed(id)],
        // The partner keys a node lets in are read afresh in the next cache generation.
        Change::Partner(_) => Vec::new(),
        // The stories that show it, as their featured image or in a text, show it afresh.
        Change::Media(id) => {
            let stories = crate::media::stories_showing(conn, id)?;
            let mut events = Vec::new();
            if !stories.is_empty() {
                cards::refresh_many(conn, &stories)?;
                change_log::sync(conn, seq, Touched::Stories(&stories))?;
                for story in stories {
                    events.extend(outbox::story_changed(conn, story)?);
                }
            }
            events
        }
    };
    outbox::write(conn, events)?;
    db::note_change();
    Ok(())
}

/// Moves the content version, which every node watches to know its caches are stale, and
/// returns it. The row stays locked until the transaction ends, which orders the changes of
/// concurrent writers by their commits (see [`change_log`]).
fn bump_version(conn: &mut DbConn) -> AppResult<i64> {
    let at = now();
    Ok(db_run!(conn, |c| diesel::update(
        content_version::table.find(1)
    )
    .set((
        content_version::version.eq(content_version::version + 1),
        content_version::changed_at.eq(at),
    ))
    .returning(content_version::version)
    .get_result(c))?)
}
