//! `/api/v1/admin/users`: account management, for admins only.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use serde_json::json;

use crate::app::{off_executor, AppState};
use crate::articles::{self, changes::Change};
use crate::audit::{self, Actor};
use crate::auth::password::Password;
use crate::auth::{sessions, AuthUser, Role};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::pagination::{IdCursor, Limit, PageQuery};
use crate::problem_responses;
use crate::users::{self, parse_display_name, Email, UserChanges, UserResponse};

problem_responses!(
    /// Errors of reading user accounts.
    UserReadErrors: 400, 401, 403, 404, 500, 503
);
problem_responses!(
    /// Errors of changing user accounts.
    UserWriteErrors: 400, 401, 403, 404, 409, 413, 415, 422, 500, 503
);

/// A new editor account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    #[schema(example = "nino@newsroom.example")]
    pub email: String,
    #[schema(example = "Nino Beridze")]
    pub display_name: String,
    pub role: Role,
    /// At least 12 and at most 256 characters.
    pub password: String,
}

/// Changes to an account; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    /// Disabling ends every session of the account at once.
    pub disabled: Option<bool>,
}

/// A new password set by an admin; every session of the account ends.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPassword {
    pub password: String,
}

/// One page of accounts, in id order.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserList {
    pub items: Vec<UserResponse>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// List accounts.
#[utoipa::path(
    get,
    path = "/api/v1/admin/users",
    tag = "users",
    security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, description = "A page of accounts", body = UserList), UserReadErrors)
)]
pub async fn list_users(
    state: web::Data<AppState>,
    caller: AuthUser,
    query: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    caller.require(Role::Admin)?;
    let limit = Limit::parse(query.limit)?;
    let after = IdCursor::parse(query.cursor.as_deref())?;
    let page = state
        .db
        .run(move |c| users::list(c, after, limit.fetch()))
        .await?;
    let (page, next) = limit.split(page, |u| u.id);
    let items = page
        .into_iter()
        .map(UserResponse::try_from)
        .collect::<AppResult<_>>()?;
    Ok(HttpResponse::Ok().json(UserList {
        items,
        next_cursor: next.map(IdCursor::encode),
    }))
}

/// Create an account.
#[utoipa::path(
    post,
    path = "/api/v1/admin/users",
    tag = "users",
    security(("bearer" = [])),
    request_body = CreateUser,
    responses(
        (status = 201, description = "Created", body = UserResponse,
            headers(("Location" = String, description = "The new account's URL"))),
        UserWriteErrors
    )
)]
pub async fn create_user(
    state: web::Data<AppState>,
    caller: AuthUser,
    body: web::Json<CreateUser>,
) -> AppResult<HttpResponse> {
    caller.require(Role::Admin)?;
    let CreateUser {
        email,
        display_name,
        role,
        password,
    } = body.into_inner();
    let mut fields = FieldErrors::default();
    let email = fields.check(Email::parse(&email, "email"));
    let name = fields.check(parse_display_name(&display_name, "display_name"));
    let password = fields.check(Password::parse(password, "password"));
    fields.finish()?;
    let (Some(email), Some(name), Some(password)) = (email, name, password) else {
        return Err(AppError::Internal("validated fields missing".into()));
    };
    let st = state.clone();
    let hash = off_executor(move || st.hasher.hash(password.as_str())).await??;
    let actor = Actor::from(&caller);
    let user = state
        .db
        .transaction(move |c| {
            let user = users::insert(c, &email, &name, role, &hash)?;
            audit::record(
                c,
                &actor,
                "user.create",
                "user",
                &user.id.to_string(),
                json!({ "email": user.email, "role": user.role }),
            )?;
            Ok(user)
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/admin/users/{}", user.id)))
        .json(UserResponse::try_from(user)?))
}

/// Read an account.
#[utoipa::path(
    get,
    path = "/api/v1/admin/users/{id}",
    tag = "users",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The account's id")),
    responses((status = 200, description = "The account", body = UserResponse), UserReadErrors)
)]
pub async fn get_user(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    caller.require(Role::Admin)?;
    let id = id.into_inner();
    let user = state.db.run(move |c| users::find(c, id)).await?;
    Ok(HttpResponse::Ok().json(UserResponse::try_from(user)?))
}

