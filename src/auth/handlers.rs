//! `/api/v1/auth`: sign in, refresh, sign out, who am I, change my password.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::{client_addr, off_executor, AppState};
use crate::auth::password::{Password, MAX_PASSWORD_CHARS};
use crate::auth::sessions::{self, Rotation, Session};
use crate::auth::AuthUser;
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use crate::problem_responses;
use crate::ratelimit::{self, Window};
use crate::users::{self, Email, User, UserResponse};

problem_responses!(
    /// Errors of the sign-in endpoints.
    AuthErrors: 400, 401, 413, 415, 422, 429, 500, 503
);
problem_responses!(
    /// Errors of endpoints that need a signed-in caller.
    SignedInErrors: 401, 500, 503
);

/// Credentials of an editor account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(example = "editor@newsroom.example")]
    pub email: String,
    pub password: String,
}

/// A refresh token to exchange for a new pair.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// The caller's current password and the one to replace it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    /// At least 12 and at most 256 characters.
    pub new_password: String,
}

/// A signed-in session's credentials.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// A JWT for `Authorization: Bearer`, valid for `expires_in` seconds.
    pub access_token: String,
    #[schema(example = "Bearer", pattern = "^Bearer$")]
    pub token_type: &'static str,
    pub expires_in: u64,
    /// Single use: exchange it at `/api/v1/auth/refresh` for a new pair. Keep it secret.
    pub refresh_token: String,
    /// When the session ends and the caller must sign in again.
    pub refresh_expires_at: DateTime<Utc>,
    pub user: UserResponse,
}

/// The per-address budget of the auth endpoints is per minute from an address's first request.
const AUTH_WINDOW: Window = Window::FromFirst(60);

fn user_agent(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(actix_web::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Counts this request against the per-address budget of the auth endpoints.
fn limit_address(conn: &mut DbConn, state: &AppState, addr: &str) -> AppResult<()> {
    ratelimit::enforce(
        conn,
        &format!("auth-addr:{addr}"),
        state.config.auth_rate_limit_per_minute,
        AUTH_WINDOW,
        "too many requests from this client; try again later",
    )
}

/// The key under which attempts at an account's password are counted.
fn attempts_key(email: &str) -> String {
    format!("login-attempts:{email}")
}

/// Counts an attempt at the password of the account `email` (a sign-in, or a password change
/// that must name the current one); 429 once too many have failed. Counted before the password
/// is checked, so that guesses sent together cannot all pass a check made before any of them
/// failed. Attempts are forgotten a lockout's length after the latest that was let through, so
/// the failure that locks an account locks it for the whole period, however often it is
/// retried; a right password clears them.
fn count_attempt(conn: &mut DbConn, state: &AppState, email: &str) -> AppResult<()> {
    ratelimit::enforce(
        conn,
        &attempts_key(email),
        state.config.login_max_failures,
        Window::FromLatest(state.config.login_lockout_secs),
        "too many failed attempts at this account's password; try again later",
    )
}

fn token_response(
    state: &AppState,
    session: &Session,
    user: User,
    refresh_token: String,
) -> AppResult<TokenResponse> {
    let access_token = state
        .keys
        .issue(user.id, user.role()?, &session.id, user.token_version)?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: state.keys.ttl_secs,
        refresh_token,
        refresh_expires_at: session.expires_at.and_utc(),
        user: user.try_into()?,
    })
}

/// Starts a session for `user` and returns its tokens.
fn start_session(
    conn: &mut DbConn,
    state: &AppState,
    user: User,
    req_ua: Option<String>,
    addr: String,
) -> AppResult<TokenResponse> {
    let (session, refresh) = sessions::create(
        conn,
        user.id,
        state.config.refresh_token_ttl_secs,
        req_ua,
        Some(addr),
    )?;
    token_response(state, &session, user, refresh)
}

fn wrong_credentials() -> AppError {
    AppError::Unauthorized("the email or password is not correct".into())
}

/// Sign in.
///
/// Unknown email, wrong password and a disabled account all get the same 401, after the same
/// amount of work. Repeated failures for one email lock it for a while (429 with
/// `Retry-After`), and each client address has a budget of requests per minute.
#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    tag = "auth",
    request_body = LoginRequest,
    responses((status = 200, description = "Signed in", body = TokenResponse), AuthErrors)
)]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<LoginRequest>,
) -> AppResult<HttpResponse> {
    let LoginRequest { email, password } = body.into_inner();
    let email = Email::parse(&email, "email")?;
    if password.is_empty() || password.chars().count() > MAX_PASSWORD_CHARS {
        return Err(AppError::invalid(
            "password",
            format!("must be 1 to {MAX_PASSWORD_CHARS} characters"),
        ));
    }
    let addr = client_addr(&req, &state.config);
    let st = state.clone();
    let (a, e) = (addr.clone(), email.clone());
    let user = state
        .db
        .run(move |c| {
            limit_address(c, &st, &a)?;
            count_attempt(c, &st, e.as_str())?;
            users::find_by_email(c, &e)
        })
        .await?;

    let st = state.clone();
    let (user, verified) = off_executor(move || {
        let verified = st
            .hasher
            .verify(&password, user.as_ref().map(|u| u.password_hash.as_str()));
        let rehash = match (&user, verified.ok && verified.needs_rehash) {
            (Some(_), true) => Some(st.hasher.hash(&password)),
            _ => None,
        };
        (user, (verified.ok, rehash))
    })
    .await?;

    let (ok, rehash) = verified;
    let rehash = rehash.transpose()?;
    let st = state.clone();
    let ua = user_agent(&req);
    match user {
        Some(user) if ok && !user.disabled => {
            let tokens = state
                .db
                .transaction(move |c| {
                    ratelimit::clear(c, &attempts_key(email.as_str()))?;
                    users::record_login(c, user.id, rehash)?;
                    let user = users::find(c, user.id)?;
                    start_session(c, &st, user, ua, addr)
                })
                .await?;
            Ok(HttpResponse::Ok().json(tokens))
        }
        _ => Err(wrong_credentials()),
    }
}

