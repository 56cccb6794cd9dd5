//! What every editor's request about a translation is checked against, whichever handler
//! serves it: the story the caller may see, the translation, the version `If-Match` names, and
//! the one validation of a translation's text.

use serde::Deserialize;
use utoipa::ToSchema;

use crate::articles::translations::{self, Source, Text, Translation};
use crate::articles::workflow::{self, Access};
use crate::articles::{self as articles, Story};
use crate::auth::AuthUser;
use crate::db::DbConn;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::html::Sanitizer;
use crate::http::IfMatch;
use crate::languages::LanguageCode;
use crate::slug::Slug;
use crate::text::plain_text;

const TITLE_MAX: usize = 300;
const SUBTITLE_MAX: usize = 600;
const EXCERPT_MAX: usize = 1000;
const SEO_TITLE_MAX: usize = 200;
const SEO_DESCRIPTION_MAX: usize = 400;

/// A translation's text fields as a request sends them (the body aside, which is sanitized
/// rather than checked); `None` where a field was not sent.
#[derive(Debug, Default)]
pub struct TextFields {
    pub title: Option<String>,
    pub subtitle: Option<String>,
    pub excerpt: Option<String>,
    pub seo_title: Option<String>,
    pub seo_description: Option<String>,
}

impl TextFields {
    /// Each field sent, checked by its rule: the title and SEO title are one line each (a
    /// title never empty), the rest plain text, each bounded. Errors are named with `prefix`
    /// and gathered in `f`; a field that fails is left out. The one check of a translation's
    /// text, for a new translation and for a change alike.
    pub fn checked(self, prefix: &str, f: &mut FieldErrors) -> TextFields {
        let field = |name: &str| format!("{prefix}{name}");
        TextFields {
            title: self
                .title
                .and_then(|t| f.check(line(&t, &field("title"), TITLE_MAX, true))),
            subtitle: self
                .subtitle
                .and_then(|t| f.check(plain_text(&t, &field("subtitle"), SUBTITLE_MAX))),
            excerpt: self
                .excerpt
                .and_then(|t| f.check(plain_text(&t, &field("excerpt"), EXCERPT_MAX))),
            seo_title: self
                .seo_title
                .and_then(|t| f.check(line(&t, &field("seo_title"), SEO_TITLE_MAX, false))),
            seo_description: self.seo_description.and_then(|t| {
                f.check(plain_text(
                    &t,
                    &field("seo_description"),
                    SEO_DESCRIPTION_MAX,
                ))
            }),
        }
    }
}

/// A new translation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTranslation {
    /// Only in a new story's first translation; otherwise the path names the language.
    #[schema(example = "ru")]
    pub lang: Option<String>,
    /// Plain text, without markup (422 otherwise); frontends escape it.
    #[schema(example = "Georgia and Russia agree to resume direct flights")]
    pub title: String,
    /// The lead, shown under the title.
    /// Plain text, without markup (422 otherwise); frontends escape it.
    pub subtitle: Option<String>,
    /// HTML; sanitized on write.
    pub body: Option<String>,
    /// Derived from the body when left out or empty.
    /// Plain text, without markup (422 otherwise); frontends escape it.
    pub excerpt: Option<String>,
    /// Plain text, without markup (422 otherwise); frontends escape it.
    pub seo_title: Option<String>,
    /// Plain text, without markup (422 otherwise); frontends escape it.
    pub seo_description: Option<String>,
    /// Made from the title, transliterated to ASCII, when left out.
    pub slug: Option<String>,
    /// The language of the translation of the same story this one was translated from.
    #[schema(example = "en")]
    pub translated_from: Option<String>,
}

/// The story `id` as the caller may see it; 404 when it doesn't exist or they may not know.
pub fn visible_story(conn: &mut DbConn, caller: &AuthUser, id: i64) -> AppResult<(Story, Access)> {
    let story = articles::load_story(conn, id)?.ok_or_else(|| workflow::not_found(id))?;
    let access = Access::to(caller, &story)?;
    Ok((story, access))
}

/// One line of text: trimmed, at most `max` characters, no control characters.
fn line(raw: &str, field: &str, max: usize, required: bool) -> AppResult<String> {
    let text = raw.trim();
    if required && text.is_empty() {
        return Err(AppError::invalid(field, "must not be empty"));
    }
    if text.chars().count() > max || text.chars().any(char::is_control) {
        return Err(AppError::invalid(
            field,
            format!("must be one line of at most {max} characters"),
        ));
    }
    if crate::text::has_markup(text) {
        return Err(AppError::invalid(
            field,
            "must be plain text, without markup such as `<b>`: it is shown as text",
        ));
    }
    Ok(text.to_owned())
}

