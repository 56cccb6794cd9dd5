//! Small text rules shared by several resources.

use crate::error::{AppError, AppResult};

/// A name shown to people (a display name, a language's name): trimmed, 1 to 100 characters,
/// no control characters.
pub fn short_name(raw: &str, field: &str) -> AppResult<String> {
    let name = raw.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > 100 || name.chars().any(char::is_control) {
        return Err(AppError::invalid(
            field,
            "must be 1 to 100 printable characters",
        ));
    }
    Ok(name.to_owned())
}

/// Free text of at most `max` characters (a description, a caption): trimmed, no control
/// characters other than line breaks and tabs. Empty is allowed.
pub fn plain_text(raw: &str, field: &str, max: usize) -> AppResult<String> {
    let text = raw.trim();
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
