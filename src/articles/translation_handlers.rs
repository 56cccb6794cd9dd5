//! `/api/v1/admin/articles/{id}/translations/{lang}`: a story's text in one language, its
//! workflow transitions and its revisions. Every write needs `If-Match` with the ETag the
//! editor read: missing → 428, stale → 412 with the current version and who saved it.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::app::AppState;
use crate::articles::changes::{changed, Change};
use crate::articles::editing::{
    load, load_for_write, parse_new_translation, path_lang, source_of, visible_story,
    CreateTranslation, TextFields,
};
use crate::articles::revisions::{self, RevisionResponse, RevisionSummary, SavedBy};
use crate::articles::transitions;
use crate::articles::translations::{self, Row, Text, Translation};
use crate::articles::workflow::Access;
use crate::articles::Status;
use crate::audit::{self, Actor};
use crate::auth::AuthUser;
use crate::db::DbConn;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::html::{self};
use crate::http::IfMatch;
use crate::languages::{self, LanguageCode};
use crate::pagination::{Limit, REVISIONS};
use crate::problem_responses;
use crate::slug::Slug;

problem_responses!(
    /// Errors of reading translations and revisions.
    TranslationReadErrors: 400, 401, 404, 500, 503
);
problem_responses!(
    /// Errors of creating a translation.
    TranslationCreateErrors: 400, 401, 403, 404, 409, 413, 415, 422, 500, 503
);
problem_responses!(
    /// Errors of writing a translation: `If-Match` is required (428) and must be current (412).
    TranslationWriteErrors: 400, 401, 403, 404, 409, 412, 413, 415, 422, 428, 500, 503
);

/// Changes to a translation's text; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTranslation {
    /// Plain text, without markup (422 otherwise); frontends escape it.
    pub title: Option<String>,
    /// Plain text, without markup (422 otherwise); frontends escape it.
    pub subtitle: Option<String>,
    /// HTML; sanitized on write.
    pub body: Option<String>,
    /// An empty string derives the excerpt from the body again.
    /// Plain text, without markup (422 otherwise); frontends escape it.
    pub excerpt: Option<String>,
    /// Plain text, without markup (422 otherwise); frontends escape it.
    pub seo_title: Option<String>,
    /// Plain text, without markup (422 otherwise); frontends escape it.
    pub seo_description: Option<String>,
    /// A new slug; the old one is kept so that old links can be redirected.
    pub slug: Option<String>,
    /// The source language, which also marks this translation up to date with the source's
    /// current revision; `null` forgets the source.
    #[serde(default, deserialize_with = "crate::http::present")]
    #[schema(value_type = Option<String>, nullable)]
    pub translated_from: Option<Option<String>>,
}

/// A move in the workflow.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionRequest {
    /// The status to move to.
    pub status: Status,
    /// Required, and in the future, for `scheduled`.
    pub scheduled_at: Option<DateTime<Utc>>,
}

/// The translation this one was made from.
#[derive(Debug, Serialize, ToSchema)]
pub struct TranslatedFrom {
    #[schema(example = "en")]
    pub lang: String,
    pub translation_id: i64,
    /// The source's revision this translation was made from.
    pub version: i32,
    /// The source's latest revision that changed its text.
    pub latest_version: i32,
}

/// A translation with its full content.
#[derive(Debug, Serialize, ToSchema)]
pub struct TranslationResponse {
    pub id: i64,
    pub article_id: i64,
    #[schema(example = "ka")]
    pub lang: String,
    #[schema(example = "sakartvelo-da-ruseti")]
    pub slug: String,
    /// Earlier slugs, newest first; old links to them can be redirected.
    pub old_slugs: Vec<String>,
    /// Plain text: frontends escape it; it never holds markup.
    pub title: String,
    /// Plain text: frontends escape it; it never holds markup.
    pub subtitle: String,
    /// Sanitized HTML.
    pub body: String,
    /// Plain text: frontends escape it; it never holds markup.
    pub excerpt: String,
    /// The excerpt was derived from the body.
    pub excerpt_auto: bool,
    /// Plain text: frontends escape it; it never holds markup.
    pub seo_title: String,
    /// Plain text: frontends escape it; it never holds markup.
    pub seo_description: String,
    pub word_count: i32,
    pub reading_minutes: i32,
    pub status: Status,
    /// The statuses the caller may move this translation to.
    pub allowed_transitions: Vec<Status>,
    pub scheduled_at: Option<DateTime<Utc>>,
    /// Set by the first publication and kept by later ones.
    pub published_at: Option<DateTime<Utc>>,
    /// Moves on every write; the `ETag` is made from it.
    pub version: i32,
    pub translated_from: Option<TranslatedFrom>,
    /// The source has changed since this translation was made from it.
    pub outdated: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Option<SavedBy>,
}

