//! A [`Feed`] as RSS 2.0, Atom 1.0 (RFC 4287) or JSON Feed 1.1.

use serde_json::{json, Value};

use crate::feeds::xml::{self, element, push_text, rfc3339, rfc822};
use crate::feeds::{Feed, FeedFormat};

/// `feed` in `format`, as bytes to send.
pub fn render(feed: &Feed, format: FeedFormat) -> Vec<u8> {
    match format {
        FeedFormat::Rss => rss(feed).into_bytes(),
        FeedFormat::Atom => atom(feed).into_bytes(),
        FeedFormat::Json => serde_json::to_vec(&json_feed(feed)).unwrap_or_default(),
    }
}

fn self_url(feed: &Feed, format: FeedFormat) -> String {
    format!("{}.{}", feed.self_base, format.extension())
}

fn rss(feed: &Feed) -> String {
    let mut out = String::with_capacity(4096 + feed.entries.len() * 2048);
    out.push_str(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\" \
         xmlns:content=\"http://purl.org/rss/1.0/modules/content/\" \
         xmlns:dc=\"http://purl.org/dc/elements/1.1/\" \
         xmlns:media=\"http://search.yahoo.com/mrss/\">\n<channel>\n",
    );
    element(&mut out, "title", &feed.title);
    element(&mut out, "link", &feed.home);
    element(&mut out, "description", &feed.description);
    element(&mut out, "language", &feed.lang);
    element(&mut out, "generator", "Newsdesk");
    element(&mut out, "lastBuildDate", &rfc822(feed.updated));
    out.push_str("<atom:link rel=\"self\" type=\"application/rss+xml\" href=\"");
    push_text(&mut out, &self_url(feed, FeedFormat::Rss));
    out.push_str("\"/>\n");
    for e in &feed.entries {
        let item = &e.item;
        out.push_str("<item>\n");
        element(&mut out, "title", &item.title);
        element(&mut out, "link", &item.url);
        out.push_str("<guid isPermaLink=\"true\">");
        push_text(&mut out, &item.url);
        out.push_str("</guid>\n");
        element(&mut out, "description", &item.excerpt);
        if let Some(body) = &e.body {
            element(&mut out, "content:encoded", body);
        }
        for b in &item.bylines {
            element(&mut out, "dc:creator", &b.display_name);
        }
        for t in &item.tags {
            element(&mut out, "category", &t.name);
        }
        element(&mut out, "pubDate", &rfc822(item.published_at));
        if let Some(image) = &item.image {
            out.push_str("<media:content medium=\"image\" url=\"");
            push_text(&mut out, &image.url);
            if let (Some(w), Some(h)) = (image.width, image.height) {
                out.push_str(&format!("\" width=\"{w}\" height=\"{h}"));
            }
            out.push_str("\">\n");
            if !image.alt.is_empty() {
                element(&mut out, "media:description", &image.alt);
            }
            if !image.credit.is_empty() {
                element(&mut out, "media:credit", &image.credit);
            }
            if !image.caption.is_empty() {
                element(&mut out, "media:title", &image.caption);
            }
            out.push_str("</media:content>\n");
        }
        out.push_str("</item>\n");
    }
    out.push_str("</channel>\n</rss>\n");
    out
}

