//! Storage for accounts, API tokens, email link tokens and sign-in failures. No HTTP here.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{api_tokens, email_tokens, login_failures, user_sessions, users};
use crate::db::{now, DbConnection};
use crate::identity::{Role, User, UserSession};

pub fn find_user_by_email(conn: &mut DbConnection, email: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::email.eq(email))
        .select(User::as_select())
        .first(conn)
        .optional()
}

pub fn list_users(conn: &mut DbConnection) -> QueryResult<Vec<User>> {
    users::table
        .order(users::display_name.asc())
        .select(User::as_select())
        .load(conn)
}

pub fn insert_user(
    conn: &mut DbConnection,
    email: &str,
    display_name: &str,
    role: Role,
    password_hash: Option<&str>,
) -> QueryResult<i64> {
    let at = now();
    diesel::insert_into(users::table)
        .values((
            users::email.eq(email),
            users::display_name.eq(display_name),
            users::role.eq(role.as_str()),
            users::password_hash.eq(password_hash),
            users::is_active.eq(true),
            users::created_at.eq(at),
            users::updated_at.eq(at),
        ))
        .returning(users::id)
        .get_result(conn)
}

pub fn set_password(conn: &mut DbConnection, user_id: i64, password_hash: &str) -> QueryResult<()> {
    diesel::update(users::table.find(user_id))
        .set((
            users::password_hash.eq(password_hash),
            users::updated_at.eq(now()),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn set_active(conn: &mut DbConnection, user_id: i64, active: bool) -> QueryResult<usize> {
    diesel::update(users::table.find(user_id))
        .set((users::is_active.eq(active), users::updated_at.eq(now())))
        .execute(conn)
}

pub fn active_admins(conn: &mut DbConnection) -> QueryResult<i64> {
    users::table
        .filter(users::role.eq(Role::Admin.as_str()))
        .filter(users::is_active.eq(true))
        .count()
        .get_result(conn)
}

// ---- Sessions ----

/// A person's sessions, the most recently used first.
pub fn sessions_of(conn: &mut DbConnection, user_id: i64) -> QueryResult<Vec<UserSession>> {
    user_sessions::table
        .filter(user_sessions::user_id.eq(user_id))
        .order(user_sessions::last_seen_at.desc())
        .select(UserSession::as_select())
        .load(conn)
}

/// Ends one of a person's sessions; false when they have no such session.
pub fn end_session_of(conn: &mut DbConnection, user_id: i64, session_id: i64) -> QueryResult<bool> {
    diesel::delete(
        user_sessions::table
            .filter(user_sessions::id.eq(session_id))
            .filter(user_sessions::user_id.eq(user_id)),
    )
    .execute(conn)
    .map(|n| n > 0)
}

/// Ends every session of a person except `keep` (the one asking, when they keep theirs); returns how
/// many ended.
pub fn end_sessions(
    conn: &mut DbConnection,
    user_id: i64,
    keep: Option<i64>,
) -> QueryResult<usize> {
    diesel::delete(
        user_sessions::table
            .filter(user_sessions::user_id.eq(user_id))
            .filter(user_sessions::id.ne_all(keep)),
    )
    .execute(conn)
}

/// Revokes every live API token of a person; returns how many.
pub fn revoke_api_tokens(conn: &mut DbConnection, user_id: i64) -> QueryResult<usize> {
    diesel::update(
        api_tokens::table
            .filter(api_tokens::user_id.eq(user_id))
            .filter(api_tokens::revoked_at.is_null()),
    )
    .set(api_tokens::revoked_at.eq(now()))
    .execute(conn)
}

// ---- API tokens ----

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = api_tokens)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    /// The first characters of the token, to recognise it; the rest is never stored.
    pub display_prefix: String,
    #[serde(with = "crate::db::utc")]
    pub created_at: NaiveDateTime,
    #[serde(with = "crate::db::utc::option")]
    pub last_used_at: Option<NaiveDateTime>,
    #[serde(with = "crate::db::utc::option")]
    pub revoked_at: Option<NaiveDateTime>,
}

pub fn insert_api_token(
    conn: &mut DbConnection,
    user_id: i64,
    name: &str,
    token_hash: &str,
    display_prefix: &str,
) -> QueryResult<ApiToken> {
    diesel::insert_into(api_tokens::table)
        .values((
            api_tokens::user_id.eq(user_id),
            api_tokens::name.eq(name),
            api_tokens::token_hash.eq(token_hash),
            api_tokens::display_prefix.eq(display_prefix),
            api_tokens::created_at.eq(now()),
        ))
        .returning((
            api_tokens::id,
            api_tokens::name,
            api_tokens::display_prefix,
            api_tokens::created_at,
            api_tokens::last_used_at,
            api_tokens::revoked_at,
        ))
        .get_result(conn)
}

pub fn list_api_tokens(conn: &mut DbConnection, user_id: i64) -> QueryResult<Vec<ApiToken>> {
    api_tokens::table
        .filter(api_tokens::user_id.eq(user_id))
        .order(api_tokens::id.desc())
        .select(ApiToken::as_select())
        .load(conn)
}

/// Revokes one of the person's own live tokens; false when there is no such token.
pub fn revoke_api_token(conn: &mut DbConnection, user_id: i64, token_id: i64) -> QueryResult<bool> {
    diesel::update(
        api_tokens::table
            .filter(api_tokens::id.eq(token_id))
            .filter(api_tokens::user_id.eq(user_id))
            .filter(api_tokens::revoked_at.is_null()),
    )
    .set(api_tokens::revoked_at.eq(now()))
    .execute(conn)
    .map(|n| n == 1)
}

/// The active person behind a live token, with the token's id and when it was last used.
// ---- Email link tokens (forgotten password, invitation) ----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    PasswordReset,
    Invitation,
    /// The right password reached an account whose sign-in is paused: this link continues it.
    SignIn,
}

