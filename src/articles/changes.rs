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
use crate::articles::Status;
use crate::cache::keys;
use crate::db::schema::{content_changes, content_version};
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
    let mut stale = stale_keys(change);
    let events = match change {
        Change::Translations(written) => {
            search_index::sync(conn, written)?;
            media_uses::sync(conn, written)?;
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
            stale.extend(stories.iter().map(|s| keys::article(*s)));
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
    record_stale(conn, seq, &stale)?;
    specific::notify_change(conn, seq, &stale)?;
    db::note_change(&stale);
    Ok(())
}

/// The surrogate keys of the cached answers `change` may have made stale. Each key names what
/// answers carry it (`cache::keys`): a story's own pages, and for what readers can see, every
/// list of stories, "Most read" and the tag lists (whose counts follow publication).
fn stale_keys(change: Change) -> Vec<String> {
    let shown = || {
        vec![
            keys::ARTICLES.to_owned(),
            keys::MOST_READ.to_owned(),
            keys::TAGS.to_owned(),
        ]
    };
    match change {
        Change::Translations(written) => {
            let mut stale = Vec::new();
            for t in written {
                stale.push(keys::article(t.article_id));
                stale.push(keys::translation(t.id));
            }
            // A draft never published shows nowhere but in its own story's pages' Last-Modified
            // (which only published text moves); one that is or was published shows in lists.
            if written
                .iter()
                .any(|t| t.published_at.is_some() || t.status == Status::Published.as_str())
            {
                stale.extend(shown());
            }
            stale
        }
        Change::TranslationDeleted {
            article_id,
            translation_id,
        } => {
            let mut stale = vec![keys::article(article_id), keys::translation(translation_id)];
            stale.extend(shown());
            stale
        }
        Change::Story(id) | Change::StoryDeleted(id) => {
            let mut stale = vec![keys::article(id)];
            stale.extend(shown());
            stale
        }
        Change::Entry(id) => vec![keys::article(id)],
        Change::Prompt(_) => vec![keys::DONATION_PROMPTS.to_owned()],
        // Nothing cached shows a partner; the keys that work are read afresh in the new
        // generation every change starts.
        Change::Partner(_) => Vec::new(),
        // And the pages of the stories that show it, read in the transaction (below).
        Change::Media(_) => vec![keys::ARTICLES.to_owned(), keys::MOST_READ.to_owned()],
        // Names shown in every kind of answer: a tag's, a language's, a person's.
        Change::Tag(_) | Change::Language(_) | Change::User(_) => {
            vec![keys::EVERYTHING.to_owned()]
        }
    }
}

/// Keeps what version `seq` made stale for the nodes that catch up by reading it, and drops
/// what no node needs any more (a node further behind forgets everything).
fn record_stale(conn: &mut DbConn, seq: i64, stale: &[String]) -> AppResult<()> {
    let keys = stale.join(" ");
    db_run!(conn, |c| {
        diesel::insert_into(content_changes::table)
            .values((
                content_changes::version.eq(seq),
                content_changes::keys.eq(&keys),
            ))
            .execute(c)?;
        diesel::delete(content_changes::table.filter(content_changes::version.le(seq - KEPT)))
            .execute(c)
    })?;
    Ok(())
}

/// Versions whose stale keys are kept.
const KEPT: i64 = 1_000;

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
