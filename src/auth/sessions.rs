//! Sessions and their refresh tokens. A session is one sign-in; its refresh tokens form a
//! family in which each token is used once and replaced. Presenting a used token means it was
//! stolen or replayed, and the whole family is revoked.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::auth::{random_token, token_hash};
use crate::db::schema::{refresh_tokens, sessions, users};
use crate::db::{now, DbConn};
use crate::db_run;
use crate::error::AppResult;
use crate::users::User;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct Session {
    pub id: String,
    pub user_id: i64,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    pub user_agent: Option<String>,
    pub client_addr: Option<String>,
}

impl Session {
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none() && self.expires_at > now()
    }
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens)]
struct RefreshToken {
    session_id: String,
    expires_at: NaiveDateTime,
    used_at: Option<NaiveDateTime>,
}

/// Starts a session for `user_id` lasting `ttl_secs`; returns it and its first refresh token.
pub fn create(
    conn: &mut DbConn,
    user_id: i64,
    ttl_secs: u64,
    user_agent: Option<String>,
    client_addr: Option<String>,
) -> AppResult<(Session, String)> {
    let created = now();
    let session = Session {
        id: random_token(16),
        user_id,
        created_at: created,
        expires_at: created + Duration::seconds(ttl_secs as i64),
        revoked_at: None,
        user_agent: user_agent.map(|ua| ua.chars().take(256).collect()),
        client_addr,
    };
    db_run!(conn, |c| diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(&session.id),
            sessions::user_id.eq(session.user_id),
            sessions::created_at.eq(session.created_at),
            sessions::expires_at.eq(session.expires_at),
            sessions::user_agent.eq(&session.user_agent),
            sessions::client_addr.eq(&session.client_addr),
        ))
        .execute(c))?;
    let token = issue_refresh(conn, &session)?;
    Ok((session, token))
}

fn issue_refresh(conn: &mut DbConn, session: &Session) -> AppResult<String> {
    let token = random_token(32);
    db_run!(conn, |c| diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::token_hash.eq(token_hash(&token)),
            refresh_tokens::session_id.eq(&session.id),
            refresh_tokens::created_at.eq(now()),
            refresh_tokens::expires_at.eq(session.expires_at),
        ))
        .execute(c))?;
    Ok(token)
}

pub struct Rotated {
    pub session: Session,
    pub user: User,
    pub refresh_token: String,
}

/// What presenting a refresh token led to.
pub enum Rotation {
    /// A fresh refresh token for the same session.
    Rotated(Box<Rotated>),
    /// The token was already used: the family has been revoked.
    Reused,
    /// Unknown, expired, revoked, or its account is disabled.
    Invalid,
}

/// Spends `presented` and issues its successor. The spend is one conditional update, so two
/// requests racing with the same token cannot both succeed.
pub fn rotate(conn: &mut DbConn, presented: &str) -> AppResult<Rotation> {
    let hash = token_hash(presented);
    let found = db_run!(conn, |c| refresh_tokens::table
        .find(&hash)
        .select(RefreshToken::as_select())
        .first(c)
        .optional())?;
    let Some(token) = found else {
        return Ok(Rotation::Invalid);
    };
    if token.used_at.is_some() {
        revoke(conn, &token.session_id)?;
        return Ok(Rotation::Reused);
    }
    let Some((session, user)) = find_with_user(conn, &token.session_id)? else {
        return Ok(Rotation::Invalid);
    };
    if !session.is_active() || token.expires_at <= now() || user.disabled {
        return Ok(Rotation::Invalid);
    }
    let spent = db_run!(conn, |c| diesel::update(
        refresh_tokens::table
            .find(&hash)
            .filter(refresh_tokens::used_at.is_null())
    )
    .set(refresh_tokens::used_at.eq(now()))
    .execute(c))?;
    if spent == 0 {
        revoke(conn, &session.id)?;
        return Ok(Rotation::Reused);
    }
    let refresh_token = issue_refresh(conn, &session)?;
    Ok(Rotation::Rotated(Box::new(Rotated {
        session,
        user,
        refresh_token,
    })))
}

pub fn find_with_user(conn: &mut DbConn, session_id: &str) -> AppResult<Option<(Session, User)>> {
    Ok(db_run!(conn, |c| sessions::table
        .inner_join(users::table)
        .filter(sessions::id.eq(session_id))
        .select((Session::as_select(), User::as_select()))
        .first(c)
        .optional())?)
}

pub fn revoke(conn: &mut DbConn, session_id: &str) -> AppResult<()> {
    db_run!(conn, |c| diesel::update(
        sessions::table
            .find(session_id)
            .filter(sessions::revoked_at.is_null())
    )
    .set(sessions::revoked_at.eq(now()))
    .execute(c))?;
    Ok(())
}

/// Revokes every session of `user_id` (after a password change or reset, or disabling).
pub fn revoke_all_for_user(conn: &mut DbConn, user_id: i64) -> AppResult<()> {
    db_run!(conn, |c| diesel::update(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::revoked_at.is_null())
    )
    .set(sessions::revoked_at.eq(now()))
    .execute(c))?;
    Ok(())
}
