//! What partners pull: the change feed of syndicated stories and single items, as Newsdesk
//! JSON or IPTC ninjs. Only stories with `syndicate: true` are offered, and each partner only
//! in its languages and tags (see [`crate::partners::access`]).
//!
//! The feed is `syndication_changes`, which the change pipeline keeps
//! ([`crate::articles::projections::change_log`]): one row per story and language, at the
//! sequence of its latest change. A page is the rows after the partner's cursor, each made into
//! the item as it stands now (an `upsert`) or a tombstone (a `delete`, with its reason).

pub mod handlers;
pub mod ninjs;

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::value::{to_raw_value, RawValue};
use utoipa::ToSchema;

use crate::app::AppState;
use crate::articles::projections::change_log::{self, UPSERT};
use crate::articles::published::Full;
use crate::content::queries::{self, ArticleItem};
use crate::db::schema::{published_translations as pt, syndication_changes as sc};
use crate::db::DbConn;
use crate::db_run;
use crate::error::{AppError, AppResult};
use crate::partners::access::Partner;

/// The most entries one page of the feed holds.
pub const MAX_PAGE: i64 = 500;
pub const DEFAULT_PAGE: i64 = 100;

/// Why a partner no longer has an item, besides the reasons stored with a change
/// ([`change_log::reason`]): its story no longer carries any of the partner's tags.
pub const OUT_OF_SCOPE: &str = "out_of_scope";

/// The shape items are given in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Ninjs,
}

impl Format {
    /// From `format=` if given, else from `Accept`; 400 naming `format` for one it does not know.
    pub fn negotiate(format: Option<&str>, accept: Option<&str>) -> AppResult<Format> {
        match format {
            Some("json") => Ok(Format::Json),
            Some("ninjs") => Ok(Format::Ninjs),
            Some(_) => Err(AppError::bad_parameter(
                "format",
                "must be `json` (Newsdesk JSON) or `ninjs` (IPTC ninjs 3.1)",
            )),
            None if accept.is_some_and(|a| a.contains(ninjs::MEDIA_TYPE)) => Ok(Format::Ninjs),
            None => Ok(Format::Json),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Ninjs => ninjs::MEDIA_TYPE,
        }
    }
}

/// A story in one language as partners get it: its list item, with its text.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SyndicatedItem {
    #[serde(flatten)]
    pub item: ArticleItem,
    /// Sanitized HTML.
    pub body: String,
    pub word_count: i32,
    /// Grows each time what partners get of this item changes.
    pub version: i64,
}

/// Whether a change puts an item in place or withdraws it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Upsert,
    Delete,
}

/// One change of the feed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChangeEntry {
    pub action: Action,
    /// The story's id, the same in every language.
    pub id: i64,
    #[schema(example = "ka")]
    pub lang: String,
    /// The item's version after this change.
    pub version: i64,
    pub changed_at: DateTime<Utc>,
    /// For a `delete`: `unpublished`, `archived`, `deleted`, `not_syndicated` (the story is no
    /// longer offered to partners) or `out_of_scope` (it no longer carries any of this key's
    /// tags).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For an `upsert`: the item (a [`SyndicatedItem`], or with `format=ninjs` a ninjs 3.1
    /// document); with `format=ninjs` a `delete` carries a canceled ninjs document.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<ChangeItem>)]
    pub item: Option<Box<RawValue>>,
}

/// What a change feed entry carries: the item as Newsdesk JSON, or as a ninjs 3.1 document.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum ChangeItem {
    Item(Box<SyndicatedItem>),
    Ninjs(Box<ninjs::NinjsDocument>),
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sc)]
pub struct Row {
    pub id: i64,
    pub seq: i64,
    pub article_id: i64,
    pub lang: String,
    pub translation_id: i64,
    pub action: String,
    pub reason: Option<String>,
    pub changed_at: NaiveDateTime,
}

/// The rows after `(seq, id)`, in the feed's order, in the languages given (all when empty).
pub fn rows_after(
    conn: &mut DbConn,
    (seq, id): (i64, i64),
    langs: &[String],
    fetch: i64,
) -> AppResult<Vec<Row>> {
    let langs = langs.to_vec();
    let any_lang = langs.is_empty();
    Ok(db_run!(conn, |c| {
        // `seq >= ?` first, so that the index on (seq, id) is read from there on.
        let mut q = sc::table
            .filter(sc::seq.ge(seq))
            .filter(sc::seq.gt(seq).or(sc::id.gt(id)))
            .order((sc::seq, sc::id))
            .limit(fetch)
            .into_boxed();
        if !any_lang {
            q = q.filter(sc::lang.eq_any(langs));
        }
        q.select(Row::as_select()).load(c)
    })?)
}

