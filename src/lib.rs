//! Newsdesk: a headless CMS for multilingual online newsrooms.

pub mod app;
pub mod articles;
pub mod audit;
pub mod auth;
pub mod cache;
pub mod config;
pub mod content;
pub mod dates;
pub mod db;
pub mod docs;
pub mod error;
pub mod feeds;
pub mod health;
pub mod html;
pub mod http;
pub mod http_client;
pub mod languages;
pub mod media;
pub mod metrics;
pub mod openapi;
pub mod pagination;
pub mod partners;
pub mod prompts;
pub mod ratelimit;
pub mod scheduler;
pub mod slug;
pub mod syndication;
pub mod tags;
pub mod tally;
pub mod text;
pub mod tools;
pub mod users;
pub mod webhooks;

use actix_web::http::header;
use actix_web::{web, HttpResponse, Resource};

use crate::error::{Problem, PROBLEM_JSON};

/// A resource whose unsupported methods get 405 with an `Allow` header and a problem body.
fn resource(path: &str, methods: &[&str]) -> Resource {
    let allow = methods
        .iter()
        .flat_map(|m| match *m {
            "get" => vec!["GET", "HEAD"],
            other => vec![other],
        })
        .map(|m| m.to_ascii_uppercase())
        .collect::<Vec<_>>()
        .join(", ");
    web::resource(path).default_service(web::to(move || {
        let allow = allow.clone();
        async move {
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
        }
    }))
}

/// The route of each method; a GET route answers HEAD too (the same headers, no body), as
/// RFC 9110 asks of every GET resource.
mod methods {
    use actix_web::{guard, web, Route};

    pub fn get() -> Route {
        web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
    }

    pub use web::{delete, patch, post};
}

/// Declares every route once: its path, and per method the handler, whose `#[utoipa::path]`
/// documents it. From the one list come [`routes`] (registration, in the order given, so put
/// what readers call most first), [`ROUTES`] (what is registered, for the test that holds it
/// against the document) and [`openapi::Paths`] (what is documented).
macro_rules! api {
    ($( $path:literal => { $( $method:ident : $($handler:ident)::+ ),+ $(,)? } ),* $(,)?) => {
        /// Every route of the service.
        pub fn routes(cfg: &mut web::ServiceConfig) {
            $(
                cfg.service(
                    resource($path, &[$(stringify!($method)),+])
                        .app_data(metrics::Route($path))
                        $(.route(methods::$method().to($($handler)::+)))+
                );
            )*
        }

        /// Every registered route: its path and methods, lowercase.
        pub const ROUTES: &[(&str, &[&str])] = &[$( ($path, &[$(stringify!($method)),+]) ),*];

        pub mod documented {
            use crate::*;

            /// The operations of every route in [`crate::routes`], as their handlers document them.
            #[derive(utoipa::OpenApi)]
            #[openapi(paths($($($($handler)::+),+),*))]
            pub struct Paths;
        }
    };
}

