//! Webhook endpoints of the Admin API (admins only; every change audited): subscribe, read,
//! change, delete, rotate the signing secret, ping, read the delivery log, retry one delivery
//! and replay what happened since a time.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::app::AppState;
use crate::articles::projections::outbox::{self, Event, EVENT_TYPES, PENDING, PING};
use crate::audit::{self, Actor};
use crate::auth::{AuthUser, Role};
use crate::db::schema::{webhook_attempts as wa, webhook_deliveries as wd, webhook_events as ev};
use crate::db::{now, DbConn};
use crate::db_run;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::http::{self as http_util, Current, GracePeriod, IfMatch};
use crate::pagination::{IdCursor, Limit, PageQuery};
use crate::problem_responses;
use crate::webhooks::{self, guard, Endpoint, Settings, CLOUDFLARE, FASTLY, PURGE, WEBHOOK};

problem_responses!(
    /// Errors of reading webhooks.
    WebhookReadErrors: 400, 401, 403, 404, 500, 503
);
problem_responses!(
    /// Errors of changing webhooks.
    WebhookWriteErrors: 400, 401, 403, 404, 409, 412, 413, 415, 422, 428, 500, 503
);

/// A new endpoint.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// `https://…` (http only for hosts in `WEBHOOK_ALLOWED_HOSTS`); never an internal address.
    #[schema(example = "https://hooks.partner.example/newsdesk")]
    pub url: String,
    /// `webhook` (default): signed events. `purge`: the CDN's purge-by-key API.
    #[schema(value_type = Option<EndpointKind>)]
    pub kind: Option<String>,
    /// For `purge`: `fastly` or `cloudflare`.
    #[schema(value_type = Option<PurgeProvider>)]
    pub provider: Option<String>,
    /// For `purge`: the provider's API token (sent as it asks; never shown again).
    pub token: Option<String>,
    /// Event types (`article.published`, `article.updated`, `article.unpublished`,
    /// `article.deleted`, `tag.changed`, `language.changed`, `donation_prompt.changed`), or
    /// `["*"]` for all. Purge endpoints hear every change.
    #[serde(default)]
    #[schema(example = json!(["article.published", "article.updated"]))]
    pub events: Vec<String>,
    /// Language codes; empty or absent: every language.
    #[serde(default)]
    pub languages: Vec<String>,
    /// Plain text, at most 500 characters.
    pub description: Option<String>,
    /// `true` unless given.
    pub enabled: Option<bool>,
}

/// Changes to an endpoint; absent fields stay as they are. Enabling one clears why it was
/// disabled.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhook {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub languages: Option<Vec<String>>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

/// An endpoint, as admins see it: never its secret or token.
/// What an endpoint is: a `webhook` receives signed events; a `purge` endpoint is the CDN's.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EndpointKind {
    Webhook,
    Purge,
}

/// Which attempts a delivery log shows.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryFilter {
    Succeeded,
    Failed,
}

/// Whose purge-by-key API a `purge` endpoint calls.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PurgeProvider {
    Fastly,
    Cloudflare,
}

/// Where a delivery stands.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookResponse {
    pub id: i64,
    #[schema(example = "webhook", value_type = EndpointKind)]
    pub kind: String,
    pub url: String,
    #[schema(value_type = Option<PurgeProvider>)]
    pub provider: Option<String>,
    pub events: Vec<String>,
    pub languages: Vec<String>,
    pub description: String,
    pub enabled: bool,
    /// Why Newsdesk disabled it (a 410 from the receiver, or five days of failures).
    pub disabled_reason: Option<String>,
    /// Since when every delivery has failed.
    pub failing_since: Option<DateTime<Utc>>,
    /// Until when the previous secret signs too, during a rotation.
    pub previous_secret_until: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Endpoint> for WebhookResponse {
    fn from(e: Endpoint) -> Self {
        WebhookResponse {
            events: e.event_list(),
            languages: e.language_list(),
            id: e.id,
            kind: e.kind,
            url: e.url,
            provider: e.provider,
            description: e.description,
            enabled: e.enabled,
            disabled_reason: e.disabled_reason,
            failing_since: e.failing_since.map(|t| t.and_utc()),
            previous_secret_until: e.previous_secret_until.map(|t| t.and_utc()),
            version: e.version,
            created_at: e.created_at.and_utc(),
            updated_at: e.updated_at.and_utc(),
        }
    }
}

