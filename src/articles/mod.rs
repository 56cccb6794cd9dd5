//! Stories and their translations: the language-independent facts of a story (type, tags,
//! bylines, image), its text per language with a workflow status each, every saved revision,
//! and the entries of live stories. This is the write side: every write here ends by telling
//! the change pipeline ([`changes`]) what it changed, and the read side (`content`) reads what
//! it keeps ([`published`], [`projections`]).

pub mod changes;
pub mod editing;
pub mod entries;
pub mod entry_handlers;
pub mod handlers;
pub mod projections;
pub mod published;
pub mod revisions;
pub mod transitions;
pub mod translation_handlers;
pub mod translations;
pub mod workflow;

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::{self, article_bylines, article_tags, articles, tags, users};
use crate::db::{now, DbConn};
use crate::db_run;
use crate::error::{AppError, AppResult};
use crate::pagination::{KeyCursor, Limit, ADMIN_STORIES};
use crate::tags::Tag;

pub use workflow::Status;

/// What kind of story this is; frontends lay each out differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ArticleType {
    News,
    Opinion,
    Analysis,
    /// A live summary: a translation carries timestamped entries.
    Live,
    Digest,
}

impl ArticleType {
    pub fn as_str(self) -> &'static str {
        match self {
            ArticleType::News => "news",
            ArticleType::Opinion => "opinion",
            ArticleType::Analysis => "analysis",
            ArticleType::Live => "live",
            ArticleType::Digest => "digest",
        }
    }

    pub fn from_db(raw: &str) -> AppResult<ArticleType> {
        Ok(match raw {
            "news" => ArticleType::News,
            "opinion" => ArticleType::Opinion,
            "analysis" => ArticleType::Analysis,
            "live" => ArticleType::Live,
            "digest" => ArticleType::Digest,
            other => {
                return Err(AppError::Internal(format!(
                    "unknown article type `{other}`"
                )))
            }
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = articles)]
pub struct Article {
    pub id: i64,
    pub kind: String,
    pub primary_tag_id: Option<i64>,
    pub image_url: Option<String>,
    pub image_alt: Option<String>,
    pub image_credit: Option<String>,
    pub syndicate: bool,
    pub featured: bool,
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Goes up with every change to the story's own fields.
    pub version: i32,
    pub image_media_id: Option<i64>,
    /// The featured image's caption per language, a JSON object.
    pub image_captions: String,
}

impl Article {
    /// The strong validator of this version, for `ETag` and `If-Match`.
    pub fn etag(&self) -> String {
        etag(self.id, self.version)
    }
}

/// The strong validator of version `version` of story `id`'s own fields.
pub fn etag(id: i64, version: i32) -> String {
    crate::http::etag("article", id, version)
}

/// A person credited on a story.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Byline {
    pub id: i64,
    #[schema(example = "Nino Beridze")]
    pub display_name: String,
}

/// The featured image of a story: an item of the media library (`media_id`, whose alt text and
/// credit it shows in each language), or an external image (`url`, with one alt text and
/// credit). Either may have its own caption per language.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Image {
    /// The media library item. Give this or `url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 12)]
    pub media_id: Option<i64>,
    /// An external image: an `http` or `https` URL. Give this or `media_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "https://media.newsroom.example/2026/tbilisi-talks.jpg")]
    pub url: Option<String>,
    /// For an external image: describes it for readers who cannot see it.
    /// Plain text, without markup; frontends escape it.
    #[serde(default)]
    pub alt: String,
    /// For an external image: photographer or agency.
    /// Plain text, without markup; frontends escape it.
    #[serde(default)]
    pub credit: String,
    /// This story's caption by language code, over the media item's own. Plain text.
    #[serde(default)]
    #[schema(example = json!({"ru": "Переговоры в Тбилиси"}))]
    pub captions: std::collections::BTreeMap<String, String>,
}

impl Image {
    /// The image stored on `article`, as editors see it.
    pub fn of(article: &Article) -> Option<Image> {
        let captions = crate::media::captions_from(&article.image_captions);
        if let Some(id) = article.image_media_id {
            return Some(Image {
                media_id: Some(id),
                url: None,
                alt: String::new(),
                credit: String::new(),
                captions,
            });
        }
        article.image_url.clone().map(|url| Image {
            media_id: None,
            url: Some(url),
            alt: article.image_alt.clone().unwrap_or_default(),
            credit: article.image_credit.clone().unwrap_or_default(),
            captions,
        })
    }
}

