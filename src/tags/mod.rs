//! Tags: how stories are filed ("Georgia-Russia", "Opinion"). A tag has a slug, a kind and a
//! name and description per language.

pub mod handlers;

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::{
    article_bylines, article_tags, articles, donation_prompt_tags, tag_translations, tags,
};
use crate::db::{now, DbConn};
use crate::db_run;
use crate::error::{AppError, AppResult};
use crate::slug::Slug;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tags)]
pub struct Tag {
    pub id: i64,
    pub slug: String,
    pub kind: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = tag_translations)]
pub struct TagName {
    pub tag_id: i64,
    pub lang: String,
    pub name: String,
    pub description: String,
}

/// A tag's kind: `topic`, `country`, `section`, `person` … lowercase letters, digits and
/// hyphens, so that frontends can switch on it.
pub fn parse_kind(raw: &str, field: &str) -> AppResult<String> {
    let ok = (1..=32).contains(&raw.len())
        && raw.starts_with(|c: char| c.is_ascii_lowercase())
        && raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(AppError::invalid(field, KIND_RULE))
    }
}

/// The `kind` filter of a tag list: 400 when it cannot be a kind, as for any malformed query
/// parameter.
pub fn parse_kind_filter(raw: &str) -> AppResult<String> {
    parse_kind(raw, "kind").map_err(|_| AppError::bad_parameter("kind", KIND_RULE))
}

const KIND_RULE: &str =
    "a kind is 1 to 32 lowercase letters, digits and hyphens, starting with a letter";

/// A name in one language, parsed.
#[derive(Debug, Clone)]
pub struct NameInput {
    pub lang: String,
    pub name: String,
    pub description: String,
}

pub fn find(conn: &mut DbConn, id: i64) -> AppResult<Tag> {
    db_run!(conn, |c| tags::table
        .find(id)
        .select(Tag::as_select())
        .first(c)
        .optional())?
    .ok_or_else(|| AppError::NotFound(format!("no tag with id {id}")))
}

pub fn find_by_slug(conn: &mut DbConn, slug: &str) -> AppResult<Option<Tag>> {
    Ok(db_run!(conn, |c| tags::table
        .filter(tags::slug.eq(slug))
        .select(Tag::as_select())
        .first(c)
        .optional())?)
}

/// The tags with these slugs, in the order given; 422 naming `field` for any that don't exist.
pub fn resolve_slugs(conn: &mut DbConn, slugs: &[String], field: &str) -> AppResult<Vec<Tag>> {
    // What cannot be a slug names no tag, and is not sent to the database.
    if let Some(bad) = slugs.iter().find(|s| Slug::parse(s, field).is_err()) {
        return Err(AppError::invalid(
            field,
            format!("no tag with slug `{}`", bad.escape_debug()),
        ));
    }
    let wanted = slugs.to_vec();
    let found: Vec<Tag> = db_run!(conn, |c| tags::table
        .filter(tags::slug.eq_any(&wanted))
        .select(Tag::as_select())
        .load(c))?;
    let mut out = Vec::with_capacity(slugs.len());
    for slug in slugs {
        match found.iter().find(|t| &t.slug == slug) {
            Some(tag) if !out.iter().any(|t: &Tag| t.id == tag.id) => out.push(tag.clone()),
            Some(_) => {}
            None => {
                return Err(AppError::invalid(
                    field,
                    format!("no tag with slug `{slug}`"),
                ))
            }
        }
    }
    Ok(out)
}

/// Every tag in slug order, optionally of one kind, starting after `after_slug`.
pub fn list(
    conn: &mut DbConn,
    kind: Option<&str>,
    after_slug: Option<&str>,
    fetch: i64,
    published_only: bool,
) -> AppResult<Vec<Tag>> {
    Ok(db_run!(conn, |c| {
        let mut q = tags::table.select(Tag::as_select()).into_boxed();
        if published_only {
            q = q.filter(diesel::dsl::sql::<diesel::sql_types::Bool>(
                CARRIED_BY_A_PUBLISHED_STORY,
            ));
        }
        if let Some(kind) = kind {
            q = q.filter(tags::kind.eq(kind.to_owned()));
        }
        if let Some(after) = after_slug {
            q = q.filter(tags::slug.gt(after.to_owned()));
        }
        q.order(tags::slug.asc()).limit(fetch).load(c)
    })?)
}

