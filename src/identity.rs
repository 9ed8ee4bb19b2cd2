//! Who is asking: the account row and site role that sessions and API tokens resolve to, the
//! server-side session rows, and the lookups behind them. The web layer's extractors read these;
//! everything else about accounts (sign-in, invitations, tokens, ending sessions) lives in `accounts`.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::config::SecondFactorRequired;
use crate::db::schema::{api_tokens, study_members, user_sessions, users};
use crate::db::{now, DbConnection};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "admin" => Some(Role::Admin),
            "member" => Some(Role::Member),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub password_hash: Option<String>,
    pub role: String,
    pub is_active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// When the person turned on two-step sign-in with an authenticator app; None while it is off.
    pub totp_enabled_at: Option<NaiveDateTime>,
}

impl User {
    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::Member)
    }
}

pub fn find_user(conn: &mut DbConnection, id: i64) -> QueryResult<Option<User>> {
    users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .optional()
}

pub fn user_for_api_token(
    conn: &mut DbConnection,
    token_hash: &str,
) -> QueryResult<Option<(User, i64, Option<NaiveDateTime>)>> {
    api_tokens::table
        .inner_join(users::table)
        .filter(api_tokens::token_hash.eq(token_hash))
        .filter(api_tokens::revoked_at.is_null())
        .filter(users::is_active.eq(true))
        .select((User::as_select(), api_tokens::id, api_tokens::last_used_at))
        .first(conn)
        .optional()
}

pub fn touch_api_token(conn: &mut DbConnection, token_id: i64) -> QueryResult<()> {
    diesel::update(api_tokens::table.find(token_id))
        .set(api_tokens::last_used_at.eq(now()))
        .execute(conn)
        .map(|_| ())
}

/// A signed-in browser session. The cookie holds the secret; only its hash is stored.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = user_sessions)]
pub struct UserSession {
    pub id: i64,
    #[serde(with = "crate::db::utc")]
    pub created_at: NaiveDateTime,
    #[serde(with = "crate::db::utc")]
    pub last_seen_at: NaiveDateTime,
    pub ip_address: Option<String>,
    /// The browser and system, e.g. "Firefox on Windows".
    pub device: String,
    /// When this session last proved the second factor; None if it never has.
    #[serde(with = "crate::db::utc::option")]
    pub second_factor_at: Option<NaiveDateTime>,
}

pub fn insert_session(
    conn: &mut DbConnection,
    token_hash: &str,
    user_id: i64,
    ip_address: Option<&str>,
    device: &str,
    second_factor: bool,
) -> QueryResult<i64> {
    let at = now();
    diesel::insert_into(user_sessions::table)
        .values((
            user_sessions::token_hash.eq(token_hash),
            user_sessions::user_id.eq(user_id),
            user_sessions::created_at.eq(at),
            user_sessions::last_seen_at.eq(at),
            user_sessions::ip_address.eq(ip_address),
            user_sessions::device.eq(device),
            user_sessions::second_factor_at.eq(second_factor.then_some(at)),
        ))
        .returning(user_sessions::id)
        .get_result(conn)
}

/// The session whose secret hashes to `token_hash`, with its person (active or not).
pub fn session_user(
    conn: &mut DbConnection,
    token_hash: &str,
) -> QueryResult<Option<(UserSession, User)>> {
    user_sessions::table
        .inner_join(users::table)
        .filter(user_sessions::token_hash.eq(token_hash))
        .select((UserSession::as_select(), User::as_select()))
        .first(conn)
        .optional()
}

pub fn touch_session(conn: &mut DbConnection, session_id: i64) -> QueryResult<()> {
    diesel::update(user_sessions::table.find(session_id))
        .set(user_sessions::last_seen_at.eq(now()))
        .execute(conn)
        .map(|_| ())
}

/// The session has just proved the second factor again (the step-up before sensitive work).
pub fn mark_second_factor(conn: &mut DbConnection, session_id: i64) -> QueryResult<()> {
    diesel::update(user_sessions::table.find(session_id))
        .set(user_sessions::second_factor_at.eq(now()))
        .execute(conn)
        .map(|_| ())
}

/// Whether someone leads or interviews in any study: the roles that see participants' names.
pub fn sees_identities(conn: &mut DbConnection, user_id: i64) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        study_members::table
            .filter(study_members::user_id.eq(user_id))
            .filter(study_members::is_lead.or(study_members::is_interviewer)),
    ))
    .get_result(conn)
}

/// Whether someone must sign in with a second step under the site's setting (who is asked is in
/// config/default.toml, `[second_factor] required_for`).
pub fn must_use_second_factor(
    conn: &mut DbConnection,
    user: &User,
    setting: SecondFactorRequired,
) -> QueryResult<bool> {
    Ok(match setting {
        SecondFactorRequired::Nobody => false,
        SecondFactorRequired::Everyone => true,
        SecondFactorRequired::Admins => user.role() == Role::Admin,
        SecondFactorRequired::Identities => {
            user.role() == Role::Admin || sees_identities(conn, user.id)?
        }
    })
}

pub fn delete_session(conn: &mut DbConnection, session_id: i64) -> QueryResult<()> {
    diesel::delete(user_sessions::table.find(session_id))
        .execute(conn)
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_read_back_as_written() {
        for role in [Role::Admin, Role::Member] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