/// A story with what hangs off it: tags (primary first, then in order) and bylines.
#[derive(Debug, Clone)]
pub struct Story {
    pub article: Article,
    pub tags: Vec<Tag>,
    pub bylines: Vec<Byline>,
}

impl Story {
    /// Whether `user_id` created the story or is credited on it: what "their own" means for
    /// contributors and authors.
    pub fn is_owned_by(&self, user_id: i64) -> bool {
        self.article.created_by == Some(user_id) || self.bylines.iter().any(|b| b.id == user_id)
    }

    pub fn kind(&self) -> AppResult<ArticleType> {
        ArticleType::from_db(&self.article.kind)
    }
}

pub fn find(conn: &mut DbConn, id: i64) -> AppResult<Option<Article>> {
    Ok(db_run!(conn, |c| articles::table
        .find(id)
        .select(Article::as_select())
        .first(c)
        .optional())?)
}

/// The stories with these ids, with their tags and bylines, in the order of `ids`.
pub fn load_stories(conn: &mut DbConn, ids: &[i64]) -> AppResult<Vec<Story>> {
    let wanted = ids.to_vec();
    let rows: Vec<Article> = db_run!(conn, |c| articles::table
        .filter(articles::id.eq_any(&wanted))
        .select(Article::as_select())
        .load(c))?;
    let tag_rows: Vec<(i64, Tag)> = db_run!(conn, |c| article_tags::table
        .inner_join(tags::table)
        .filter(article_tags::article_id.eq_any(&wanted))
        .order((article_tags::article_id, article_tags::position))
        .select((article_tags::article_id, Tag::as_select()))
        .load(c))?;
    let byline_rows: Vec<(i64, i64, String)> = db_run!(conn, |c| article_bylines::table
        .inner_join(users::table)
        .filter(article_bylines::article_id.eq_any(&wanted))
        .order((article_bylines::article_id, article_bylines::position))
        .select((article_bylines::article_id, users::id, users::display_name,))
        .load(c))?;
    let mut tags_of: HashMap<i64, Vec<Tag>> = HashMap::new();
    for (article, tag) in tag_rows {
        tags_of.entry(article).or_default().push(tag);
    }
    let mut bylines_of: HashMap<i64, Vec<Byline>> = HashMap::new();
    for (article, id, display_name) in byline_rows {
        bylines_of
            .entry(article)
            .or_default()
            .push(Byline { id, display_name });
    }
    let mut by_id: HashMap<i64, Article> = rows.into_iter().map(|a| (a.id, a)).collect();
    Ok(ids
        .iter()
        .filter_map(|id| by_id.remove(id))
        .map(|article| {
            let mut tags = tags_of.remove(&article.id).unwrap_or_default();
            // The primary tag leads.
            if let Some(primary) = article.primary_tag_id {
                if let Some(i) = tags.iter().position(|t| t.id == primary) {
                    let tag = tags.remove(i);
                    tags.insert(0, tag);
                }
            }
            Story {
                bylines: bylines_of.remove(&article.id).unwrap_or_default(),
                tags,
                article,
            }
        })
        .collect())
}

pub fn load_story(conn: &mut DbConn, id: i64) -> AppResult<Option<Story>> {
    Ok(load_stories(conn, &[id])?.pop())
}

/// Story-level fields to write, parsed and checked against the database. `None` leaves a
/// field as it is.
#[derive(Debug, Default)]
pub struct StoryFields {
    pub kind: Option<ArticleType>,
    pub tags: Option<Vec<Tag>>,
    /// `Some(None)` clears the primary tag.
    pub primary_tag: Option<Option<Tag>>,
    pub bylines: Option<Vec<i64>>,
    /// `Some(None)` removes the image.
    pub image: Option<Option<Image>>,
    pub syndicate: Option<bool>,
    pub featured: Option<bool>,
}

/// Creates a story with `fields` (type required). Call in a transaction.
pub fn insert(conn: &mut DbConn, fields: StoryFields, created_by: i64) -> AppResult<Article> {
    let kind = fields
        .kind
        .ok_or_else(|| AppError::invalid("type", "a story needs a type"))?;
    let at = now();
    let article: Article = db_run!(conn, |c| diesel::insert_into(articles::table)
        .values((
            articles::kind.eq(kind.as_str()),
            articles::syndicate.eq(false),
            articles::featured.eq(false),
            articles::created_by.eq(Some(created_by)),
            articles::created_at.eq(at),
            articles::updated_at.eq(at),
            articles::facts_updated_at.eq(at),
        ))
        .returning(Article::as_returning())
        .get_result(c))?;
    let mut fields = fields;
    if fields.bylines.is_none() {
        fields.bylines = Some(vec![created_by]);
    }
    update(conn, article.id, None, fields)
}

