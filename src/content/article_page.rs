//! The article page's decision: which published translation a reader's language and slug
//! name, whether the story now lives at another slug, and what to answer when it is not
//! published in that language.

use serde_json::json;

use crate::content::queries::{self, Availability, Full};
use crate::db::DbConn;
use crate::error::{AppError, AppResult};

/// What an article page shows.
pub enum Decision {
    /// This translation.
    Here(Box<Full>),
    /// The story lives at this slug in the language asked for: 301.
    Moved(String),
}

/// What `(chain[0], slug)` names. An old slug, or the story's slug in another language, has
/// moved. A story not published in the language is, with `fallback`, served in the first
/// language of `chain` it is published in; otherwise 404 listing the languages it is in, with
/// their addresses on `site`.
pub fn decide(
    conn: &mut DbConn,
    chain: &[String],
    slug: &str,
    fallback: bool,
    site: &str,
) -> AppResult<Decision> {
    let requested = &chain[0];
    let available = match locate(conn, requested, slug)? {
        Found::Here(full) => return Ok(Decision::Here(full)),
        Found::Moved(current) => return Ok(Decision::Moved(current)),
        Found::Elsewhere(available) => available,
    };
    let served = chain
        .iter()
        .find_map(|l| available.iter().find(|(a, _)| a == l));
    if let (Some((l, s)), true) = (served, fallback) {
        let full = queries::by_slug(conn, l, s)?.ok_or_else(|| no_story(requested, slug))?;
        return Ok(Decision::Here(Box::new(full)));
    }
    let langs: Vec<Availability> = available
        .iter()
        .map(|(l, s)| Availability {
            url: queries::canonical_url(site, l, s),
            lang: l.clone(),
            slug: s.clone(),
        })
        .collect();
    Err(AppError::NotFoundWith {
        detail: format!(
            "this story is not published in `{requested}`; it is in: {}",
            available
                .iter()
                .map(|(l, _)| l.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        extra: json!({ "available": langs }),
    })
}

/// 404: nothing is published at `lang`/`slug`.
pub fn no_story(lang: &str, slug: &str) -> AppError {
    AppError::NotFound(format!("no story published at `{lang}/{slug}`"))
}

/// Where to find a story asked for by language and slug.
enum Found {
    Here(Box<queries::Full>),
    /// The slug is old, or names the story in another language that has this one: 301.
    Moved(String),
    /// Not published in the language; published in these.
    Elsewhere(Vec<(String, String)>),
}

fn locate(conn: &mut DbConn, lang: &str, slug: &str) -> AppResult<Found> {
    if let Some(full) = queries::by_slug(conn, lang, slug)? {
        return Ok(Found::Here(Box::new(full)));
    }
    if let Some(current) = queries::renamed(conn, lang, slug)? {
        return Ok(Found::Moved(current));
    }
    let Some(story) = queries::story_of_slug(conn, slug)? else {
        return Err(no_story(lang, slug));
    };
    let alternates: Vec<(String, String)> = crate::db::specific::alternates(conn, &[story])?
        .into_iter()
        .map(|(_, l, s)| (l, s))
        .collect();
    match alternates.iter().find(|(l, _)| l == lang) {
        Some((_, current)) => Ok(Found::Moved(current.clone())),
        None => Ok(Found::Elsewhere(alternates)),
    }
}

/// What `include=` may add to an article.
#[derive(Debug, Default, Clone, Copy)]
pub struct Include {
    pub related: bool,
    pub most_read: bool,
    pub live_entries: bool,
    pub donation_prompt: bool,
}

impl Include {
    pub fn parse(raw: Option<&str>) -> AppResult<Include> {
        let mut inc = Include::default();
        for part in raw
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            match part {
                "related" => inc.related = true,
                "most_read" => inc.most_read = true,
                "live_entries" => inc.live_entries = true,
                "donation_prompt" => inc.donation_prompt = true,
                other => {
                    return Err(AppError::bad_parameter(
                        "include",
                        format!(
                        "`{other}` is not one of related, most_read, live_entries, donation_prompt"
                    ),
                    ))
                }
            }
        }
        Ok(inc)
    }

    pub fn any(self) -> bool {
        self.related || self.most_read || self.live_entries || self.donation_prompt
    }
}
