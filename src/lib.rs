//! Newsdesk: a headless CMS for multilingual online newsrooms.

pub mod app;
pub mod auth;
pub mod config;
pub mod db;
pub mod demo;
pub mod error;
pub mod health;
pub mod http;
pub mod languages;
pub mod openapi;
pub mod pagination;
pub mod ratelimit;
pub mod text;
pub mod users;

use actix_web::http::header;
use actix_web::{web, HttpResponse, Resource};

use crate::auth::handlers as auth_h;
use crate::error::{Problem, PROBLEM_JSON};
use crate::languages::handlers as lang_h;
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

/// Every route of the service.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/healthz", "GET").route(web::get().to(health::healthz)))
        .service(resource("/readyz", "GET").route(web::get().to(health::readyz)))
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
            resource("/api/v1/languages", "GET")
                .route(web::get().to(lang_h::list_public_languages)),
        )
        .service(
            resource("/api/v1/languages/{code}", "GET")
                .route(web::get().to(lang_h::get_public_language)),
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
        );
}

async fn serve_openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(openapi::spec_json())
}