impl LinkPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::PasswordReset => "password_reset",
            LinkPurpose::Invitation => "invitation",
            LinkPurpose::SignIn => "sign_in",
        }
    }

    /// Links that let someone choose a password.
    pub const SET_PASSWORD: &[LinkPurpose] = &[LinkPurpose::PasswordReset, LinkPurpose::Invitation];
}

pub fn insert_email_token(
    conn: &mut DbConnection,
    user_id: i64,
    purpose: LinkPurpose,
    token_hash: &str,
    expires_at: NaiveDateTime,
) -> QueryResult<i64> {
    diesel::insert_into(email_tokens::table)
        .values((
            email_tokens::user_id.eq(user_id),
            email_tokens::purpose.eq(purpose.as_str()),
            email_tokens::token_hash.eq(token_hash),
            email_tokens::created_at.eq(now()),
            email_tokens::expires_at.eq(expires_at),
        ))
        .returning(email_tokens::id)
        .get_result(conn)
}

/// The person a link belongs to, if the link is unused and unexpired, with the link's purpose.
pub fn live_email_token(
    conn: &mut DbConnection,
    token_hash: &str,
    purposes: &[LinkPurpose],
) -> QueryResult<Option<(User, String)>> {
    email_tokens::table
        .inner_join(users::table)
        .filter(email_tokens::token_hash.eq(token_hash))
        .filter(email_tokens::purpose.eq_any(purposes.iter().map(|p| p.as_str())))
        .filter(email_tokens::used_at.is_null())
        .filter(email_tokens::expires_at.gt(now()))
        .filter(users::is_active.eq(true))
        .select((User::as_select(), email_tokens::purpose))
        .first(conn)
        .optional()
}

pub fn use_email_token(conn: &mut DbConnection, token_hash: &str) -> QueryResult<()> {
    diesel::update(email_tokens::table.filter(email_tokens::token_hash.eq(token_hash)))
        .set(email_tokens::used_at.eq(now()))
        .execute(conn)
        .map(|_| ())
}

/// Uses up every outstanding link of the person: one link used ends them all.
pub fn use_email_tokens(conn: &mut DbConnection, user_id: i64) -> QueryResult<()> {
    diesel::update(
        email_tokens::table
            .filter(email_tokens::user_id.eq(user_id))
            .filter(email_tokens::used_at.is_null()),
    )
    .set(email_tokens::used_at.eq(now()))
    .execute(conn)
    .map(|_| ())
}

// ---- Sign-in failures ----

/// Whether `limit` or more failures (or joins) are counted under `key` since `since`.
pub fn at_limit(
    conn: &mut DbConnection,
    key: &str,
    since: NaiveDateTime,
    limit: i64,
) -> QueryResult<bool> {
    let recent = recent_failures(conn, key, since, limit)?;
    Ok(i64::try_from(recent.len()).unwrap_or(i64::MAX) >= limit)
}

pub fn recent_failures(
    conn: &mut DbConnection,
    throttle_key: &str,
    since: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<NaiveDateTime>> {
    login_failures::table
        .filter(login_failures::throttle_key.eq(throttle_key))
        .filter(login_failures::failed_at.gt(since))
        .order(login_failures::failed_at.desc())
        .select(login_failures::failed_at)
        .limit(limit)
        .load(conn)
}

/// The recent failures under any of these keys, newest first: one query for a whole list of people.
pub fn failures_under(
    conn: &mut DbConnection,
    throttle_keys: &[String],
    since: NaiveDateTime,
) -> QueryResult<Vec<(String, NaiveDateTime)>> {
    login_failures::table
        .filter(login_failures::throttle_key.eq_any(throttle_keys))
        .filter(login_failures::failed_at.gt(since))
        .order(login_failures::failed_at.desc())
        .select((login_failures::throttle_key, login_failures::failed_at))
        .load(conn)
}

pub fn record_failures(
    conn: &mut DbConnection,
    keys: &[&str],
    forget_before: NaiveDateTime,
) -> QueryResult<()> {
    let at = now();
    for key in keys {
        diesel::insert_into(login_failures::table)
            .values((
                login_failures::throttle_key.eq(*key),
                login_failures::failed_at.eq(at),
            ))
            .execute(conn)?;
    }
    diesel::delete(login_failures::table.filter(login_failures::failed_at.lt(forget_before)))
        .execute(conn)
        .map(|_| ())
}

pub fn clear_failures(conn: &mut DbConnection, throttle_key: &str) -> QueryResult<()> {
    diesel::delete(login_failures::table.filter(login_failures::throttle_key.eq(throttle_key)))
        .execute(conn)
        .map(|_| ())
}

/// Whether anyone has an account yet: until then the first-run page is open.
pub fn has_accounts(conn: &mut DbConnection) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(users::table.select(users::id))).get_result(conn)
}
