//! What requests of the Admin API share beyond their extractors.

use actix_web::http::header;
use actix_web::HttpRequest;
use serde::Deserialize;

use crate::error::{AppError, AppResult};

/// The versions `If-Match` names. Missing → 428; `*` is refused the same way, since it would
/// overwrite whatever is there.
pub struct IfMatch(pub Vec<String>);

impl IfMatch {
    pub fn from_request(req: &HttpRequest) -> AppResult<IfMatch> {
        let required = || {
            AppError::PreconditionRequired(
                "send `If-Match` with the ETag of the version you read, so that a concurrent edit is never overwritten".into(),
            )
        };
        let raw = req
            .headers()
            .get(header::IF_MATCH)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(required)?;
        let tags: Vec<String> = raw
            .split(',')
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect();
        if tags.is_empty() || tags.iter().any(|t| t == "*") {
            return Err(required());
        }
        Ok(IfMatch(tags))
    }

    /// Whether the header names `etag` exactly. Weak tags never match, as RFC 9110 requires
    /// of `If-Match`.
    pub fn matches(&self, etag: &str) -> bool {
        self.0.iter().any(|tag| tag == etag)
    }

    /// Whether the header names version `version` of translation `id`. Weak tags never match,
    /// as RFC 9110 requires of `If-Match`.
    pub fn names(&self, id: i64, version: i32) -> bool {
        self.0.iter().any(|tag| {
            tag.strip_prefix('"')
                .and_then(|t| t.strip_suffix('"'))
                .and_then(|t| t.split_once('-'))
                .is_some_and(|(tid, v)| {
                    tid.parse::<i64>().ok() == Some(id) && v.parse::<i32>().ok() == Some(version)
                })
        })
    }
}

/// For PATCH bodies: tells a field sent as `null` (`Some(None)`) from one left out (`None`).
/// Use with `#[serde(default, deserialize_with = "crate::http::present")]`.
pub fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::IfMatch;

    #[test]
    fn if_match_names_a_version_only_with_a_strong_tag_of_this_translation() {
        let header = |tags: &[&str]| IfMatch(tags.iter().map(|t| (*t).to_owned()).collect());
        assert!(header(&["\"12-3\"", "\"12-4\""]).names(12, 4));
        assert!(!header(&["W/\"12-4\""]).names(12, 4));
        assert!(!header(&["12-4"]).names(12, 4));
        assert!(!header(&["\"13-4\""]).names(12, 4));
        assert!(!header(&["\"12-4-1\""]).names(12, 4));
    }
}
