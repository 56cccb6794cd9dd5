//! The feeds a page of the Content API names, so that frontends can put
//! `<link rel="alternate" type="…" href="…">` in their pages.

use serde::Serialize;
use utoipa::ToSchema;

/// Each feed format: its path's extension, media type and name.
pub const FORMATS: [(&str, &str, &str); 3] = [
    ("rss", "application/rss+xml", "RSS"),
    ("atom", "application/atom+xml", "Atom"),
    ("json", "application/feed+json", "JSON Feed"),
];

/// The media types of the feeds.
#[derive(Serialize, ToSchema)]
pub enum FeedType {
    #[serde(rename = "application/rss+xml")]
    Rss,
    #[serde(rename = "application/atom+xml")]
    Atom,
    #[serde(rename = "application/feed+json")]
    JsonFeed,
}

/// A feed, as `<link rel="alternate">` names it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FeedLink {
    #[schema(example = "application/rss+xml", value_type = FeedType)]
    #[serde(rename = "type")]
    pub media_type: &'static str,
    /// Plain text: frontends escape it.
    #[schema(example = "Georgia–Russia (RSS)")]
    pub title: String,
    #[schema(example = "https://api.newsroom.example/api/v1/feeds/en/tags/georgia-russia.rss")]
    pub href: String,
}

/// The three feeds at `{api}/api/v1/feeds/{path}.{ext}`, titled after `what`.
pub fn links(api: &str, path: &str, what: &str) -> Vec<FeedLink> {
    FORMATS
        .iter()
        .map(|(ext, media_type, name)| FeedLink {
            media_type,
            title: format!("{what} ({name})"),
            href: format!("{api}/api/v1/feeds/{path}.{ext}"),
        })
        .collect()
}