api! {
    "/healthz" => { get: health::healthz },
    "/readyz" => { get: health::readyz },
    "/metrics" => { get: metrics::metrics },
    "/api/v1/articles" => { get: content::handlers::list_articles },
    "/api/v1/articles/most-read" => { get: content::handlers::most_read },
    "/api/v1/articles/{lang}/{slug}" => { get: content::handlers::get_article },
    "/api/v1/articles/{lang}/{slug}/views" => { post: content::handlers::count_view },
    "/api/v1/articles/{lang}/{slug}/entries" => { get: content::handlers::list_entries },
    "/api/v1/preview/{token}" => { get: content::preview_handlers::open_preview },
    "/api/v1/donation-prompts" => { get: prompts::public_handlers::eligible_prompts },
    "/api/v1/donation-prompts/resolve" => { get: prompts::public_handlers::resolve_prompt },
    "/api/v1/donation-prompts/{id}/events" => { post: prompts::public_handlers::record_event },
    "/api/v1/tags/{slug}/articles" => { get: content::handlers::tag_articles },
    "/api/v1/tags" => { get: tags::handlers::list_public_tags },
    "/api/v1/tags/{slug}" => { get: tags::handlers::get_public_tag },
    "/api/v1/languages" => { get: languages::handlers::list_public_languages },
    "/api/v1/languages/{code}" => { get: languages::handlers::get_public_language },
    "/api/v1/openapi.json" => { get: openapi::serve_openapi },
    "/api/v1/docs" => { get: docs::page },
    "/api/v1/docs/assets/{version}/{name}" => { get: docs::asset },
    "/api/v1/feeds/{lang}.{format}" => { get: feeds::handlers::language_feed },
    "/api/v1/feeds/{lang}/tags/{slug}.{format}" => { get: feeds::handlers::tag_feed },
    "/api/v1/feeds/{lang}/authors/{id}.{format}" => { get: feeds::handlers::author_feed },
    "/sitemap.xml" => { get: feeds::handlers::sitemap_index },
    "/sitemaps/{name}.xml" => { get: feeds::handlers::sitemap },
    "/media/{hash}/{name}" => { get: media::serve::rendition },
    "/api/v1/syndication/changes" => { get: syndication::handlers::changes },
    "/api/v1/syndication/articles/{id}/{lang}" => { get: syndication::handlers::item },
    "/api/v1/auth/login" => { post: auth::handlers::login },
    "/api/v1/auth/refresh" => { post: auth::handlers::refresh },
    "/api/v1/auth/logout" => { post: auth::handlers::logout },
    "/api/v1/auth/me" => { get: auth::handlers::me },
    "/api/v1/auth/password" => { post: auth::handlers::change_password },
    "/api/v1/admin/users" => {
        get: users::handlers::list_users,
        post: users::handlers::create_user,
    },
    "/api/v1/admin/users/{id}" => {
        get: users::handlers::get_user,
        patch: users::handlers::update_user,
        delete: users::handlers::delete_user,
    },
    "/api/v1/admin/users/{id}/password" => { post: users::handlers::reset_password },
    "/api/v1/admin/languages" => {
        get: languages::handlers::list_languages,
        post: languages::handlers::create_language,
    },
    "/api/v1/admin/languages/{code}" => {
        get: languages::handlers::get_language,
        patch: languages::handlers::update_language,
        delete: languages::handlers::delete_language,
    },
    "/api/v1/admin/donation-prompts" => {
        get: prompts::admin_handlers::list_prompts,
        post: prompts::admin_handlers::create_prompt,
    },
    "/api/v1/admin/donation-prompts/stats" => { get: prompts::admin_handlers::compare_prompts },
    "/api/v1/admin/donation-prompts/{id}" => {
        get: prompts::admin_handlers::get_prompt,
        patch: prompts::admin_handlers::update_prompt,
        delete: prompts::admin_handlers::delete_prompt,
    },
    "/api/v1/admin/donation-prompts/{id}/stats" => { get: prompts::admin_handlers::prompt_stats },
    "/api/v1/admin/tags" => {
        get: tags::handlers::list_tags,
        post: tags::handlers::create_tag,
    },
    "/api/v1/admin/tags/{id}" => {
        get: tags::handlers::get_tag,
        patch: tags::handlers::update_tag,
        delete: tags::handlers::delete_tag,
    },
    "/api/v1/admin/articles" => {
        get: articles::handlers::list_articles,
        post: articles::handlers::create_article,
    },
    "/api/v1/admin/articles/{id}" => {
        get: articles::handlers::get_article,
        patch: articles::handlers::update_article,
        delete: articles::handlers::delete_article,
    },
    "/api/v1/admin/articles/{id}/translations/{lang}" => {
        get: articles::translation_handlers::get_translation,
        post: articles::translation_handlers::create_translation,
        patch: articles::translation_handlers::update_translation,
        delete: articles::translation_handlers::delete_translation,
    },
    "/api/v1/admin/articles/{id}/translations/{lang}/preview" => {
        post: content::preview_handlers::create_preview,
    },
    "/api/v1/admin/articles/{id}/translations/{lang}/transitions" => {
        post: articles::translation_handlers::transition_translation,
    },
    "/api/v1/admin/articles/{id}/translations/{lang}/revisions" => {
        get: articles::translation_handlers::list_revisions,
    },
    "/api/v1/admin/articles/{id}/translations/{lang}/revisions/{version}" => {
        get: articles::translation_handlers::get_revision,
    },
    "/api/v1/admin/articles/{id}/translations/{lang}/revisions/{version}/restore" => {
        post: articles::translation_handlers::restore_revision,
    },
    "/api/v1/admin/articles/{id}/translations/{lang}/entries" => {
        get: articles::entry_handlers::list_entries,
        post: articles::entry_handlers::create_entry,
    },
    "/api/v1/admin/articles/{id}/translations/{lang}/entries/{entry_id}" => {
        patch: articles::entry_handlers::update_entry,
        delete: articles::entry_handlers::delete_entry,
    },
    "/api/v1/admin/audit" => { get: audit::handlers::list_audit },
    "/api/v1/admin/partners" => {
        get: partners::handlers::list_partners,
        post: partners::handlers::create_partner,
    },
    "/api/v1/admin/partners/{id}" => {
        get: partners::handlers::get_partner,
        patch: partners::handlers::update_partner,
        delete: partners::handlers::delete_partner,
    },
    "/api/v1/admin/partners/{id}/keys" => { post: partners::handlers::rotate_key },
    "/api/v1/admin/partners/{id}/usage" => { get: partners::handlers::partner_usage },
    "/api/v1/admin/webhooks" => {
        get: webhooks::handlers::list_webhooks,
        post: webhooks::handlers::create_webhook,
    },
    "/api/v1/admin/webhooks/{id}" => {
        get: webhooks::handlers::get_webhook,
        patch: webhooks::handlers::update_webhook,
        delete: webhooks::handlers::delete_webhook,
    },
    "/api/v1/admin/webhooks/{id}/secret" => { post: webhooks::handlers::rotate_secret },
    "/api/v1/admin/webhooks/{id}/ping" => { post: webhooks::handlers::ping_webhook },
    "/api/v1/admin/webhooks/{id}/deliveries" => { get: webhooks::handlers::list_deliveries },
    "/api/v1/admin/webhooks/{id}/deliveries/{delivery_id}/retry" => {
        post: webhooks::handlers::retry_delivery,
    },
    "/api/v1/admin/webhooks/{id}/replay" => { post: webhooks::handlers::replay },
    "/api/v1/admin/media" => {
        get: media::handlers::list_media,
        post: media::handlers::upload_media,
    },
    "/api/v1/admin/media/{id}" => {
        get: media::handlers::get_media,
        patch: media::handlers::update_media,
        delete: media::handlers::delete_media,
    },
    "/api/v1/admin/media/{id}/usage" => { get: media::handlers::media_usage },
}
