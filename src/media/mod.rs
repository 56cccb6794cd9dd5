//! The media library: uploaded images with their renditions, placeholder and focal point, and
//! alt text, caption and credit per language. A story's featured image is either an item of
//! the library or an external URL ([`StoryImage`]); both are shown to readers as a
//! [`ShownImage`] in the reader's language, resolved through the language's fallback chain.
//!
//! Media URLs in what the change pipeline stores (item cards) are relative to the media base
//! (`MEDIA_PUBLIC_URL`, or `PUBLIC_API_URL/media`), which is put in front when an item is
//! shown ([`ShownImage::rebase`]): changing the base needs no rewrite.

pub mod body;
pub mod handlers;
pub mod jobs;
pub mod process;
pub mod serve;
pub mod sniff;
pub mod store;

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::config::Config;
use crate::db::schema::{articles, media, media_texts, media_uses, published_translations};
use crate::db::DbConn;
use crate::db_run;
use crate::error::{AppError, AppResult};
use crate::media::process::Rendition;

/// Where readers fetch renditions: `MEDIA_PUBLIC_URL`, or this API's own `/media`.
pub fn public_base(config: &Config) -> String {
    config
        .media_public_url
        .clone()
        .unwrap_or_else(|| format!("{}/media", config.public_api_url))
}

/// What a node keeps for its media: the store, the job that makes renditions, the renditions
/// it serves from memory, the base of media URLs and the bounds uploads are held to.
pub struct Library {
    pub store: std::sync::Arc<store::Store>,
    pub jobs: jobs::Jobs,
    pub served: serve::Served,
    pub base: String,
    pub bounds: process::Bounds,
}

impl Library {
    pub fn open(config: &Config, db: &crate::db::Database) -> Result<Library, String> {
        let store = std::sync::Arc::new(store::Store::open(config)?);
        let bounds = process::Bounds {
            max_pixels: config.media_max_pixels,
            max_side: config.media_max_side,
        };
        Ok(Library {
            jobs: jobs::Jobs::new(db.clone(), store.clone(), bounds),
            store,
            served: serve::Served::default(),
            base: public_base(config),
            bounds,
        })
    }
}

/// Renditions are still being made.
pub const PROCESSING: &str = "processing";
/// Every rendition is made.
pub const READY: &str = "ready";
/// Making the renditions failed; `problem` says why.
pub const FAILED: &str = "failed";

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = media)]
pub struct MediaRow {
    pub id: i64,
    pub hash: String,
    pub kind: String,
    pub width: i32,
    pub height: i32,
    pub bytes: i64,
    pub alpha: bool,
    pub focal_x: f64,
    pub focal_y: f64,
    pub credit: String,
    pub licence: String,
    pub placeholder: String,
    pub renditions: String,
    pub status: String,
    pub problem: Option<String>,
    pub uploaded_by: Option<i64>,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl MediaRow {
    pub fn etag(&self) -> String {
        crate::http::etag("media", self.id, self.version)
    }

    pub fn renditions(&self) -> Vec<Rendition> {
        serde_json::from_str(&self.renditions).unwrap_or_default()
    }

    pub fn focal(&self) -> (f64, f64) {
        (self.focal_x, self.focal_y)
    }
}

/// Alt text, caption and credit of a media item in one language.
#[derive(
    Debug, Clone, Default, Queryable, Selectable, Serialize, Deserialize, ToSchema, PartialEq,
)]
#[diesel(table_name = media_texts)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct MediaText {
    #[serde(skip)]
    pub media_id: i64,
    #[serde(skip)]
    pub lang: String,
    /// Describes the image for readers who cannot see it. Plain text.
    pub alt: String,
    /// Shown under the image. Plain text.
    pub caption: String,
    /// Overrides the item's credit in this language; empty: the item's credit. Plain text.
    pub credit: String,
}

/// A media item with its texts, as pages show it.
#[derive(Debug, Clone)]
pub struct Item {
    pub row: MediaRow,
    pub texts: Vec<MediaText>,
}

impl Item {
    /// The first non-empty value of `field` in the languages of `chain`, in order.
    fn text(&self, chain: &[String], field: impl Fn(&MediaText) -> &str) -> Option<String> {
        chain.iter().find_map(|lang| {
            self.texts
                .iter()
                .find(|t| &t.lang == lang)
                .map(&field)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        })
    }