/// An endpoint with its signing secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookWithSecret {
    /// `whsec_` and the base64 of 32 random bytes: verify `webhook-signature` with it (Standard
    /// Webhooks). Absent for purge endpoints.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: Option<String>,
    pub webhook: WebhookResponse,
}

/// A page of endpoints, in id order.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookList {
    pub items: Vec<WebhookResponse>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// `succeeded` or `failed`.
    #[param(value_type = Option<DeliveryFilter>)]
    pub status: Option<String>,
    /// Attempts at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Attempts before this time.
    pub until: Option<DateTime<Utc>>,
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReplayQuery {
    /// Re-send every event since this time that the endpoint listens for.
    pub since: DateTime<Utc>,
}

/// One attempt to deliver one event.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptResponse {
    pub id: i64,
    /// The delivery: retry it with `POST …/deliveries/{delivery_id}/retry`.
    pub delivery_id: i64,
    /// The `webhook-id` the receiver saw.
    #[schema(example = "msg_5f0c1a2b3c4d5e6f7a8b9c0d1e2f3a4b")]
    pub event_id: String,
    #[schema(example = "article.published")]
    pub event_type: String,
    pub attempt: i32,
    pub at: DateTime<Utc>,
    pub duration_ms: i32,
    pub response_status: Option<i32>,
    /// The first 1 KB of the receiver's answer.
    pub response_body: Option<String>,
    pub error: Option<String>,
    /// Where the delivery stands now: `pending`, `delivered` or `failed`.
    #[schema(value_type = DeliveryStatus)]
    pub delivery_status: String,
}

/// Attempts, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptList {
    pub items: Vec<AttemptResponse>,
    pub next_cursor: Option<String>,
}

/// Deliveries queued by a ping or a replay.
#[derive(Debug, Serialize, ToSchema)]
pub struct Queued {
    pub deliveries: usize,
}

fn check_settings(f: &mut FieldErrors, state: &AppState, url: &str, kind: &str, events: &[String]) {
    if let Err(e) = guard::target(url, &state.config.webhook_allowed_hosts) {
        f.check::<()>(Err(AppError::invalid("url", e)));
    }
    if kind == WEBHOOK {
        if events.is_empty() {
            f.check::<()>(Err(AppError::invalid(
                "events",
                "name at least one event, or \"*\" for all",
            )));
        }
        for (i, e) in events.iter().enumerate() {
            if e != "*" && !EVENT_TYPES.contains(&e.as_str()) {
                f.check::<()>(Err(AppError::invalid(
                    &format!("events[{i}]"),
                    format!("must be one of {} or \"*\"", EVENT_TYPES.join(", ")),
                )));
            }
        }
    }
}

fn check_languages(conn: &mut DbConn, langs: &[String]) -> AppResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for (i, raw) in langs.iter().enumerate() {
        let code = crate::languages::require_existing(conn, raw, &format!("languages[{i}]"))?;
        if !out.iter().any(|c| c == code.as_str()) {
            out.push(code.as_str().to_owned());
        }
    }
    Ok(out)
}

fn description(f: &mut FieldErrors, raw: Option<&str>) -> String {
    f.check(crate::text::plain_text(
        raw.unwrap_or(""),
        "description",
        500,
    ))
    .unwrap_or_default()
}

/// Endpoint `id` as it stands, if `if_match` names it; 412 with its current version if not.
fn current(conn: &mut DbConn, id: i64, if_match: &IfMatch) -> AppResult<Endpoint> {
    let e = webhooks::find(conn, id)?;
    if !if_match.matches(&e.etag()) {
        return Err(http_util::stale(
            "this webhook",
            Current {
                version: e.version,
                etag: e.etag(),
                updated_at: e.updated_at,
                updated_by: serde_json::Value::Null,
            },
        ));
    }
    Ok(e)
}

fn with_etag(status: actix_web::http::StatusCode, e: Endpoint) -> HttpResponse {
    let etag = e.etag();
    HttpResponse::build(status)
        .insert_header((header::ETAG, etag))
        .json(WebhookResponse::from(e))
}

