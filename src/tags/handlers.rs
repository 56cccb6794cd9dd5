//! Tag endpoints: the Content API's localized tags with story counts, and admin management.

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::app::AppState;
use crate::articles::changes::{self, Change};
use crate::audit::{self, Actor};
use crate::auth::{AuthUser, Role};
use crate::cache::http::{cached, Fresh};
use crate::cache::keys;
use crate::db::DbConn;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::problem_responses;
use crate::slug::Slug;
use crate::tags::{self, NameInput, PublicTag, PublicTagCount, TagChanges, TagResponse};
use crate::text::{plain_text, short_name};
use crate::{languages, pagination::Limit};

problem_responses!(
    /// Errors of the public tag endpoints.
    PublicTagErrors: 400, 404, 500, 503
);
problem_responses!(
    /// Errors of reading tags in the Admin API.
    TagReadErrors: 400, 401, 404, 500, 503
);
problem_responses!(
    /// Errors of changing tags.
    TagWriteErrors: 400, 401, 403, 404, 409, 413, 415, 422, 500, 503
);

/// A tag's name and description in one language.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagNameInput {
    #[schema(example = "Georgia–Russia")]
    pub name: String,
    /// At most 1000 characters.
    pub description: Option<String>,
}

/// A new tag.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTag {
    /// Made from the first name when left out.
    #[schema(example = "georgia-russia")]
    pub slug: Option<String>,
    /// `topic`, `country`, `section`, `person` …
    #[schema(example = "topic", pattern = "^[a-z][a-z0-9-]{0,31}$")]
    pub kind: String,
    /// Name and description by language code; at least one.
    pub names: BTreeMap<String, TagNameInput>,
}

