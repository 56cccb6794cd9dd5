//! Donation prompts: the "Support our newsroom" messages editors manage. A prompt has a text per
//! language, a placement on the page, targeting (languages, tags, excluded tags, article
//! types), an active window, and a priority and weight for rotation. Readers' impressions,
//! clicks and dismissals are counted per prompt, language and day.

pub mod admin_handlers;
pub mod events;
pub mod input;
pub mod live;
pub mod public_handlers;

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::{
    donation_prompt_tags, donation_prompt_translations, donation_prompts, tags,
};
use crate::db::{now, DbConn};
use crate::db_run;
use crate::error::{AppError, AppResult};

/// Whether a prompt is shown: only `active` prompts are, and only inside their window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PromptStatus {
    Active,
    Paused,
    Archived,
}

impl PromptStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PromptStatus::Active => "active",
            PromptStatus::Paused => "paused",
            PromptStatus::Archived => "archived",
        }
    }

    pub fn from_db(raw: &str) -> PromptStatus {
        match raw {
            "active" => PromptStatus::Active,
            "paused" => PromptStatus::Paused,
            _ => PromptStatus::Archived,
        }
    }
}

/// Where on the page a prompt goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    /// The "Support Us" button in the site header.
    Header,
    /// The block after an article's body.
    ArticleEnd,
    /// A block inside an article's body.
    ArticleInline,
    Sidebar,
    Popup,
    Footer,
}

impl Placement {
    pub const ALL: [Placement; 6] = [
        Placement::Header,
        Placement::ArticleEnd,
        Placement::ArticleInline,
        Placement::Sidebar,
        Placement::Popup,
        Placement::Footer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Placement::Header => "header",
            Placement::ArticleEnd => "article_end",
            Placement::ArticleInline => "article_inline",
            Placement::Sidebar => "sidebar",
            Placement::Popup => "popup",
            Placement::Footer => "footer",
        }
    }

    pub fn parse(raw: &str) -> Option<Placement> {
        Placement::ALL.into_iter().find(|p| p.as_str() == raw)
    }

    /// What to say when `raw` is not a placement.
    pub fn expected() -> String {
        let names: Vec<&str> = Placement::ALL.iter().map(|p| p.as_str()).collect();
        format!("must be one of {}", names.join(", "))
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = donation_prompts)]
pub struct PromptRow {
    pub id: i64,
    pub name: String,
    pub status: String,
    pub placement: String,
    pub languages: String,
    pub article_types: String,
    pub starts_at: Option<NaiveDateTime>,
    pub ends_at: Option<NaiveDateTime>,
    pub priority: i32,
    pub weight: i32,
    pub hints: String,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub updated_by: Option<i64>,
}

impl PromptRow {
    /// The strong validator of this version, for `ETag` and `If-Match`.
    pub fn etag(&self) -> String {
        etag(self.id, self.version)
    }

    /// Whether the prompt is shown at `at`: active and inside its window.
    pub fn active_at(&self, at: NaiveDateTime) -> bool {
        self.status == PromptStatus::Active.as_str() && in_window(self.starts_at, self.ends_at, at)
    }
}

/// The strong validator of version `version` of prompt `id`.
pub fn etag(id: i64, version: i32) -> String {
    crate::http::etag("prompt", id, version)
}

/// Whether `at` falls in the window [`starts_at`, `ends_at`).
pub fn in_window(
    starts_at: Option<NaiveDateTime>,
    ends_at: Option<NaiveDateTime>,
    at: NaiveDateTime,
) -> bool {
    starts_at.is_none_or(|s| s <= at) && ends_at.is_none_or(|e| at < e)
}

/// A prompt's text in one language.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = donation_prompt_translations)]
pub struct PromptText {
    pub prompt_id: i64,
    pub lang: String,
    pub headline: String,
    /// Sanitized HTML.
    pub body: String,
    pub button_label: String,
    pub target_url: String,
}

/// A prompt with its texts and the slugs of the tags it targets.
#[derive(Debug, Clone)]
pub struct Prompt {
    pub row: PromptRow,
    pub texts: Vec<PromptText>,
    pub tags: Vec<String>,
    pub excluded_tags: Vec<String>,
}