/// The row of story `article_id` in `lang`, if partners were ever offered it.
pub fn row_of(conn: &mut DbConn, article_id: i64, lang: &str) -> AppResult<Option<Row>> {
    let lang = lang.to_owned();
    Ok(db_run!(conn, |c| sc::table
        .filter(sc::article_id.eq(article_id))
        .filter(sc::lang.eq(&lang))
        .select(Row::as_select())
        .first(c)
        .optional())?)
}

/// `rows` as `partner` gets them, in `format`.
pub fn entries(
    conn: &mut DbConn,
    st: &AppState,
    partner: &Partner,
    rows: &[Row],
    format: Format,
) -> AppResult<Vec<ChangeEntry>> {
    let wanted: Vec<i64> = rows
        .iter()
        .filter(|r| r.action == UPSERT)
        .map(|r| r.translation_id)
        .collect();
    let full: HashMap<i64, Full> = db_run!(conn, |c| pt::table
        .filter(pt::id.eq_any(&wanted))
        .select(Full::as_select())
        .load::<Full>(c))?
    .into_iter()
    .map(|f| (f.listed.id, f))
    .collect();
    // Each language named through its own chain; a language disabled since has none.
    let mut chains: HashMap<String, Option<Vec<String>>> = HashMap::new();
    for f in full.values() {
        if !chains.contains_key(&f.listed.lang) {
            let chain = st.reader_chain(conn, &f.listed.lang).ok();
            chains.insert(f.listed.lang.clone(), chain);
        }
    }
    let names_in: Vec<String> = chains
        .values()
        .flatten()
        .flatten()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let stories: Vec<i64> = full.values().map(|f| f.listed.article_id).collect();
    let d = queries::decorations(conn, &stories, &names_in)?;
    let site = &st.config.public_site_url;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let changed_at = row.changed_at.and_utc();
        let withdrawn = |reason: &str| {
            let item = (format == Format::Ninjs)
                .then(|| {
                    to_raw_value(&ninjs::tombstone(
                        &st.config,
                        row.article_id,
                        &row.lang,
                        row.seq,
                        changed_at,
                    ))
                    .ok()
                })
                .flatten();
            ChangeEntry {
                action: Action::Delete,
                id: row.article_id,
                lang: row.lang.clone(),
                version: row.seq,
                changed_at,
                reason: Some(reason.to_owned()),
                item,
            }
        };
        if row.action != UPSERT {
            let reason = row
                .reason
                .as_deref()
                .unwrap_or(change_log::reason::UNPUBLISHED);
            out.push(withdrawn(reason));
            continue;
        }
        let found = full.get(&row.translation_id).and_then(|f| {
            let chain = chains.get(&f.listed.lang)?.as_ref()?;
            Some((f, chain))
        });
        let Some((f, chain)) = found else {
            // Unpublished or its language disabled since the row was read.
            out.push(withdrawn(change_log::reason::UNPUBLISHED));
            continue;
        };
        if !partner.covers(&d.tag_ids(row.article_id)) {
            out.push(withdrawn(OUT_OF_SCOPE));
            continue;
        }
        let item = SyndicatedItem {
            item: d.item(&f.listed, chain, site, &st.media.base)?,
            body: crate::media::body::show(conn, f.body.clone(), chain, &st.media.base)?,
            word_count: f.word_count,
            version: row.seq,
        };
        let modified = d
            .modified(row.article_id)
            .map_or(changed_at, |m| m.and_utc());
        // Written once, as the text it is sent as: no tree of values per item.
        let value = match format {
            Format::Json => to_raw_value(&item),
            Format::Ninjs => to_raw_value(&ninjs::document(&st.config, &item, modified)),
        }
        .map_err(|e| AppError::Internal(format!("syndicated item: {e}")))?;
        out.push(ChangeEntry {
            action: Action::Upsert,
            id: row.article_id,
            lang: row.lang.clone(),
            version: row.seq,
            changed_at,
            reason: None,
            item: Some(value),
        });
    }
    Ok(out)
}