/// Change an account's name, role or disabled flag.
///
/// The last enabled admin cannot be demoted or disabled. A change of role or a disabling takes
/// effect on the account's very next request.
#[utoipa::path(
    patch,
    path = "/api/v1/admin/users/{id}",
    tag = "users",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The account's id")),
    request_body = UpdateUser,
    responses((status = 200, description = "The changed account", body = UserResponse), UserWriteErrors)
)]
pub async fn update_user(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<i64>,
    body: web::Json<UpdateUser>,
) -> AppResult<HttpResponse> {
    caller.require(Role::Admin)?;
    let id = id.into_inner();
    let UpdateUser {
        display_name,
        role,
        disabled,
    } = body.into_inner();
    let changes = UserChanges {
        display_name: display_name
            .map(|n| parse_display_name(&n, "display_name"))
            .transpose()?,
        role: role.map(|r| r.as_str().to_owned()),
        disabled,
    };
    let user = if changes.display_name.is_none()
        && changes.role.is_none()
        && changes.disabled.is_none()
    {
        state.db.run(move |c| users::find(c, id)).await?
    } else {
        let actor = Actor::from(&caller);
        state
                .db
                .transaction(move |c| {
                    let user = users::update(c, id, &changes)?;
                    // A disabled account's sessions end with it.
                    if changes.disabled == Some(true) {
                        sessions::revoke_all_for_user(c, id)?;
                    }
                    audit::record(c, &actor, "user.update", "user", &id.to_string(), json!({ "display_name": changes.display_name, "role": changes.role, "disabled": changes.disabled }))?;
                    articles::changes::changed(c, Change::User(id))?;
                    Ok(user)
                })
                .await?
    };
    Ok(HttpResponse::Ok().json(UserResponse::try_from(user)?))
}

/// Set a new password for another account; all its sessions end. Admins change their own
/// password with `POST /api/v1/auth/password`, which asks for the current one.
#[utoipa::path(
    post,
    path = "/api/v1/admin/users/{id}/password",
    tag = "users",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The account's id")),
    request_body = ResetPassword,
    responses((status = 204, description = "Password reset"), UserWriteErrors)
)]
pub async fn reset_password(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<i64>,
    body: web::Json<ResetPassword>,
) -> AppResult<HttpResponse> {
    caller.require(Role::Admin)?;
    let id = id.into_inner();
    // Changing one's own password must prove the current one (`/api/v1/auth/password`);
    // otherwise a stolen admin token would be enough to take the account over.
    if id == caller.id {
        return Err(AppError::Forbidden(
            "change your own password with POST /api/v1/auth/password, which asks for the current one".into(),
        ));
    }
    let password = Password::parse(body.into_inner().password, "password")?;
    state.db.run(move |c| users::find(c, id)).await?;
    let st = state.clone();
    let hash = off_executor(move || st.hasher.hash(password.as_str())).await??;
    let actor = Actor::from(&caller);
    state
        .db
        .transaction(move |c| {
            users::set_password(c, id, &hash)?;
            sessions::revoke_all_for_user(c, id)?;
            audit::record(
                c,
                &actor,
                "user.reset_password",
                "user",
                &id.to_string(),
                json!({}),
            )
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Delete an account. The last enabled admin cannot be deleted.
#[utoipa::path(
    delete,
    path = "/api/v1/admin/users/{id}",
    tag = "users",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The account's id")),
    responses((status = 204, description = "Deleted"), UserWriteErrors)
)]
pub async fn delete_user(
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
            let user = users::find(c, id)?;
            users::delete(c, id)?;
            audit::record(
                c,
                &actor,
                "user.delete",
                "user",
                &id.to_string(),
                json!({ "email": user.email }),
            )?;
            articles::changes::changed(c, Change::User(id))
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
