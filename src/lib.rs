//! Newsdesk: a headless CMS for multilingual online newsrooms.

pub mod app;
pub mod articles;
pub mod audit;
pub mod auth;
pub mod cache;
pub mod config;
pub mod content;
pub mod db;
pub mod demo;
pub mod error;
pub mod health;
pub mod html;
pub mod http;
pub mod languages;
pub mod openapi;
pub mod pagination;
pub mod prompts;
pub mod ratelimit;
pub mod scheduler;
pub mod seed;
pub mod slug;
pub mod tags;
pub mod tally;
pub mod text;
pub mod users;

use actix_web::http::header;
use actix_web::{web, HttpResponse, Resource};

use crate::articles::entry_handlers as entry_h;
use crate::articles::handlers as article_h;
use crate::articles::translation_handlers as tr_h;
use crate::audit::handlers as audit_h;
use crate::auth::handlers as auth_h;
use crate::content::handlers as content_h;
use crate::error::{Problem, PROBLEM_JSON};
use crate::languages::handlers as lang_h;
use crate::prompts::handlers as prompt_h;
use crate::tags::handlers as tag_h;
use crate::users::handlers as user_h;

/// A resource whose unsupported methods get 405 with an `Allow` header and a problem body.
fn resource(path: &str, allow: &'static str) -> Resource {
    web::resource(path).default_service(web::to(move || async move {
        let problem = Problem {
            kind: "urn:newsdesk:problem:method-not-allowed".into(),
            title: "Method Not Allowed".into(),
            status: 405,
            detail: format!("this resource supports {allow}"),
            errors: None,
        };
        HttpResponse::MethodNotAllowed()
            .insert_header((header::ALLOW, allow))
            .content_type(PROBLEM_JSON)
            .json(problem)
    }))
}