/// Everything a prompt is made of, checked, as it will be stored.
#[derive(Debug, Clone)]
pub struct Draft {
    pub name: String,
    pub status: PromptStatus,
    pub placement: Placement,
    pub languages: Vec<String>,
    pub article_types: Vec<String>,
    pub starts_at: Option<NaiveDateTime>,
    pub ends_at: Option<NaiveDateTime>,
    pub priority: i32,
    pub weight: i32,
    pub hints: String,
    pub tags: Vec<String>,
    pub excluded_tags: Vec<String>,
    /// Texts by language; `prompt_id` is filled in when stored.
    pub texts: Vec<PromptText>,
}

impl Draft {
    /// The draft that would store `prompt` again unchanged: the start of an update.
    pub fn of(prompt: &Prompt) -> Draft {
        let r = &prompt.row;
        Draft {
            name: r.name.clone(),
            status: PromptStatus::from_db(&r.status),
            placement: Placement::parse(&r.placement).unwrap_or(Placement::ArticleEnd),
            languages: split_list(&r.languages),
            article_types: split_list(&r.article_types),
            starts_at: r.starts_at,
            ends_at: r.ends_at,
            priority: r.priority,
            weight: r.weight,
            hints: r.hints.clone(),
            tags: prompt.tags.clone(),
            excluded_tags: prompt.excluded_tags.clone(),
            texts: prompt.texts.clone(),
        }
    }

    /// The checks that need the database: languages and tags exist, and the default language
    /// has a text. 422 naming the field.
    pub fn check(&self, conn: &mut DbConn) -> AppResult<(Vec<i64>, Vec<i64>)> {
        let mut errors = crate::error::FieldErrors::default();
        for (i, lang) in self.languages.iter().enumerate() {
            errors.check(crate::languages::require_existing(
                conn,
                lang,
                &format!("languages[{i}]"),
            ));
        }
        for t in &self.texts {
            errors.check(crate::languages::require_existing(
                conn,
                &t.lang,
                &format!("translations.{}", t.lang),
            ));
        }
        if let Some(default) = crate::languages::current_default(conn)? {
            if !self.texts.iter().any(|t| t.lang == default) {
                errors.check::<()>(Err(AppError::invalid(
                    &format!("translations.{default}"),
                    format!("a prompt needs a text in the default language (`{default}`)"),
                )));
            }
        }
        let tags = errors.check(crate::tags::resolve_slugs(conn, &self.tags, "tags"));
        let excluded = errors.check(crate::tags::resolve_slugs(
            conn,
            &self.excluded_tags,
            "excluded_tags",
        ));
        errors.finish()?;
        let tags: Vec<i64> = tags.unwrap_or_default().iter().map(|t| t.id).collect();
        let excluded: Vec<i64> = excluded.unwrap_or_default().iter().map(|t| t.id).collect();
        if let Some(both) = self.excluded_tags.iter().find(|s| self.tags.contains(s)) {
            return Err(AppError::invalid(
                "excluded_tags",
                format!("`{both}` is both targeted and excluded"),
            ));
        }
        Ok((tags, excluded))
    }
}

/// A stored list ("en ru") as its items.
pub fn split_list(raw: &str) -> Vec<String> {
    raw.split_whitespace().map(str::to_owned).collect()
}

fn not_found(id: i64) -> AppError {
    AppError::NotFound(format!("no donation prompt with id {id}"))
}

/// The prompts with these ids, with their texts and tags, in the order of `rows`.
pub fn complete(conn: &mut DbConn, rows: Vec<PromptRow>) -> AppResult<Vec<Prompt>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let texts: Vec<PromptText> = db_run!(conn, |c| donation_prompt_translations::table
        .filter(donation_prompt_translations::prompt_id.eq_any(&ids))
        .select(PromptText::as_select())
        .order((
            donation_prompt_translations::prompt_id,
            donation_prompt_translations::lang,
        ))
        .load(c))?;
    let targeted: Vec<(i64, String, bool)> = db_run!(conn, |c| donation_prompt_tags::table
        .inner_join(tags::table)
        .filter(donation_prompt_tags::prompt_id.eq_any(&ids))
        .select((
            donation_prompt_tags::prompt_id,
            tags::slug,
            donation_prompt_tags::excluded,
        ))
        .order((donation_prompt_tags::prompt_id, tags::slug))
        .load(c))?;
    let mut by_id: HashMap<i64, Prompt> = rows
        .iter()
        .map(|r| {
            (
                r.id,
                Prompt {
                    row: r.clone(),
                    texts: Vec::new(),
                    tags: Vec::new(),
                    excluded_tags: Vec::new(),
                },
            )
        })
        .collect();
    for t in texts {
        if let Some(p) = by_id.get_mut(&t.prompt_id) {
            p.texts.push(t);
        }
    }
    for (id, slug, excluded) in targeted {
        if let Some(p) = by_id.get_mut(&id) {
            if excluded {
                p.excluded_tags.push(slug);
            } else {
                p.tags.push(slug);
            }
        }
    }
    Ok(rows.iter().filter_map(|r| by_id.remove(&r.id)).collect())
}

