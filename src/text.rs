//! Small text rules shared by several resources.

use crate::error::{AppError, AppResult};

/// A name shown to people (a display name, a language's name): trimmed, 1 to 100 characters,
/// no control characters, no characters that reorder text around them (bidi overrides and
/// isolates), and no markup.
pub fn short_name(raw: &str, field: &str) -> AppResult<String> {
    let name = raw.trim();
    let chars = name.chars().count();
    if chars == 0
        || chars > 100
        || name.chars().any(|c| c.is_control() || reorders_text(c))
        || has_markup(name)
    {
        return Err(AppError::invalid(
            field,
            "must be 1 to 100 printable characters, without markup or direction overrides",
        ));
    }
    Ok(name.to_owned())
}

/// Bidirectional embeddings, overrides and isolates, which make text shown after them read
/// differently from how it is stored.
fn reorders_text(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Unicode's default-ignorable code points (zero-width spaces and joiners, soft hyphens,
/// variation selectors, tags …): shown as nothing, so they must not tell two names apart.
pub fn default_ignorable(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFF8}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

/// Whether `text` holds what an HTML parser reads as the start of a tag, a comment or a
/// declaration: `<` followed by a letter, `/`, `!` or `?`. Plain-text fields never do, so that
/// even a template that forgets to escape them renders no markup.
pub fn has_markup(text: &str) -> bool {
    text.as_bytes()
        .windows(2)
        .any(|w| w[0] == b'<' && opens_tag(char::from(w[1])))
}

/// Whether `<` followed by `next` starts a tag, a comment or a declaration.
fn opens_tag(next: char) -> bool {
    next.is_ascii_alphabetic() || matches!(next, '/' | '!' | '?')
}

/// `text` with every `<` that would open a tag written as `‹`: for plain text derived from
/// HTML (an excerpt), where a body's escaped `&lt;img …&gt;` became `<img …>`.
pub fn without_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let opens = c == '<' && chars.peek().is_some_and(|n| opens_tag(*n));
        out.push(if opens { '‹' } else { c });
    }
    out
}

/// Free text of at most `max` characters (a description, a caption): trimmed, no control
/// characters other than line breaks and tabs, no markup ([`has_markup`]). Empty is allowed.
pub fn plain_text(raw: &str, field: &str, max: usize) -> AppResult<String> {
    let text = raw.trim();
    if has_markup(text) {
        return Err(AppError::invalid(
            field,
            "must be plain text, without markup such as `<b>`: it is shown as text",
        ));
    }
    if text.chars().count() > max
        || text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(AppError::invalid(
            field,
            format!("must be at most {max} characters, without control characters"),
        ));
    }
    Ok(text.to_owned())
}

/// An absolute `http` or `https` URL with a host and no user name or password, of at most `max`
/// characters, as the `url` crate writes it: parsed and written again, so that what is stored
/// and served is a URL and nothing else (a quote or a space in it is percent-encoded).
pub fn web_url(raw: &str, field: &str, max: usize) -> AppResult<String> {
    let bad = || {
        AppError::invalid(
            field,
            format!(
                "must be an absolute http or https URL of at most {max} characters, without a user name or password"
            ),
        )
    };
    let raw = raw.trim();
    if raw.len() > max {
        return Err(bad());
    }
    let url = url::Url::parse(raw).map_err(|_| bad())?;
    let plain = matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some_and(|h| !h.is_empty())
        && url.username().is_empty()
        && url.password().is_none();
    let written = url.to_string();
    if !plain || written.len() > max {
        return Err(bad());
    }
    Ok(written)
}