/// Every route of the service. Resources are matched in the order given, so the Content API,
/// which readers call most, comes first.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/healthz", "GET").route(web::get().to(health::healthz)))
        .service(resource("/readyz", "GET").route(web::get().to(health::readyz)))
        .service(resource("/api/v1/articles", "GET").route(web::get().to(content_h::list_articles)))
        .service(
            resource("/api/v1/articles/most-read", "GET")
                .route(web::get().to(content_h::most_read)),
        )
        .service(
            resource("/api/v1/articles/{lang}/{slug}", "GET")
                .route(web::get().to(content_h::get_article)),
        )
        .service(
            resource("/api/v1/articles/{lang}/{slug}/views", "POST")
                .route(web::post().to(content_h::count_view)),
        )
        .service(
            resource("/api/v1/articles/{lang}/{slug}/entries", "GET")
                .route(web::get().to(content_h::list_entries)),
        )
        .service(
            resource("/api/v1/donation-prompts", "GET")
                .route(web::get().to(prompt_h::eligible_prompts)),
        )
        .service(
            resource("/api/v1/donation-prompts/resolve", "GET")
                .route(web::get().to(prompt_h::resolve_prompt)),
        )
        .service(
            resource("/api/v1/donation-prompts/{id}/events", "POST")
                .route(web::post().to(prompt_h::record_event)),
        )
        .service(
            resource("/api/v1/tags/{slug}/articles", "GET")
                .route(web::get().to(content_h::tag_articles)),
        )
        .service(resource("/api/v1/tags", "GET").route(web::get().to(tag_h::list_public_tags)))
        .service(resource("/api/v1/tags/{slug}", "GET").route(web::get().to(tag_h::get_public_tag)))
        .service(
            resource("/api/v1/languages", "GET")
                .route(web::get().to(lang_h::list_public_languages)),
        )
        .service(
            resource("/api/v1/languages/{code}", "GET")
                .route(web::get().to(lang_h::get_public_language)),
        )
        .service(resource("/api/v1/openapi.json", "GET").route(web::get().to(serve_openapi)))
        .service(resource("/api/v1/auth/login", "POST").route(web::post().to(auth_h::login)))
        .service(resource("/api/v1/auth/refresh", "POST").route(web::post().to(auth_h::refresh)))
        .service(resource("/api/v1/auth/logout", "POST").route(web::post().to(auth_h::logout)))
        .service(resource("/api/v1/auth/me", "GET").route(web::get().to(auth_h::me)))
        .service(
            resource("/api/v1/auth/password", "POST")
                .route(web::post().to(auth_h::change_password)),
        )
        .service(
            resource("/api/v1/admin/users", "GET, POST")
                .route(web::get().to(user_h::list_users))
                .route(web::post().to(user_h::create_user)),
        )
        .service(
            resource("/api/v1/admin/users/{id}", "GET, PATCH, DELETE")
                .route(web::get().to(user_h::get_user))
                .route(web::patch().to(user_h::update_user))
                .route(web::delete().to(user_h::delete_user)),
        )
        .service(
            resource("/api/v1/admin/users/{id}/password", "POST")
                .route(web::post().to(user_h::reset_password)),
        )
        .service(
            resource("/api/v1/admin/languages", "GET, POST")
                .route(web::get().to(lang_h::list_languages))
                .route(web::post().to(lang_h::create_language)),
        )
        .service(
            resource("/api/v1/admin/languages/{code}", "GET, PATCH, DELETE")
                .route(web::get().to(lang_h::get_language))
                .route(web::patch().to(lang_h::update_language))
                .route(web::delete().to(lang_h::delete_language)),
        )
        .service(
            resource("/api/v1/admin/donation-prompts", "GET, POST")
                .route(web::get().to(prompt_h::list_prompts))
                .route(web::post().to(prompt_h::create_prompt)),
        )
        .service(
            resource("/api/v1/admin/donation-prompts/stats", "GET")
                .route(web::get().to(prompt_h::compare_prompts)),
        )
        .service(
            resource("/api/v1/admin/donation-prompts/{id}", "GET, PATCH, DELETE")
                .route(web::get().to(prompt_h::get_prompt))
                .route(web::patch().to(prompt_h::update_prompt))
                .route(web::delete().to(prompt_h::delete_prompt)),
        )
        .service(
            resource("/api/v1/admin/donation-prompts/{id}/stats", "GET")
                .route(web::get().to(prompt_h::prompt_stats)),
        )
        .service(
            resource("/api/v1/admin/tags", "GET, POST")
                .route(web::get().to(tag_h::list_tags))
                .route(web::post().to(tag_h::create_tag)),
        )
        .service(
            resource("/api/v1/admin/tags/{id}", "GET, PATCH, DELETE")
                .route(web::get().to(tag_h::get_tag))
                .route(web::patch().to(tag_h::update_tag))
                .route(web::delete().to(tag_h::delete_tag)),
        )
        .service(
            resource("/api/v1/admin/articles", "GET, POST")
                .route(web::get().to(article_h::list_articles))
                .route(web::post().to(article_h::create_article)),
        )
        .service(
            resource("/api/v1/admin/articles/{id}", "GET, PATCH, DELETE")
                .route(web::get().to(article_h::get_article))
                .route(web::patch().to(article_h::update_article))
                .route(web::delete().to(article_h::delete_article)),
        )
        .service(
            resource(
                "/api/v1/admin/articles/{id}/translations/{lang}",
                "GET, POST, PATCH, DELETE",
            )
            .route(web::get().to(tr_h::get_translation))
            .route(web::post().to(tr_h::create_translation))
            .route(web::patch().to(tr_h::update_translation))
            .route(web::delete().to(tr_h::delete_translation)),
        )
        .service(
            resource(
                "/api/v1/admin/articles/{id}/translations/{lang}/transitions",
                "POST",
            )
            .route(web::post().to(tr_h::transition_translation)),
        )
        .service(
            resource(
                "/api/v1/admin/articles/{id}/translations/{lang}/revisions",
                "GET",
            )
            .route(web::get().to(tr_h::list_revisions)),
        )
        .service(
            resource(
                "/api/v1/admin/articles/{id}/translations/{lang}/revisions/{version}",
                "GET",
            )
            .route(web::get().to(tr_h::get_revision)),
        )
        .service(
            resource(
                "/api/v1/admin/articles/{id}/translations/{lang}/revisions/{version}/restore",
                "POST",
            )
            .route(web::post().to(tr_h::restore_revision)),
        )
        .service(
            resource(
                "/api/v1/admin/articles/{id}/translations/{lang}/entries",
                "GET, POST",
            )
            .route(web::get().to(entry_h::list_entries))
            .route(web::post().to(entry_h::create_entry)),
        )
        .service(
            resource(
                "/api/v1/admin/articles/{id}/translations/{lang}/entries/{entry_id}",
                "PATCH, DELETE",
            )
            .route(web::patch().to(entry_h::update_entry))
            .route(web::delete().to(entry_h::delete_entry)),
        )
        .service(resource("/api/v1/admin/audit", "GET").route(web::get().to(audit_h::list_audit)));
}

async fn serve_openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(openapi::spec_json())
}