fn atom(feed: &Feed) -> String {
    let mut out = String::with_capacity(4096 + feed.entries.len() * 2048);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"");
    push_text(&mut out, &feed.lang);
    out.push_str("\">\n");
    let me = self_url(feed, FeedFormat::Atom);
    element(&mut out, "id", &me);
    element(&mut out, "title", &feed.title);
    element(&mut out, "subtitle", &feed.description);
    element(&mut out, "updated", &rfc3339(feed.updated));
    element(&mut out, "generator", "Newsdesk");
    link(&mut out, "self", "application/atom+xml", &me);
    link(&mut out, "alternate", "text/html", &feed.home);
    out.push_str("<author>\n");
    element(&mut out, "name", &feed.newsroom);
    out.push_str("</author>\n");
    for e in &feed.entries {
        let item = &e.item;
        out.push_str("<entry>\n");
        element(&mut out, "id", &e.id);
        element(&mut out, "title", &item.title);
        link(&mut out, "alternate", "text/html", &item.url);
        element(&mut out, "published", &rfc3339(item.published_at));
        element(&mut out, "updated", &rfc3339(item.updated_at));
        for b in &item.bylines {
            out.push_str("<author>\n");
            element(&mut out, "name", &b.display_name);
            out.push_str("</author>\n");
        }
        for t in &item.tags {
            out.push_str("<category term=\"");
            push_text(&mut out, &t.slug);
            out.push_str("\" label=\"");
            push_text(&mut out, &t.name);
            out.push_str("\"/>\n");
        }
        if !item.excerpt.is_empty() {
            out.push_str("<summary type=\"text\">");
            push_text(&mut out, &item.excerpt);
            out.push_str("</summary>\n");
        }
        if let Some(body) = &e.body {
            out.push_str("<content type=\"html\">");
            push_text(&mut out, body);
            out.push_str("</content>\n");
        }
        out.push_str("</entry>\n");
    }
    out.push_str("</feed>\n");
    out
}

fn link(out: &mut String, rel: &str, media_type: &str, href: &str) {
    out.push_str("<link rel=\"");
    out.push_str(rel);
    out.push_str("\" type=\"");
    out.push_str(media_type);
    out.push_str("\" href=\"");
    push_text(out, href);
    out.push_str("\"/>\n");
}

fn json_feed(feed: &Feed) -> Value {
    let c = xml::clean;
    let items: Vec<Value> = feed
        .entries
        .iter()
        .map(|e| {
            let item = &e.item;
            let mut entry = json!({
                "id": e.id,
                "url": item.url,
                "title": c(&item.title),
                "summary": c(&item.excerpt),
                "date_published": rfc3339(item.published_at),
                "date_modified": rfc3339(item.updated_at),
                "language": item.lang,
                "authors": item.bylines.iter().map(|b| json!({"name": c(&b.display_name)})).collect::<Vec<_>>(),
                "tags": item.tags.iter().map(|t| c(&t.name)).collect::<Vec<_>>(),
            });
            match &e.body {
                Some(body) => entry["content_html"] = json!(c(body)),
                None => entry["content_text"] = json!(c(&item.excerpt)),
            }
            if let Some(image) = &item.image {
                entry["image"] = json!(image.url);
            }
            entry
        })
        .collect();
    json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": c(&feed.title),
        "description": c(&feed.description),
        "home_page_url": feed.home,
        "feed_url": self_url(feed, FeedFormat::Json),
        "language": feed.lang,
        "authors": [{"name": c(&feed.newsroom)}],
        "items": items,
    })
}

/// A JSON Feed 1.1 document as [`json_feed`] writes it: the shape for the OpenAPI document and
/// generated clients (<https://jsonfeed.org/version/1.1> is the reference).
#[derive(serde::Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct JsonFeed {
    #[schema(example = "https://jsonfeed.org/version/1.1")]
    pub version: String,
    pub title: String,
    pub description: String,
    pub home_page_url: String,
    pub feed_url: String,
    pub language: String,
    pub authors: Vec<JsonFeedAuthor>,
    pub items: Vec<JsonFeedItem>,
}

/// One story of a JSON Feed.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct JsonFeedItem {
    pub id: String,
    pub url: String,
    pub title: String,
    pub summary: String,
    /// The whole text, with `FEED_FULL_TEXT`; otherwise `content_text` holds the excerpt.
    pub content_html: Option<String>,
    pub content_text: Option<String>,
    pub image: Option<String>,
    pub date_published: String,
    pub date_modified: String,
    pub language: String,
    pub authors: Vec<JsonFeedAuthor>,
    pub tags: Vec<String>,
}

/// A person or the newsroom credited in a JSON Feed.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct JsonFeedAuthor {
    pub name: String,
}
