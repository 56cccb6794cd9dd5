//! `GET /api/v1/admin/audit`: the audit log, for admins.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::app::AppState;
use crate::audit::{self, AuditEntry, AuditFilter};
use crate::auth::{AuthUser, Role};
use crate::error::AppResult;
use crate::pagination::{IdCursor, Limit};
use crate::problem_responses;

problem_responses!(
    /// Errors of reading the audit log.
    AuditErrors: 400, 401, 403, 500, 503
);

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only changes by this account.
    pub user_id: Option<i64>,
    /// Only this action, e.g. `translation.publish`.
    pub action: Option<String>,
    /// Only changes to this kind of object: `article`, `translation`, `tag`, `user`, `language` …
    pub object_type: Option<String>,
    /// Only changes to this object (with `object_type`).
    pub object_id: Option<String>,
    /// Changes at or after this time (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Changes before this time (RFC 3339).
    pub until: Option<DateTime<Utc>>,
    /// Page size, 1 to 100.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
}

/// One page of the audit log, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditList {
    pub items: Vec<AuditEntry>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// List the audit log, newest first. Admins only.
#[utoipa::path(
    get,
    path = "/api/v1/admin/audit",
    tag = "audit",
    security(("bearer" = [])),
    params(AuditQuery),
    responses((status = 200, description = "A page of the audit log", body = AuditList), AuditErrors)
)]
pub async fn list_audit(
    state: web::Data<AppState>,
    caller: AuthUser,
    query: web::Query<AuditQuery>,
) -> AppResult<HttpResponse> {
    caller.require(Role::Admin)?;
    let q = query.into_inner();
    let limit = Limit::parse(q.limit)?;
    let filter = AuditFilter {
        user_id: q.user_id,
        action: q.action,
        object_type: q.object_type,
        object_id: q.object_id,
        since: crate::dates::query_time("since", q.since)?,
        until: crate::dates::query_time("until", q.until)?,
        before_id: IdCursor::parse(q.cursor.as_deref())?,
    };
    let rows = state
        .db
        .run(move |c| audit::list(c, &filter, limit.fetch()))
        .await?;
    let (rows, next) = limit.split(rows, |r| r.id);
    Ok(HttpResponse::Ok().json(AuditList {
        items: rows.into_iter().map(AuditEntry::from).collect(),
        next_cursor: next.map(IdCursor::encode),
    }))
}