/// A new translation, parsed; the database checks happen in [`NewTranslation::insert`].
pub struct NewTranslation {
    slug: Option<Slug>,
    text: Text,
    translated_from: Option<String>,
}

/// Parses a new translation's fields, naming them with `prefix` (`translation.` inside a new
/// story) in errors.
pub fn parse_new_translation(
    sanitizer: &Sanitizer,
    b: CreateTranslation,
    prefix: &str,
    f: &mut FieldErrors,
) -> Option<NewTranslation> {
    let field = |name: &str| format!("{prefix}{name}");
    let text = TextFields {
        title: Some(b.title),
        subtitle: Some(b.subtitle.unwrap_or_default()),
        excerpt: Some(b.excerpt.unwrap_or_default()),
        seo_title: Some(b.seo_title.unwrap_or_default()),
        seo_description: Some(b.seo_description.unwrap_or_default()),
    }
    .checked(prefix, f);
    let slug = f.check(
        b.slug
            .as_deref()
            .map(|s| Slug::parse(s, &field("slug")))
            .transpose(),
    );
    let translated_from = f.check(
        b.translated_from
            .as_deref()
            .map(|l| LanguageCode::parse(l, &field("translated_from")))
            .transpose(),
    );
    Some(NewTranslation {
        slug: slug?,
        text: Text {
            title: text.title?,
            subtitle: text.subtitle?,
            body: sanitizer.clean(b.body.as_deref().unwrap_or("")),
            excerpt: text.excerpt?,
            seo_title: text.seo_title?,
            seo_description: text.seo_description?,
        },
        translated_from: translated_from?.map(|l| l.as_str().to_owned()),
    })
}

/// The source translation `source_lang` of the same story, for `translated_from`.
pub fn source_of(
    conn: &mut DbConn,
    article_id: i64,
    lang: &str,
    source_lang: &str,
) -> AppResult<Translation> {
    if source_lang == lang {
        return Err(AppError::invalid(
            "translated_from",
            "a translation cannot be translated from itself",
        ));
    }
    translations::find(conn, article_id, source_lang)?.ok_or_else(|| {
        AppError::invalid(
            "translated_from",
            format!("this story has no `{source_lang}` translation"),
        )
    })
}

impl NewTranslation {
    /// Creates the translation as a draft. Call in a transaction.
    pub fn insert(
        self,
        conn: &mut DbConn,
        article_id: i64,
        lang: &str,
        user_id: i64,
    ) -> AppResult<Translation> {
        if translations::find(conn, article_id, lang)?.is_some() {
            return Err(AppError::Conflict(format!(
                "this story already has a `{lang}` translation"
            )));
        }
        let source = match &self.translated_from {
            Some(src) => {
                let s = source_of(conn, article_id, lang, src)?;
                Some(Source {
                    translation_id: s.id,
                    version: s.content_version,
                })
            }
            None => None,
        };
        let slug = translations::choose_slug(conn, lang, self.slug, &self.text.title, None)?;
        translations::insert(conn, article_id, lang, slug, self.text, source, user_id)
    }
}

/// A translation the caller may see, with its story and the caller's access.
pub struct Loaded {
    pub story: Story,
    pub access: Access,
    pub translation: Translation,
}

fn no_translation(id: i64, lang: &str) -> AppError {
    AppError::NotFound(format!("story {id} has no `{lang}` translation"))
}

/// The path's language; a malformed code can name no translation (404).
pub fn path_lang(id: i64, raw: &str) -> AppResult<String> {
    LanguageCode::parse(raw, "lang")
        .map(|c| c.as_str().to_owned())
        .map_err(|_| no_translation(id, raw))
}

pub fn load(conn: &mut DbConn, caller: &AuthUser, id: i64, lang: &str) -> AppResult<Loaded> {
    let (story, access) = visible_story(conn, caller, id)?;
    let translation =
        translations::find(conn, id, lang)?.ok_or_else(|| no_translation(id, lang))?;
    Ok(Loaded {
        story,
        access,
        translation,
    })
}

/// The translation to write and the version `If-Match` expects. The precondition is checked
/// before any rule of the workflow: an editor whose copy is stale learns that first (412), since
/// every other answer would be about a state they have not seen.
pub fn load_for_write(
    conn: &mut DbConn,
    caller: &AuthUser,
    id: i64,
    lang: &str,
    if_match: &IfMatch,
) -> AppResult<(Loaded, i32)> {
    let l = load(conn, caller, id, lang)?;
    let version = l.translation.version;
    if if_match.matches(&l.translation.etag()) {
        Ok((l, version))
    } else {
        Err(translations::stale(conn, &l.translation)?)
    }
}
