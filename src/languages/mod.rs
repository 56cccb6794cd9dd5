//! Languages the newsroom publishes in: the model, the rules (exactly one default, fallback
//! chains without cycles) and their queries. The first resource, and the pattern for the rest.

pub mod handlers;

use std::collections::HashSet;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::cache::Generational;
use crate::db::schema::{donation_prompt_translations, languages, tag_translations, translations};
use crate::db::{now, DbConn};
use crate::db_run;
use crate::error::{AppError, AppResult};

/// A normalised BCP 47 language tag: `en`, `ru`, `ka`, `hy`, `az`, `pt-BR`, `sr-Latn` …
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LanguageCode(String);

impl LanguageCode {
    /// Accepts a primary language subtag of 2–3 letters followed by subtags of 1–8 letters or
    /// digits, and normalises case as BCP 47 recommends (`sr-latn-rs` → `sr-Latn-RS`).
    pub fn parse(raw: &str, field: &str) -> AppResult<LanguageCode> {
        let invalid = || {
            AppError::invalid(
                field,
                "must be a BCP 47 language tag such as `en` or `pt-BR`",
            )
        };
        let raw = raw.trim();
        if raw.len() > 35 {
            return Err(invalid());
        }
        let mut parts = raw.split('-');
        let primary = parts.next().unwrap_or_default();
        if !(2..=3).contains(&primary.len()) || !primary.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(invalid());
        }
        let mut code = primary.to_ascii_lowercase();
        for part in parts {
            if !(1..=8).contains(&part.len()) || !part.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(invalid());
            }
            code.push('-');
            let letters = part.bytes().all(|b| b.is_ascii_alphabetic());
            let digits = part.bytes().all(|b| b.is_ascii_digit());
            match part.len() {
                4 if letters => {
                    code.push_str(&part[..1].to_ascii_uppercase());
                    code.push_str(&part[1..].to_ascii_lowercase());
                }
                2 if letters => code.push_str(&part.to_ascii_uppercase()),
                3 if digits => code.push_str(part),
                _ => code.push_str(&part.to_ascii_lowercase()),
            }
        }
        Ok(LanguageCode(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Which way the language's script runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Ltr,
    Rtl,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Ltr => "ltr",
            Direction::Rtl => "rtl",
        }
    }

    fn from_db(s: &str) -> Direction {
        if s == "rtl" {
            Direction::Rtl
        } else {
            Direction::Ltr
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = languages)]
pub struct Language {
    pub code: String,
    pub name: String,
    pub native_name: String,
    pub direction: String,
    pub enabled: bool,
    pub position: i32,
    pub fallback_code: Option<String>,
    pub is_default: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A language as editors' tools see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct LanguageResponse {
    #[schema(example = "ka")]
    pub code: String,
    /// The English name.
    #[schema(example = "Georgian")]
    pub name: String,
    /// The name in the language itself, for the language switcher.
    #[schema(example = "ქართული")]
    pub native_name: String,
    pub direction: Direction,
    /// Disabled languages are hidden from the Content API.
    pub enabled: bool,
    /// Order in the language switcher, ascending.
    pub position: i32,
    /// The language to fall back to when content is missing in this one.
    #[schema(example = "ru")]
    pub fallback: Option<String>,
    /// The newsroom's default language; exactly one is.
    pub is_default: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Language> for LanguageResponse {
    fn from(l: Language) -> Self {
        LanguageResponse {
            direction: Direction::from_db(&l.direction),
            code: l.code,
            name: l.name,
            native_name: l.native_name,
            enabled: l.enabled,
            position: l.position,
            fallback: l.fallback_code,
            is_default: l.is_default,
            created_at: l.created_at.and_utc(),
            updated_at: l.updated_at.and_utc(),
        }
    }
}

/// A language as frontends see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicLanguage {
    #[schema(example = "hy")]
    pub code: String,
    #[schema(example = "Armenian")]
    pub name: String,
    #[schema(example = "Հայերեն")]
    pub native_name: String,
    pub direction: Direction,
    pub position: i32,
    pub fallback: Option<String>,
    pub is_default: bool,
}

impl From<Language> for PublicLanguage {
    fn from(l: Language) -> Self {
        PublicLanguage {
            direction: Direction::from_db(&l.direction),
            code: l.code,
            name: l.name,
            native_name: l.native_name,
            position: l.position,
            fallback: l.fallback_code,
            is_default: l.is_default,
        }
    }
}

/// A name shown to people: 1 to 100 printable characters.
pub fn parse_name(raw: &str, field: &str) -> AppResult<String> {
    crate::text::short_name(raw, field)
}