/// A page of revisions, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionList {
    pub items: Vec<RevisionSummary>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RevisionListQuery {
    /// Page size, 1 to 100.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
}

pub fn translation_response(
    conn: &mut DbConn,
    t: Translation,
    access: &Access,
) -> AppResult<TranslationResponse> {
    let old_slugs = translations::old_slugs(conn, &t)?;
    let translated_from = match t.source_translation_id {
        Some(sid) => translations::find_by_id(conn, sid)?.map(|s| TranslatedFrom {
            lang: s.lang,
            translation_id: s.id,
            version: t.source_version.unwrap_or(0),
            latest_version: t.source_latest_version.unwrap_or(0),
        }),
        None => None,
    };
    let updated_by = revisions::saved_by(conn, t.updated_by)?;
    let status = t.status()?;
    Ok(TranslationResponse {
        outdated: t.outdated(),
        allowed_transitions: access.allowed_from(status),
        id: t.id,
        article_id: t.article_id,
        lang: t.lang,
        slug: t.slug,
        old_slugs,
        title: t.title,
        subtitle: t.subtitle,
        body: t.body,
        excerpt: t.excerpt,
        excerpt_auto: t.excerpt_auto,
        seo_title: t.seo_title,
        seo_description: t.seo_description,
        word_count: t.word_count,
        reading_minutes: t.reading_minutes,
        status,
        scheduled_at: t.scheduled_at.map(|d| d.and_utc()),
        published_at: t.published_at.map(|d| d.and_utc()),
        version: t.version,
        translated_from,
        created_at: t.created_at.and_utc(),
        updated_at: t.updated_at.and_utc(),
        updated_by,
    })
}

/// 200 (or 201) with the translation and its `ETag`.
fn with_etag(mut builder: actix_web::HttpResponseBuilder, t: &TranslationResponse) -> HttpResponse {
    builder
        .insert_header((header::ETAG, translations::etag(t.id, t.version)))
        .json(t)
}

/// Read a translation. Its `ETag` is what a later write sends in `If-Match`.
#[utoipa::path(
    get,
    path = "/api/v1/admin/articles/{id}/translations/{lang}",
    tag = "articles",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The story's id"), ("lang" = String, Path, example = "ka")),
    responses(
        (status = 200, description = "The translation", body = TranslationResponse,
            headers(("ETag" = String, description = "Send in `If-Match` to write"))),
        TranslationReadErrors
    )
)]
pub async fn get_translation(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<(i64, String)>,
) -> AppResult<HttpResponse> {
    let (id, raw_lang) = path.into_inner();
    let lang = path_lang(id, &raw_lang)?;
    let t = state
        .db
        .run(move |c| {
            let l = load(c, &caller, id, &lang)?;
            translation_response(c, l.translation, &l.access)
        })
        .await?;
    Ok(with_etag(HttpResponse::Ok(), &t))
}

/// Add a translation to a story, as a draft. Anyone who may edit the story's drafts.
#[utoipa::path(
    post,
    path = "/api/v1/admin/articles/{id}/translations/{lang}",
    tag = "articles",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The story's id"), ("lang" = String, Path, example = "ka")),
    request_body = CreateTranslation,
    responses(
        (status = 201, description = "Created", body = TranslationResponse,
            headers(("ETag" = String), ("Location" = String))),
        TranslationCreateErrors
    )
)]
pub async fn create_translation(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<(i64, String)>,
    body: web::Json<CreateTranslation>,
) -> AppResult<HttpResponse> {
    let (id, raw_lang) = path.into_inner();
    let b = body.into_inner();
    if b.lang.is_some() {
        return Err(AppError::invalid(
            "lang",
            "the path names the language; leave it out of the body",
        ));
    }
    let mut f = FieldErrors::default();
    let new = parse_new_translation(&state.sanitizer, b, "", &mut f);
    f.finish()?;
    let new = new.ok_or_else(|| AppError::Internal("validated fields missing".into()))?;
    let actor = Actor::from(&caller);
    let t = state
        .db
        .transaction(move |c| {
            let (_, access) = visible_story(c, &caller, id)?;
            access.edit_translation(Status::Draft)?;
            let lang = languages::require_existing(c, &raw_lang, "lang")?;
            let t = new.insert(c, id, lang.as_str(), caller.id)?;
            audit::record(
                c,
                &actor,
                "translation.create",
                "translation",
                &t.id.to_string(),
                json!({ "article": id, "lang": t.lang, "slug": t.slug }),
            )?;
            changed(c, Change::translation(&t))?;
            translation_response(c, t, &access)
        })
        .await?;
    let location = format!("/api/v1/admin/articles/{id}/translations/{}", t.lang);
    Ok(with_etag(
        {
            let mut b = HttpResponse::Created();
            b.insert_header((header::LOCATION, location));
            b
        },
        &t,
    ))
}

