//! Demo content for `newsdesk serve --demo`: on an empty database, the five languages of the
//! newsroom Newsdesk is built for and an admin account whose password is printed once.

use crate::app::AppState;
use crate::auth::Role;
use crate::error::AppResult;
use crate::languages;
use crate::users::{self, Email};

pub const DEMO_ADMIN_EMAIL: &str = "admin@newsdesk.local";

/// The credentials of the admin account the demo created.
pub struct DemoAdmin {
    pub email: String,
    pub password: String,
}

/// Seeds the demo content unless the database already has users or languages. Returns the
/// admin's credentials when it created them.
pub fn seed(state: &AppState) -> AppResult<Option<DemoAdmin>> {
    let password = crate::auth::random_token(12);
    let hash = state.hasher.hash(&password)?;
    let mut conn = state.db.get()?;
    conn.transaction(|c| {
        if users::count(c)? > 0 || !languages::list(c, false)?.is_empty() {
            return Ok(None);
        }
        for language in languages::demo_languages() {
            languages::insert(c, language)?;
        }
        let email = Email::parse(DEMO_ADMIN_EMAIL, "email")?;
        users::insert(c, &email, "Demo Admin", Role::Admin, &hash)?;
        Ok(Some(DemoAdmin {
            email: DEMO_ADMIN_EMAIL.to_owned(),
            password,
        }))
    })
}