pub fn find(conn: &mut DbConn, id: i64) -> AppResult<Prompt> {
    let row: PromptRow = db_run!(conn, |c| donation_prompts::table
        .find(id)
        .select(PromptRow::as_select())
        .first(c)
        .optional())?
    .ok_or_else(|| not_found(id))?;
    complete(conn, vec![row])?
        .pop()
        .ok_or_else(|| not_found(id))
}

/// What the admin list can be narrowed to.
#[derive(Debug, Default, Clone)]
pub struct ListFilter {
    pub status: Option<PromptStatus>,
    pub placement: Option<Placement>,
    /// Prompts shown to readers of this language: targeting it (or every language).
    pub lang: Option<String>,
    /// Only prompts shown (`true`) or not shown (`false`) at `now`.
    pub active_now: Option<bool>,
}

/// Prompts by id, newest first, after `before_id`.
pub fn list(
    conn: &mut DbConn,
    f: &ListFilter,
    before_id: Option<i64>,
    fetch: i64,
) -> AppResult<Vec<PromptRow>> {
    use diesel::dsl::sql;
    use diesel::sql_types::{Bool, Text};
    let at = now();
    let f = f.clone();
    Ok(db_run!(conn, |c| {
        let mut q = donation_prompts::table
            .select(PromptRow::as_select())
            .into_boxed();
        if let Some(status) = f.status {
            q = q.filter(donation_prompts::status.eq(status.as_str()));
        }
        if let Some(placement) = f.placement {
            q = q.filter(donation_prompts::placement.eq(placement.as_str()));
        }
        if let Some(lang) = &f.lang {
            q = q.filter(
                sql::<Bool>("(donation_prompts.languages = '' OR ' ' || donation_prompts.languages || ' ' LIKE ")
                    .bind::<Text, _>(format!("% {lang} %"))
                    .sql(")"),
            );
        }
        let shown = donation_prompts::status
            .eq(PromptStatus::Active.as_str())
            .and(
                donation_prompts::starts_at
                    .is_null()
                    .or(donation_prompts::starts_at.le(at)),
            )
            .and(
                donation_prompts::ends_at
                    .is_null()
                    .or(donation_prompts::ends_at.gt(at)),
            );
        match f.active_now {
            Some(true) => q = q.filter(shown),
            Some(false) => q = q.filter(diesel::dsl::not(shown)),
            None => {}
        }
        if let Some(before) = before_id {
            q = q.filter(donation_prompts::id.lt(before));
        }
        q.order(donation_prompts::id.desc()).limit(fetch).load(c)
    })?)
}

/// A prompt's own columns as a draft stores them.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = donation_prompts, treat_none_as_null = true)]
struct Columns<'a> {
    name: &'a str,
    status: &'a str,
    placement: &'a str,
    languages: String,
    article_types: String,
    starts_at: Option<NaiveDateTime>,
    ends_at: Option<NaiveDateTime>,
    priority: i32,
    weight: i32,
    hints: &'a str,
    updated_at: NaiveDateTime,
    updated_by: Option<i64>,
}

impl Draft {
    fn columns(&self, user_id: Option<i64>) -> Columns<'_> {
        Columns {
            name: &self.name,
            status: self.status.as_str(),
            placement: self.placement.as_str(),
            languages: self.languages.join(" "),
            article_types: self.article_types.join(" "),
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            priority: self.priority,
            weight: self.weight,
            hints: &self.hints,
            updated_at: now(),
            updated_by: user_id,
        }
    }
}