/// Change a translation's text or slug. Needs `If-Match`.
#[utoipa::path(
    patch,
    path = "/api/v1/admin/articles/{id}/translations/{lang}",
    tag = "articles",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "The story's id"),
        ("lang" = String, Path, example = "ka"),
        ("If-Match" = String, Header, description = "The ETag of the version being changed")
    ),
    request_body = UpdateTranslation,
    responses(
        (status = 200, description = "The saved translation", body = TranslationResponse,
            headers(("ETag" = String))),
        TranslationWriteErrors
    )
)]
pub async fn update_translation(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<(i64, String)>,
    body: web::Json<UpdateTranslation>,
    if_match: IfMatch,
) -> AppResult<HttpResponse> {
    let (id, raw_lang) = path.into_inner();
    let lang = path_lang(id, &raw_lang)?;
    let b = body.into_inner();
    let mut f = FieldErrors::default();
    let TextFields {
        title,
        subtitle,
        excerpt,
        seo_title,
        seo_description,
    } = TextFields {
        title: b.title,
        subtitle: b.subtitle,
        excerpt: b.excerpt,
        seo_title: b.seo_title,
        seo_description: b.seo_description,
    }
    .checked("", &mut f);
    let slug = b.slug.and_then(|s| f.check(Slug::parse(&s, "slug")));
    let translated_from = b.translated_from.and_then(|src| {
        f.check(
            src.map(|l| LanguageCode::parse(&l, "translated_from"))
                .transpose(),
        )
    });
    f.finish()?;
    let body_html = b.body.map(|raw| state.sanitizer.clean(&raw));
    let actor = Actor::from(&caller);
    let t = state
        .db
        .transaction(move |c| {
            let (l, expected) = load_for_write(c, &caller, id, &lang, &if_match)?;
            let current = &l.translation;
            l.access.edit_translation(current.status()?)?;
            let mut text = Text::of(current);
            let mut fields = Vec::new();
            let mut set = |name: &'static str, value: Option<String>, slot: &mut String| {
                if let Some(v) = value {
                    fields.push(name);
                    *slot = v;
                }
            };
            set("title", title, &mut text.title);
            set("subtitle", subtitle, &mut text.subtitle);
            set("body", body_html, &mut text.body);
            set("excerpt", excerpt, &mut text.excerpt);
            set("seo_title", seo_title, &mut text.seo_title);
            set("seo_description", seo_description, &mut text.seo_description);
            let mut row = Row::of(current);
            row.set_text(text);
            if let Some(slug) = slug {
                fields.push("slug");
                row.slug = translations::choose_slug(c, &lang, Some(slug), "", Some(current.id))?
                    .into_string();
            }
            match translated_from {
                Some(Some(src)) => {
                    fields.push("translated_from");
                    let s = source_of(c, id, &lang, src.as_str())?;
                    row.source_translation_id = Some(s.id);
                    row.source_version = Some(s.content_version);
                    row.source_latest_version = Some(s.content_version);
                }
                Some(None) => {
                    fields.push("translated_from");
                    row.source_translation_id = None;
                    row.source_version = None;
                    row.source_latest_version = None;
                }
                None => {}
            }
            let saved = translations::write(c, current, expected, row, "update", Some(caller.id))?;
            audit::record(c, &actor, "translation.update", "translation", &saved.id.to_string(), json!({ "article": id, "lang": saved.lang, "version": saved.version, "fields": fields }))?;
            changed(c, Change::translation(&saved))?;
            translation_response(c, saved, &l.access)
        })
        .await?;
    Ok(with_etag(HttpResponse::Ok(), &t))
}