    /// What readers of `chain[0]` are shown, with media URLs relative to the media base. A
    /// story's own caption in a language (`captions`) goes before the item's in that language.
    pub fn shown(&self, chain: &[String], captions: &BTreeMap<String, String>) -> ShownImage {
        let row = &self.row;
        let renditions = row.renditions();
        let default_width = process::default_width(row.width as u32);
        let default = renditions
            .iter()
            .filter(|r| !r.name.starts_with("social"))
            .filter(|r| r.mime != "image/webp")
            .min_by_key(|r| r.width.abs_diff(default_width))
            .or_else(|| renditions.first());
        let path = |name: &str| format!("{}/{name}", row.hash);
        ShownImage {
            url: default.map(|r| path(&r.name)).unwrap_or_default(),
            width: default.map(|r| r.width),
            height: default.map(|r| r.height),
            alt: self.text(chain, |t| &t.alt).unwrap_or_default(),
            caption: chain
                .iter()
                .find_map(|lang| {
                    captions
                        .get(lang)
                        .filter(|c| !c.is_empty())
                        .cloned()
                        .or_else(|| self.text(std::slice::from_ref(lang), |t| &t.caption))
                })
                .unwrap_or_default(),
            credit: self
                .text(chain, |t| &t.credit)
                .unwrap_or_else(|| row.credit.clone()),
            media_id: Some(row.id),
            renditions: renditions
                .iter()
                .filter(|r| !r.name.starts_with("social"))
                .map(|r| ShownRendition {
                    width: r.width,
                    height: r.height,
                    mime: r.mime.clone(),
                    url: path(&r.name),
                })
                .collect(),
            placeholder: (!row.placeholder.is_empty()).then(|| row.placeholder.clone()),
            focal_point: Some(FocalPoint {
                x: row.focal_x,
                y: row.focal_y,
            }),
            social_image: renditions
                .iter()
                .find(|r| r.name == process::social_name(row.focal()))
                .map(|r| path(&r.name)),
        }
    }
}

/// A point of an image, each coordinate from 0 (left, top) to 1 (right, bottom).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FocalPoint {
    #[schema(minimum = 0.0, maximum = 1.0, example = 0.5)]
    pub x: f64,
    #[schema(minimum = 0.0, maximum = 1.0, example = 0.4)]
    pub y: f64,
}

/// The media types of renditions (a GIF's renditions are PNG or WebP).
#[derive(Serialize, ToSchema)]
pub enum RenditionType {
    #[serde(rename = "image/webp")]
    Webp,
    #[serde(rename = "image/jpeg")]
    Jpeg,
    #[serde(rename = "image/png")]
    Png,
}

/// One rendition as readers fetch it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ShownRendition {
    pub width: u32,
    pub height: u32,
    /// `image/webp`, `image/jpeg` or `image/png`.
    #[serde(rename = "type")]
    #[schema(value_type = RenditionType)]
    pub mime: String,
    pub url: String,
}

/// A story's featured image as readers see it, in the language served.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ShownImage {
    /// The default rendition (about 1280 pixels wide, JPEG or PNG), or the external image.
    #[schema(example = "https://api.newsroom.example/media/5d41…/w1280.jpg")]
    pub url: String,
    /// Of `url`; absent for an external image.
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// Plain text, in the language served (through its fallback chain).
    pub alt: String,
    /// Plain text, in the language served: the story's own caption, or the media item's.
    pub caption: String,
    /// Plain text, in the language served.
    pub credit: String,
    /// The media library item; absent for an external image.
    pub media_id: Option<i64>,
    /// Every width in every format, for `srcset`; empty for an external image.
    pub renditions: Vec<ShownRendition>,
    /// A BlurHash to paint while the image loads.
    pub placeholder: Option<String>,
    pub focal_point: Option<FocalPoint>,
    /// A 1200×630 crop around the focal point, for `og:image`.
    pub social_image: Option<String>,
}

impl ShownImage {
    /// Puts the media base in front of the URLs of a library image.
    pub fn rebase(&mut self, base: &str) {
        if self.media_id.is_none() {
            return;
        }
        let full = |path: &mut String| {
            if !path.is_empty() && !path.starts_with("http") {
                *path = format!("{base}/{path}");
            }
        };
        full(&mut self.url);
        for r in &mut self.renditions {
            full(&mut r.url);
        }
        if let Some(s) = &mut self.social_image {
            full(s);
        }
    }
}

/// A story's featured image as stored.
#[derive(Debug, Clone)]
pub enum StoryImage {
    /// An image elsewhere, with one alt text and credit.
    External {
        url: String,
        alt: String,
        credit: String,
        captions: BTreeMap<String, String>,
    },
    /// An item of the media library.
    Media {
        item: std::sync::Arc<Item>,
        captions: BTreeMap<String, String>,
    },
}

impl StoryImage {
    /// What readers of `chain[0]` are shown, with library URLs relative to the media base.
    pub fn shown(&self, chain: &[String]) -> ShownImage {
        let caption = |captions: &BTreeMap<String, String>| {
            chain
                .iter()
                .find_map(|l| captions.get(l).filter(|c| !c.is_empty()).cloned())
        };
        match self {
            StoryImage::External {
                url,
                alt,
                credit,
                captions,
            } => ShownImage {
                url: url.clone(),
                width: None,
                height: None,
                alt: alt.clone(),
                caption: caption(captions).unwrap_or_default(),
                credit: credit.clone(),
                media_id: None,
                renditions: Vec::new(),
                placeholder: None,
                focal_point: None,
                social_image: None,
            },
            StoryImage::Media { item, captions } => item.shown(chain, captions),
        }
    }
}