pub fn parse_position(raw: i32, field: &str) -> AppResult<i32> {
    if (0..=10_000).contains(&raw) {
        Ok(raw)
    } else {
        Err(AppError::invalid(field, "must be between 0 and 10000"))
    }
}

/// Every language, or only the enabled ones, in switcher order.
pub fn list(conn: &mut DbConn, enabled_only: bool) -> AppResult<Vec<Language>> {
    // Two fixed queries rather than one boxed one: diesel keeps a fixed query prepared per
    // connection, and every uncached Content API request reads the enabled languages.
    let order = (languages::position.asc(), languages::code.asc());
    Ok(db_run!(conn, |c| if enabled_only {
        languages::table
            .filter(languages::enabled.eq(true))
            .order(order)
            .select(Language::as_select())
            .load(c)
    } else {
        languages::table
            .order(order)
            .select(Language::as_select())
            .load(c)
    })?)
}

pub fn find(conn: &mut DbConn, code: &LanguageCode) -> AppResult<Option<Language>> {
    Ok(db_run!(conn, |c| languages::table
        .find(code.as_str())
        .select(Language::as_select())
        .first(c)
        .optional())?)
}

fn not_found(code: &LanguageCode) -> AppError {
    AppError::NotFound(format!("no language with code `{}`", code.as_str()))
}

/// A language to create, already parsed.
pub struct NewLanguage {
    pub code: LanguageCode,
    pub name: String,
    pub native_name: String,
    pub direction: Direction,
    pub enabled: bool,
    pub position: i32,
    pub fallback: Option<LanguageCode>,
    pub is_default: bool,
}

/// Changes to a language, already parsed; `None` leaves a field as it is.
#[derive(Default)]
pub struct LanguageChanges {
    pub name: Option<String>,
    pub native_name: Option<String>,
    pub direction: Option<Direction>,
    pub enabled: Option<bool>,
    pub position: Option<i32>,
    /// `Some(None)` removes the fallback.
    pub fallback: Option<Option<LanguageCode>>,
    pub is_default: Option<bool>,
}

/// Creates a language. The first language becomes the default whatever the request says,
/// so that there is always exactly one. Call inside a transaction.
pub fn insert(conn: &mut DbConn, new: NewLanguage) -> AppResult<Language> {
    conn.lock_table("languages")?;
    if find(conn, &new.code)?.is_some() {
        return Err(AppError::Conflict(format!(
            "a language with code `{}` already exists",
            new.code.as_str()
        )));
    }
    if let Some(fallback) = &new.fallback {
        check_fallback(conn, &new.code, fallback)?;
    }
    let has_default = current_default(conn)?.is_some();
    let is_default = new.is_default || !has_default;
    if is_default && !new.enabled {
        return Err(AppError::invalid(
            "enabled",
            "the default language must be enabled",
        ));
    }
    if is_default {
        clear_default(conn)?;
    }
    let at = now();
    let row = Language {
        code: new.code.0,
        name: new.name,
        native_name: new.native_name,
        direction: new.direction.as_str().to_owned(),
        enabled: new.enabled,
        position: new.position,
        fallback_code: new.fallback.map(|f| f.0),
        is_default,
        created_at: at,
        updated_at: at,
    };
    Ok(db_run!(conn, |c| diesel::insert_into(languages::table)
        .values(&row)
        .returning(Language::as_returning())
        .get_result(c))?)
}