/// Subscribe an endpoint. Admins only. A webhook's signing secret is in the answer, once.
#[utoipa::path(
    post,
    path = "/api/v1/admin/webhooks",
    tag = "webhooks",
    security(("bearer" = [])),
    request_body = CreateWebhook,
    responses(
        (status = 201, description = "Created; `secret` is shown only now", body = WebhookWithSecret,
            headers(("Location" = String), ("ETag" = String))),
        WebhookWriteErrors
    )
)]
pub async fn create_webhook(
    state: web::Data<AppState>,
    caller: AuthUser,
    body: web::Json<CreateWebhook>,
) -> AppResult<HttpResponse> {
    caller.require(Role::Admin)?;
    let b = body.into_inner();
    let kind = b.kind.clone().unwrap_or_else(|| WEBHOOK.to_owned());
    let mut f = FieldErrors::default();
    if kind != WEBHOOK && kind != PURGE {
        f.check::<()>(Err(AppError::invalid(
            "kind",
            "must be `webhook` or `purge`",
        )));
    }
    let (provider, secret, events) = if kind == PURGE {
        let provider = b.provider.clone().unwrap_or_default();
        if provider != FASTLY && provider != CLOUDFLARE {
            f.check::<()>(Err(AppError::invalid(
                "provider",
                "a purge endpoint needs `fastly` or `cloudflare`",
            )));
        }
        let token = b.token.clone().unwrap_or_default();
        if token.trim().is_empty() || token.len() > 500 {
            f.check::<()>(Err(AppError::invalid(
                "token",
                "a purge endpoint needs the provider's API token",
            )));
        }
        (
            Some(provider),
            token.trim().to_owned(),
            vec!["*".to_owned()],
        )
    } else {
        if b.provider.is_some() || b.token.is_some() {
            f.check::<()>(Err(AppError::invalid(
                "provider",
                "only purge endpoints have a provider and token",
            )));
        }
        (None, webhooks::new_secret(), b.events.clone())
    };
    check_settings(&mut f, &state, &b.url, &kind, &events);
    let description = description(&mut f, b.description.as_deref());
    f.finish()?;
    let actor = Actor::from(&caller);
    let shown = (kind == WEBHOOK).then(|| secret.clone());
    let (endpoint, etag) = state
        .db
        .transaction(move |c| {
            let settings = Settings {
                languages: check_languages(c, &b.languages)?,
                kind,
                url: b.url.trim().to_owned(),
                provider,
                events,
                description,
                enabled: b.enabled.unwrap_or(true),
            };
            let e = webhooks::insert(c, &settings, &secret)?;
            audit::record(
                c,
                &actor,
                "webhook.create",
                "webhook",
                &e.id.to_string(),
                json!({ "kind": e.kind, "url": e.url, "events": e.event_list() }),
            )?;
            let etag = e.etag();
            Ok((e, etag))
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/admin/webhooks/{}", endpoint.id),
        ))
        .insert_header((header::ETAG, etag))
        .json(WebhookWithSecret {
            secret: shown,
            webhook: endpoint.into(),
        }))
}

/// List endpoints. Admins only.
#[utoipa::path(
    get,
    path = "/api/v1/admin/webhooks",
    tag = "webhooks",
    security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, description = "A page of endpoints", body = WebhookList), WebhookReadErrors)
)]
pub async fn list_webhooks(
    state: web::Data<AppState>,
    caller: AuthUser,
    query: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    caller.require(Role::Admin)?;
    let q = query.into_inner();
    let limit = Limit::parse(q.limit)?;
    let after = IdCursor::parse(q.cursor.as_deref())?;
    let rows = state
        .db
        .run(move |c| webhooks::list(c, after, limit.fetch()))
        .await?;
    let (rows, next) = limit.split(rows, |e| e.id);
    Ok(HttpResponse::Ok().json(WebhookList {
        items: rows.into_iter().map(WebhookResponse::from).collect(),
        next_cursor: next.map(IdCursor::encode),
    }))
}

/// Read an endpoint. Admins only.
#[utoipa::path(
    get,
    path = "/api/v1/admin/webhooks/{id}",
    tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The endpoint's id")),
    responses(
        (status = 200, description = "The endpoint", body = WebhookResponse, headers(("ETag" = String))),
        WebhookReadErrors
    )
)]
pub async fn get_webhook(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    caller.require(Role::Admin)?;
    let id = id.into_inner();
    let e = state.db.run(move |c| webhooks::find(c, id)).await?;
    Ok(with_etag(actix_web::http::StatusCode::OK, e))
}