/// 412 carrying the story's current version.
pub fn stale(current: &Article) -> AppError {
    crate::http::stale(
        "this story",
        crate::http::Current {
            version: current.version,
            etag: current.etag(),
            updated_at: current.updated_at,
            updated_by: serde_json::Value::Null,
        },
    )
}

/// Applies story-level changes; with `expected`, only if the story is still at that version
/// (412 otherwise), and the version goes up by one. Call in a transaction.
pub fn update(
    conn: &mut DbConn,
    id: i64,
    expected: Option<i32>,
    fields: StoryFields,
) -> AppResult<Article> {
    if let Some(version) = expected {
        // Claimed first, in one conditional statement: of two editors saving from the same
        // version, the second waits here and then finds it moved.
        let claimed = db_run!(conn, |c| diesel::update(
            articles::table
                .filter(articles::id.eq(id))
                .filter(articles::version.eq(version))
        )
        .set(articles::version.eq(articles::version + 1))
        .execute(c))?;
        if claimed == 0 {
            let current = find(conn, id)?
                .ok_or_else(|| AppError::NotFound(format!("no story with id {id}")))?;
            return Err(stale(&current));
        }
    }
    let current =
        find(conn, id)?.ok_or_else(|| AppError::NotFound(format!("no story with id {id}")))?;
    let current_tags: Vec<i64> = db_run!(conn, |c| article_tags::table
        .filter(article_tags::article_id.eq(id))
        .order(article_tags::position)
        .select(article_tags::tag_id)
        .load(c))?;
    let tag_ids: Vec<i64> = match &fields.tags {
        Some(tags) => tags.iter().map(|t| t.id).collect(),
        None => current_tags.clone(),
    };
    let primary = match &fields.primary_tag {
        Some(Some(tag)) => Some(tag.id),
        Some(None) => None,
        // Keep the primary tag while the story still has it, else the first tag leads.
        None => current
            .primary_tag_id
            .filter(|p| tag_ids.contains(p))
            .or_else(|| tag_ids.first().copied()),
    };
    if let Some(p) = primary {
        if !tag_ids.contains(&p) {
            return Err(AppError::invalid(
                "primary_tag",
                "the primary tag must be one of the story's tags",
            ));
        }
    }
    if let Some(tags) = &fields.tags {
        let rows: Vec<(i64, i64, i32)> = tags
            .iter()
            .enumerate()
            .map(|(i, t)| (id, t.id, i as i32))
            .collect();
        db_run!(conn, |c| {
            diesel::delete(article_tags::table.filter(article_tags::article_id.eq(id)))
                .execute(c)?;
            diesel::insert_into(article_tags::table)
                .values(
                    rows.iter()
                        .map(|(a, t, p)| {
                            (
                                article_tags::article_id.eq(*a),
                                article_tags::tag_id.eq(*t),
                                article_tags::position.eq(*p),
                            )
                        })
                        .collect::<Vec<_>>(),
                )
                .execute(c)
        })?;
    }
    if let Some(bylines) = &fields.bylines {
        set_bylines(conn, id, bylines)?;
    }
    let (image_url, image_alt, image_credit, image_media_id, image_captions) = match fields.image {
        Some(Some(img)) => {
            let external = img.media_id.is_none();
            (
                img.url,
                external.then_some(img.alt),
                external.then_some(img.credit),
                img.media_id,
                serde_json::to_string(&img.captions)?,
            )
        }
        Some(None) => (None, None, None, None, "{}".to_owned()),
        None => (
            current.image_url,
            current.image_alt,
            current.image_credit,
            current.image_media_id,
            current.image_captions,
        ),
    };
    let kind = fields.kind.map_or(current.kind, |k| k.as_str().to_owned());
    let syndicate = fields.syndicate.unwrap_or(current.syndicate);
    let featured = fields.featured.unwrap_or(current.featured);
    let at = now();
    let updated = db_run!(conn, |c| diesel::update(articles::table.find(id))
        .set((
            articles::kind.eq(&kind),
            articles::primary_tag_id.eq(primary),
            articles::image_url.eq(&image_url),
            articles::image_alt.eq(&image_alt),
            articles::image_credit.eq(&image_credit),
            articles::image_media_id.eq(image_media_id),
            articles::image_captions.eq(&image_captions),
            articles::syndicate.eq(syndicate),
            articles::featured.eq(featured),
            articles::updated_at.eq(at),
            articles::facts_updated_at.eq(at),
        ))
        .returning(Article::as_returning())
        .get_result(c))?;
    Ok(updated)
}