/// The names of these tags, by tag id.
pub fn names_of(conn: &mut DbConn, ids: &[i64]) -> AppResult<HashMap<i64, Vec<TagName>>> {
    let ids = ids.to_vec();
    let rows: Vec<TagName> = db_run!(conn, |c| tag_translations::table
        .filter(tag_translations::tag_id.eq_any(&ids))
        .select(TagName::as_select())
        .order((tag_translations::tag_id, tag_translations::lang))
        .load(c))?;
    let mut map: HashMap<i64, Vec<TagName>> = HashMap::new();
    for row in rows {
        map.entry(row.tag_id).or_default().push(row);
    }
    Ok(map)
}

/// The names of these tags in the languages of `chain` only, without descriptions: what a
/// list item shows, read from a fraction of the rows [`names_of`] reads.
pub fn names_in(
    conn: &mut DbConn,
    ids: &[i64],
    chain: &[String],
) -> AppResult<HashMap<i64, Vec<TagName>>> {
    names_without_descriptions(conn, Some((ids, chain)))
}

/// Every tag's names in every language, without descriptions.
pub fn all_names(conn: &mut DbConn) -> AppResult<HashMap<i64, Vec<TagName>>> {
    names_without_descriptions(conn, None)
}

/// Tag names without descriptions: of `(tags, languages)`, or of every tag in every language.
fn names_without_descriptions(
    conn: &mut DbConn,
    only: Option<(&[i64], &[String])>,
) -> AppResult<HashMap<i64, Vec<TagName>>> {
    let rows: Vec<(i64, String, String)> = db_run!(conn, |c| {
        let mut query = tag_translations::table
            .select((
                tag_translations::tag_id,
                tag_translations::lang,
                tag_translations::name,
            ))
            .into_boxed();
        if let Some((ids, langs)) = only {
            query = query
                .filter(tag_translations::tag_id.eq_any(ids))
                .filter(tag_translations::lang.eq_any(langs));
        }
        query.load(c)
    })?;
    let mut map: HashMap<i64, Vec<TagName>> = HashMap::new();
    for (tag_id, lang, name) in rows {
        map.entry(tag_id).or_default().push(TagName {
            tag_id,
            lang,
            name,
            description: String::new(),
        });
    }
    Ok(map)
}

/// Whether a published story carries the tag: until one does, the Content API does not show
/// the tag (an embargoed topic's name and description must not leak). Standard SQL over the
/// view of published translations, for both backends; the index on `article_tags (tag_id)`
/// answers it with the first published story found.
const CARRIED_BY_A_PUBLISHED_STORY: &str = "EXISTS (SELECT 1 FROM article_tags AS carried \
     JOIN published_translations AS p ON p.article_id = carried.article_id \
     WHERE carried.tag_id = tags.id)";

/// Whether a published story carries tag `id`.
pub fn is_public(conn: &mut DbConn, id: i64) -> AppResult<bool> {
    Ok(db_run!(conn, |c| tags::table
        .filter(tags::id.eq(id))
        .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(
            CARRIED_BY_A_PUBLISHED_STORY
        ))
        .count()
        .get_result::<i64>(c))?
        > 0)
}