/// Changes to a tag; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTag {
    pub slug: Option<String>,
    #[schema(pattern = "^[a-z][a-z0-9-]{0,31}$")]
    pub kind: Option<String>,
    /// Names to set by language code; `null` for a language removes its name. Languages not
    /// named keep theirs.
    #[schema(value_type = Option<BTreeMap<String, TagNameInput>>)]
    pub names: Option<BTreeMap<String, Option<TagNameInput>>>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TagListQuery {
    /// Only tags of this kind.
    #[param(pattern = "^[a-z][a-z0-9-]{0,31}$")]
    pub kind: Option<String>,
    /// Page size, 1 to 100.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeleteTagQuery {
    /// Take the tag off the stories that carry it, instead of refusing.
    pub detach: Option<bool>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PublicTagQuery {
    /// The language to name tags in and count stories in.
    #[param(example = "ka")]
    pub lang: String,
    /// Only tags of this kind.
    #[param(pattern = "^[a-z][a-z0-9-]{0,31}$")]
    pub kind: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PublicTagLangQuery {
    /// The language to name the tag in and count stories in.
    #[param(example = "ka")]
    pub lang: String,
}

/// One page of tags, in slug order.
#[derive(Debug, Serialize, ToSchema)]
pub struct TagList {
    pub items: Vec<TagResponse>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Every tag, in slug order, in one language.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicTagList {
    #[schema(example = "ka")]
    pub lang: String,
    pub items: Vec<PublicTagCount>,
}

fn parse_names(
    raw: BTreeMap<String, Option<TagNameInput>>,
    f: &mut FieldErrors,
) -> (Vec<NameInput>, Vec<String>) {
    let mut set = Vec::new();
    let mut remove = Vec::new();
    for (lang, input) in raw {
        let field = format!("names.{lang}");
        let Some(code) = f.check(languages::LanguageCode::parse(&lang, &field)) else {
            continue;
        };
        let code = code.as_str().to_owned();
        match input {
            None => remove.push(code),
            Some(input) => {
                let name = f.check(short_name(&input.name, &format!("{field}.name")));
                let description = f.check(plain_text(
                    input.description.as_deref().unwrap_or(""),
                    &format!("{field}.description"),
                    1000,
                ));
                if let (Some(name), Some(description)) = (name, description) {
                    set.push(NameInput {
                        lang: code,
                        name,
                        description,
                    });
                }
            }
        }
    }
    (set, remove)
}

/// 422 naming `names.<code>` for a language the newsroom doesn't have.
fn check_languages(conn: &mut DbConn, names: &[NameInput]) -> AppResult<()> {
    for n in names {
        languages::require_existing(conn, &n.lang, &format!("names.{}", n.lang))?;
    }
    Ok(())
}

/// The stories whose tags a caller may count: a contributor only their own.
fn counted_for(caller: &AuthUser) -> Option<i64> {
    (caller.role == Role::Contributor).then_some(caller.id)
}

fn tag_response(conn: &mut DbConn, tag: tags::Tag, caller: &AuthUser) -> AppResult<TagResponse> {
    let mut names = tags::names_of(conn, &[tag.id])?;
    let count = tags::usage_counts(conn, &[tag.id], counted_for(caller))?;
    let id = tag.id;
    Ok(TagResponse::new(
        tag,
        names.remove(&id).unwrap_or_default(),
        count.get(&id).copied().unwrap_or(0),
    ))
}

fn path_slug_not_found(slug: &str) -> AppError {
    AppError::NotFound(format!("no tag with slug `{slug}`"))
}

/// List tags in one language, each with the number of stories published in it.
///
/// Only tags that a published story carries (in any language) are listed: a tag made ahead of
/// an embargoed story stays unseen until the story is published. Names follow the language's
/// fallback chain when a tag has none in the language itself.
#[utoipa::path(
    get,
    path = "/api/v1/tags",
    tag = "tags",
    params(PublicTagQuery),
    responses(
        (status = 200, description = "Tags in slug order", body = PublicTagList,
            headers(("ETag" = String), ("Cache-Control" = String))),
        (status = 304, description = "Not modified since the ETag in `If-None-Match`"),
        PublicTagErrors
    )
)]
pub async fn list_public_tags(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<PublicTagQuery>,
) -> AppResult<HttpResponse> {
    let q = query.into_inner();
    let kind = q.kind.as_deref().map(tags::parse_kind_filter).transpose()?;
    let st = state.clone().into_inner();
    cached(&req, &state.cache, &state.db, move |c| {
        let chain = st.reader_chain(c, &q.lang)?;
        let mut items = Vec::new();
        let mut after: Option<String> = None;
        // Every tag, a page at a time, so no single query is unbounded.
        loop {
            let page = tags::list(c, kind.as_deref(), after.as_deref(), 500, true)?;
            let done = page.len() < 500;
            after = page.last().map(|t| t.slug.clone());
            items.extend(page);
            if done {
                break;
            }
        }
        // No Last-Modified: story counts change without the tags changing.
        let body = PublicTagList {
            items: localized(c, &items, &chain)?,
            lang: chain[0].clone(),
        };
        Ok(Fresh::json(&body)?.tags([keys::TAGS.to_owned(), keys::lang(&chain[0])]))
    })
    .await
}

/// Read one tag in one language, with the number of stories published in it; 404 until a
/// published story carries it.
#[utoipa::path(
    get,
    path = "/api/v1/tags/{slug}",
    tag = "tags",
    params(("slug" = String, Path, example = "georgia-russia"), PublicTagLangQuery),
    responses(
        (status = 200, description = "The tag", body = PublicTagCount,
            headers(("ETag" = String), ("Cache-Control" = String))),
        (status = 304, description = "Not modified since the ETag in `If-None-Match`"),
        PublicTagErrors
    )
)]
pub async fn get_public_tag(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
    query: web::Query<PublicTagLangQuery>,
) -> AppResult<HttpResponse> {
    let slug = slug.into_inner();
    let lang = query.into_inner().lang;
    let st = state.clone().into_inner();
    cached(&req, &state.cache, &state.db, move |c| {
        let chain = st.reader_chain(c, &lang)?;
        let tag = tags::find_by_slug(c, &slug)?.ok_or_else(|| path_slug_not_found(&slug))?;
        if !tags::is_public(c, tag.id)? {
            return Err(path_slug_not_found(&slug));
        }
        let item = localized(c, &[tag], &chain)?
            .pop()
            .ok_or_else(|| path_slug_not_found(&slug))?;
        // Its count, and whether it shows at all, follow publication, as the tag list's do.
        Ok(Fresh::json(&item)?.tags([
            keys::tag(&slug),
            keys::TAGS.to_owned(),
            keys::lang(&chain[0]),
        ]))
    })
    .await
}

