//! A story in one language: its text, slug, workflow state and version.
//!
//! Every write goes through [`write`], which is a single conditional `UPDATE … WHERE version =
//! <the version the editor read>`: two editors saving from the same version cannot both
//! succeed, whatever the backend and however many nodes run. Each write stores a revision in
//! the same transaction; its caller then tells the change pipeline
//! ([`crate::articles::changes`]) what it wrote.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::articles::revisions::saved_by;
use crate::articles::Status;
use crate::db::schema::{revisions, translation_slugs, translations};
use crate::db::{now, DbConn};
use crate::db_run;
use crate::error::{AppError, AppResult};
use crate::html;
use crate::http;
use crate::slug::Slug;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = translations)]
pub struct Translation {
    pub id: i64,
    pub article_id: i64,
    pub lang: String,
    pub slug: String,
    pub title: String,
    pub subtitle: String,
    pub body: String,
    pub excerpt: String,
    pub excerpt_auto: bool,
    pub seo_title: String,
    pub seo_description: String,
    pub word_count: i32,
    pub reading_minutes: i32,
    pub status: String,
    pub scheduled_at: Option<NaiveDateTime>,
    pub published_at: Option<NaiveDateTime>,
    pub version: i32,
    pub content_version: i32,
    pub source_translation_id: Option<i64>,
    pub source_version: Option<i32>,
    pub source_latest_version: Option<i32>,
    pub created_by: Option<i64>,
    pub updated_by: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Translation {
    pub fn status(&self) -> AppResult<Status> {
        Status::from_db(&self.status)
    }

    /// Its source has changed since it was translated.
    pub fn outdated(&self) -> bool {
        is_outdated(self.source_version, self.source_latest_version)
    }

    /// The strong validator of this version, for `ETag` and `If-Match`.
    pub fn etag(&self) -> String {
        etag(self.id, self.version)
    }
}

/// Whether the source's text has changed since the revision a translation was made from.
fn is_outdated(source_version: Option<i32>, source_latest_version: Option<i32>) -> bool {
    matches!((source_version, source_latest_version), (Some(v), Some(latest)) if latest > v)
}

pub fn etag(id: i64, version: i32) -> String {
    crate::http::etag("", id, version)
}

/// The editable text of a translation; the rest of its content is derived from it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Text {
    pub title: String,
    pub subtitle: String,
    /// Sanitized HTML.
    pub body: String,
    /// Empty: derived from the body.
    pub excerpt: String,
    pub seo_title: String,
    pub seo_description: String,
}

impl Text {
    pub fn of(t: &Translation) -> Text {
        Text {
            title: t.title.clone(),
            subtitle: t.subtitle.clone(),
            body: t.body.clone(),
            excerpt: if t.excerpt_auto {
                String::new()
            } else {
                t.excerpt.clone()
            },
            seo_title: t.seo_title.clone(),
            seo_description: t.seo_description.clone(),
        }
    }
}

/// Everything a write sets, computed from [`Text`]: the excerpt when none was written, word
/// count and reading time.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = translations, treat_none_as_null = true)]
pub struct Row {
    pub slug: String,
    pub title: String,
    pub subtitle: String,
    pub body: String,
    pub excerpt: String,
    pub excerpt_auto: bool,
    pub seo_title: String,
    pub seo_description: String,
    pub word_count: i32,
    pub reading_minutes: i32,
    pub status: String,
    pub scheduled_at: Option<NaiveDateTime>,
    pub published_at: Option<NaiveDateTime>,
    pub content_version: i32,
    pub source_translation_id: Option<i64>,
    pub source_version: Option<i32>,
    pub source_latest_version: Option<i32>,
    pub updated_by: Option<i64>,
    pub updated_at: NaiveDateTime,
}

impl Row {
    pub fn of(t: &Translation) -> Row {
        Row {
            slug: t.slug.clone(),
            title: t.title.clone(),
            subtitle: t.subtitle.clone(),
            body: t.body.clone(),
            excerpt: t.excerpt.clone(),
            excerpt_auto: t.excerpt_auto,
            seo_title: t.seo_title.clone(),
            seo_description: t.seo_description.clone(),
            word_count: t.word_count,
            reading_minutes: t.reading_minutes,
            status: t.status.clone(),
            scheduled_at: t.scheduled_at,
            published_at: t.published_at,
            content_version: t.content_version,
            source_translation_id: t.source_translation_id,
            source_version: t.source_version,
            source_latest_version: t.source_latest_version,
            updated_by: t.updated_by,
            updated_at: t.updated_at,
        }
    }

