//! Partner endpoints of the Admin API: admins let partner sites in, rotate and revoke their
//! keys, and read what each key was used for. Every change is in the audit log.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::app::AppState;
use crate::articles::changes::{self, Change};
use crate::audit::{self, Actor};
use crate::auth::{AuthUser, Role};
use crate::db::{now, DbConn};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::http::{self as http_util, Current, GracePeriod, IfMatch};
use crate::pagination::{IdCursor, Limit, PageQuery};
use crate::partners::usage::{self, DayUsage};
use crate::partners::{self, Fields, KeyInfo, NewKey, PartnerRow};
use crate::problem_responses;
use crate::text::short_name;
use crate::users::Email;
use crate::{languages, tags};

problem_responses!(
    /// Errors of reading partners.
    PartnerReadErrors: 400, 401, 403, 404, 500, 503
);
problem_responses!(
    /// Errors of changing partners.
    PartnerWriteErrors: 400, 401, 403, 404, 409, 412, 413, 415, 422, 428, 500, 503
);

/// Requests a minute a partner gets unless told otherwise.
const DEFAULT_RATE: i32 = 120;
const MAX_RATE: i32 = 1_000_000;
const MAX_USAGE_DAYS: i64 = 366;

/// A new partner.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePartner {
    /// Plain text, 1 to 100 characters.
    #[schema(example = "Caucasus Regional Daily")]
    pub name: String,
    #[schema(example = "syndication@partner.example")]
    pub contact_email: String,
    /// Language codes the partner may read; empty or absent: every language.
    #[serde(default)]
    #[schema(example = json!(["en", "ka"]))]
    pub languages: Vec<String>,
    /// Tag slugs; the partner gets only stories carrying one of them. Empty or absent: every
    /// syndicated story.
    #[serde(default)]
    pub tags: Vec<String>,
    /// At most 1,000,000; 120 when absent. Counted per node.
    #[schema(minimum = 1, maximum = 1000000, default = 120)]
    pub requests_per_minute: Option<i32>,
    /// When every key of the partner stops working.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Changes to a partner; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePartner {
    pub name: Option<String>,
    pub contact_email: Option<String>,
    pub languages: Option<Vec<String>>,
    pub tags: Option<Vec<String>>,
    #[schema(minimum = 1, maximum = 1000000)]
    pub requests_per_minute: Option<i32>,
    /// `null` removes the expiry.
    #[serde(default, with = "serde_with_null")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub expires_at: Option<Option<DateTime<Utc>>>,
}

/// `Some(None)` for an explicit `null`, `None` for an absent field.
mod serde_with_null {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        Option::<T>::deserialize(d).map(Some)
    }
}

