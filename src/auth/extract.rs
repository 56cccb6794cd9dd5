//! The signed-in caller, from `Authorization: Bearer <access token>`.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

use crate::app::AppState;
use crate::auth::{sessions, Role};
use crate::error::{AppError, AppResult};

/// A caller whose token is valid and whose account and session are still active. The role is
/// read from the database on every request, so demoting or disabling an account takes effect
/// on its very next request rather than when its token expires.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub session_id: String,
    /// Where the request came from, for the audit log.
    pub client_addr: String,
}

impl AuthUser {
    /// 403 unless the caller's role is at least `role`.
    pub fn require(&self, role: Role) -> AppResult<()> {
        if self.role >= role {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "this requires the {} role or higher",
                role.as_str()
            )))
        }
    }
}

fn bearer(req: &HttpRequest) -> AppResult<String> {
    let value = req.headers().get(header::AUTHORIZATION).ok_or_else(|| {
        AppError::Unauthorized("sign in: this endpoint needs a bearer token".into())
    })?;
    let value = value
        .to_str()
        .map_err(|_| AppError::Unauthorized("malformed Authorization header".into()))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim().to_owned())
        }
        _ => Err(AppError::Unauthorized(
            "the Authorization header must be `Bearer <access token>`".into(),
        )),
    }
}

impl FromRequest for AuthUser {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer(req);
        let client_addr = state
            .as_ref()
            .map(|s| crate::app::client_addr(req, &s.config))
            .unwrap_or_default();
        Box::pin(async move {
            let state =
                state.ok_or_else(|| AppError::Internal("application state missing".into()))?;
            let claims = state.keys.verify(&token?)?;
            let rejected =
                || AppError::Unauthorized("the access token is invalid or expired".into());
            let user_id: i64 = claims.sub.parse().map_err(|_| rejected())?;
            let sid = claims.sid.clone();
            let found = state
                .db
                .run(move |c| sessions::find_with_user(c, &sid))
                .await?;
            let (session, user) = found.ok_or_else(rejected)?;
            if session.user_id != user_id
                || !session.is_active()
                || user.disabled
                || user.token_version != claims.ver
            {
                return Err(rejected());
            }
            Ok(AuthUser {
                role: user.role()?,
                id: user.id,
                email: user.email,
                display_name: user.display_name,
                session_id: session.id,
                client_addr,
            })
        })
    }
}
