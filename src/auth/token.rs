//! Access tokens: short-lived HS256 JWTs whose algorithm, issuer and audience are pinned.

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::auth::Role;
use crate::config::Config;
use crate::error::{AppError, AppResult};

/// Clock skew tolerated between nodes.
const LEEWAY_SECS: u64 = 30;

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The user's id.
    pub sub: String,
    /// The role when the token was issued; authorisation reads the current role instead.
    pub role: Role,
    pub iss: String,
    pub aud: String,
    pub exp: u64,
    pub iat: u64,
    pub jti: String,
    /// The session (refresh-token family) the token belongs to.
    pub sid: String,
    /// The user's token version: a password change bumps it and so voids older tokens.
    pub ver: i32,
}

pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    pub ttl_secs: u64,
}

impl JwtKeys {
    pub fn new(secret: &[u8], config: &Config) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.leeway = LEEWAY_SECS;
        validation.set_issuer(&[&config.jwt_issuer]);
        validation.set_audience(&[&config.jwt_audience]);
        validation.set_required_spec_claims(&["iss", "aud", "sub", "exp"]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            issuer: config.jwt_issuer.clone(),
            audience: config.jwt_audience.clone(),
            ttl_secs: config.access_token_ttl_secs,
        }
    }

    pub fn issue(
        &self,
        user_id: i64,
        role: Role,
        session_id: &str,
        version: i32,
    ) -> AppResult<String> {
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: user_id.to_string(),
            role,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            exp: now + self.ttl_secs,
            iat: now,
            jti: crate::auth::random_token(16),
            sid: session_id.to_owned(),
            ver: version,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AppError::Internal(format!("signing a token: {e}")))
    }

    /// Decodes and checks signature, algorithm, issuer, audience and expiry. Every failure is
    /// the same 401: which check failed is for the log, not for whoever holds the token.
    pub fn verify(&self, token: &str) -> AppResult<Claims> {
        decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| {
                tracing::debug!(error = %e, "rejected access token");
                AppError::Unauthorized("the access token is invalid or expired".into())
            })
    }
}