/// Delete a translation with its revisions and entries. Needs `If-Match`; a published or
/// scheduled translation must be taken off the site first (409).
#[utoipa::path(
    delete,
    path = "/api/v1/admin/articles/{id}/translations/{lang}",
    tag = "articles",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "The story's id"),
        ("lang" = String, Path, example = "ka"),
        ("If-Match" = String, Header, description = "The ETag of the version being deleted")
    ),
    responses((status = 204, description = "Deleted"), TranslationWriteErrors)
)]
pub async fn delete_translation(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<(i64, String)>,
    if_match: IfMatch,
) -> AppResult<HttpResponse> {
    let (id, raw_lang) = path.into_inner();
    let lang = path_lang(id, &raw_lang)?;
    let actor = Actor::from(&caller);
    state
        .db
        .transaction(move |c| {
            let (l, expected) = load_for_write(c, &caller, id, &lang, &if_match)?;
            let t = &l.translation;
            l.access.edit_translation(t.status()?)?;
            translations::delete(c, t, expected)?;
            audit::record(
                c,
                &actor,
                "translation.delete",
                "translation",
                &t.id.to_string(),
                json!({ "article": id, "lang": t.lang, "version": t.version, "title": t.title }),
            )?;
            changed(
                c,
                Change::TranslationDeleted {
                    article_id: id,
                    translation_id: t.id,
                },
            )
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Move a translation through the workflow. Needs `If-Match`.
///
/// Contributors submit their own drafts for review (and withdraw them); authors also schedule,
/// publish, unpublish and archive their own stories; editors and admins do anything. A step
/// the workflow doesn't have is 409 listing the allowed ones; a step the role may not take is
/// 403. Publishing sets `published_at` the first time only.
#[utoipa::path(
    post,
    path = "/api/v1/admin/articles/{id}/translations/{lang}/transitions",
    tag = "articles",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "The story's id"),
        ("lang" = String, Path, example = "ka"),
        ("If-Match" = String, Header, description = "The ETag of the version being moved")
    ),
    request_body = TransitionRequest,
    responses(
        (status = 200, description = "The translation in its new status", body = TranslationResponse,
            headers(("ETag" = String))),
        TranslationWriteErrors
    )
)]
pub async fn transition_translation(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<(i64, String)>,
    body: web::Json<TransitionRequest>,
    if_match: IfMatch,
) -> AppResult<HttpResponse> {
    let (id, raw_lang) = path.into_inner();
    let lang = path_lang(id, &raw_lang)?;
    let TransitionRequest {
        status: to,
        scheduled_at,
    } = body.into_inner();
    let scheduled_at = match (to, scheduled_at) {
        // Stored to the microsecond, like every time.
        (Status::Scheduled, Some(at)) if at > Utc::now() => {
            Some(crate::dates::body_time("scheduled_at", at)?.trunc_subsecs(6))
        }
        (Status::Scheduled, Some(_)) => {
            return Err(AppError::invalid("scheduled_at", "must be in the future"))
        }
        (Status::Scheduled, None) => {
            return Err(AppError::invalid(
                "scheduled_at",
                "scheduling needs the time to publish at",
            ))
        }
        (_, Some(_)) => {
            return Err(AppError::invalid(
                "scheduled_at",
                "only a move to `scheduled` takes a time",
            ))
        }
        (_, None) => None,
    };
    let actor = Actor::from(&caller);
    let t = state
        .db
        .transaction(move |c| {
            let (l, expected) = load_for_write(c, &caller, id, &lang, &if_match)?;
            let current = &l.translation;
            l.access.transition(current.status()?, to)?;
            let saved = transitions::move_to(c, current, expected, to, scheduled_at, &actor)?;
            translation_response(c, saved, &l.access)
        })
        .await?;
    Ok(with_etag(HttpResponse::Ok(), &t))
}