/// How many stories carry each of these tags (any status), by tag id; with `visible_to`, only
/// the stories that person created or is credited on (what a contributor may see).
pub fn usage_counts(
    conn: &mut DbConn,
    ids: &[i64],
    visible_to: Option<i64>,
) -> AppResult<HashMap<i64, i64>> {
    let ids = ids.to_vec();
    let rows: Vec<(i64, i64)> = match visible_to {
        None => db_run!(conn, |c| article_tags::table
            .filter(article_tags::tag_id.eq_any(&ids))
            .group_by(article_tags::tag_id)
            .select((article_tags::tag_id, diesel::dsl::count_star()))
            .load(c))?,
        Some(user) => {
            let mut own: Vec<i64> = db_run!(conn, |c| articles::table
                .filter(articles::created_by.eq(user))
                .select(articles::id)
                .union(
                    article_bylines::table
                        .filter(article_bylines::user_id.eq(user))
                        .select(article_bylines::article_id),
                )
                .load(c))?;
            own.sort_unstable();
            own.dedup();
            db_run!(conn, |c| article_tags::table
                .filter(article_tags::tag_id.eq_any(&ids))
                .filter(article_tags::article_id.eq_any(&own))
                .group_by(article_tags::tag_id)
                .select((article_tags::tag_id, diesel::dsl::count_star()))
                .load(c))?
        }
    };
    Ok(rows.into_iter().collect())
}

/// How many stories with each tag have a published translation in `lang`, by tag id.
pub fn published_counts(conn: &mut DbConn, lang: &str) -> AppResult<HashMap<i64, i64>> {
    use crate::db::schema::published_translations as pt;
    let lang = lang.to_owned();
    let rows: Vec<(i64, i64)> = db_run!(conn, |c| article_tags::table
        .inner_join(pt::table.on(pt::article_id.eq(article_tags::article_id)))
        .filter(pt::lang.eq(&lang))
        .group_by(article_tags::tag_id)
        .select((article_tags::tag_id, diesel::dsl::count_star()))
        .load(c))?;
    Ok(rows.into_iter().collect())
}

/// How many stories with tag `id` are published in `lang`.
pub fn published_count(conn: &mut DbConn, id: i64, lang: &str) -> AppResult<i64> {
    use crate::db::schema::published_translations as pt;
    let lang = lang.to_owned();
    Ok(db_run!(conn, |c| article_tags::table
        .inner_join(pt::table.on(pt::article_id.eq(article_tags::article_id)))
        .filter(article_tags::tag_id.eq(id))
        .filter(pt::lang.eq(&lang))
        .count()
        .get_result(c))?)
}

fn slug_taken(conn: &mut DbConn, slug: &Slug, except: Option<i64>) -> AppResult<bool> {
    Ok(find_by_slug(conn, slug.as_str())?.is_some_and(|t| Some(t.id) != except))
}

fn conflict(slug: &Slug) -> AppError {
    AppError::Conflict(format!(
        "a tag with slug `{}` already exists",
        slug.as_str()
    ))
}

/// Creates a tag. The slug comes from the first name when not given. Call in a transaction.
pub fn insert(
    conn: &mut DbConn,
    slug: Option<Slug>,
    kind: &str,
    names: &[NameInput],
) -> AppResult<Tag> {
    let slug = match slug {
        Some(slug) if slug_taken(conn, &slug, None)? => return Err(conflict(&slug)),
        Some(slug) => slug,
        None => {
            let base = names
                .iter()
                .find_map(|n| Slug::from_text(&n.name))
                .ok_or_else(|| {
                    AppError::invalid("slug", "give a slug: none can be made from the names")
                })?;
            free_slug(conn, base)?
        }
    };
    let at = now();
    let tag: Tag = db_run!(conn, |c| diesel::insert_into(tags::table)
        .values((
            tags::slug.eq(slug.as_str()),
            tags::kind.eq(kind),
            tags::created_at.eq(at),
            tags::updated_at.eq(at),
        ))
        .returning(Tag::as_returning())
        .get_result(c))?;
    set_names(conn, tag.id, names, &[])?;
    Ok(tag)
}

/// `base`, or `base-2`, `base-3` … whichever no tag has yet.
fn free_slug(conn: &mut DbConn, base: Slug) -> AppResult<Slug> {
    let mut candidate = base.clone();
    for n in 2..1000 {
        if !slug_taken(conn, &candidate, None)? {
            return Ok(candidate);
        }
        candidate = base.with_suffix(n);
    }
    Err(conflict(&base))
}

