//! Language endpoints: the public list for language switchers, and admin management.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use serde_json::json;

use crate::app::AppState;
use crate::articles::changes::{self, Change};
use crate::audit::{self, Actor};
use crate::auth::{AuthUser, Role};
use crate::cache::http::{cached, Fresh};
use crate::cache::keys;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::languages::{
    self, parse_name, parse_position, Direction, LanguageChanges, LanguageCode, LanguageResponse,
    NewLanguage, PublicLanguage,
};
use crate::problem_responses;

problem_responses!(
    /// Errors of the public language endpoints.
    PublicLanguageErrors: 400, 404, 500, 503
);
problem_responses!(
    /// Errors of reading languages in the Admin API.
    LanguageReadErrors: 400, 401, 404, 500, 503
);
problem_responses!(
    /// Errors of changing languages.
    LanguageWriteErrors: 400, 401, 403, 404, 409, 413, 415, 422, 500, 503
);

/// The enabled languages, in switcher order.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicLanguageList {
    pub items: Vec<PublicLanguage>,
}

/// Every language, disabled ones too, in switcher order.
#[derive(Debug, Serialize, ToSchema)]
pub struct LanguageList {
    pub items: Vec<LanguageResponse>,
}

/// A new language.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLanguage {
    /// BCP 47 tag; normalised (`pt-br` becomes `pt-BR`).
    #[schema(example = "ka")]
    pub code: String,
    #[schema(example = "Georgian")]
    pub name: String,
    #[schema(example = "ქართული")]
    pub native_name: String,
    /// Defaults to `ltr`.
    pub direction: Option<Direction>,
    /// Defaults to true.
    pub enabled: Option<bool>,
    /// Defaults to 0.
    pub position: Option<i32>,
    /// An existing language to fall back to.
    pub fallback: Option<String>,
    /// Makes this the default language, in the same change that unsets the previous one.
    pub is_default: Option<bool>,
}

/// Changes to a language; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateLanguage {
    pub name: Option<String>,
    pub native_name: Option<String>,
    pub direction: Option<Direction>,
    /// The default language cannot be disabled.
    pub enabled: Option<bool>,
    pub position: Option<i32>,
    /// A language code, or `null` to remove the fallback.
    #[serde(default, deserialize_with = "crate::http::present")]
    #[schema(value_type = Option<String>, nullable)]
    pub fallback: Option<Option<String>>,
    /// `true` makes this the default in one atomic change; `false` is refused on the default,
    /// since there must always be one.
    pub is_default: Option<bool>,
}

fn path_code(raw: &str) -> AppResult<LanguageCode> {
    LanguageCode::parse(raw, "code")
        .map_err(|_| AppError::NotFound(format!("no language with code `{raw}`")))
}

/// List the enabled languages, in the order of the language switcher.
#[utoipa::path(
    get,
    path = "/api/v1/languages",
    tag = "languages",
    responses(
        (status = 200, description = "Enabled languages", body = PublicLanguageList,
            headers(("ETag" = String), ("Cache-Control" = String))),
        (status = 304, description = "Not modified since the ETag in `If-None-Match`"),
        PublicLanguageErrors
    )
)]
pub async fn list_public_languages(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    cached(&req, &state.cache, &state.db, |c| {
        // No Last-Modified: a deleted language would not move the newest `updated_at`.
        let items = languages::list(c, true)?;
        let body = PublicLanguageList {
            items: items.into_iter().map(PublicLanguage::from).collect(),
        };
        Ok(Fresh::json(&body)?.tags([keys::LANGUAGES.to_owned()]))
    })
    .await
}

/// Read one enabled language.
#[utoipa::path(
    get,
    path = "/api/v1/languages/{code}",
    tag = "languages",
    params(("code" = String, Path, description = "BCP 47 language tag", example = "ka")),
    responses(
        (status = 200, description = "The language", body = PublicLanguage,
            headers(("ETag" = String), ("Cache-Control" = String))),
        (status = 304, description = "Not modified since the ETag in `If-None-Match`"),
        PublicLanguageErrors
    )
)]
pub async fn get_public_language(
    req: HttpRequest,
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> AppResult<HttpResponse> {
    let raw = code.into_inner();
    let code = path_code(&raw)?;
    cached(&req, &state.cache, &state.db, move |c| {
        let lang = languages::find(c, &code)?
            .filter(|l| l.enabled)
            .ok_or_else(|| AppError::NotFound(format!("no language with code `{raw}`")))?;
        let modified = lang.updated_at;
        let key = keys::lang(&lang.code);
        Ok(Fresh::json(&PublicLanguage::from(lang))?
            .modified(Some(modified))
            .tags([keys::LANGUAGES.to_owned(), key]))
    })
    .await
}

/// List every language, disabled ones too. Any signed-in user may read.
#[utoipa::path(
    get,
    path = "/api/v1/admin/languages",
    tag = "languages",
    security(("bearer" = [])),
    responses((status = 200, description = "All languages", body = LanguageList), LanguageReadErrors)
)]
pub async fn list_languages(
    state: web::Data<AppState>,
    _caller: AuthUser,
) -> AppResult<HttpResponse> {
    let items = state.db.run(|c| languages::list(c, false)).await?;
    Ok(HttpResponse::Ok().json(LanguageList {
        items: items.into_iter().map(LanguageResponse::from).collect(),
    }))
}