    /// Sets the text and what derives from it. The body must already be sanitized.
    pub fn set_text(&mut self, text: Text) {
        let plain = html::text_of(&text.body);
        let words = html::word_count(&plain);
        self.excerpt_auto = text.excerpt.is_empty();
        self.excerpt = if self.excerpt_auto {
            html::excerpt(&plain)
        } else {
            text.excerpt
        };
        self.word_count = i32::try_from(words).unwrap_or(i32::MAX);
        self.reading_minutes = i32::try_from(html::reading_minutes(words)).unwrap_or(i32::MAX);
        self.title = text.title;
        self.subtitle = text.subtitle;
        self.body = text.body;
        self.seo_title = text.seo_title;
        self.seo_description = text.seo_description;
    }

    fn text_differs(&self, t: &Translation) -> bool {
        self.title != t.title
            || self.subtitle != t.subtitle
            || self.body != t.body
            || self.excerpt != t.excerpt
            || self.seo_title != t.seo_title
            || self.seo_description != t.seo_description
    }
}

pub fn find(conn: &mut DbConn, article_id: i64, lang: &str) -> AppResult<Option<Translation>> {
    let lang = lang.to_owned();
    Ok(db_run!(conn, |c| translations::table
        .filter(translations::article_id.eq(article_id))
        .filter(translations::lang.eq(&lang))
        .select(Translation::as_select())
        .first(c)
        .optional())?)
}

pub fn find_by_id(conn: &mut DbConn, id: i64) -> AppResult<Option<Translation>> {
    Ok(db_run!(conn, |c| translations::table
        .find(id)
        .select(Translation::as_select())
        .first(c)
        .optional())?)
}

/// The state of a translation without its text, for listings.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = translations)]
pub struct StateRow {
    pub id: i64,
    pub article_id: i64,
    pub lang: String,
    pub slug: String,
    pub title: String,
    pub status: String,
    pub version: i32,
    pub source_version: Option<i32>,
    pub source_latest_version: Option<i32>,
    pub scheduled_at: Option<NaiveDateTime>,
    pub published_at: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
}

/// The state of every translation of these stories, by language code within each; bodies are
/// not read.
pub fn of_articles(conn: &mut DbConn, ids: &[i64]) -> AppResult<Vec<StateRow>> {
    let ids = ids.to_vec();
    Ok(db_run!(conn, |c| translations::table
        .filter(translations::article_id.eq_any(&ids))
        .order((translations::article_id, translations::lang))
        .select(StateRow::as_select())
        .load(c))?)
}

/// Earlier slugs of a translation, newest first.
pub fn old_slugs(conn: &mut DbConn, t: &Translation) -> AppResult<Vec<String>> {
    let current = t.slug.clone();
    Ok(db_run!(conn, |c| translation_slugs::table
        .filter(translation_slugs::translation_id.eq(t.id))
        .filter(translation_slugs::slug.ne(&current))
        .order(translation_slugs::created_at.desc())
        .select(translation_slugs::slug)
        .load(c))?)
}

/// Which translation, if any, holds `slug` in `lang` now or held it before.
fn slug_holder(conn: &mut DbConn, lang: &str, slug: &str) -> AppResult<Option<i64>> {
    let (lang, slug) = (lang.to_owned(), slug.to_owned());
    Ok(db_run!(conn, |c| translation_slugs::table
        .find((&lang, &slug))
        .select(translation_slugs::translation_id)
        .first(c)
        .optional())?)
}

/// `wanted` when given (409 if another translation in the language has or had it), else a
/// free slug made from `title`.
pub fn choose_slug(
    conn: &mut DbConn,
    lang: &str,
    wanted: Option<Slug>,
    title: &str,
    translation_id: Option<i64>,
) -> AppResult<Slug> {
    if let Some(slug) = wanted {
        return match slug_holder(conn, lang, slug.as_str())? {
            Some(holder) if Some(holder) != translation_id => Err(AppError::Conflict(format!(
                "the slug `{}` is already used in `{lang}`",
                slug.as_str()
            ))),
            _ => Ok(slug),
        };
    }
    let base = Slug::from_text(title)
        .ok_or_else(|| AppError::invalid("slug", "give a slug: none can be made from the title"))?;
    let mut candidate = base.clone();
    for n in 2..1000 {
        match slug_holder(conn, lang, candidate.as_str())? {
            Some(holder) if Some(holder) != translation_id => candidate = base.with_suffix(n),
            _ => return Ok(candidate),
        }
    }
    Err(AppError::Conflict(format!(
        "no free slug is left for `{}`",
        base.as_str()
    )))
}

