//! Who is calling: passwords, tokens, sessions, and the extractor that turns a bearer token
//! into a signed-in user whose role and status are read fresh from the database.

pub mod extract;
pub mod handlers;
pub mod password;
pub mod sessions;
pub mod token;

use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

pub use extract::AuthUser;

/// What an account may do, from least to most.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Writes their own drafts and submits them for review.
    Contributor,
    /// Also publishes their own stories.
    Author,
    /// Everything editorial, on every story.
    Editor,
    /// Also users, languages, keys and webhooks.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Contributor, Role::Author, Role::Editor, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Contributor => "contributor",
            Role::Author => "author",
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// `bytes` bytes from the operating system's generator, hex-encoded.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    hex::encode(buf)
}

/// Refresh tokens are long random strings, so a fast hash is enough to make a stolen database
/// useless for signing in; a slow password hash would only cost every refresh.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}