/// Change an endpoint. Admins only; needs `If-Match`.
#[utoipa::path(
    patch,
    path = "/api/v1/admin/webhooks/{id}",
    tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The endpoint's id"),
        ("If-Match" = String, Header, description = "The ETag of the endpoint as read")),
    request_body = UpdateWebhook,
    responses(
        (status = 200, description = "The changed endpoint", body = WebhookResponse, headers(("ETag" = String))),
        WebhookWriteErrors
    )
)]
pub async fn update_webhook(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<i64>,
    body: web::Json<UpdateWebhook>,
    if_match: IfMatch,
) -> AppResult<HttpResponse> {
    caller.require(Role::Admin)?;
    let id = id.into_inner();
    let b = body.into_inner();
    let actor = Actor::from(&caller);
    let st = state.clone().into_inner();
    let e = state
        .db
        .transaction(move |c| {
            let e = current(c, id, &if_match)?;
            let mut f = FieldErrors::default();
            let url = b.url.clone().unwrap_or_else(|| e.url.clone());
            let events = match (&b.events, e.kind.as_str()) {
                (Some(events), WEBHOOK) => events.clone(),
                _ => e.event_list(),
            };
            check_settings(&mut f, &st, &url, &e.kind, &events);
            let description = match &b.description {
                Some(d) => description(&mut f, Some(d)),
                None => e.description.clone(),
            };
            f.finish()?;
            let settings = Settings {
                kind: e.kind.clone(),
                url: url.trim().to_owned(),
                provider: e.provider.clone(),
                languages: check_languages(c, &b.languages.clone().unwrap_or(e.language_list()))?,
                events,
                description,
                enabled: b.enabled.unwrap_or(e.enabled),
            };
            let updated = webhooks::update(c, id, e.version, &settings)?;
            audit::record(
                c,
                &actor,
                "webhook.update",
                "webhook",
                &id.to_string(),
                json!({ "url": updated.url, "events": updated.event_list(), "enabled": updated.enabled }),
            )?;
            Ok(updated)
        })
        .await?;
    Ok(with_etag(actix_web::http::StatusCode::OK, e))
}

/// Delete an endpoint with its delivery log. Admins only; needs `If-Match`.
#[utoipa::path(
    delete,
    path = "/api/v1/admin/webhooks/{id}",
    tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The endpoint's id"),
        ("If-Match" = String, Header, description = "The ETag of the endpoint as read")),
    responses((status = 204, description = "Deleted"), WebhookWriteErrors)
)]
pub async fn delete_webhook(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<i64>,
    if_match: IfMatch,
) -> AppResult<HttpResponse> {
    caller.require(Role::Admin)?;
    let id = id.into_inner();
    let actor = Actor::from(&caller);
    state
        .db
        .transaction(move |c| {
            let e = current(c, id, &if_match)?;
            webhooks::delete(c, id)?;
            audit::record(
                c,
                &actor,
                "webhook.delete",
                "webhook",
                &id.to_string(),
                json!({ "url": e.url }),
            )
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Give a webhook a new signing secret, shown once. The old one keeps signing beside it (two
/// signatures in `webhook-signature`) for `grace_hours`. Admins only.
#[utoipa::path(
    post,
    path = "/api/v1/admin/webhooks/{id}/secret",
    tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The endpoint's id")),
    request_body(content = Option<GracePeriod>, description = "Absent: a grace period of 24 hours"),
    responses(
        (status = 201, description = "The new secret, shown only now", body = WebhookWithSecret),
        WebhookWriteErrors
    )
)]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<i64>,
    body: Option<web::Json<GracePeriod>>,
) -> AppResult<HttpResponse> {
    caller.require(Role::Admin)?;
    let id = id.into_inner();
    let grace = GracePeriod::hours(body)?;
    let actor = Actor::from(&caller);
    let secret = webhooks::new_secret();
    let shown = secret.clone();
    let e = state
        .db
        .transaction(move |c| {
            let e = webhooks::find(c, id)?;
            if e.kind != WEBHOOK {
                return Err(AppError::Conflict(
                    "a purge endpoint has no signing secret".into(),
                ));
            }
            let until = now() + chrono::Duration::hours(grace);
            let e = webhooks::rotate_secret(c, id, &secret, until)?;
            audit::record(
                c,
                &actor,
                "webhook.rotate_secret",
                "webhook",
                &id.to_string(),
                json!({ "previous_signs_until": until.and_utc() }),
            )?;
            Ok(e)
        })
        .await?;
    Ok(HttpResponse::Created().json(WebhookWithSecret {
        secret: Some(shown),
        webhook: e.into(),
    }))
}

/// Send a test event (`ping`) to this endpoint. Admins only; delivered like any event.
#[utoipa::path(
    post,
    path = "/api/v1/admin/webhooks/{id}/ping",
    tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The endpoint's id")),
    responses((status = 202, description = "Queued", body = Queued), WebhookWriteErrors)
)]
pub async fn ping_webhook(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    caller.require(Role::Admin)?;
    let id = id.into_inner();
    let actor = Actor::from(&caller);
    state
        .db
        .transaction(move |c| {
            let e = webhooks::find(c, id)?;
            let event = Event {
                kind: PING,
                subject: json!({ "webhook": e.id }),
                lang: None,
                keys: Vec::new(),
            };
            let event_id = outbox::insert_event(c, &event)?;
            outbox::queue(c, [(event_id, id)])?;
            audit::record(
                c,
                &actor,
                "webhook.ping",
                "webhook",
                &id.to_string(),
                json!({}),
            )
        })
        .await?;
    state.dispatcher.wake();
    Ok(HttpResponse::Accepted().json(Queued { deliveries: 1 }))
}