/// Applies `changes` to the language `code`. Call inside a transaction.
pub fn update(
    conn: &mut DbConn,
    code: &LanguageCode,
    changes: LanguageChanges,
) -> AppResult<Language> {
    conn.lock_table("languages")?;
    let mut lang = find(conn, code)?.ok_or_else(|| not_found(code))?;
    if let Some(Some(fallback)) = &changes.fallback {
        check_fallback(conn, code, fallback)?;
    }
    let enabled = changes.enabled.unwrap_or(lang.enabled);
    match changes.is_default {
        Some(false) if lang.is_default => {
            return Err(AppError::invalid(
                "is_default",
                "there must always be a default language: make another language the default instead",
            ));
        }
        Some(true) if !lang.is_default => {
            if !enabled {
                return Err(AppError::invalid(
                    "enabled",
                    "the default language must be enabled",
                ));
            }
            clear_default(conn)?;
            lang.is_default = true;
        }
        _ => {}
    }
    if lang.is_default && !enabled {
        return Err(AppError::Conflict(
            "the default language cannot be disabled; make another language the default first"
                .into(),
        ));
    }
    lang.enabled = enabled;
    if let Some(name) = changes.name {
        lang.name = name;
    }
    if let Some(native_name) = changes.native_name {
        lang.native_name = native_name;
    }
    if let Some(direction) = changes.direction {
        lang.direction = direction.as_str().to_owned();
    }
    if let Some(position) = changes.position {
        lang.position = position;
    }
    if let Some(fallback) = changes.fallback {
        lang.fallback_code = fallback.map(|f| f.0);
    }
    lang.updated_at = now();
    Ok(db_run!(conn, |c| diesel::update(
        languages::table.find(code.as_str())
    )
    .set((
        languages::name.eq(&lang.name),
        languages::native_name.eq(&lang.native_name),
        languages::direction.eq(&lang.direction),
        languages::enabled.eq(lang.enabled),
        languages::position.eq(lang.position),
        languages::fallback_code.eq(&lang.fallback_code),
        languages::is_default.eq(lang.is_default),
        languages::updated_at.eq(lang.updated_at),
    ))
    .returning(Language::as_returning())
    .get_result(c))?)
}

/// Deletes the language `code` unless it is the default or another language falls back to
/// it; content that refers to it is protected by foreign keys (409). Call inside a transaction.
pub fn delete(conn: &mut DbConn, code: &LanguageCode) -> AppResult<()> {
    conn.lock_table("languages")?;
    let lang = find(conn, code)?.ok_or_else(|| not_found(code))?;
    if lang.is_default {
        return Err(AppError::Conflict(
            "the default language cannot be deleted; make another language the default first"
                .into(),
        ));
    }
    let dependants: Vec<String> = db_run!(conn, |c| languages::table
        .filter(languages::fallback_code.eq(code.as_str()))
        .select(languages::code)
        .order(languages::code.asc())
        .load(c))?;
    if !dependants.is_empty() {
        return Err(AppError::Conflict(format!(
            "`{}` is the fallback of {}; change their fallback first",
            code.as_str(),
            dependants.join(", ")
        )));
    }
    let (stories, tag_names, prompts): (i64, i64, i64) = db_run!(conn, |c| {
        let stories = translations::table
            .filter(translations::lang.eq(code.as_str()))
            .count()
            .get_result(c)?;
        let tag_names = tag_translations::table
            .filter(tag_translations::lang.eq(code.as_str()))
            .count()
            .get_result(c)?;
        let prompts = donation_prompt_translations::table
            .filter(donation_prompt_translations::lang.eq(code.as_str()))
            .count()
            .get_result(c)?;
        Ok::<_, diesel::result::Error>((stories, tag_names, prompts))
    })?;
    if stories > 0 || tag_names > 0 || prompts > 0 {
        return Err(AppError::ConflictWith {
            detail: format!(
                "content in `{}` still exists ({stories} translations, {tag_names} tag names, {prompts} donation prompt texts); delete it or disable the language instead",
                code.as_str()
            ),
            extra: serde_json::json!({
                "translations": stories,
                "tag_names": tag_names,
                "donation_prompts": prompts,
            }),
        });
    }
    db_run!(conn, |c| diesel::delete(
        languages::table.find(code.as_str())
    )
    .execute(c))?;
    Ok(())
}

/// The default language's code.
pub fn current_default(conn: &mut DbConn) -> AppResult<Option<String>> {
    Ok(db_run!(conn, |c| languages::table
        .filter(languages::is_default.eq(true))
        .select(languages::code)
        .first(c)
        .optional())?)
}

fn clear_default(conn: &mut DbConn) -> AppResult<()> {
    db_run!(conn, |c| diesel::update(
        languages::table.filter(languages::is_default.eq(true))
    )
    .set(languages::is_default.eq(false))
    .execute(c))?;
    Ok(())
}

/// `fallback` must exist, and following fallbacks from it must never come back to `code`.
fn check_fallback(
    conn: &mut DbConn,
    code: &LanguageCode,
    fallback: &LanguageCode,
) -> AppResult<()> {
    if fallback == code {
        return Err(AppError::invalid(
            "fallback",
            "a language cannot fall back to itself",
        ));
    }
    let links: Vec<(String, Option<String>)> = db_run!(conn, |c| languages::table
        .select((languages::code, languages::fallback_code))
        .load(c))?;
    if !links.iter().any(|(c, _)| c == fallback.as_str()) {
        return Err(AppError::invalid(
            "fallback",
            format!("no language with code `{}`", fallback.as_str()),
        ));
    }
    let mut seen = HashSet::new();
    let mut next = Some(fallback.as_str().to_owned());
    while let Some(current) = next {
        if current == code.as_str() {
            return Err(AppError::invalid(
                "fallback",
                format!("falling back to `{}` would form a cycle", fallback.as_str()),
            ));
        }
        if !seen.insert(current.clone()) {
            break;
        }
        next = links
            .iter()
            .find(|(c, _)| *c == current)
            .and_then(|(_, f)| f.clone());
    }
    Ok(())
}