fn set_bylines(conn: &mut DbConn, id: i64, bylines: &[i64]) -> AppResult<()> {
    if let Some((i, dup)) = bylines
        .iter()
        .enumerate()
        .find(|(i, b)| bylines[..*i].contains(b))
    {
        return Err(AppError::invalid(
            "bylines",
            format!("credits person {dup} twice (at position {i})"),
        ));
    }
    let wanted = bylines.to_vec();
    let known: Vec<i64> = db_run!(conn, |c| users::table
        .filter(users::id.eq_any(&wanted))
        .select(users::id)
        .load(c))?;
    if let Some(missing) = bylines.iter().find(|b| !known.contains(b)) {
        return Err(AppError::invalid(
            "bylines",
            format!("no user with id {missing}"),
        ));
    }
    let rows: Vec<_> = bylines
        .iter()
        .enumerate()
        .map(|(i, user)| {
            (
                article_bylines::article_id.eq(id),
                article_bylines::user_id.eq(*user),
                article_bylines::position.eq(i as i32),
            )
        })
        .collect();
    db_run!(conn, |c| {
        diesel::delete(article_bylines::table.filter(article_bylines::article_id.eq(id)))
            .execute(c)?;
        diesel::insert_into(article_bylines::table)
            .values(&rows)
            .execute(c)
    })?;
    Ok(())
}

/// Marks a story as changed: a translation of it was written.
pub fn touch(conn: &mut DbConn, id: i64) -> AppResult<()> {
    let at = now();
    db_run!(conn, |c| diesel::update(articles::table.find(id))
        .set(articles::updated_at.eq(at))
        .execute(c))?;
    Ok(())
}

/// Deletes a story with its translations, revisions and entries. A story with a published or
/// scheduled translation is refused: it must be taken off the site first. Call in a
/// transaction.
pub fn delete(conn: &mut DbConn, id: i64) -> AppResult<()> {
    let live: Vec<(String, String)> = db_run!(conn, |c| schema::translations::table
        .filter(schema::translations::article_id.eq(id))
        .filter(
            schema::translations::status
                .eq_any([Status::Published.as_str(), Status::Scheduled.as_str(),])
        )
        .select((schema::translations::lang, schema::translations::status))
        .load(c))?;
    if !live.is_empty() {
        let langs: Vec<String> = live.iter().map(|(l, s)| format!("{l} ({s})")).collect();
        return Err(AppError::ConflictWith {
            detail: format!(
                "unpublish or unschedule every translation before deleting the story: {}",
                langs.join(", ")
            ),
            extra: serde_json::json!({ "translations": langs }),
        });
    }
    db_run!(conn, |c| diesel::delete(articles::table.find(id))
        .execute(c))?;
    Ok(())
}

/// How the admin list is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    UpdatedDesc,
    UpdatedAsc,
    CreatedDesc,
    CreatedAsc,
}

impl Sort {
    pub const ALLOWED: &'static str = "-updated_at, updated_at, -created_at, created_at";

    pub fn parse(raw: Option<&str>) -> AppResult<Sort> {
        Ok(match raw.unwrap_or("-updated_at") {
            "-updated_at" => Sort::UpdatedDesc,
            "updated_at" => Sort::UpdatedAsc,
            "-created_at" => Sort::CreatedDesc,
            "created_at" => Sort::CreatedAsc,
            _ => {
                return Err(AppError::bad_parameter(
                    "sort",
                    format!("must be one of {}", Self::ALLOWED),
                ))
            }
        })
    }

    fn code(self) -> u8 {
        self as u8
    }
}

/// Filters of the admin list. Translation filters (status, language, outdated, title) must all
/// hold for one and the same translation of a story.
#[derive(Debug, Default, Clone)]
pub struct ListFilter {
    pub status: Option<Status>,
    pub lang: Option<String>,
    pub tag: Option<String>,
    pub author: Option<i64>,
    pub kind: Option<ArticleType>,
    pub outdated: Option<bool>,
    pub title_contains: Option<String>,
    pub updated_since: Option<NaiveDateTime>,
    /// Only stories this user created or is credited on (contributors see no others).
    pub owned_by: Option<i64>,
}

