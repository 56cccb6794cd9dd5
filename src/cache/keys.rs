//! The surrogate keys (`Surrogate-Key`, `Cache-Tag`) that name what a Content API response
//! shows, so that a CDN can purge exactly what a change touched. Every key is made here.

/// A story: any response that shows it.
pub fn article(id: i64) -> String {
    format!("article-{id}")
}

/// One translation of a story.
pub fn translation(id: i64) -> String {
    format!("translation-{id}")
}

/// A tag, by slug: its page and every list filtered by it.
pub fn tag(slug: &str) -> String {
    format!("tag-{slug}")
}

/// Everything in one language.
pub fn lang(code: &str) -> String {
    format!("lang-{code}")
}

/// Lists of stories.
pub const ARTICLES: &str = "articles";
/// "Most read" lists.
pub const MOST_READ: &str = "most-read";
/// The list of tags.
pub const TAGS: &str = "tags";
/// The list of languages.
pub const LANGUAGES: &str = "languages";
/// Anything that shows a donation prompt.
pub const DONATION_PROMPTS: &str = "donation-prompts";

/// Everything: what a change names when any answer may show what it touched (a tag renamed, a
/// language's fallback moved, a person's name), and what an answer with no key of its own is
/// filed under, so that any change forgets it.
pub const EVERYTHING: &str = "*";