/// The five languages of the demo newsroom: English (default), Russian, Georgian (falling back
/// to Russian), Armenian and Azerbaijani.
pub fn demo_languages() -> Vec<NewLanguage> {
    let lang =
        |code: &str, name: &str, native: &str, position, fallback: Option<&str>| NewLanguage {
            code: LanguageCode(code.to_owned()),
            name: name.to_owned(),
            native_name: native.to_owned(),
            direction: Direction::Ltr,
            enabled: true,
            position,
            fallback: fallback.map(|f| LanguageCode(f.to_owned())),
            is_default: code == "en",
        };
    vec![
        lang("en", "English", "English", 0, None),
        lang("ru", "Russian", "Русский", 1, Some("en")),
        lang("ka", "Georgian", "ქართული", 2, Some("ru")),
        lang("hy", "Armenian", "Հայերեն", 3, Some("en")),
        lang("az", "Azerbaijani", "Azərbaycan dili", 4, Some("en")),
    ]
}

/// The languages to try, in order, for content a reader asks for in `raw` (any case: `EN` is
/// `en`): its fallback chain among the enabled languages, read once per cache generation into
/// `enabled`. 404 unless `raw` is an enabled language. Every Content API endpoint that takes a
/// language resolves it here.
pub fn reader_chain(
    conn: &mut DbConn,
    enabled: &Generational<Vec<Language>>,
    generation: u64,
    raw: &str,
) -> AppResult<Vec<String>> {
    let all = enabled.get(generation, || list(conn, true))?;
    chain(&all, raw).ok_or_else(|| AppError::NotFound(format!("no language with code `{raw}`")))
}

/// [`chain_in`] for a language as a reader wrote it (any case); `None` when it is not one of
/// the enabled languages `all`.
pub fn chain(all: &[Language], raw: &str) -> Option<Vec<String>> {
    let code = LanguageCode::parse(raw, "lang").ok()?;
    chain_in(all, code.as_str())
}

/// The languages to try, in order, for content asked for in `code`, among the enabled
/// languages `all`: the language itself, its fallback chain, then the default language.
/// `None` when `code` is not an enabled language.
pub fn chain_in(all: &[Language], code: &str) -> Option<Vec<String>> {
    if !all.iter().any(|l| l.code == code) {
        return None;
    }
    let mut chain = vec![code.to_owned()];
    let mut next = all
        .iter()
        .find(|l| l.code == code)
        .and_then(|l| l.fallback_code.clone());
    while let Some(fallback) = next.take() {
        // Cycles are rejected on write; the check here only keeps a bad row from looping.
        if chain.contains(&fallback) {
            break;
        }
        next = all
            .iter()
            .find(|l| l.code == fallback)
            .and_then(|l| l.fallback_code.clone());
        if all.iter().any(|l| l.code == fallback) {
            chain.push(fallback);
        }
    }
    if let Some(default) = all.iter().find(|l| l.is_default) {
        if !chain.contains(&default.code) {
            chain.push(default.code.clone());
        }
    }
    Some(chain)
}

/// 422 naming `field` unless `code` is a language the newsroom has (enabled or not).
pub fn require_existing(conn: &mut DbConn, raw: &str, field: &str) -> AppResult<LanguageCode> {
    let code = LanguageCode::parse(raw, field)?;
    if find(conn, &code)?.is_none() {
        return Err(AppError::invalid(
            field,
            format!("no language with code `{raw}`"),
        ));
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_codes_are_normalised_and_garbage_rejected() {
        let ok = |s| LanguageCode::parse(s, "code").unwrap().0;
        assert_eq!(ok("EN"), "en");
        assert_eq!(ok("pt-br"), "pt-BR");
        assert_eq!(ok("sr-latn-rs"), "sr-Latn-RS");
        assert_eq!(ok("es-419"), "es-419");
        for bad in [
            "",
            "e",
            "english",
            "en_US",
            "en-",
            "en--us",
            "1a",
            "en-toolongsubtag",
        ] {
            assert!(LanguageCode::parse(bad, "code").is_err(), "{bad}");
        }
    }
}
