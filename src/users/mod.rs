//! Editor accounts: the model, its queries, and the admin-only user management endpoints.

pub mod handlers;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Role;
use crate::db::schema::users;
use crate::db::{now, DbConn};
use crate::db_run;
use crate::error::{AppError, AppResult};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub password_hash: String,
    pub disabled: bool,
    pub token_version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub last_login_at: Option<NaiveDateTime>,
}

impl User {
    /// The role column is constrained by the schema, so anything else is a corrupt row.
    pub fn role(&self) -> AppResult<Role> {
        Role::parse(&self.role).ok_or_else(|| {
            AppError::Internal(format!("user {} has unknown role {}", self.id, self.role))
        })
    }

    fn is_enabled_admin(&self) -> bool {
        self.role == Role::Admin.as_str() && !self.disabled
    }
}

/// An email address, trimmed and lower-cased: accounts are unique case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str, field: &str) -> AppResult<Email> {
        // One account per address however it is spelled: invisible characters are dropped and
        // compatibility forms (fullwidth letters, ligatures) folded, before comparing.
        let visible: String = raw
            .trim()
            .chars()
            .filter(|c| !crate::text::default_ignorable(*c))
            .collect();
        let email = icu_normalizer::ComposingNormalizerBorrowed::new_nfkc()
            .normalize(&visible)
            .to_lowercase();
        let valid = email.len() <= 254
            && email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && local.len() <= 64
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains('@')
            })
            && !email.chars().any(|c| c.is_whitespace() || c.is_control());
        if valid {
            Ok(Email(email))
        } else {
            Err(AppError::invalid(field, "must be an email address"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A person's name as shown in bylines and the admin tools: 1 to 100 printable characters.
pub fn parse_display_name(raw: &str, field: &str) -> AppResult<String> {
    crate::text::short_name(raw, field)
}

/// An editor account as the API shows it; the password hash never leaves the server.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserResponse {
    pub id: i64,
    #[schema(example = "editor@newsroom.example")]
    pub email: String,
    pub display_name: String,
    pub role: Role,
    /// A disabled account cannot sign in and its tokens stop working at once.
    pub disabled: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    pub last_login_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl TryFrom<User> for UserResponse {
    type Error = AppError;
    fn try_from(u: User) -> AppResult<Self> {
        Ok(UserResponse {
            role: u.role()?,
            id: u.id,
            email: u.email,
            display_name: u.display_name,
            disabled: u.disabled,
            created_at: u.created_at.and_utc(),
            updated_at: u.updated_at.and_utc(),
            last_login_at: u.last_login_at.map(|t| t.and_utc()),
        })
    }
}

pub fn find(conn: &mut DbConn, id: i64) -> AppResult<User> {
    db_run!(conn, |c| users::table
        .find(id)
        .select(User::as_select())
        .first(c)
        .optional())?
    .ok_or_else(|| AppError::NotFound(format!("no user with id {id}")))
}

pub fn find_by_email(conn: &mut DbConn, email: &Email) -> AppResult<Option<User>> {
    Ok(db_run!(conn, |c| users::table
        .filter(users::email.eq(email.as_str()))
        .select(User::as_select())
        .first(c)
        .optional())?)
}

pub fn insert(
    conn: &mut DbConn,
    email: &Email,
    display_name: &str,
    role: Role,
    password_hash: &str,
) -> AppResult<User> {
    let at = now();
    db_run!(conn, |c| diesel::insert_into(users::table)
        .values((
            users::email.eq(email.as_str()),
            users::display_name.eq(display_name),
            users::role.eq(role.as_str()),
            users::password_hash.eq(password_hash),
            users::created_at.eq(at),
            users::updated_at.eq(at),
        ))
        .returning(User::as_returning())
        .get_result(c))
    .map_err(|e| match AppError::from(e) {
        AppError::Conflict(_) => {
            AppError::Conflict(format!("an account for {} already exists", email.as_str()))
        }
        other => other,
    })
}

/// Users in id order, after the cursor `after`.
pub fn list(conn: &mut DbConn, after: Option<i64>, limit: i64) -> AppResult<Vec<User>> {
    Ok(db_run!(conn, |c| users::table
        .filter(users::id.gt(after.unwrap_or(0)))
        .order(users::id.asc())
        .limit(limit)
        .select(User::as_select())
        .load(c))?)
}

pub fn count(conn: &mut DbConn) -> AppResult<i64> {
    Ok(db_run!(conn, |c| users::table.count().get_result(c))?)
}

/// Changes to an account made by an admin.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges {
    pub display_name: Option<String>,
    pub role: Option<String>,
    pub disabled: Option<bool>,
}

/// Applies `changes` to `id`, refusing any that would leave no enabled admin. Call inside a
/// transaction: the rule spans rows, so the table is locked against concurrent admins.
pub fn update(conn: &mut DbConn, id: i64, changes: &UserChanges) -> AppResult<User> {
    conn.lock_table("users")?;
    let user = find(conn, id)?;
    let stays_admin = changes.role.as_deref().unwrap_or(&user.role) == Role::Admin.as_str()
        && !changes.disabled.unwrap_or(user.disabled);
    if user.is_enabled_admin() && !stays_admin {
        ensure_another_admin(conn, id)?;
    }
    Ok(db_run!(conn, |c| diesel::update(users::table.find(id))
        .set((changes, users::updated_at.eq(now())))
        .returning(User::as_returning())
        .get_result(c))?)
}

/// Deletes `id` unless it is the last enabled admin. Call inside a transaction.
pub fn delete(conn: &mut DbConn, id: i64) -> AppResult<()> {
    conn.lock_table("users")?;
    let user = find(conn, id)?;
    if user.is_enabled_admin() {
        ensure_another_admin(conn, id)?;
    }
    db_run!(conn, |c| diesel::delete(users::table.find(id)).execute(c))?;
    Ok(())
}

fn ensure_another_admin(conn: &mut DbConn, except: i64) -> AppResult<()> {
    let others: i64 = db_run!(conn, |c| users::table
        .filter(users::role.eq(Role::Admin.as_str()))
        .filter(users::disabled.eq(false))
        .filter(users::id.ne(except))
        .count()
        .get_result(c))?;
    if others == 0 {
        return Err(AppError::Conflict(
            "this is the last enabled admin; make another user an admin first".into(),
        ));
    }
    Ok(())
}

/// Replaces the password hash and bumps the token version, so that every access token issued
/// before the change stops working; the caller revokes the sessions.
pub fn set_password(conn: &mut DbConn, id: i64, password_hash: &str) -> AppResult<User> {
    Ok(db_run!(conn, |c| diesel::update(users::table.find(id))
        .set((
            users::password_hash.eq(password_hash),
            users::token_version.eq(users::token_version + 1),
            users::updated_at.eq(now()),
        ))
        .returning(User::as_returning())
        .get_result(c))?)
}

/// Records a successful sign-in, storing a hash made with today's parameters if given.
pub fn record_login(conn: &mut DbConn, id: i64, rehashed: Option<String>) -> AppResult<()> {
    let at = now();
    db_run!(conn, |c| match &rehashed {
        Some(hash) => diesel::update(users::table.find(id))
            .set((users::last_login_at.eq(at), users::password_hash.eq(hash)))
            .execute(c),
        None => diesel::update(users::table.find(id))
            .set(users::last_login_at.eq(at))
            .execute(c),
    })?;
    Ok(())
}
