//! A donation prompt as an editor sends it, parsed and checked field by field.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::articles::ArticleType;
use crate::dates;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::html::Sanitizer;
use crate::http::present;
use crate::languages::LanguageCode;
use crate::prompts::{Draft, Placement, PromptStatus, PromptText};
use crate::slug::Slug;
use crate::text::{plain_text, short_name, web_url};

pub fn parse_status(raw: &str, field: &str) -> AppResult<PromptStatus> {
    match raw {
        "active" => Ok(PromptStatus::Active),
        "paused" => Ok(PromptStatus::Paused),
        "archived" => Ok(PromptStatus::Archived),
        _ => Err(AppError::invalid(
            field,
            "must be one of active, paused, archived",
        )),
    }
}

fn parse_placement(raw: &str, field: &str) -> AppResult<Placement> {
    Placement::parse(raw).ok_or_else(|| AppError::invalid(field, Placement::expected()))
}

fn parse_article_type(raw: &str, field: &str) -> AppResult<String> {
    const TYPES: [ArticleType; 5] = [
        ArticleType::News,
        ArticleType::Opinion,
        ArticleType::Analysis,
        ArticleType::Live,
        ArticleType::Digest,
    ];
    TYPES
        .iter()
        .find(|t| t.as_str() == raw)
        .map(|t| t.as_str().to_owned())
        .ok_or_else(|| {
            AppError::invalid(
                field,
                "must be one of news, opinion, analysis, live, digest",
            )
        })
}

/// A prompt's text in one language.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromptTextInput {
    /// Plain text, without markup (422 otherwise); frontends escape it.
    #[schema(example = "Support our newsroom")]
    pub headline: String,
    /// HTML, sanitized like article bodies; may be empty.
    #[schema(
        example = "<p>Independent journalism in five languages depends on readers like you.</p>"
    )]
    pub body: Option<String>,
    /// Plain text, without markup (422 otherwise); frontends escape it.
    #[schema(example = "Support Us")]
    pub button_label: String,
    /// An absolute `http` or `https` URL.
    #[schema(example = "https://example.org/donate")]
    pub target_url: String,
}

/// A new donation prompt.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePrompt {
    /// For editors only; readers never see it.
    #[schema(example = "Year-end appeal")]
    pub name: String,
    /// `active` (the default), `paused` or `archived`.
    #[schema(value_type = Option<crate::prompts::PromptStatus>)]
    pub status: Option<String>,
    /// `header`, `article_end`, `article_inline`, `sidebar`, `popup` or `footer`.
    #[schema(example = "article_end", value_type = crate::prompts::Placement)]
    pub placement: String,
    /// Shown to readers of these languages; absent or empty for every language.
    pub languages: Option<Vec<String>>,
    /// Shown only with stories carrying any of these tags (slugs); absent or empty for all.
    pub tags: Option<Vec<String>>,
    /// Never shown with stories carrying any of these tags (slugs).
    pub excluded_tags: Option<Vec<String>>,
    /// Shown only with stories of these types; absent or empty for all.
    pub article_types: Option<Vec<String>>,
    /// Shown from this time on (RFC 3339); absent for at once.
    pub starts_at: Option<DateTime<Utc>>,
    /// Shown until this time; absent for no end. Must be after `starts_at`.
    pub ends_at: Option<DateTime<Utc>>,
    /// Higher priorities are shown first; -1000 to 1000, 0 by default.
    pub priority: Option<i32>,
    /// Share in rotation among prompts of the same priority; 1 to 10000, 100 by default.
    pub weight: Option<i32>,
    /// For frontends (for example `{"dismiss_days": 7}`), passed through untouched. A JSON
    /// object of at most 4 KB.
    #[schema(value_type = Option<Object>)]
    pub hints: Option<serde_json::Value>,
    /// Text by language code; the default language is required.
    pub translations: BTreeMap<String, PromptTextInput>,
}

/// Changes to a prompt; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePrompt {
    pub name: Option<String>,
    #[schema(value_type = Option<crate::prompts::PromptStatus>)]
    pub status: Option<String>,
    #[schema(value_type = Option<crate::prompts::Placement>)]
    pub placement: Option<String>,
    pub languages: Option<Vec<String>>,
    pub tags: Option<Vec<String>>,
    pub excluded_tags: Option<Vec<String>>,
    pub article_types: Option<Vec<String>>,
    /// `null` removes the start.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub starts_at: Option<Option<DateTime<Utc>>>,
    /// `null` removes the end.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub ends_at: Option<Option<DateTime<Utc>>>,
    pub priority: Option<i32>,
    pub weight: Option<i32>,
    #[schema(value_type = Option<Object>)]
    pub hints: Option<serde_json::Value>,
    /// Texts to set by language code; `null` for a language removes its text. Languages not
    /// named keep theirs.
    #[schema(value_type = Option<BTreeMap<String, PromptTextInput>>)]
    pub translations: Option<BTreeMap<String, Option<PromptTextInput>>>,
}

pub fn query_placement(raw: &str) -> AppResult<Placement> {
    Placement::parse(raw).ok_or_else(|| AppError::bad_parameter("placement", Placement::expected()))
}

