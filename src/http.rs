//! What requests of the Admin API share: `If-Match` and the one 412 of a stale write, and
//! PATCH fields sent as `null`.

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest};
use chrono::NaiveDateTime;
use serde::Deserialize;

use crate::error::{AppError, AppResult};

/// The versions `If-Match` names, as an extractor: missing → 428. `*` matches whatever version
/// is current (RFC 9110): a client that sends it asks to overwrite without a check. Every write to a versioned resource (a
/// translation, a story's own fields, a live entry, a donation prompt) takes it and checks it
/// with [`IfMatch::matches`] against the resource's [`etag`].
pub struct IfMatch(Vec<String>);

impl IfMatch {
    fn parse(req: &HttpRequest) -> AppResult<IfMatch> {
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
        if tags.is_empty() {
            return Err(required());
        }
        Ok(IfMatch(tags))
    }

    /// Whether the header names `etag` exactly, or is `*`. Weak tags never match, as RFC 9110
    /// requires of `If-Match`.
    pub fn matches(&self, etag: &str) -> bool {
        self.0.iter().any(|tag| tag == etag || tag == "*")
    }
}

impl FromRequest for IfMatch {
    type Error = AppError;
    type Future = Ready<Result<IfMatch, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(IfMatch::parse(req))
    }
}

/// The strong validator of version `version` of object `id`: `"<kind>-<id>-<version>"`, or
/// `"<id>-<version>"` for translations (`kind` empty), the ETags writes send back in `If-Match`.
pub fn etag(kind: &str, id: i64, version: i32) -> String {
    if kind.is_empty() {
        format!("\"{id}-{version}\"")
    } else {
        format!("\"{kind}-{id}-{version}\"")
    }
}

/// What a 412 tells a client whose write lost: the object's current version and ETag, when
/// and by whom it was last saved.
pub struct Current {
    pub version: i32,
    pub etag: String,
    pub updated_at: NaiveDateTime,
    pub updated_by: serde_json::Value,
}

/// 412: `what` (`this translation`, `this story` …) changed since the caller read it. The one
/// body of every versioned resource's stale write.
pub fn stale(what: &str, current: Current) -> AppError {
    AppError::PreconditionFailed {
        detail: format!(
            "{what} has changed since you read it (it is at version {}); reload it, reapply your change and send the new ETag",
            current.version
        ),
        current: serde_json::json!({
            "current_version": current.version,
            "current_etag": current.etag,
            "updated_at": current.updated_at.and_utc(),
            "updated_by": current.updated_by,
        }),
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
    use super::{etag, IfMatch};

    #[test]
    fn if_match_names_a_version_only_with_a_strong_tag_of_this_object() {
        let header = |tags: &[&str]| IfMatch(tags.iter().map(|t| (*t).to_owned()).collect());
        let translation = etag("", 12, 4);
        assert!(header(&["\"12-3\"", "\"12-4\""]).matches(&translation));
        assert!(!header(&["W/\"12-4\""]).matches(&translation));
        assert!(!header(&["12-4"]).matches(&translation));
        assert!(!header(&["\"13-4\""]).matches(&translation));
        assert!(!header(&["\"12-4-1\""]).matches(&translation));
        assert!(!header(&["\"12-4\""]).matches(&etag("article", 12, 4)));
        assert!(header(&["\"article-12-4\""]).matches(&etag("article", 12, 4)));
    }
}

/// How long what is being replaced keeps working beside its replacement (a partner's key, a
/// webhook's signing secret), from a rotation's body.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GracePeriod {
    /// In hours: 24 when absent, 0 ends it now, at most 720.
    #[schema(minimum = 0, maximum = 720, default = 24)]
    pub grace_hours: Option<i64>,
}

impl GracePeriod {
    /// The hours asked for, from an optional body; 422 naming `grace_hours` out of range.
    pub fn hours(body: Option<actix_web::web::Json<GracePeriod>>) -> AppResult<i64> {
        const MAX: i64 = 24 * 30;
        let hours = body
            .map(|b| b.into_inner())
            .unwrap_or_default()
            .grace_hours
            .unwrap_or(24);
        if !(0..=MAX).contains(&hours) {
            return Err(AppError::invalid(
                "grace_hours",
                format!("must be between 0 and {MAX}"),
            ));
        }
        Ok(hours)
    }
}
