//! Items as IPTC ninjs 3.1 documents (`format=ninjs`, or `Accept: application/ninjs+json`).
//! Every document the tests see is validated against IPTC's schema.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{json, Map, Value};
use utoipa::ToSchema;

use crate::config::Config;
use crate::syndication::SyndicatedItem;

pub const MEDIA_TYPE: &str = "application/ninjs+json";
const SCHEMA: &str = "http://www.iptc.org/std/ninjs/ninjs-schema_3.1.json#";

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The stable identifier of story `id` in `lang`: the same in every version, whatever its slug.
pub fn uri(config: &Config, id: i64, lang: &str) -> String {
    let host = url::Url::parse(&config.public_site_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "newsdesk".into());
    format!("urn:newsdesk:{host}:story:{id}:{lang}")
}

/// `item` as a ninjs document; `modified` is when anything it shows last changed.
pub fn document(config: &Config, item: &SyndicatedItem, modified: DateTime<Utc>) -> Value {
    let a = &item.item;
    let mut doc = Map::new();
    let mut put = |key: &str, value: Value| {
        doc.insert(key.to_owned(), value);
    };
    put("uri", json!(uri(config, a.id, &a.lang)));
    put(
        "standard",
        json!({ "name": "ninjs", "version": "3.1", "schema": SCHEMA }),
    );
    put("type", json!("text"));
    put("representationType", json!("full"));
    put("version", json!(item.version.to_string()));
    put("language", json!(a.lang));
    put("pubStatus", json!("usable"));
    put("firstCreated", json!(time(a.published_at)));
    put("versionCreated", json!(time(modified.max(a.updated_at))));
    let mut headlines =
        vec![json!({ "role": "main", "contentType": "text/plain", "value": a.title })];
    if !a.subtitle.is_empty() {
        headlines.push(json!({ "role": "sub", "contentType": "text/plain", "value": a.subtitle }));
    }
    put("headlines", Value::Array(headlines));
    if !a.excerpt.is_empty() {
        put(
            "descriptions",
            json!([{ "role": "summary", "contentType": "text/plain", "value": a.excerpt }]),
        );
    }
    put(
        "bodies",
        json!([{
            "role": "main",
            "contentType": "text/html",
            "value": item.body,
            "wordCount": item.word_count,
        }]),
    );
    if !a.bylines.is_empty() {
        let names: Vec<&str> = a.bylines.iter().map(|b| b.display_name.as_str()).collect();
        put("by", json!(names.join(", ")));
    }
    if !a.tags.is_empty() {
        let subjects: Vec<Value> = a
            .tags
            .iter()
            .map(|t| json!({ "name": t.name, "literal": t.slug, "rel": t.kind }))
            .collect();
        put("subjects", Value::Array(subjects));
    }
    if let Some(image) = &a.image {
        let mut renditions: Vec<Value> = image
            .renditions
            .iter()
            .map(|r| {
                json!({
                    "name": format!("{}-{}", r.width, r.mime.trim_start_matches("image/")),
                    "href": r.url,
                    "contenttype": r.mime,
                    "width": r.width,
                    "height": r.height,
                })
            })
            .collect();
        if let Some(social) = &image.social_image {
            renditions
                .push(json!({ "name": "social", "href": social, "contenttype": "image/jpeg" }));
        }
        if renditions.is_empty() {
            renditions.push(json!({ "name": "original", "href": image.url }));
        }
        let mut picture = json!({
            "name": "featureimage",
            "rel": "featureimage",
            "uri": image.url,
            "type": "picture",
            "renditions": renditions,
        });
        let mut descriptions = Vec::new();
        if !image.alt.is_empty() {
            descriptions.push(json!({ "role": "alt", "value": image.alt }));
        }
        if !image.caption.is_empty() {
            descriptions.push(json!({ "role": "caption", "value": image.caption }));
        }
        if !descriptions.is_empty() {
            picture["descriptions"] = json!(descriptions);
        }
        if !image.credit.is_empty() {
            picture["by"] = json!(image.credit);
        }
        put("associations", json!([picture]));
    }
    let mut alt_ids = vec![json!({ "role": "url", "value": a.url })];
    alt_ids.extend(a.translations.iter().filter(|t| t.lang != a.lang).map(|t| {
        json!({
            "role": format!("translation:{}", t.lang),
            "value": uri(config, a.id, &t.lang),
        })
    }));
    put("altIds", Value::Array(alt_ids));
    if !config.copyright_notice.is_empty() {
        put("copyrightNotice", json!(config.copyright_notice));
    }
    if !config.usage_terms.is_empty() {
        put("usageTerms", json!(config.usage_terms));
    }
    Value::Object(doc)
}