/// Stores a new prompt. Call in a transaction, after [`Draft::check`].
pub fn insert(
    conn: &mut DbConn,
    d: &Draft,
    tag_ids: (&[i64], &[i64]),
    user_id: Option<i64>,
) -> AppResult<Prompt> {
    let columns = d.columns(user_id);
    let id: i64 = db_run!(conn, |c| diesel::insert_into(donation_prompts::table)
        .values((
            &columns,
            donation_prompts::version.eq(1),
            donation_prompts::created_at.eq(columns.updated_at),
        ))
        .returning(donation_prompts::id)
        .get_result(c))?;
    write_parts(conn, id, d, tag_ids)?;
    find(conn, id)
}

/// Stores `d` over prompt `id` if, and only if, it is still at version `expected`, in one
/// conditional statement; 412 when another write got there first. Call in a transaction.
pub fn update(
    conn: &mut DbConn,
    id: i64,
    expected: i32,
    d: &Draft,
    tag_ids: (&[i64], &[i64]),
    user_id: Option<i64>,
) -> AppResult<Prompt> {
    let columns = d.columns(user_id);
    let changed = db_run!(conn, |c| diesel::update(
        donation_prompts::table
            .filter(donation_prompts::id.eq(id))
            .filter(donation_prompts::version.eq(expected))
    )
    .set((&columns, donation_prompts::version.eq(expected + 1)))
    .execute(c))?;
    if changed == 0 {
        return Err(stale_now(conn, id)?);
    }
    db_run!(conn, |c| {
        diesel::delete(donation_prompt_tags::table.filter(donation_prompt_tags::prompt_id.eq(id)))
            .execute(c)?;
        diesel::delete(
            donation_prompt_translations::table
                .filter(donation_prompt_translations::prompt_id.eq(id)),
        )
        .execute(c)
    })?;
    write_parts(conn, id, d, tag_ids)?;
    find(conn, id)
}

fn write_parts(
    conn: &mut DbConn,
    id: i64,
    d: &Draft,
    (tag_ids, excluded_ids): (&[i64], &[i64]),
) -> AppResult<()> {
    let targets: Vec<_> = tag_ids
        .iter()
        .map(|t| (*t, false))
        .chain(excluded_ids.iter().map(|t| (*t, true)))
        .map(|(tag, excluded)| {
            (
                donation_prompt_tags::prompt_id.eq(id),
                donation_prompt_tags::tag_id.eq(tag),
                donation_prompt_tags::excluded.eq(excluded),
            )
        })
        .collect();
    let texts: Vec<PromptText> = d
        .texts
        .iter()
        .map(|t| PromptText {
            prompt_id: id,
            ..t.clone()
        })
        .collect();
    db_run!(conn, |c| {
        for target in &targets {
            diesel::insert_into(donation_prompt_tags::table)
                .values(*target)
                .execute(c)?;
        }
        for text in &texts {
            diesel::insert_into(donation_prompt_translations::table)
                .values(text)
                .execute(c)?;
        }
        Ok::<_, diesel::result::Error>(())
    })?;
    Ok(())
}

/// Deletes prompt `id` if it is still at version `expected`, with its texts and counts.
pub fn delete(conn: &mut DbConn, id: i64, expected: i32) -> AppResult<()> {
    let deleted = db_run!(conn, |c| diesel::delete(
        donation_prompts::table
            .filter(donation_prompts::id.eq(id))
            .filter(donation_prompts::version.eq(expected))
    )
    .execute(c))?;
    if deleted == 0 {
        return Err(stale_now(conn, id)?);
    }
    Ok(())
}

/// 412 for a write to prompt `id` that another got to first (404 if it is gone).
fn stale_now(conn: &mut DbConn, id: i64) -> AppResult<AppError> {
    let current = find(conn, id)?.row;
    stale(conn, &current)
}

/// 412 carrying the prompt's current version and who saved it.
pub fn stale(conn: &mut DbConn, row: &PromptRow) -> AppResult<AppError> {
    let saved_by = crate::articles::revisions::saved_by(conn, row.updated_by)?;
    Ok(crate::http::stale(
        "this donation prompt",
        crate::http::Current {
            version: row.version,
            etag: row.etag(),
            updated_at: row.updated_at,
            updated_by: serde_json::json!(saved_by),
        },
    ))
}