/// A partner, as admins see it: never a key, only the keys' first characters.
#[derive(Debug, Serialize, ToSchema)]
pub struct PartnerResponse {
    pub id: i64,
    pub name: String,
    pub contact_email: String,
    /// Empty: every language.
    pub languages: Vec<String>,
    /// Tag slugs; empty: every syndicated story.
    pub tags: Vec<String>,
    pub requests_per_minute: i32,
    pub expires_at: Option<DateTime<Utc>>,
    /// When a key of the partner last made a request (written within `VIEW_FLUSH_MS`).
    pub last_used_at: Option<DateTime<Utc>>,
    /// Keys that work, or stopped working within the last day, newest first.
    pub keys: Vec<KeyInfo>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A partner with a key just made: `key` is shown this once and never again.
#[derive(Debug, Serialize, ToSchema)]
pub struct PartnerWithKey {
    /// Send as `Authorization: Bearer <key>`. Store it now: only its hash is kept.
    #[schema(example = "ndp_3f9a1c07d2e84b6a9c0f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6e5f4a3")]
    pub key: String,
    pub partner: PartnerResponse,
}

/// A page of partners, in id order.
#[derive(Debug, Serialize, ToSchema)]
pub struct PartnerList {
    pub items: Vec<PartnerResponse>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UsageQuery {
    /// First day; 29 days before `to` when absent.
    pub from: Option<NaiveDate>,
    /// Last day; today (UTC) when absent.
    pub to: Option<NaiveDate>,
}

/// A partner's use of its keys over a period.
#[derive(Debug, Serialize, ToSchema)]
pub struct PartnerUsage {
    pub partner_id: i64,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// By day, then key; days without requests are left out.
    pub days: Vec<DayUsage>,
    pub requests: i64,
    pub items: i64,
    pub client_errors: i64,
    pub rate_limited: i64,
}

fn response(conn: &mut DbConn, row: PartnerRow) -> AppResult<PartnerResponse> {
    let keys = partners::keys_of(conn, &[row.id])?
        .into_iter()
        .map(KeyInfo::from)
        .collect();
    let mut tag_slugs = Vec::new();
    for id in row.tag_ids() {
        // A tag deleted since is no longer named, and no story carries it.
        if let Ok(tag) = tags::find(conn, id) {
            tag_slugs.push(tag.slug);
        }
    }
    Ok(PartnerResponse {
        id: row.id,
        languages: row.languages(),
        tags: tag_slugs,
        name: row.name,
        contact_email: row.contact_email,
        requests_per_minute: row.requests_per_minute,
        expires_at: row.expires_at.map(|t| t.and_utc()),
        last_used_at: row.last_used_at.map(|t| t.and_utc()),
        keys,
        version: row.version,
        created_at: row.created_at.and_utc(),
        updated_at: row.updated_at.and_utc(),
    })
}

/// The fields checked that need no database; languages and tags are checked in [`resolve`].
struct Unresolved {
    name: String,
    contact_email: String,
    languages: Vec<String>,
    tags: Vec<String>,
    requests_per_minute: i32,
    expires_at: Option<chrono::NaiveDateTime>,
}

fn check(f: &mut FieldErrors, u: Unresolved) -> Unresolved {
    let name = f.check(short_name(&u.name, "name")).unwrap_or_default();
    let contact_email = f
        .check(Email::parse(&u.contact_email, "contact_email"))
        .map(|e| e.as_str().to_owned())
        .unwrap_or_default();
    if !(1..=MAX_RATE).contains(&u.requests_per_minute) {
        f.check::<()>(Err(AppError::invalid(
            "requests_per_minute",
            format!("must be between 1 and {MAX_RATE}"),
        )));
    }
    Unresolved {
        name,
        contact_email,
        ..u
    }
}

/// Languages and tags named by the request, as the newsroom has them; 422 naming the field.
fn resolve(conn: &mut DbConn, u: Unresolved) -> AppResult<Fields> {
    let mut langs = Vec::new();
    for (i, raw) in u.languages.iter().enumerate() {
        let code = languages::require_existing(conn, raw, &format!("languages[{i}]"))?;
        if !langs.contains(&code.as_str().to_owned()) {
            langs.push(code.as_str().to_owned());
        }
    }
    let tag_ids = tags::resolve_slugs(conn, &u.tags, "tags")?
        .into_iter()
        .map(|t| t.id)
        .collect();
    Ok(Fields {
        name: u.name,
        contact_email: u.contact_email,
        languages: langs,
        tag_ids,
        requests_per_minute: u.requests_per_minute,
        expires_at: u.expires_at,
    })
}

fn expiry(f: &mut FieldErrors, at: Option<DateTime<Utc>>) -> Option<chrono::NaiveDateTime> {
    at.and_then(|t| f.check(crate::dates::body_time("expires_at", t)))
}

/// Partner `id` as it stands, if `if_match` names it; 412 with its current version if not.
fn current(conn: &mut DbConn, id: i64, if_match: &IfMatch) -> AppResult<PartnerRow> {
    let row = partners::find(conn, id)?;
    if !if_match.matches(&row.etag()) {
        return Err(http_util::stale(
            "this partner",
            Current {
                version: row.version,
                etag: row.etag(),
                updated_at: row.updated_at,
                updated_by: serde_json::Value::Null,
            },
        ));
    }
    Ok(row)
}

/// Let a partner site in. Admins only. The answer holds the partner's key, once.
#[utoipa::path(
    post,
    path = "/api/v1/admin/partners",
    tag = "partners",
    security(("bearer" = [])),
    request_body = CreatePartner,
    responses(
        (status = 201, description = "Created; `key` is shown only now", body = PartnerWithKey,
            headers(("Location" = String), ("ETag" = String))),
        PartnerWriteErrors
    )
)]
pub async fn create_partner(
    state: web::Data<AppState>,
    caller: AuthUser,
    body: web::Json<CreatePartner>,
) -> AppResult<HttpResponse> {
    caller.require(Role::Admin)?;
    let b = body.into_inner();
    let mut f = FieldErrors::default();
    let expires_at = expiry(&mut f, b.expires_at);
    let u = check(
        &mut f,
        Unresolved {
            name: b.name,
            contact_email: b.contact_email,
            languages: b.languages,
            tags: b.tags,
            requests_per_minute: b.requests_per_minute.unwrap_or(DEFAULT_RATE),
            expires_at,
        },
    );
    f.finish()?;
    let actor = Actor::from(&caller);
    let key = NewKey::generate();
    let (partner, etag) = state
        .db
        .transaction(move |c| {
            let fields = resolve(c, u)?;
            let row = partners::insert(c, &fields, &key)?;
            audit::record(
                c,
                &actor,
                "partner.create",
                "partner",
                &row.id.to_string(),
                json!({ "name": row.name, "key_prefix": key.prefix }),
            )?;
            changes::changed(c, Change::Partner(row.id))?;
            let etag = row.etag();
            Ok((
                PartnerWithKey {
                    key: key.key,
                    partner: response(c, row)?,
                },
                etag,
            ))
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/admin/partners/{}", partner.partner.id),
        ))
        .insert_header((header::ETAG, etag))
        .json(partner))
}

