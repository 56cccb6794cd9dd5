//! The OpenAPI document, gathered from the handlers' annotations.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use actix_web::HttpResponse;

/// What the document says of the service as a whole; the operations come from the route list
/// in `lib.rs` ([`crate::documented::Paths`]).
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Newsdesk",
        description = "A headless CMS for multilingual online newsrooms. The Content API \
                       (`/api/v1/…`) is public and serves published content only; the Admin API \
                       (`/api/v1/admin/…`) needs a bearer token from `/api/v1/auth/login`; the \
                       partner routes (`/api/v1/syndication/…`) need a partner key. Feeds and \
                       sitemaps are public. Every error is an RFC 9457 \
                       `application/problem+json` body."
    ),
    components(schemas(
        crate::error::Problem,
        crate::error::FieldError,
        crate::feeds::render::JsonFeed,
        crate::feeds::render::JsonFeedItem,
        crate::feeds::render::JsonFeedAuthor,
        // Enums only query parameters name: a parameter's type is not collected on its own.
        crate::content::handlers::ListSort,
        crate::content::handlers::PageSort,
        crate::articles::handlers::AdminSort,
        crate::webhooks::handlers::DeliveryFilter
    )),
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
        (name = "partners", description = "Partner sites, their keys and usage (admins)"),
        (name = "syndication", description = "What partner sites pull with their keys: the change feed and items, as JSON or IPTC ninjs"),
        (name = "feeds", description = "Public RSS, Atom and JSON feeds and sitemaps"),
        (name = "webhooks", description = "Signed events and CDN purges for every change, with retries and a delivery log (admins)"),
        (name = "media", description = "The media library: safe image uploads, renditions, focal points, and alt text and captions in every language"),
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
        let mut partner = Http::new(HttpAuthScheme::Bearer);
        partner.bearer_format = Some("ndp_ partner key".into());
        partner.description = Some(
            "A partner key (`ndp_…`) from `POST /api/v1/admin/partners`, sent as \
             `Authorization: Bearer ndp_…`; never in a query string. Editors' tokens are refused \
             here, and partner keys on the Admin API."
                .into(),
        );
        components.add_security_scheme("partner_key", SecurityScheme::Http(partner));
        let mut metrics = Http::new(HttpAuthScheme::Bearer);
        metrics.description = Some("`METRICS_TOKEN`, for `GET /metrics`.".into());
        components.add_security_scheme("metrics_token", SecurityScheme::Http(metrics));
    }
}

/// The whole document: what [`ApiDoc`] says of the service, and every route's operations.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(crate::documented::Paths::openapi());
    doc
}

/// The document as committed in `openapi/openapi.json` and served at `/api/v1/openapi.json`.
pub fn spec_json() -> String {
    let mut json = document()
        .to_pretty_json()
        .expect("the OpenAPI document serialises");
    json.push('\n');
    json
}

/// This document.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "health",
    operation_id = "get_openapi_document",
    responses((status = 200, description = "The OpenAPI 3.1 document of this service", content_type = "application/json", body = Object))
)]
pub async fn serve_openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(spec_json())
}