/// A story's per-language captions as stored (a JSON object).
pub fn captions_from(raw: &str) -> BTreeMap<String, String> {
    serde_json::from_str(raw).unwrap_or_default()
}

/// 404 unless media `id` exists.
pub fn find(conn: &mut DbConn, id: i64) -> AppResult<MediaRow> {
    db_run!(conn, |c| media::table
        .find(id)
        .select(MediaRow::as_select())
        .first(c)
        .optional())?
    .ok_or_else(|| AppError::NotFound(format!("no media item with id {id}")))
}

pub fn by_hash(conn: &mut DbConn, hash: &str) -> AppResult<Option<MediaRow>> {
    let hash = hash.to_owned();
    Ok(db_run!(conn, |c| media::table
        .filter(media::hash.eq(&hash))
        .select(MediaRow::as_select())
        .first(c)
        .optional())?)
}

/// The texts of these media items, by item.
pub fn texts_of(conn: &mut DbConn, ids: &[i64]) -> AppResult<HashMap<i64, Vec<MediaText>>> {
    let ids = ids.to_vec();
    let rows: Vec<MediaText> = db_run!(conn, |c| media_texts::table
        .filter(media_texts::media_id.eq_any(&ids))
        .order((media_texts::media_id, media_texts::lang))
        .select(MediaText::as_select())
        .load(c))?;
    let mut by_item: HashMap<i64, Vec<MediaText>> = HashMap::new();
    for t in rows {
        by_item.entry(t.media_id).or_default().push(t);
    }
    Ok(by_item)
}

/// These media items with their texts, by id; ids of items deleted since are left out.
pub fn items(conn: &mut DbConn, ids: &[i64]) -> AppResult<HashMap<i64, std::sync::Arc<Item>>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let list = ids.to_vec();
    let rows: Vec<MediaRow> = db_run!(conn, |c| media::table
        .filter(media::id.eq_any(&list))
        .select(MediaRow::as_select())
        .load(c))?;
    let mut texts = texts_of(conn, ids)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let texts = texts.remove(&row.id).unwrap_or_default();
            (row.id, std::sync::Arc::new(Item { row, texts }))
        })
        .collect())
}

/// Where a media item is used.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Use {
    pub article_id: i64,
    /// `featured` (the story's featured image) or `body` (an image in a translation's text).
    #[serde(rename = "as")]
    #[schema(example = "featured")]
    pub used_as: String,
    /// For `body`: the translation's language.
    pub lang: Option<String>,
    /// Whether readers see it: the story (for `featured`) or that translation is published.
    pub published: bool,
}

/// Every use of media `id`, stories in id order.
pub fn uses(conn: &mut DbConn, id: i64) -> AppResult<Vec<Use>> {
    let featured: Vec<i64> = db_run!(conn, |c| articles::table
        .filter(articles::image_media_id.eq(id))
        .order(articles::id)
        .select(articles::id)
        .load(c))?;
    let published: Vec<(i64, String)> = {
        let ids = featured.clone();
        db_run!(conn, |c| published_translations::table
            .filter(published_translations::article_id.eq_any(&ids))
            .select((
                published_translations::article_id,
                published_translations::lang
            ))
            .load(c))?
    };
    let in_bodies: Vec<(i64, i64)> = db_run!(conn, |c| media_uses::table
        .filter(media_uses::media_id.eq(id))
        .order((media_uses::article_id, media_uses::translation_id))
        .select((media_uses::article_id, media_uses::translation_id))
        .load(c))?;
    let translation_ids: Vec<i64> = in_bodies.iter().map(|(_, t)| *t).collect();
    let body_langs: Vec<(i64, String, bool)> = {
        use crate::db::schema::translations;
        db_run!(conn, |c| translations::table
            .filter(translations::id.eq_any(&translation_ids))
            .select((
                translations::id,
                translations::lang,
                translations::status.eq("published")
            ))
            .load(c))?
    };
    let mut out: Vec<Use> = featured
        .into_iter()
        .map(|article_id| Use {
            article_id,
            used_as: "featured".into(),
            lang: None,
            published: published.iter().any(|(a, _)| *a == article_id),
        })
        .collect();
    for (article_id, translation_id) in in_bodies {
        if let Some((_, lang, live)) = body_langs.iter().find(|(t, _, _)| *t == translation_id) {
            out.push(Use {
                article_id,
                used_as: "body".into(),
                lang: Some(lang.clone()),
                published: *live,
            });
        }
    }
    Ok(out)
}

/// The stories whose pages show media `id`: as their featured image, or in a body.
pub fn stories_showing(conn: &mut DbConn, id: i64) -> AppResult<Vec<i64>> {
    let mut ids: Vec<i64> = db_run!(conn, |c| articles::table
        .filter(articles::image_media_id.eq(id))
        .select(articles::id)
        .load(c))?;
    let in_bodies: Vec<i64> = db_run!(conn, |c| media_uses::table
        .filter(media_uses::media_id.eq(id))
        .select(media_uses::article_id)
        .load(c))?;
    ids.extend(in_bodies);
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}