/// List partners. Admins only.
#[utoipa::path(
    get,
    path = "/api/v1/admin/partners",
    tag = "partners",
    security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, description = "A page of partners", body = PartnerList), PartnerReadErrors)
)]
pub async fn list_partners(
    state: web::Data<AppState>,
    caller: AuthUser,
    query: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    caller.require(Role::Admin)?;
    let q = query.into_inner();
    let limit = Limit::parse(q.limit)?;
    let after = IdCursor::parse(q.cursor.as_deref())?;
    let list = state
        .db
        .run(move |c| {
            let rows = partners::list(c, after, limit.fetch())?;
            let (rows, next) = limit.split(rows, |p| p.id);
            let items = rows
                .into_iter()
                .map(|r| response(c, r))
                .collect::<AppResult<_>>()?;
            Ok(PartnerList {
                items,
                next_cursor: next.map(IdCursor::encode),
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Read a partner. Admins only.
#[utoipa::path(
    get,
    path = "/api/v1/admin/partners/{id}",
    tag = "partners",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The partner's id")),
    responses(
        (status = 200, description = "The partner", body = PartnerResponse, headers(("ETag" = String))),
        PartnerReadErrors
    )
)]
pub async fn get_partner(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    caller.require(Role::Admin)?;
    let id = id.into_inner();
    let (partner, etag) = state
        .db
        .run(move |c| {
            let row = partners::find(c, id)?;
            let etag = row.etag();
            Ok((response(c, row)?, etag))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag))
        .json(partner))
}

/// Change a partner: its name, contact, languages, tags, rate or expiry. Admins only; needs
/// `If-Match`. What its keys may do changes on every node within `CONTENT_FRESHNESS_MS`.
#[utoipa::path(
    patch,
    path = "/api/v1/admin/partners/{id}",
    tag = "partners",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The partner's id"),
        ("If-Match" = String, Header, description = "The ETag of the partner as read")),
    request_body = UpdatePartner,
    responses(
        (status = 200, description = "The changed partner", body = PartnerResponse, headers(("ETag" = String))),
        PartnerWriteErrors
    )
)]
pub async fn update_partner(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<i64>,
    body: web::Json<UpdatePartner>,
    if_match: IfMatch,
) -> AppResult<HttpResponse> {
    caller.require(Role::Admin)?;
    let id = id.into_inner();
    let b = body.into_inner();
    let mut f = FieldErrors::default();
    let expires_at = b.expires_at.map(|t| expiry(&mut f, t));
    f.finish()?;
    let actor = Actor::from(&caller);
    let (partner, etag) = state
        .db
        .transaction(move |c| {
            let row = current(c, id, &if_match)?;
            let mut f = FieldErrors::default();
            let changed: Vec<&str> = [
                ("name", b.name.is_some()),
                ("contact_email", b.contact_email.is_some()),
                ("languages", b.languages.is_some()),
                ("tags", b.tags.is_some()),
                ("requests_per_minute", b.requests_per_minute.is_some()),
                ("expires_at", expires_at.is_some()),
            ]
            .into_iter()
            .filter_map(|(name, set)| set.then_some(name))
            .collect();
            let current_tags = row
                .tag_ids()
                .into_iter()
                .filter_map(|t| tags::find(c, t).ok().map(|t| t.slug))
                .collect();
            let u = check(
                &mut f,
                Unresolved {
                    name: b.name.unwrap_or_else(|| row.name.clone()),
                    contact_email: b.contact_email.unwrap_or_else(|| row.contact_email.clone()),
                    languages: b.languages.unwrap_or_else(|| row.languages()),
                    tags: b.tags.unwrap_or(current_tags),
                    requests_per_minute: b.requests_per_minute.unwrap_or(row.requests_per_minute),
                    expires_at: expires_at.unwrap_or(row.expires_at),
                },
            );
            f.finish()?;
            let fields = resolve(c, u)?;
            let row = partners::update(c, id, row.version, &fields)?;
            audit::record(
                c,
                &actor,
                "partner.update",
                "partner",
                &id.to_string(),
                json!({ "fields": changed }),
            )?;
            changes::changed(c, Change::Partner(id))?;
            let etag = row.etag();
            Ok((response(c, row)?, etag))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag))
        .json(partner))
}