/// `tags` named through `chain`, with the stories published in its first language.
fn localized(
    conn: &mut DbConn,
    tags: &[tags::Tag],
    chain: &[String],
) -> AppResult<Vec<PublicTagCount>> {
    let ids: Vec<i64> = tags.iter().map(|t| t.id).collect();
    let names = tags::names_of(conn, &ids)?;
    let counts = tags::published_counts(conn, &chain[0])?;
    Ok(tags
        .iter()
        .map(|t| PublicTagCount {
            tag: PublicTag::new(t, names.get(&t.id).map_or(&[], Vec::as_slice), chain),
            article_count: counts.get(&t.id).copied().unwrap_or(0),
        })
        .collect())
}

/// List tags with their names in every language. Any signed-in user may read.
#[utoipa::path(
    get,
    path = "/api/v1/admin/tags",
    tag = "tags",
    security(("bearer" = [])),
    params(TagListQuery),
    responses((status = 200, description = "A page of tags", body = TagList), TagReadErrors)
)]
pub async fn list_tags(
    state: web::Data<AppState>,
    caller: AuthUser,
    query: web::Query<TagListQuery>,
) -> AppResult<HttpResponse> {
    let q = query.into_inner();
    let limit = Limit::parse(q.limit)?;
    let kind = q.kind.as_deref().map(tags::parse_kind_filter).transpose()?;
    let after = match q.cursor.as_deref() {
        None => None,
        Some(raw) => Some(
            Slug::parse(raw, "cursor")
                .map_err(|_| {
                    AppError::bad_parameter("cursor", "is not a cursor this list returned")
                })?
                .into_string(),
        ),
    };
    let list = state
        .db
        .run(move |c| {
            let rows = tags::list(c, kind.as_deref(), after.as_deref(), limit.fetch(), false)?;
            let (rows, next) = limit.split(rows, |t| t.slug.clone());
            let ids: Vec<i64> = rows.iter().map(|t| t.id).collect();
            let mut names = tags::names_of(c, &ids)?;
            let counts = tags::usage_counts(c, &ids, counted_for(&caller))?;
            Ok(TagList {
                items: rows
                    .into_iter()
                    .map(|t| {
                        let id = t.id;
                        TagResponse::new(
                            t,
                            names.remove(&id).unwrap_or_default(),
                            counts.get(&id).copied().unwrap_or(0),
                        )
                    })
                    .collect(),
                next_cursor: next,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Read a tag. Any signed-in user may read.
#[utoipa::path(
    get,
    path = "/api/v1/admin/tags/{id}",
    tag = "tags",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The tag's id")),
    responses((status = 200, description = "The tag", body = TagResponse), TagReadErrors)
)]
pub async fn get_tag(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let tag = state
        .db
        .run(move |c| {
            let tag = tags::find(c, id)?;
            tag_response(c, tag, &caller)
        })
        .await?;
    Ok(HttpResponse::Ok().json(tag))
}

/// Create a tag. Editors and admins.
#[utoipa::path(
    post,
    path = "/api/v1/admin/tags",
    tag = "tags",
    security(("bearer" = [])),
    request_body = CreateTag,
    responses(
        (status = 201, description = "Created", body = TagResponse,
            headers(("Location" = String, description = "The new tag's URL"))),
        TagWriteErrors
    )
)]
pub async fn create_tag(
    state: web::Data<AppState>,
    caller: AuthUser,
    body: web::Json<CreateTag>,
) -> AppResult<HttpResponse> {
    caller.require(Role::Editor)?;
    let b = body.into_inner();
    let mut f = FieldErrors::default();
    let slug = f.check(
        b.slug
            .as_deref()
            .map(|s| Slug::parse(s, "slug"))
            .transpose(),
    );
    let kind = f.check(tags::parse_kind(&b.kind, "kind"));
    if b.names.is_empty() {
        f.check::<()>(Err(AppError::invalid(
            "names",
            "a tag needs a name in at least one language",
        )));
    }
    let (names, _) = parse_names(
        b.names.into_iter().map(|(k, v)| (k, Some(v))).collect(),
        &mut f,
    );
    f.finish()?;
    let (Some(slug), Some(kind)) = (slug, kind) else {
        return Err(AppError::Internal("validated fields missing".into()));
    };
    let actor = Actor::from(&caller);
    let tag = state
        .db
        .transaction(move |c| {
            check_languages(c, &names)?;
            let tag = tags::insert(c, slug, &kind, &names)?;
            audit::record(
                c,
                &actor,
                "tag.create",
                "tag",
                &tag.id.to_string(),
                json!({ "slug": tag.slug, "kind": tag.kind }),
            )?;
            changes::changed(c, Change::Tag(tag.id))?;
            tag_response(c, tag, &caller)
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/admin/tags/{}", tag.id)))
        .json(tag))
}

/// Change a tag's slug, kind or names. Editors and admins.
#[utoipa::path(
    patch,
    path = "/api/v1/admin/tags/{id}",
    tag = "tags",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The tag's id")),
    request_body = UpdateTag,
    responses((status = 200, description = "The changed tag", body = TagResponse), TagWriteErrors)
)]
pub async fn update_tag(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<i64>,
    body: web::Json<UpdateTag>,
) -> AppResult<HttpResponse> {
    caller.require(Role::Editor)?;
    let id = id.into_inner();
    let b = body.into_inner();
    let mut f = FieldErrors::default();
    let slug = f.check(
        b.slug
            .as_deref()
            .map(|s| Slug::parse(s, "slug"))
            .transpose(),
    );
    let kind = f.check(
        b.kind
            .as_deref()
            .map(|k| tags::parse_kind(k, "kind"))
            .transpose(),
    );
    let (names, remove_names) = parse_names(b.names.unwrap_or_default(), &mut f);
    f.finish()?;
    let changes = TagChanges {
        slug: slug.flatten(),
        kind: kind.flatten(),
        names,
        remove_names,
    };
    let actor = Actor::from(&caller);
    let tag = state
        .db
        .transaction(move |c| {
            check_languages(c, &changes.names)?;
            let detail = json!({
                "slug": changes.slug.as_ref().map(Slug::as_str),
                "kind": changes.kind,
                "names": changes.names.iter().map(|n| &n.lang).collect::<Vec<_>>(),
                "removed_names": changes.remove_names,
            });
            let tag = tags::update(c, id, changes)?;
            audit::record(c, &actor, "tag.update", "tag", &id.to_string(), detail)?;
            changes::changed(c, Change::Tag(id))?;
            tag_response(c, tag, &caller)
        })
        .await?;
    Ok(HttpResponse::Ok().json(tag))
}

/// Delete a tag. Editors and admins. A tag that stories carry is refused (409) unless
/// `detach=true`, which takes it off them first.
#[utoipa::path(
    delete,
    path = "/api/v1/admin/tags/{id}",
    tag = "tags",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The tag's id"), DeleteTagQuery),
    responses((status = 204, description = "Deleted"), TagWriteErrors)
)]
pub async fn delete_tag(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<i64>,
    query: web::Query<DeleteTagQuery>,
) -> AppResult<HttpResponse> {
    caller.require(Role::Editor)?;
    let id = id.into_inner();
    let detach = query.detach.unwrap_or(false);
    let actor = Actor::from(&caller);
    state
        .db
        .transaction(move |c| {
            let tag = tags::find(c, id)?;
            let detached = tags::delete(c, id, detach)?;
            audit::record(
                c,
                &actor,
                "tag.delete",
                "tag",
                &id.to_string(),
                json!({ "slug": tag.slug, "detached_from": detached }),
            )?;
            changes::changed(c, Change::Tag(id))
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