/// Writes `names` (insert or replace) and removes the names in `remove`.
fn set_names(
    conn: &mut DbConn,
    tag_id: i64,
    names: &[NameInput],
    remove: &[String],
) -> AppResult<()> {
    for n in names {
        let row = TagName {
            tag_id,
            lang: n.lang.clone(),
            name: n.name.clone(),
            description: n.description.clone(),
        };
        db_run!(conn, |c| diesel::insert_into(tag_translations::table)
            .values(&row)
            .on_conflict((tag_translations::tag_id, tag_translations::lang))
            .do_update()
            .set((
                tag_translations::name.eq(&row.name),
                tag_translations::description.eq(&row.description),
            ))
            .execute(c))?;
    }
    let remove = remove.to_vec();
    db_run!(conn, |c| diesel::delete(
        tag_translations::table
            .filter(tag_translations::tag_id.eq(tag_id))
            .filter(tag_translations::lang.eq_any(&remove))
    )
    .execute(c))?;
    Ok(())
}

/// Changes to a tag, parsed.
#[derive(Debug, Default)]
pub struct TagChanges {
    pub slug: Option<Slug>,
    pub kind: Option<String>,
    pub names: Vec<NameInput>,
    pub remove_names: Vec<String>,
}

/// Applies `changes`; a tag keeps at least one name. Call in a transaction.
pub fn update(conn: &mut DbConn, id: i64, changes: TagChanges) -> AppResult<Tag> {
    let tag = find(conn, id)?;
    if let Some(slug) = &changes.slug {
        if slug_taken(conn, slug, Some(id))? {
            return Err(conflict(slug));
        }
    }
    set_names(conn, id, &changes.names, &changes.remove_names)?;
    if names_of(conn, &[id])?.get(&id).is_none_or(Vec::is_empty) {
        return Err(AppError::invalid(
            "names",
            "a tag needs a name in at least one language",
        ));
    }
    let slug = changes.slug.map_or(tag.slug, Slug::into_string);
    let kind = changes.kind.unwrap_or(tag.kind);
    let at = now();
    Ok(db_run!(conn, |c| diesel::update(tags::table.find(id))
        .set((
            tags::slug.eq(&slug),
            tags::kind.eq(&kind),
            tags::updated_at.eq(at),
        ))
        .returning(Tag::as_returning())
        .get_result(c))?)
}

/// Deletes a tag. One that stories carry is refused unless `detach`, which first takes it off
/// those stories (and off their primary tag). Returns how many stories it was taken off.
pub fn delete(conn: &mut DbConn, id: i64, detach: bool) -> AppResult<i64> {
    find(conn, id)?;
    // Taking a tag off a prompt's targeting would silently widen or narrow who sees it: the
    // editor changes the prompt first.
    let prompts: Vec<i64> = db_run!(conn, |c| donation_prompt_tags::table
        .filter(donation_prompt_tags::tag_id.eq(id))
        .select(donation_prompt_tags::prompt_id)
        .order(donation_prompt_tags::prompt_id)
        .load(c))?;
    if !prompts.is_empty() {
        return Err(AppError::ConflictWith {
            detail: format!(
                "{} donation prompts target this tag; change their targeting first",
                prompts.len()
            ),
            extra: serde_json::json!({ "donation_prompts": prompts }),
        });
    }
    let used: Vec<i64> = db_run!(conn, |c| article_tags::table
        .filter(article_tags::tag_id.eq(id))
        .select(article_tags::article_id)
        .load(c))?;
    if !used.is_empty() && !detach {
        return Err(AppError::ConflictWith {
            detail: format!(
                "{} stories carry this tag; delete with `detach=true` to take it off them",
                used.len()
            ),
            extra: serde_json::json!({ "articles": used.len() }),
        });
    }
    let at = now();
    db_run!(conn, |c| {
        diesel::delete(article_tags::table.filter(article_tags::tag_id.eq(id))).execute(c)?;
        diesel::update(articles::table.filter(articles::id.eq_any(&used)))
            .set((
                articles::updated_at.eq(at),
                articles::facts_updated_at.eq(at),
                articles::version.eq(articles::version + 1),
            ))
            .execute(c)
    })?;
    // Stories whose primary tag this was lead with their next tag instead.
    let orphaned: Vec<i64> = db_run!(conn, |c| articles::table
        .filter(articles::primary_tag_id.eq(id))
        .select(articles::id)
        .load(c))?;
    for article in orphaned {
        let next: Option<i64> = db_run!(conn, |c| article_tags::table
            .filter(article_tags::article_id.eq(article))
            .order(article_tags::position)
            .select(article_tags::tag_id)
            .first(c)
            .optional())?;
        db_run!(conn, |c| diesel::update(articles::table.find(article))
            .set(articles::primary_tag_id.eq(next))
            .execute(c))?;
    }
    db_run!(conn, |c| diesel::delete(tags::table.find(id)).execute(c))?;
    Ok(used.len() as i64)
}

