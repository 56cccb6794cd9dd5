//! Password hashing with argon2id at or above OWASP's minimum.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::{AppError, AppResult};

pub const MIN_PASSWORD_CHARS: usize = 12;
/// Hashing cost grows with length; a bound keeps a login from being a denial of service.
pub const MAX_PASSWORD_CHARS: usize = 256;

/// A password that meets the policy; never logged, never serialised.
pub struct Password(String);

impl Password {
    /// Checks the policy; `field` names the request field in the error.
    pub fn parse(raw: String, field: &str) -> AppResult<Password> {
        let chars = raw.chars().count();
        // Spaces around a password are kept (it is used as typed), but they do not count
        // towards its length: twelve spaces are no password.
        if raw.trim().chars().count() < MIN_PASSWORD_CHARS {
            return Err(AppError::invalid(
                field,
                format!(
                    "must be at least {MIN_PASSWORD_CHARS} characters long, not counting spaces at either end"
                ),
            ));
        }
        if chars > MAX_PASSWORD_CHARS {
            return Err(AppError::invalid(
                field,
                format!("must be at most {MAX_PASSWORD_CHARS} characters long"),
            ));
        }
        Ok(Password(raw))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Hashes and verifies passwords with the configured argon2id parameters.
pub struct Hasher {
    params: Params,
    /// A hash of a random password, verified against when the email is unknown so that the
    /// answer takes as long as for a real account.
    dummy_hash: String,
}

/// The outcome of checking a password.
pub struct Verified {
    pub ok: bool,
    /// The stored hash used other parameters (or another algorithm) than today's.
    pub needs_rehash: bool,
}

impl Hasher {
    pub fn new(memory_kib: u32, iterations: u32) -> Result<Self, String> {
        let params = Params::new(memory_kib, iterations, 1, None).map_err(|e| e.to_string())?;
        let mut hasher = Hasher {
            params,
            dummy_hash: String::new(),
        };
        hasher.dummy_hash = hasher
            .hash(&crate::auth::random_token(16))
            .map_err(|e| e.to_string())?;
        Ok(hasher)
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    pub fn hash(&self, password: &str) -> AppResult<String> {
        let salt = SaltString::generate(&mut OsRng);
        self.argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AppError::Internal(format!("password hashing: {e}")))
    }

    /// Verifies against `stored`, or against the dummy hash when there is no account, so that
    /// both cost one argon2 computation.
    pub fn verify(&self, password: &str, stored: Option<&str>) -> Verified {
        let hash = stored.unwrap_or(&self.dummy_hash);
        let Ok(parsed) = PasswordHash::new(hash) else {
            return Verified {
                ok: false,
                needs_rehash: false,
            };
        };
        let ok = self
            .argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
            && stored.is_some();
        let needs_rehash = parsed.algorithm != argon2::ARGON2ID_IDENT
            || Params::try_from(&parsed).is_ok_and(|p| {
                p.m_cost() != self.params.m_cost()
                    || p.t_cost() != self.params.t_cost()
                    || p.p_cost() != self.params.p_cost()
            });
        Verified { ok, needs_rehash }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_and_asks_for_rehash_when_parameters_change() {
        let old = Hasher::new(19_456, 2).unwrap();
        let new = Hasher::new(19_456, 3).unwrap();
        let hash = old.hash("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        let same = old.verify("correct horse battery", Some(&hash));
        assert!(same.ok && !same.needs_rehash);
        let changed = new.verify("correct horse battery", Some(&hash));
        assert!(changed.ok && changed.needs_rehash);
        assert!(!old.verify("wrong horse battery", Some(&hash)).ok);
        assert!(!old.verify("anything", None).ok);
    }
}