/// Each item parsed by `parse`, named `field[i]`, without repeats.
fn parse_list(
    raw: Vec<String>,
    field: &str,
    f: &mut FieldErrors,
    parse: impl Fn(&str, &str) -> AppResult<String>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, item) in raw.iter().enumerate() {
        if let Some(v) = f.check(parse(item, &format!("{field}[{i}]"))) {
            if !out.contains(&v) {
                out.push(v);
            }
        }
    }
    out
}

fn parse_text(
    sanitizer: &Sanitizer,
    lang: &str,
    input: PromptTextInput,
    f: &mut FieldErrors,
) -> Option<PromptText> {
    let field = format!("translations.{lang}");
    let headline = f.check(
        plain_text(&input.headline, &format!("{field}.headline"), 200).and_then(|h| {
            if h.is_empty() {
                Err(AppError::invalid(
                    &format!("{field}.headline"),
                    "must not be empty",
                ))
            } else {
                Ok(h)
            }
        }),
    );
    let body = input.body.unwrap_or_default();
    let body = if body.chars().count() > 20_000 {
        f.check::<()>(Err(AppError::invalid(
            &format!("{field}.body"),
            "must be at most 20000 characters",
        )));
        None
    } else {
        Some(sanitizer.clean(&body))
    };
    let button_label = f.check(short_name(
        &input.button_label,
        &format!("{field}.button_label"),
    ));
    let target_url = f.check(web_url(
        &input.target_url,
        &format!("{field}.target_url"),
        2048,
    ));
    Some(PromptText {
        prompt_id: 0,
        lang: lang.to_owned(),
        headline: headline?,
        body: body?,
        button_label: button_label?,
        target_url: target_url?,
    })
}

fn parse_hints(raw: serde_json::Value, f: &mut FieldErrors) -> Option<String> {
    if !raw.is_object() {
        f.check::<()>(Err(AppError::invalid("hints", "must be a JSON object")));
        return None;
    }
    let text = raw.to_string();
    if text.len() > 4096 {
        f.check::<()>(Err(AppError::invalid(
            "hints",
            "must be at most 4096 bytes of JSON",
        )));
        return None;
    }
    Some(text)
}

/// Applies `u` to `d`, checking every field; 422 naming each bad one.
pub fn apply(sanitizer: &Sanitizer, d: &mut Draft, u: UpdatePrompt) -> AppResult<()> {
    let mut f = FieldErrors::default();
    if let Some(name) = u.name {
        if let Some(name) = f.check(short_name(&name, "name")) {
            d.name = name;
        }
    }
    if let Some(status) = u.status {
        if let Some(status) = f.check(parse_status(&status, "status")) {
            d.status = status;
        }
    }
    if let Some(placement) = u.placement {
        if let Some(placement) = f.check(parse_placement(&placement, "placement")) {
            d.placement = placement;
        }
    }
    if let Some(languages) = u.languages {
        d.languages = parse_list(languages, "languages", &mut f, |raw, field| {
            LanguageCode::parse(raw, field).map(|c| c.as_str().to_owned())
        });
    }
    if let Some(tags) = u.tags {
        d.tags = parse_list(tags, "tags", &mut f, |raw, field| {
            Slug::parse(raw, field).map(Slug::into_string)
        });
    }
    if let Some(tags) = u.excluded_tags {
        d.excluded_tags = parse_list(tags, "excluded_tags", &mut f, |raw, field| {
            Slug::parse(raw, field).map(Slug::into_string)
        });
    }
    if let Some(types) = u.article_types {
        d.article_types = parse_list(types, "article_types", &mut f, parse_article_type);
    }
    if let Some(starts_at) = u.starts_at {
        d.starts_at = starts_at
            .map(|t| dates::body_time("starts_at", t))
            .transpose()?;
    }
    if let Some(ends_at) = u.ends_at {
        d.ends_at = ends_at
            .map(|t| dates::body_time("ends_at", t))
            .transpose()?;
    }
    if let (Some(s), Some(e)) = (d.starts_at, d.ends_at) {
        if e <= s {
            f.check::<()>(Err(AppError::invalid(
                "ends_at",
                "must be after `starts_at`",
            )));
        }
    }
    if let Some(priority) = u.priority {
        if (-1000..=1000).contains(&priority) {
            d.priority = priority;
        } else {
            f.check::<()>(Err(AppError::invalid(
                "priority",
                "must be between -1000 and 1000",
            )));
        }
    }
    if let Some(weight) = u.weight {
        if (1..=10_000).contains(&weight) {
            d.weight = weight;
        } else {
            f.check::<()>(Err(AppError::invalid(
                "weight",
                "must be between 1 and 10000",
            )));
        }
    }
    if let Some(hints) = u.hints {
        if let Some(hints) = parse_hints(hints, &mut f) {
            d.hints = hints;
        }
    }
    for (lang, input) in u.translations.unwrap_or_default() {
        let Some(code) = f.check(LanguageCode::parse(&lang, &format!("translations.{lang}")))
        else {
            continue;
        };
        let code = code.as_str().to_owned();
        d.texts.retain(|t| t.lang != code);
        if let Some(input) = input {
            if let Some(text) = parse_text(sanitizer, &code, input, &mut f) {
                d.texts.push(text);
            }
        }
    }
    d.texts.sort_by(|a, b| a.lang.cmp(&b.lang));
    f.finish()
}