/// List a translation's revisions, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/admin/articles/{id}/translations/{lang}/revisions",
    tag = "articles",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "The story's id"),
        ("lang" = String, Path, example = "ka"),
        RevisionListQuery
    ),
    responses((status = 200, description = "A page of revisions", body = RevisionList), TranslationReadErrors)
)]
pub async fn list_revisions(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<(i64, String)>,
    query: web::Query<RevisionListQuery>,
) -> AppResult<HttpResponse> {
    let (id, raw_lang) = path.into_inner();
    let lang = path_lang(id, &raw_lang)?;
    let q = query.into_inner();
    let limit = Limit::parse(q.limit)?;
    let before = REVISIONS
        .parse(q.cursor.as_deref(), 0..i64::from(i32::MAX) + 1)?
        .map(|v| v as i32);
    let list = state
        .db
        .run(move |c| {
            let l = load(c, &caller, id, &lang)?;
            let rows = revisions::list(c, l.translation.id, before, limit.fetch())?;
            let (rows, next) = limit.split(rows, |(r, _)| r.version);
            Ok(RevisionList {
                items: rows
                    .into_iter()
                    .map(|(r, name)| RevisionSummary::new(&r, name))
                    .collect::<AppResult<_>>()?,
                next_cursor: next.map(|v| REVISIONS.encode(v.into())),
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Read one revision with its full content.
#[utoipa::path(
    get,
    path = "/api/v1/admin/articles/{id}/translations/{lang}/revisions/{version}",
    tag = "articles",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "The story's id"),
        ("lang" = String, Path, example = "ka"),
        ("version" = i32, Path, description = "The revision's number")
    ),
    responses((status = 200, description = "The revision", body = RevisionResponse), TranslationReadErrors)
)]
pub async fn get_revision(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<(i64, String, i32)>,
) -> AppResult<HttpResponse> {
    let (id, raw_lang, version) = path.into_inner();
    let lang = path_lang(id, &raw_lang)?;
    let revision = state
        .db
        .run(move |c| {
            let l = load(c, &caller, id, &lang)?;
            let (r, name) = revisions::find(c, l.translation.id, version)?;
            RevisionResponse::new(r, name)
        })
        .await?;
    Ok(HttpResponse::Ok().json(revision))
}

/// Bring back the text and slug of an earlier revision, as a new revision. Needs `If-Match`;
/// the status does not change.
#[utoipa::path(
    post,
    path = "/api/v1/admin/articles/{id}/translations/{lang}/revisions/{version}/restore",
    tag = "articles",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "The story's id"),
        ("lang" = String, Path, example = "ka"),
        ("version" = i32, Path, description = "The revision to restore"),
        ("If-Match" = String, Header, description = "The ETag of the current version")
    ),
    responses(
        (status = 200, description = "The translation as restored", body = TranslationResponse,
            headers(("ETag" = String))),
        TranslationWriteErrors
    )
)]
pub async fn restore_revision(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<(i64, String, i32)>,
    if_match: IfMatch,
) -> AppResult<HttpResponse> {
    let (id, raw_lang, version) = path.into_inner();
    let lang = path_lang(id, &raw_lang)?;
    let actor = Actor::from(&caller);
    let t = state
        .db
        .transaction(move |c| {
            let (l, expected) = load_for_write(c, &caller, id, &lang, &if_match)?;
            let current = &l.translation;
            l.access.edit_translation(current.status()?)?;
            let (r, _) = revisions::find(c, current.id, version)?;
            // An excerpt that was derived from the body stays derived.
            let derived = html::excerpt(&html::text_of(&r.body));
            let mut row = Row::of(current);
            row.set_text(Text {
                excerpt: if r.excerpt == derived {
                    String::new()
                } else {
                    r.excerpt.clone()
                },
                title: r.title,
                subtitle: r.subtitle,
                body: r.body,
                seo_title: r.seo_title,
                seo_description: r.seo_description,
            });
            let slug = Slug::parse(&r.slug, "slug")?;
            row.slug = translations::choose_slug(c, &lang, Some(slug), "", Some(current.id))?
                .into_string();
            let action = format!("restore:{version}");
            let saved = translations::write(c, current, expected, row, &action, Some(caller.id))?;
            audit::record(c, &actor, "translation.restore", "translation", &saved.id.to_string(), json!({ "article": id, "lang": saved.lang, "restored": version, "version": saved.version }))?;
            changed(c, Change::translation(&saved))?;
            translation_response(c, saved, &l.access)
        })
        .await?;
    Ok(with_etag(HttpResponse::Ok(), &t))
}