/// Exchange a refresh token for a new access token and refresh token.
///
/// Each refresh token works once. Presenting one that was already used revokes its whole
/// session, since it means the token was copied.
#[utoipa::path(
    post,
    path = "/api/v1/auth/refresh",
    tag = "auth",
    request_body = RefreshRequest,
    responses((status = 200, description = "New tokens", body = TokenResponse), AuthErrors)
)]
pub async fn refresh(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<RefreshRequest>,
) -> AppResult<HttpResponse> {
    let addr = client_addr(&req, &state.config);
    let presented = body.into_inner().refresh_token;
    let st = state.clone();
    state.db.run(move |c| limit_address(c, &st, &addr)).await?;
    // The rotation commits even when it ends in a revocation, so that a replayed token's
    // family stays revoked.
    let rotation = state
        .db
        .transaction(move |c| sessions::rotate(c, &presented))
        .await?;
    match rotation {
        Rotation::Rotated(r) => {
            let tokens = token_response(&state, &r.session, r.user, r.refresh_token)?;
            Ok(HttpResponse::Ok().json(tokens))
        }
        Rotation::Reused => {
            tracing::warn!("a used refresh token was presented; its session is revoked");
            Err(AppError::Unauthorized(
                "the refresh token is invalid or expired".into(),
            ))
        }
        Rotation::Invalid => Err(AppError::Unauthorized(
            "the refresh token is invalid or expired".into(),
        )),
    }
}

/// Sign out: ends the caller's session, its refresh tokens and its access tokens.
#[utoipa::path(
    post,
    path = "/api/v1/auth/logout",
    tag = "auth",
    security(("bearer" = [])),
    responses((status = 204, description = "Signed out"), SignedInErrors)
)]
pub async fn logout(state: web::Data<AppState>, user: AuthUser) -> AppResult<HttpResponse> {
    state
        .db
        .run(move |c| sessions::revoke(c, &user.session_id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The signed-in caller's account.
#[utoipa::path(
    get,
    path = "/api/v1/auth/me",
    tag = "auth",
    security(("bearer" = [])),
    responses((status = 200, description = "The caller", body = UserResponse), SignedInErrors)
)]
pub async fn me(state: web::Data<AppState>, user: AuthUser) -> AppResult<HttpResponse> {
    let account = state.db.run(move |c| users::find(c, user.id)).await?;
    Ok(HttpResponse::Ok().json(UserResponse::try_from(account)?))
}

/// Change the caller's password.
///
/// Every session of the account ends, this one included, and every access token issued
/// before stops working; the response carries the tokens of a new session.
#[utoipa::path(
    post,
    path = "/api/v1/auth/password",
    tag = "auth",
    security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses((status = 200, description = "Password changed; new tokens", body = TokenResponse), AuthErrors)
)]
pub async fn change_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: AuthUser,
    body: web::Json<ChangePasswordRequest>,
) -> AppResult<HttpResponse> {
    let ChangePasswordRequest {
        current_password,
        new_password,
    } = body.into_inner();
    let new_password = Password::parse(new_password, "new_password")?;
    let addr = client_addr(&req, &state.config);
    let st = state.clone();
    let (a, id) = (addr.clone(), user.id);
    let account = state
        .db
        .run(move |c| {
            limit_address(c, &st, &a)?;
            let account = users::find(c, id)?;
            // A wrong current password counts like a failed sign-in: a stolen token must not
            // be a way to guess the password without the lockout.
            count_attempt(c, &st, &account.email)?;
            Ok(account)
        })
        .await?;
    let email = account.email.clone();
    let st = state.clone();
    let new_hash = off_executor(move || {
        if !st
            .hasher
            .verify(&current_password, Some(&account.password_hash))
            .ok
        {
            return Err(AppError::invalid("current_password", "is not correct"));
        }
        st.hasher.hash(new_password.as_str())
    })
    .await??;
    let st = state.clone();
    let ua = user_agent(&req);
    let tokens = state
        .db
        .transaction(move |c| {
            ratelimit::clear(c, &attempts_key(&email))?;
            let account = users::set_password(c, id, &new_hash)?;
            sessions::revoke_all_for_user(c, id)?;
            start_session(c, &st, account, ua, addr)
        })
        .await?;
    Ok(HttpResponse::Ok().json(tokens))
}
