//! Draft previews: a signed token that lets whoever holds it read one translation, in whatever
//! state, as the Content API would show it once published, until it expires.
//!
//! A token is an HS256 JWT signed with a key derived from the node's JWT secret, so it works on
//! every node and after a restart, and no access token (signed with the secret itself) can pass
//! for one, nor one for an access token. It names the translation by id, story and language:
//! a translation deleted and made again is a new translation, and the old token finds nothing.

use chrono::{DateTime, NaiveDateTime, Utc};
use hmac::{Hmac, Mac};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::articles::published::{Full, Listed};
use crate::articles::translations::{self, Translation};
use crate::config::Config;
use crate::db::DbConn;
use crate::error::{AppError, AppResult};

/// How long a preview link works when the request does not say.
pub const DEFAULT_TTL_SECS: u64 = 60 * 60;
/// The longest a preview link may work: a week.
pub const MAX_TTL_SECS: u64 = 7 * 24 * 60 * 60;
/// Clock skew tolerated between nodes.
const LEEWAY_SECS: u64 = 30;
/// What a preview token's `typ` claim says; an access token has none.
const KIND: &str = "preview";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    typ: String,
    /// The translation's id.
    tid: i64,
    /// Its story.
    aid: i64,
    lang: String,
    /// Who made the link.
    sub: String,
    iss: String,
    aud: String,
    iat: u64,
    exp: u64,
}

/// The translation a valid token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub translation_id: i64,
    pub article_id: i64,
    pub lang: String,
}

pub struct PreviewKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
}

impl PreviewKeys {
    /// Keys derived from the JWT secret: HMAC-SHA256(secret, "newsdesk preview tokens").
    pub fn new(secret: &[u8], config: &Config) -> Self {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
        mac.update(b"newsdesk preview tokens");
        let key = mac.finalize().into_bytes();
        let audience = format!("{}:preview", config.jwt_audience);
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.leeway = LEEWAY_SECS;
        validation.set_issuer(&[&config.jwt_issuer]);
        validation.set_audience(&[&audience]);
        validation.set_required_spec_claims(&["iss", "aud", "sub", "exp"]);
        PreviewKeys {
            encoding: EncodingKey::from_secret(&key),
            decoding: DecodingKey::from_secret(&key),
            validation,
            issuer: config.jwt_issuer.clone(),
            audience,
        }
    }

    /// A token for `t`, made by `user_id`, that works for `ttl_secs`; with when it expires.
    pub fn issue(
        &self,
        t: &Translation,
        user_id: i64,
        ttl_secs: u64,
    ) -> AppResult<(String, DateTime<Utc>)> {
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            typ: KIND.to_owned(),
            tid: t.id,
            aid: t.article_id,
            lang: t.lang.clone(),
            sub: user_id.to_string(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now,
            exp: now + ttl_secs,
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AppError::Internal(format!("signing a preview token: {e}")))?;
        let expires = DateTime::from_timestamp(claims.exp as i64, 0)
            .ok_or_else(|| AppError::Internal("a preview's expiry out of range".into()))?;
        Ok((token, expires))
    }

    /// The translation `token` names. Every failure is the same 401: a forged, tampered,
    /// expired or foreign token is told nothing more.
    pub fn verify(&self, token: &str) -> AppResult<Named> {
        let claims = decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .ok()
            .filter(|c| c.typ == KIND)
            .ok_or_else(|| {
                AppError::Unauthorized("the preview link is invalid or has expired".into())
            })?;
        Ok(Named {
            translation_id: claims.tid,
            article_id: claims.aid,
            lang: claims.lang,
        })
    }
}

/// The seconds a preview asked to last for may work: the default when not given, 422 outside
/// one second to a week.
pub fn ttl(requested: Option<u64>) -> AppResult<u64> {
    match requested {
        None => Ok(DEFAULT_TTL_SECS),
        Some(s) if (1..=MAX_TTL_SECS).contains(&s) => Ok(s),
        Some(_) => Err(AppError::invalid(
            "expires_in",
            format!("must be between 1 and {MAX_TTL_SECS} seconds (a week)"),
        )),
    }
}

/// The translation a token names, in whatever state, as the article page shows it, with its
/// workflow status; 404 when it no longer exists.
pub fn load(conn: &mut DbConn, named: &Named) -> AppResult<(Full, String)> {
    let t = translations::find(conn, named.article_id, &named.lang)?
        .filter(|t| t.id == named.translation_id)
        .ok_or_else(|| {
            AppError::NotFound("the translation this preview names no longer exists".into())
        })?;
    let status = t.status.clone();
    Ok((as_page(t), status))
}

/// A translation as the article page's row: dated when it was published, or is scheduled to
/// be, or else when it was last saved.
fn as_page(t: Translation) -> Full {
    let published_at: NaiveDateTime = t.published_at.or(t.scheduled_at).unwrap_or(t.updated_at);
    Full {
        listed: Listed {
            id: t.id,
            article_id: t.article_id,
            lang: t.lang,
            slug: t.slug,
            title: t.title,
            subtitle: t.subtitle,
            excerpt: t.excerpt,
            reading_minutes: t.reading_minutes,
            published_at,
            updated_at: t.updated_at,
        },
        body: t.body,
        seo_title: t.seo_title,
        seo_description: t.seo_description,
        word_count: t.word_count,
    }
}