/// The delivery log: every attempt, newest first, with the event, the receiver's status, the
/// first 1 KB of its answer and any error. Admins only. Kept `WEBHOOK_LOG_DAYS`.
#[utoipa::path(
    get,
    path = "/api/v1/admin/webhooks/{id}/deliveries",
    tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The endpoint's id"), DeliveryQuery),
    responses((status = 200, description = "Attempts, newest first", body = AttemptList), WebhookReadErrors)
)]
pub async fn list_deliveries(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<i64>,
    query: web::Query<DeliveryQuery>,
) -> AppResult<HttpResponse> {
    caller.require(Role::Admin)?;
    let id = id.into_inner();
    let q = query.into_inner();
    let limit = Limit::parse(q.limit)?;
    let before = IdCursor::parse(q.cursor.as_deref())?;
    let since = crate::dates::query_time("since", q.since)?;
    let until = crate::dates::query_time("until", q.until)?;
    let succeeded = match q.status.as_deref() {
        None => None,
        Some("succeeded") => Some(true),
        Some("failed") => Some(false),
        Some(_) => {
            return Err(AppError::bad_parameter(
                "status",
                "must be `succeeded` or `failed`",
            ))
        }
    };
    type Row = (
        i64,
        i64,
        String,
        String,
        i32,
        NaiveDateTime,
        i32,
        Option<i32>,
        Option<String>,
        Option<String>,
        String,
    );
    let rows: Vec<Row> = state
        .db
        .run(move |c| {
            webhooks::find(c, id)?;
            Ok(db_run!(c, |c| {
                let mut q = wa::table
                    .inner_join(wd::table.inner_join(ev::table))
                    .filter(wa::endpoint_id.eq(id))
                    .into_boxed();
                if let Some(before) = before {
                    q = q.filter(wa::id.lt(before));
                }
                if let Some(since) = since {
                    q = q.filter(wa::at.ge(since));
                }
                if let Some(until) = until {
                    q = q.filter(wa::at.lt(until));
                }
                match succeeded {
                    Some(true) => q = q.filter(wa::error.is_null()),
                    Some(false) => q = q.filter(wa::error.is_not_null()),
                    None => {}
                }
                q.order(wa::id.desc())
                    .limit(limit.fetch())
                    .select((
                        wa::id,
                        wa::delivery_id,
                        ev::event_id,
                        ev::kind,
                        wa::attempt,
                        wa::at,
                        wa::duration_ms,
                        wa::response_status,
                        wa::response_body,
                        wa::error,
                        wd::status,
                    ))
                    .load(c)
            })?)
        })
        .await?;
    let (rows, next) = limit.split(rows, |r| r.0);
    let items = rows
        .into_iter()
        .map(|r| AttemptResponse {
            id: r.0,
            delivery_id: r.1,
            event_id: r.2,
            event_type: r.3,
            attempt: r.4,
            at: r.5.and_utc(),
            duration_ms: r.6,
            response_status: r.7,
            response_body: r.8,
            error: r.9,
            delivery_status: r.10,
        })
        .collect();
    Ok(HttpResponse::Ok().json(AttemptList {
        items,
        next_cursor: next.map(IdCursor::encode),
    }))
}