/// What a partner gets of an item withdrawn: its identifier, canceled.
pub fn tombstone(config: &Config, id: i64, lang: &str, version: i64, at: DateTime<Utc>) -> Value {
    json!({
        "uri": uri(config, id, lang),
        "standard": { "name": "ninjs", "version": "3.1", "schema": SCHEMA },
        "type": "text",
        "representationType": "partial",
        "version": version.to_string(),
        "language": lang,
        "pubStatus": "canceled",
        "versionCreated": time(at),
    })
}

/// A ninjs 3.1 document as Newsdesk writes it: an item ([`document`]), or a withdrawn item's
/// canceled document ([`tombstone`]), which has only the identifying fields. The shape for the
/// OpenAPI document and generated clients; IPTC's JSON Schema is the reference.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct NinjsDocument {
    /// `urn:newsdesk:<host>:article:<id>:<lang>`.
    pub uri: String,
    pub standard: NinjsStandard,
    #[serde(rename = "type")]
    #[schema(pattern = "^text$")]
    pub kind: String,
    /// `full` for an item, `partial` for a canceled one.
    #[schema(pattern = "^(full|partial)$")]
    pub representation_type: String,
    pub version: String,
    pub language: String,
    /// `usable`, or `canceled` for an item withdrawn.
    #[schema(pattern = "^(usable|canceled)$")]
    pub pub_status: String,
    pub first_created: Option<String>,
    pub version_created: String,
    pub headlines: Option<Vec<NinjsText>>,
    pub descriptions: Option<Vec<NinjsText>>,
    pub bodies: Option<Vec<NinjsBody>>,
    pub by: Option<String>,
    pub subjects: Option<Vec<NinjsSubject>>,
    pub associations: Option<Vec<NinjsPicture>>,
    pub alt_ids: Option<Vec<NinjsAltId>>,
    pub copyright_notice: Option<String>,
    pub usage_terms: Option<String>,
}

/// Which standard a ninjs document follows.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct NinjsStandard {
    #[schema(example = "ninjs")]
    pub name: String,
    #[schema(example = "3.1")]
    pub version: String,
    pub schema: String,
}

/// A headline or description.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct NinjsText {
    /// `main`, `sub`, `summary`, `alt` or `caption`.
    pub role: String,
    pub content_type: Option<String>,
    pub value: String,
}

/// The story's text, as sanitized HTML.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct NinjsBody {
    pub role: String,
    pub content_type: String,
    pub value: String,
    pub word_count: i32,
}

/// A tag of the story.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct NinjsSubject {
    pub name: String,
    /// The tag's slug.
    pub literal: String,
    /// The tag's kind.
    pub rel: String,
}

/// The featured picture.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct NinjsPicture {
    pub name: String,
    pub rel: String,
    pub uri: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub renditions: Vec<NinjsRendition>,
    pub descriptions: Option<Vec<NinjsText>>,
    pub by: Option<String>,
}

/// One size and format of the picture.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct NinjsRendition {
    pub name: String,
    pub href: String,
    pub contenttype: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
}

/// Another identifier of the item: its page, or its translations.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct NinjsAltId {
    /// `url`, or `translation:<lang>`.
    pub role: String,
    pub value: String,
}
