//! The OpenAPI document, gathered from the handlers' annotations.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::{auth, health, languages, users};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Newsdesk",
        description = "A headless CMS for multilingual online newsrooms. The Content API \
                       (`/api/v1/…`) is public and serves published content only; the Admin API \
                       (`/api/v1/admin/…`) needs a bearer token from `/api/v1/auth/login`. Every \
                       error is an RFC 9457 `application/problem+json` body."
    ),
    paths(
        health::healthz,
        health::readyz,
        auth::handlers::login,
        auth::handlers::refresh,
        auth::handlers::logout,
        auth::handlers::me,
        auth::handlers::change_password,
        users::handlers::list_users,
        users::handlers::create_user,
        users::handlers::get_user,
        users::handlers::update_user,
        users::handlers::reset_password,
        users::handlers::delete_user,
        languages::handlers::list_public_languages,
        languages::handlers::get_public_language,
        languages::handlers::list_languages,
        languages::handlers::get_language,
        languages::handlers::create_language,
        languages::handlers::update_language,
        languages::handlers::delete_language,
    ),
    components(schemas(crate::error::Problem, crate::error::FieldError)),
    modifiers(&BearerAuth),
    tags(
        (name = "health", description = "Probes"),
        (name = "auth", description = "Signing in and out"),
        (name = "users", description = "Editor accounts (admins)"),
        (name = "languages", description = "Languages the newsroom publishes in"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("JWT".into());
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// The document as committed in `openapi/openapi.json` and served at `/api/v1/openapi.json`.
pub fn spec_json() -> String {
    let mut json = ApiDoc::openapi()
        .to_pretty_json()
        .expect("the OpenAPI document serialises");
    json.push('\n');
    json
}