/// Delete a partner and every key it has: they stop working on every node within
/// `CONTENT_FRESHNESS_MS`. Admins only; needs `If-Match`.
#[utoipa::path(
    delete,
    path = "/api/v1/admin/partners/{id}",
    tag = "partners",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The partner's id"),
        ("If-Match" = String, Header, description = "The ETag of the partner as read")),
    responses((status = 204, description = "Deleted"), PartnerWriteErrors)
)]
pub async fn delete_partner(
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
            let row = current(c, id, &if_match)?;
            partners::delete(c, id)?;
            audit::record(
                c,
                &actor,
                "partner.delete",
                "partner",
                &id.to_string(),
                json!({ "name": row.name }),
            )?;
            changes::changed(c, Change::Partner(id))
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Give a partner a new key. The keys it has keep working for `grace_hours` (24 by default;
/// 0 revokes them at once, on every node within `CONTENT_FRESHNESS_MS`). Admins only. The
/// answer holds the new key, once.
#[utoipa::path(
    post,
    path = "/api/v1/admin/partners/{id}/keys",
    tag = "partners",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The partner's id")),
    request_body(content = Option<GracePeriod>, description = "Absent: a grace period of 24 hours"),
    responses(
        (status = 201, description = "The new key, shown only now", body = PartnerWithKey),
        PartnerWriteErrors
    )
)]
pub async fn rotate_key(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<i64>,
    body: Option<web::Json<GracePeriod>>,
) -> AppResult<HttpResponse> {
    caller.require(Role::Admin)?;
    let id = id.into_inner();
    let grace = GracePeriod::hours(body)?;
    let actor = Actor::from(&caller);
    let key = NewKey::generate();
    let answer = state
        .db
        .transaction(move |c| {
            let row = partners::find(c, id)?;
            let ends = now() + chrono::Duration::hours(grace);
            let retired = partners::retire_keys(c, id, ends)?;
            partners::add_key(c, id, &key)?;
            audit::record(
                c,
                &actor,
                "partner.rotate_key",
                "partner",
                &id.to_string(),
                json!({
                    "key_prefix": key.prefix,
                    "retired_keys": retired,
                    "old_keys_end_at": ends.and_utc(),
                }),
            )?;
            changes::changed(c, Change::Partner(id))?;
            Ok(PartnerWithKey {
                key: key.key,
                partner: response(c, row)?,
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(answer))
}

/// What a partner's keys were used for, per day and key: requests, items delivered, client
/// errors and requests refused for the rate. Admins only. Counts arrive within `VIEW_FLUSH_MS`.
#[utoipa::path(
    get,
    path = "/api/v1/admin/partners/{id}/usage",
    tag = "partners",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The partner's id"), UsageQuery),
    responses((status = 200, description = "The partner's use", body = PartnerUsage), PartnerReadErrors)
)]
pub async fn partner_usage(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<i64>,
    query: web::Query<UsageQuery>,
) -> AppResult<HttpResponse> {
    caller.require(Role::Admin)?;
    let id = id.into_inner();
    let q = query.into_inner();
    let (from, to) = crate::dates::report_period(q.from, q.to, MAX_USAGE_DAYS)?;
    let days = state
        .db
        .run(move |c| {
            partners::find(c, id)?;
            usage::report(c, id, from, to)
        })
        .await?;
    let sum = |f: fn(&DayUsage) -> i64| days.iter().map(f).sum();
    let report = PartnerUsage {
        partner_id: id,
        from,
        to,
        requests: sum(|d| d.requests),
        items: sum(|d| d.items),
        client_errors: sum(|d| d.client_errors),
        rate_limited: sum(|d| d.rate_limited),
        days,
    };
    Ok(HttpResponse::Ok().json(report))
}