/// Records `slug` as one of the translation's slugs (its current one).
fn keep_slug(conn: &mut DbConn, lang: &str, slug: &str, translation_id: i64) -> AppResult<()> {
    let at = now();
    let (lang, slug) = (lang.to_owned(), slug.to_owned());
    db_run!(conn, |c| diesel::insert_into(translation_slugs::table)
        .values((
            translation_slugs::lang.eq(&lang),
            translation_slugs::slug.eq(&slug),
            translation_slugs::translation_id.eq(translation_id),
            translation_slugs::created_at.eq(at),
        ))
        .on_conflict((translation_slugs::lang, translation_slugs::slug))
        .do_update()
        .set(translation_slugs::created_at.eq(at))
        .execute(c))?;
    Ok(())
}

/// Stores the state `t` is in now, produced by `action`. Call in the write's transaction.
fn store_revision(
    conn: &mut DbConn,
    t: &Translation,
    action: &str,
    saved_by: Option<i64>,
) -> AppResult<()> {
    let at = now();
    db_run!(conn, |c| diesel::insert_into(revisions::table)
        .values((
            revisions::translation_id.eq(t.id),
            revisions::version.eq(t.version),
            revisions::action.eq(action),
            revisions::status.eq(&t.status),
            revisions::slug.eq(&t.slug),
            revisions::title.eq(&t.title),
            revisions::subtitle.eq(&t.subtitle),
            revisions::body.eq(&t.body),
            revisions::excerpt.eq(&t.excerpt),
            revisions::seo_title.eq(&t.seo_title),
            revisions::seo_description.eq(&t.seo_description),
            revisions::saved_by.eq(saved_by),
            revisions::saved_at.eq(at),
        ))
        .execute(c))?;
    Ok(())
}

/// Where a new translation was translated from: the source and the revision of it.
#[derive(Debug, Clone, Copy)]
pub struct Source {
    pub translation_id: i64,
    pub version: i32,
}

/// Creates a draft translation with its first revision. Call in a transaction.
pub fn insert(
    conn: &mut DbConn,
    article_id: i64,
    lang: &str,
    slug: Slug,
    text: Text,
    source: Option<Source>,
    user_id: i64,
) -> AppResult<Translation> {
    let at = now();
    let mut row = Row {
        slug: slug.into_string(),
        title: String::new(),
        subtitle: String::new(),
        body: String::new(),
        excerpt: String::new(),
        excerpt_auto: true,
        seo_title: String::new(),
        seo_description: String::new(),
        word_count: 0,
        reading_minutes: 0,
        status: Status::Draft.as_str().to_owned(),
        scheduled_at: None,
        published_at: None,
        content_version: 1,
        source_translation_id: source.map(|s| s.translation_id),
        source_version: source.map(|s| s.version),
        source_latest_version: source.map(|s| s.version),
        updated_by: Some(user_id),
        updated_at: at,
    };
    row.set_text(text);
    let lang_owned = lang.to_owned();
    let t: Translation = db_run!(conn, |c| diesel::insert_into(translations::table)
        .values((
            translations::article_id.eq(article_id),
            translations::lang.eq(&lang_owned),
            translations::slug.eq(&row.slug),
            translations::title.eq(&row.title),
            translations::subtitle.eq(&row.subtitle),
            translations::body.eq(&row.body),
            translations::excerpt.eq(&row.excerpt),
            translations::excerpt_auto.eq(row.excerpt_auto),
            translations::seo_title.eq(&row.seo_title),
            translations::seo_description.eq(&row.seo_description),
            translations::word_count.eq(row.word_count),
            translations::reading_minutes.eq(row.reading_minutes),
            translations::status.eq(&row.status),
            translations::version.eq(1),
            translations::content_version.eq(1),
            translations::source_translation_id.eq(row.source_translation_id),
            translations::source_version.eq(row.source_version),
            translations::source_latest_version.eq(row.source_latest_version),
            translations::created_by.eq(Some(user_id)),
            translations::updated_by.eq(Some(user_id)),
            translations::created_at.eq(at),
            translations::updated_at.eq(at),
        ))
        .returning(Translation::as_returning())
        .get_result(c))?;
    keep_slug(conn, lang, &t.slug, t.id)?;
    store_revision(conn, &t, "create", Some(user_id))?;
    crate::articles::touch(conn, article_id)?;
    Ok(t)
}

