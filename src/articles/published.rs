//! Published translations as readers see them, for the Content API and the projections the
//! change pipeline keeps: rows of `published_translations`, a view of the published
//! translations and nothing else (the one place the "published only" rule is written), and
//! the story-level facts their items show.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::articles::Byline;
use crate::db::schema::published_translations as pt;
use crate::db::schema::{article_bylines, article_tags, articles, tags, users};
use crate::db::DbConn;
use crate::db_run;
use crate::error::AppResult;
use crate::media::{self, StoryImage};
use crate::tags::Tag;

/// A published translation as lists show it (no body).
#[derive(Debug, Clone, Queryable, Selectable, Serialize, Deserialize)]
#[diesel(table_name = pt)]
pub struct Listed {
    pub id: i64,
    pub article_id: i64,
    pub lang: String,
    pub slug: String,
    pub title: String,
    pub subtitle: String,
    pub excerpt: String,
    pub reading_minutes: i32,
    pub published_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A published translation with everything an article page shows.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = pt)]
pub struct Full {
    #[diesel(embed)]
    pub listed: Listed,
    pub body: String,
    pub seo_title: String,
    pub seo_description: String,
    pub word_count: i32,
}

/// The story-level facts an item shows.
pub struct StoryFacts {
    pub kind: String,
    pub featured: bool,
    pub primary_tag: Option<i64>,
    pub image: Option<StoryImage>,
    /// When the story's own facts last changed (not when a translation was last saved).
    pub updated_at: NaiveDateTime,
}

/// What stories themselves give their items: their facts, tags in position order and bylines
/// in position order (with when each person last changed).
pub struct StoryParts {
    pub articles: HashMap<i64, StoryFacts>,
    pub tags: HashMap<i64, Vec<Tag>>,
    pub bylines: HashMap<i64, Vec<(Byline, NaiveDateTime)>>,
}

#[allow(clippy::type_complexity)]
pub fn story_parts(conn: &mut DbConn, article_ids: &[i64]) -> AppResult<StoryParts> {
    let ids = article_ids.to_vec();
    let rows: Vec<(
        i64,
        String,
        bool,
        Option<i64>,
        Option<String>,
        Option<String>,
        Option<String>,
        NaiveDateTime,
        Option<i64>,
        String,
    )> = db_run!(conn, |c| articles::table
        .filter(articles::id.eq_any(&ids))
        .select((
            articles::id,
            articles::kind,
            articles::featured,
            articles::primary_tag_id,
            articles::image_url,
            articles::image_alt,
            articles::image_credit,
            articles::facts_updated_at,
            articles::image_media_id,
            articles::image_captions,
        ))
        .load(c))?;
    let mut media_ids: Vec<i64> = rows.iter().filter_map(|r| r.8).collect();
    media_ids.sort_unstable();
    media_ids.dedup();
    let items = media::items(conn, &media_ids)?;
    let tag_rows: Vec<(i64, Tag)> = db_run!(conn, |c| article_tags::table
        .inner_join(tags::table)
        .filter(article_tags::article_id.eq_any(&ids))
        .order((article_tags::article_id, article_tags::position))
        .select((article_tags::article_id, Tag::as_select()))
        .load(c))?;
    let byline_rows: Vec<(i64, i64, String, NaiveDateTime)> = db_run!(conn, |c| {
        article_bylines::table
            .inner_join(users::table)
            .filter(article_bylines::article_id.eq_any(&ids))
            .order((article_bylines::article_id, article_bylines::position))
            .select((
                article_bylines::article_id,
                users::id,
                users::display_name,
                users::updated_at,
            ))
            .load(c)
    })?;
    let mut tags: HashMap<i64, Vec<Tag>> = HashMap::new();
    for (article, tag) in tag_rows {
        tags.entry(article).or_default().push(tag);
    }
    let mut bylines: HashMap<i64, Vec<(Byline, NaiveDateTime)>> = HashMap::new();
    for (article, id, display_name, updated) in byline_rows {
        bylines
            .entry(article)
            .or_default()
            .push((Byline { id, display_name }, updated));
    }
    Ok(StoryParts {
        articles: rows
            .into_iter()
            .map(
                |(id, kind, featured, primary, url, alt, credit, updated, media_id, captions)| {
                    let captions = media::captions_from(&captions);
                    let image = match media_id {
                        // An item deleted since shows no image, as the story now stores none.
                        Some(m) => items.get(&m).map(|item| StoryImage::Media {
                            item: item.clone(),
                            captions,
                        }),
                        None => url.map(|url| StoryImage::External {
                            url,
                            alt: alt.unwrap_or_default(),
                            credit: credit.unwrap_or_default(),
                            captions,
                        }),
                    };
                    (
                        id,
                        StoryFacts {
                            kind,
                            featured,
                            primary_tag: primary,
                            image,
                            updated_at: updated,
                        },
                    )
                },
            )
            .collect(),
        tags,
        bylines,
    })
}