diesel::define_sql_function! {
    /// Lowercases text; on SQLite only ASCII letters.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// One page of stories matching `filter`, in `sort` order, after `cursor`.
pub fn list(
    conn: &mut DbConn,
    filter: &ListFilter,
    sort: Sort,
    cursor: Option<KeyCursor>,
    limit: Limit,
) -> AppResult<Vec<Article>> {
    let f = filter.clone();
    Ok(db_run!(conn, |c| {
        let mut q = articles::table.select(Article::as_select()).into_boxed();
        let translation_filtered = f.status.is_some()
            || f.lang.is_some()
            || f.outdated.is_some()
            || f.title_contains.is_some();
        if translation_filtered {
            let mut t = schema::translations::table
                .select(schema::translations::article_id)
                .into_boxed();
            if let Some(status) = f.status {
                t = t.filter(schema::translations::status.eq(status.as_str()));
            }
            if let Some(lang) = &f.lang {
                t = t.filter(schema::translations::lang.eq(lang.clone()));
            }
            match f.outdated {
                Some(true) => {
                    t = t.filter(
                        schema::translations::source_latest_version
                            .gt(schema::translations::source_version)
                            .assume_not_null(),
                    )
                }
                Some(false) => {
                    t = t.filter(
                        schema::translations::source_latest_version
                            .is_null()
                            .or(schema::translations::source_version.is_null())
                            .or(schema::translations::source_latest_version
                                .le(schema::translations::source_version)
                                .assume_not_null()),
                    )
                }
                None => {}
            }
            if let Some(text) = &f.title_contains {
                let pattern = format!("%{}%", escape_like(&text.to_lowercase()));
                t = t.filter(
                    lower(schema::translations::title)
                        .like(pattern)
                        .escape('\\'),
                );
            }
            q = q.filter(articles::id.eq_any(t));
        }
        if let Some(tag) = &f.tag {
            q = q.filter(
                articles::id.eq_any(
                    article_tags::table
                        .inner_join(tags::table)
                        .filter(tags::slug.eq(tag.clone()))
                        .select(article_tags::article_id),
                ),
            );
        }
        if let Some(author) = f.author {
            q = q.filter(
                articles::id.eq_any(
                    article_bylines::table
                        .filter(article_bylines::user_id.eq(author))
                        .select(article_bylines::article_id),
                ),
            );
        }
        if let Some(owner) = f.owned_by {
            q = q.filter(
                articles::created_by.eq(owner).or(articles::id.eq_any(
                    article_bylines::table
                        .filter(article_bylines::user_id.eq(owner))
                        .select(article_bylines::article_id),
                )),
            );
        }
        if let Some(kind) = f.kind {
            q = q.filter(articles::kind.eq(kind.as_str()));
        }
        if let Some(since) = f.updated_since {
            q = q.filter(articles::updated_at.ge(since));
        }
        q = match (sort, cursor) {
            (Sort::UpdatedDesc, Some(k)) => q.filter(
                articles::updated_at
                    .lt(k.at)
                    .or(articles::updated_at.eq(k.at).and(articles::id.lt(k.id))),
            ),
            (Sort::UpdatedAsc, Some(k)) => q.filter(
                articles::updated_at
                    .gt(k.at)
                    .or(articles::updated_at.eq(k.at).and(articles::id.gt(k.id))),
            ),
            (Sort::CreatedDesc, Some(k)) => q.filter(
                articles::created_at
                    .lt(k.at)
                    .or(articles::created_at.eq(k.at).and(articles::id.lt(k.id))),
            ),
            (Sort::CreatedAsc, Some(k)) => q.filter(
                articles::created_at
                    .gt(k.at)
                    .or(articles::created_at.eq(k.at).and(articles::id.gt(k.id))),
            ),
            (_, None) => q,
        };
        q = match sort {
            Sort::UpdatedDesc => q.order((articles::updated_at.desc(), articles::id.desc())),
            Sort::UpdatedAsc => q.order((articles::updated_at.asc(), articles::id.asc())),
            Sort::CreatedDesc => q.order((articles::created_at.desc(), articles::id.desc())),
            Sort::CreatedAsc => q.order((articles::created_at.asc(), articles::id.asc())),
        };
        q.limit(limit.fetch()).load(c)
    })?)
}

/// `text` with LIKE's wildcards taken literally.
pub fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl Sort {
    /// The cursor that continues after `article` in this order.
    pub fn cursor_after(self, article: &Article) -> String {
        let at = match self {
            Sort::UpdatedDesc | Sort::UpdatedAsc => article.updated_at,
            Sort::CreatedDesc | Sort::CreatedAsc => article.created_at,
        };
        KeyCursor { at, id: article.id }.encode(ADMIN_STORIES, self.code())
    }

    /// A cursor this list returned in this order.
    pub fn parse_cursor(self, raw: Option<&str>) -> AppResult<Option<KeyCursor>> {
        KeyCursor::parse(raw, ADMIN_STORIES, self.code())
    }
}