/// 412 carrying the current version and who saved it.
pub fn stale(conn: &mut DbConn, t: &Translation) -> AppResult<AppError> {
    let saved_by = saved_by(conn, t.updated_by)?;
    Ok(http::stale(
        "this translation",
        http::Current {
            version: t.version,
            etag: t.etag(),
            updated_at: t.updated_at,
            updated_by: serde_json::json!(saved_by),
        },
    ))
}

/// Writes `row` over `current` if, and only if, the stored version is still `expected`, in one
/// conditional statement; stores the revision; keeps dependent translations' staleness and the
/// story's `updated_at` current. 412 when another write got there first. Call in a transaction.
pub fn write(
    conn: &mut DbConn,
    current: &Translation,
    expected: i32,
    mut row: Row,
    action: &str,
    user_id: Option<i64>,
) -> AppResult<Translation> {
    if current.version != expected {
        return Err(stale(conn, current)?);
    }
    let text_changed = row.text_differs(current);
    let new_version = expected + 1;
    if text_changed {
        row.content_version = new_version;
    }
    if row.slug != current.slug {
        keep_slug(conn, &current.lang, &row.slug, current.id)?;
    }
    row.updated_by = user_id;
    row.updated_at = now();
    let id = current.id;
    let written: Option<Translation> = db_run!(conn, |c| diesel::update(
        translations::table
            .filter(translations::id.eq(id))
            .filter(translations::version.eq(expected))
    )
    .set((&row, translations::version.eq(new_version)))
    .returning(Translation::as_returning())
    .get_result(c)
    .optional())?;
    let Some(written) = written else {
        let now_current = find_by_id(conn, id)?
            .ok_or_else(|| AppError::NotFound("the translation was deleted".into()))?;
        return Err(stale(conn, &now_current)?);
    };
    store_revision(conn, &written, action, user_id)?;
    if text_changed {
        db_run!(conn, |c| diesel::update(
            translations::table.filter(translations::source_translation_id.eq(id))
        )
        .set(translations::source_latest_version.eq(new_version))
        .execute(c))?;
    }
    crate::articles::touch(conn, written.article_id)?;
    Ok(written)
}

/// Deletes a translation if it is still at `expected`; published and scheduled ones must be
/// taken off the site first. Call in a transaction.
pub fn delete(conn: &mut DbConn, current: &Translation, expected: i32) -> AppResult<()> {
    if current.version != expected {
        return Err(stale(conn, current)?);
    }
    if current.status()?.is_live() {
        return Err(AppError::Conflict(format!(
            "a {} translation cannot be deleted; unpublish or unschedule it first",
            current.status
        )));
    }
    let id = current.id;
    let deleted = db_run!(conn, |c| diesel::delete(
        translations::table
            .filter(translations::id.eq(id))
            .filter(translations::version.eq(expected))
    )
    .execute(c))?;
    if deleted == 0 {
        let now_current = find_by_id(conn, id)?
            .ok_or_else(|| AppError::NotFound("the translation was deleted".into()))?;
        return Err(stale(conn, &now_current)?);
    }
    crate::articles::touch(conn, current.article_id)?;
    Ok(())
}

/// A translation's state in a story listing.
#[derive(Debug, Serialize, ToSchema)]
pub struct TranslationSummary {
    pub id: i64,
    #[schema(example = "ka")]
    pub lang: String,
    pub slug: String,
    pub title: String,
    pub status: Status,
    pub version: i32,
    /// Its source translation has changed since it was translated.
    pub outdated: bool,
    pub scheduled_at: Option<chrono::DateTime<chrono::Utc>>,
    pub published_at: Option<chrono::DateTime<chrono::Utc>>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl TranslationSummary {
    pub fn new(t: &StateRow) -> AppResult<Self> {
        Ok(TranslationSummary {
            id: t.id,
            lang: t.lang.clone(),
            slug: t.slug.clone(),
            title: t.title.clone(),
            status: Status::from_db(&t.status)?,
            version: t.version,
            outdated: is_outdated(t.source_version, t.source_latest_version),
            scheduled_at: t.scheduled_at.map(|d| d.and_utc()),
            published_at: t.published_at.map(|d| d.and_utc()),
            updated_at: t.updated_at.and_utc(),
        })
    }
}
