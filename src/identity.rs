//! Who is asking: the account row and site role that sessions and API tokens resolve to, the
//! server-side session rows, and the lookups behind them. The web layer's extractors read these;
//! everything else about accounts (sign-in, invitations, tokens, ending sessions) lives in `accounts`.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::schema::{api_tokens, user_sessions, users};
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
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub ip_address: Option<String>,
    /// The browser and system, e.g. "Firefox on Windows".
    pub device: String,
}

pub fn insert_session(
    conn: &mut DbConnection,
    token_hash: &str,
    user_id: i64,
    ip_address: Option<&str>,
    device: &str,
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