/// Read one language. Any signed-in user may read.
#[utoipa::path(
    get,
    path = "/api/v1/admin/languages/{code}",
    tag = "languages",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "BCP 47 language tag", example = "ka")),
    responses((status = 200, description = "The language", body = LanguageResponse), LanguageReadErrors)
)]
pub async fn get_language(
    state: web::Data<AppState>,
    _caller: AuthUser,
    code: web::Path<String>,
) -> AppResult<HttpResponse> {
    let raw = code.into_inner();
    let code = path_code(&raw)?;
    let lang = state
        .db
        .run(move |c| languages::find(c, &code))
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no language with code `{raw}`")))?;
    Ok(HttpResponse::Ok().json(LanguageResponse::from(lang)))
}

/// Add a language. Admins only.
#[utoipa::path(
    post,
    path = "/api/v1/admin/languages",
    tag = "languages",
    security(("bearer" = [])),
    request_body = CreateLanguage,
    responses(
        (status = 201, description = "Created", body = LanguageResponse,
            headers(("Location" = String, description = "The new language's URL"))),
        LanguageWriteErrors
    )
)]
pub async fn create_language(
    state: web::Data<AppState>,
    caller: AuthUser,
    body: web::Json<CreateLanguage>,
) -> AppResult<HttpResponse> {
    caller.require(Role::Admin)?;
    let b = body.into_inner();
    let mut f = FieldErrors::default();
    let code = f.check(LanguageCode::parse(&b.code, "code"));
    let name = f.check(parse_name(&b.name, "name"));
    let native_name = f.check(parse_name(&b.native_name, "native_name"));
    let position = f.check(parse_position(b.position.unwrap_or(0), "position"));
    let fallback = f.check(
        b.fallback
            .as_deref()
            .map(|c| LanguageCode::parse(c, "fallback"))
            .transpose(),
    );
    f.finish()?;
    let (Some(code), Some(name), Some(native_name), Some(position), Some(fallback)) =
        (code, name, native_name, position, fallback)
    else {
        return Err(AppError::Internal("validated fields missing".into()));
    };
    let new = NewLanguage {
        code,
        name,
        native_name,
        direction: b.direction.unwrap_or(Direction::Ltr),
        enabled: b.enabled.unwrap_or(true),
        position,
        fallback,
        is_default: b.is_default.unwrap_or(false),
    };
    let actor = Actor::from(&caller);
    let lang = state
        .db
        .transaction(move |c| {
            let lang = languages::insert(c, new)?;
            audit::record(
                c,
                &actor,
                "language.create",
                "language",
                &lang.code,
                json!({ "name": lang.name, "is_default": lang.is_default }),
            )?;
            changes::changed(c, Change::Language(&lang.code))?;
            Ok(lang)
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/admin/languages/{}", lang.code),
        ))
        .json(LanguageResponse::from(lang)))
}

/// Change a language. Admins only.
#[utoipa::path(
    patch,
    path = "/api/v1/admin/languages/{code}",
    tag = "languages",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "BCP 47 language tag", example = "ka")),
    request_body = UpdateLanguage,
    responses((status = 200, description = "The changed language", body = LanguageResponse), LanguageWriteErrors)
)]
pub async fn update_language(
    state: web::Data<AppState>,
    caller: AuthUser,
    code: web::Path<String>,
    body: web::Json<UpdateLanguage>,
) -> AppResult<HttpResponse> {
    caller.require(Role::Admin)?;
    let code = path_code(&code.into_inner())?;
    let b = body.into_inner();
    let mut f = FieldErrors::default();
    let changes = LanguageChanges {
        name: b.name.and_then(|n| f.check(parse_name(&n, "name"))),
        native_name: b
            .native_name
            .and_then(|n| f.check(parse_name(&n, "native_name"))),
        direction: b.direction,
        enabled: b.enabled,
        position: b
            .position
            .and_then(|p| f.check(parse_position(p, "position"))),
        fallback: b
            .fallback
            .and_then(|fb| f.check(fb.map(|c| LanguageCode::parse(&c, "fallback")).transpose())),
        is_default: b.is_default,
    };
    f.finish()?;
    let actor = Actor::from(&caller);
    let lang = state
        .db
        .transaction(move |c| {
            let lang = languages::update(c, &code, changes)?;
            audit::record(c, &actor, "language.update", "language", &lang.code, json!({ "enabled": lang.enabled, "is_default": lang.is_default, "fallback": lang.fallback_code, "position": lang.position }))?;
            changes::changed(c, Change::Language(&lang.code))?;
            Ok(lang)
        })
        .await?;
    Ok(HttpResponse::Ok().json(LanguageResponse::from(lang)))
}

/// Delete a language. Admins only. The default language, a language another one falls back
/// to, and a language that content uses cannot be deleted (409).
#[utoipa::path(
    delete,
    path = "/api/v1/admin/languages/{code}",
    tag = "languages",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "BCP 47 language tag", example = "ka")),
    responses((status = 204, description = "Deleted"), LanguageWriteErrors)
)]
pub async fn delete_language(
    state: web::Data<AppState>,
    caller: AuthUser,
    code: web::Path<String>,
) -> AppResult<HttpResponse> {
    caller.require(Role::Admin)?;
    let code = path_code(&code.into_inner())?;
    let actor = Actor::from(&caller);
    state
        .db
        .transaction(move |c| {
            languages::delete(c, &code)?;
            audit::record(
                c,
                &actor,
                "language.delete",
                "language",
                code.as_str(),
                json!({}),
            )?;
            changes::changed(c, Change::Language(code.as_str()))
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