/// The name of a tag in the first language of `chain` that has one, else in any language.
pub fn localize<'a>(names: &'a [TagName], chain: &[String]) -> Option<&'a TagName> {
    chain
        .iter()
        .find_map(|lang| names.iter().find(|n| &n.lang == lang))
        .or_else(|| names.first())
}

/// A tag's name and description in one language.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TagNameResponse {
    /// Plain text: frontends escape it; it never holds markup.
    #[schema(example = "Georgia–Russia")]
    pub name: String,
    /// Plain text: frontends escape it; it never holds markup.
    pub description: String,
}

/// A tag as editors' tools see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TagResponse {
    pub id: i64,
    #[schema(example = "georgia-russia")]
    pub slug: String,
    #[schema(example = "topic", pattern = "^[a-z][a-z0-9-]{0,31}$")]
    pub kind: String,
    /// Name and description by language code.
    pub names: BTreeMap<String, TagNameResponse>,
    /// Stories that carry the tag, in any status.
    pub article_count: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl TagResponse {
    pub fn new(tag: Tag, names: Vec<TagName>, article_count: i64) -> Self {
        TagResponse {
            id: tag.id,
            slug: tag.slug,
            kind: tag.kind,
            names: names
                .into_iter()
                .map(|n| {
                    (
                        n.lang,
                        TagNameResponse {
                            name: n.name,
                            description: n.description,
                        },
                    )
                })
                .collect(),
            article_count,
            created_at: tag.created_at.and_utc(),
            updated_at: tag.updated_at.and_utc(),
        }
    }
}

/// A tag as frontends see it, in one language.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicTag {
    #[schema(example = "georgia-russia")]
    pub slug: String,
    #[schema(example = "topic", pattern = "^[a-z][a-z0-9-]{0,31}$")]
    pub kind: String,
    /// Plain text: frontends escape it; it never holds markup.
    #[schema(example = "Georgia–Russia")]
    pub name: String,
    /// Plain text: frontends escape it; it never holds markup.
    pub description: String,
    /// The language the name is in: the one asked for, or one from its fallback chain.
    #[schema(example = "en")]
    pub name_lang: String,
}

impl PublicTag {
    pub fn new(tag: &Tag, names: &[TagName], chain: &[String]) -> Self {
        let name = localize(names, chain);
        PublicTag {
            slug: tag.slug.clone(),
            kind: tag.kind.clone(),
            name: name.map_or_else(|| tag.slug.clone(), |n| n.name.clone()),
            description: name.map(|n| n.description.clone()).unwrap_or_default(),
            name_lang: name.map_or_else(
                || chain.first().cloned().unwrap_or_default(),
                |n| n.lang.clone(),
            ),
        }
    }
}

/// A tag in one language with the number of stories published in it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicTagCount {
    #[serde(flatten)]
    pub tag: PublicTag,
    /// Stories with this tag published in the requested language.
    pub article_count: i64,
}
