//! Storage of two-step sign-in: the sealed secret and last accepted step on the user row, and the hashed
//! recovery codes.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{recovery_codes, users};
use crate::db::{now, DbConnection};

/// The authenticator state of one person.
#[derive(Debug, Clone, Queryable)]
pub struct Authenticator {
    pub sealed_secret: Option<String>,
    pub enabled_at: Option<NaiveDateTime>,
    pub last_step: Option<i64>,
}

pub fn authenticator(conn: &mut DbConnection, user_id: i64) -> QueryResult<Authenticator> {
    users::table
        .find(user_id)
        .select((
            users::totp_secret,
            users::totp_enabled_at,
            users::totp_last_step,
        ))
        .first(conn)
}

/// Keeps the secret of an enrolment that has started but is not yet confirmed with a code.
pub fn set_pending_secret(conn: &mut DbConnection, user_id: i64, sealed: &str) -> QueryResult<()> {
    diesel::update(users::table.find(user_id))
        .set((
            users::totp_secret.eq(sealed),
            users::totp_enabled_at.eq(None::<NaiveDateTime>),
            users::totp_last_step.eq(None::<i64>),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn enable(conn: &mut DbConnection, user_id: i64, step: i64) -> QueryResult<()> {
    diesel::update(users::table.find(user_id))
        .set((
            users::totp_enabled_at.eq(now()),
            users::totp_last_step.eq(step),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Records that a code for `step` was used. False when a code for this or a later step was already
/// used (two tabs, or someone who saw the code): the compare-and-set makes reuse impossible even when
/// both arrive at once.
pub fn use_step(conn: &mut DbConnection, user_id: i64, step: i64) -> QueryResult<bool> {
    diesel::update(
        users::table.find(user_id).filter(
            users::totp_last_step
                .is_null()
                .or(users::totp_last_step.lt(step)),
        ),
    )
    .set(users::totp_last_step.eq(step))
    .execute(conn)
    .map(|n| n == 1)
}

/// Turns two-step sign-in off: the secret and every recovery code are gone.
pub fn clear(conn: &mut DbConnection, user_id: i64) -> QueryResult<bool> {
    let had = diesel::update(
        users::table
            .find(user_id)
            .filter(users::totp_secret.is_not_null()),
    )
    .set((
        users::totp_secret.eq(None::<String>),
        users::totp_enabled_at.eq(None::<NaiveDateTime>),
        users::totp_last_step.eq(None::<i64>),
    ))
    .execute(conn)?;
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id)))
        .execute(conn)?;
    Ok(had == 1)
}

pub fn replace_recovery_codes(
    conn: &mut DbConnection,
    user_id: i64,
    hashes: &[String],
) -> QueryResult<()> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id)))
        .execute(conn)?;
    // One statement per code: MultiConnection has no multi-row insert, and there are only ten.
    for hash in hashes {
        diesel::insert_into(recovery_codes::table)
            .values((
                recovery_codes::user_id.eq(user_id),
                recovery_codes::code_hash.eq(hash),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Uses up a recovery code; false if it is not one of the person's unused codes.
pub fn use_recovery_code(conn: &mut DbConnection, user_id: i64, hash: &str) -> QueryResult<bool> {
    diesel::update(
        recovery_codes::table
            .filter(recovery_codes::user_id.eq(user_id))
            .filter(recovery_codes::code_hash.eq(hash))
            .filter(recovery_codes::used_at.is_null()),
    )
    .set(recovery_codes::used_at.eq(now()))
    .execute(conn)
    .map(|n| n > 0)
}

pub fn recovery_codes_left(conn: &mut DbConnection, user_id: i64) -> QueryResult<i64> {
    recovery_codes::table
        .filter(recovery_codes::user_id.eq(user_id))
        .filter(recovery_codes::used_at.is_null())
        .count()
        .get_result(conn)
}
