//! The OpenAPI document, gathered from the handlers' annotations.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::{articles, audit, auth, content, health, languages, prompts, tags, users};

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
        content::handlers::list_articles,
        content::handlers::get_article,
        content::handlers::most_read,
        content::handlers::count_view,
        content::handlers::list_entries,
        content::handlers::tag_articles,
        tags::handlers::list_public_tags,
        tags::handlers::get_public_tag,
        tags::handlers::list_tags,
        tags::handlers::get_tag,
        tags::handlers::create_tag,
        tags::handlers::update_tag,
        tags::handlers::delete_tag,
        articles::handlers::list_articles,
        articles::handlers::create_article,
        articles::handlers::get_article,
        articles::handlers::update_article,
        articles::handlers::delete_article,
        articles::translation_handlers::get_translation,
        articles::translation_handlers::create_translation,
        articles::translation_handlers::update_translation,
        articles::translation_handlers::delete_translation,
        articles::translation_handlers::transition_translation,
        articles::translation_handlers::list_revisions,
        articles::translation_handlers::get_revision,
        articles::translation_handlers::restore_revision,
        articles::entry_handlers::list_entries,
        articles::entry_handlers::create_entry,
        articles::entry_handlers::update_entry,
        articles::entry_handlers::delete_entry,
        audit::handlers::list_audit,
        prompts::handlers::list_prompts,
        prompts::handlers::create_prompt,
        prompts::handlers::get_prompt,
        prompts::handlers::update_prompt,
        prompts::handlers::delete_prompt,
        prompts::handlers::prompt_stats,
        prompts::handlers::compare_prompts,
        prompts::handlers::eligible_prompts,
        prompts::handlers::resolve_prompt,
        prompts::handlers::record_event,
    ),
    components(schemas(crate::error::Problem, crate::error::FieldError)),
    modifiers(&BearerAuth),
    tags(
        (name = "health", description = "Probes"),
        (name = "auth", description = "Signing in and out"),
        (name = "users", description = "Editor accounts (admins)"),
        (name = "languages", description = "Languages the newsroom publishes in"),
        (name = "content", description = "Published stories for frontends: lists, article pages, most read, search"),
        (name = "tags", description = "How stories are filed, named in every language"),
        (name = "articles", description = "Stories, their translations, workflow, revisions and live entries"),
        (name = "audit", description = "Who changed what (admins)"),
        (name = "donation prompts", description = "\"Support us\" messages: management, targeting, rotation and what readers did with them"),
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
