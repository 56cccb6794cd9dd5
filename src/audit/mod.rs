//! The audit log: every Admin API write records who did what to which object, when and from
//! where, in the same transaction as the write, so a change and its record stand or fall
//! together.

pub mod handlers;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::auth::AuthUser;
use crate::db::schema::audit_log;
use crate::db::{now, DbConn};
use crate::db_run;
use crate::error::AppResult;

/// Who made a change: a signed-in user, or Newsdesk itself (the scheduler).
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub email: Option<String>,
    pub client_addr: Option<String>,
}

impl Actor {
    /// Newsdesk acting on its own, as when the scheduler publishes a due translation.
    pub fn system() -> Actor {
        Actor {
            user_id: None,
            email: None,
            client_addr: None,
        }
    }
}

impl From<&AuthUser> for Actor {
    fn from(user: &AuthUser) -> Actor {
        Actor {
            user_id: Some(user.id),
            email: Some(user.email.clone()),
            client_addr: Some(user.client_addr.clone()),
        }
    }
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct AuditRow {
    pub id: i64,
    pub at: NaiveDateTime,
    pub user_id: Option<i64>,
    pub user_email: Option<String>,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub client_addr: Option<String>,
    pub detail: String,
}

#[derive(Insertable)]
#[diesel(table_name = audit_log)]
struct NewAuditRow<'a> {
    at: NaiveDateTime,
    user_id: Option<i64>,
    user_email: Option<&'a str>,
    action: &'a str,
    object_type: &'a str,
    object_id: &'a str,
    client_addr: Option<&'a str>,
    detail: String,
}

/// Records one change. Call inside the transaction that makes it.
pub fn record(
    conn: &mut DbConn,
    actor: &Actor,
    action: &str,
    object_type: &str,
    object_id: &str,
    detail: Value,
) -> AppResult<()> {
    let row = NewAuditRow {
        at: now(),
        user_id: actor.user_id,
        user_email: actor.email.as_deref(),
        action,
        object_type,
        object_id,
        client_addr: actor.client_addr.as_deref(),
        detail: detail.to_string(),
    };
    db_run!(conn, |c| diesel::insert_into(audit_log::table)
        .values(&row)
        .execute(c))?;
    Ok(())
}

/// Which entries to list.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub user_id: Option<i64>,
    pub action: Option<String>,
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    pub since: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
    /// Entries older than this id (the cursor).
    pub before_id: Option<i64>,
}

/// Newest first.
pub fn list(conn: &mut DbConn, filter: &AuditFilter, fetch: i64) -> AppResult<Vec<AuditRow>> {
    Ok(db_run!(conn, |c| {
        let mut q = audit_log::table.select(AuditRow::as_select()).into_boxed();
        if let Some(id) = filter.user_id {
            q = q.filter(audit_log::user_id.eq(id));
        }
        if let Some(action) = &filter.action {
            q = q.filter(audit_log::action.eq(action.clone()));
        }
        if let Some(kind) = &filter.object_type {
            q = q.filter(audit_log::object_type.eq(kind.clone()));
        }
        if let Some(id) = &filter.object_id {
            q = q.filter(audit_log::object_id.eq(id.clone()));
        }
        if let Some(since) = filter.since {
            q = q.filter(audit_log::at.ge(since));
        }
        if let Some(until) = filter.until {
            q = q.filter(audit_log::at.lt(until));
        }
        if let Some(before) = filter.before_id {
            q = q.filter(audit_log::id.lt(before));
        }
        q.order(audit_log::id.desc()).limit(fetch).load(c)
    })?)
}

/// One entry of the audit log.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    pub at: chrono::DateTime<chrono::Utc>,
    /// The account that made the change; absent for Newsdesk's own changes (the scheduler).
    pub user_id: Option<i64>,
    /// The account's email at the time, kept after the account is deleted.
    pub user_email: Option<String>,
    /// What was done, as `<object>.<verb>` (`translation.update`, `tag.delete` …).
    #[schema(example = "translation.update")]
    pub action: String,
    #[schema(example = "translation")]
    pub object_type: String,
    #[schema(example = "42")]
    pub object_id: String,
    /// The client's address.
    pub client_addr: Option<String>,
    /// What changed, in the words of the action.
    #[schema(value_type = Object)]
    pub detail: Value,
}

impl From<AuditRow> for AuditEntry {
    fn from(row: AuditRow) -> Self {
        AuditEntry {
            id: row.id,
            at: row.at.and_utc(),
            user_id: row.user_id,
            user_email: row.user_email,
            action: row.action,
            object_type: row.object_type,
            object_id: row.object_id,
            client_addr: row.client_addr,
            detail: serde_json::from_str(&row.detail).unwrap_or(Value::Null),
        }
    }
}