/// Send one delivery again now, whatever became of it. Admins only.
#[utoipa::path(
    post,
    path = "/api/v1/admin/webhooks/{id}/deliveries/{delivery_id}/retry",
    tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The endpoint's id"),
        ("delivery_id" = i64, Path, description = "The delivery's id, from the log")),
    responses((status = 202, description = "Queued", body = Queued), WebhookWriteErrors)
)]
pub async fn retry_delivery(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    caller.require(Role::Admin)?;
    let (id, delivery) = path.into_inner();
    let actor = Actor::from(&caller);
    state
        .db
        .transaction(move |c| {
            webhooks::find(c, id)?;
            let at = now();
            let n = db_run!(c, |c| diesel::update(
                wd::table
                    .filter(wd::id.eq(delivery))
                    .filter(wd::endpoint_id.eq(id))
            )
            .set((
                wd::status.eq(PENDING),
                wd::next_attempt_at.eq(at),
                wd::claimed_until.eq(None::<NaiveDateTime>),
                wd::updated_at.eq(at),
            ))
            .execute(c))?;
            if n == 0 {
                return Err(AppError::NotFound(format!(
                    "webhook {id} has no delivery {delivery}"
                )));
            }
            audit::record(
                c,
                &actor,
                "webhook.retry",
                "webhook",
                &id.to_string(),
                json!({ "delivery": delivery }),
            )
        })
        .await?;
    state.dispatcher.wake();
    Ok(HttpResponse::Accepted().json(Queued { deliveries: 1 }))
}

/// Send again every event since a time that the endpoint listens for, each with its own
/// `webhook-id` as before, so receivers that had it can tell. Admins only.
#[utoipa::path(
    post,
    path = "/api/v1/admin/webhooks/{id}/replay",
    tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The endpoint's id"), ReplayQuery),
    responses((status = 202, description = "Queued", body = Queued), WebhookWriteErrors)
)]
pub async fn replay(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<i64>,
    query: web::Query<ReplayQuery>,
) -> AppResult<HttpResponse> {
    caller.require(Role::Admin)?;
    let id = id.into_inner();
    let since = crate::dates::query_time("since", Some(query.since))?.unwrap_or_default();
    let actor = Actor::from(&caller);
    let queued = state
        .db
        .transaction(move |c| {
            let e = webhooks::find(c, id)?;
            let rows: Vec<(i64, String, String, String)> = db_run!(c, |c| ev::table
                .filter(ev::created_at.ge(since))
                .filter(ev::kind.ne(PING))
                .order(ev::id)
                .select((ev::id, ev::kind, ev::subject, ev::surrogate_keys))
                .load(c))?;
            let events: Vec<i64> = rows
                .into_iter()
                .filter(|(_, kind, subject, keys)| {
                    let subject: serde_json::Value =
                        serde_json::from_str(subject).unwrap_or_default();
                    let event = Event {
                        kind: EVENT_TYPES
                            .iter()
                            .find(|t| **t == kind)
                            .copied()
                            .unwrap_or(PING),
                        lang: subject["lang"].as_str().map(str::to_owned),
                        subject: serde_json::Value::Null,
                        keys: serde_json::from_str(keys).unwrap_or_default(),
                    };
                    outbox::listens(&e.kind, &e.events, &e.languages, &event)
                })
                .map(|(id, ..)| id)
                .collect();
            let n = outbox::queue(c, events.iter().map(|event| (*event, id)))?;
            audit::record(
                c,
                &actor,
                "webhook.replay",
                "webhook",
                &id.to_string(),
                json!({ "since": since.and_utc(), "deliveries": n }),
            )?;
            Ok(n)
        })
        .await?;
    state.dispatcher.wake();
    Ok(HttpResponse::Accepted().json(Queued { deliveries: queued }))
}
