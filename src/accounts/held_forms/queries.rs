//! Storage of kept forms.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::held_forms;
use crate::db::{now, DbConnection};

pub fn insert(
    conn: &mut DbConnection,
    token_hash: &str,
    user_id: i64,
    path: &str,
    body: &str,
) -> QueryResult<()> {
    diesel::insert_into(held_forms::table)
        .values((
            held_forms::token_hash.eq(token_hash),
            held_forms::user_id.eq(user_id),
            held_forms::path.eq(path),
            held_forms::body.eq(body),
            held_forms::created_at.eq(now()),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Takes (and deletes) a kept form of this person's, if it is still fresh: (path, body).
pub fn take(
    conn: &mut DbConnection,
    token_hash: &str,
    user_id: i64,
    since: NaiveDateTime,
) -> QueryResult<Option<(String, String)>> {
    let found: Option<(i64, String, String)> = held_forms::table
        .filter(held_forms::token_hash.eq(token_hash))
        .filter(held_forms::user_id.eq(user_id))
        .filter(held_forms::created_at.gt(since))
        .select((held_forms::id, held_forms::path, held_forms::body))
        .first(conn)
        .optional()?;
    let Some((id, path, body)) = found else {
        return Ok(None);
    };
    diesel::delete(held_forms::table.find(id)).execute(conn)?;
    Ok(Some((path, body)))
}

/// Forgets kept forms older than `before`: what people typed is not kept longer than it is useful.
pub fn forget_before(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(held_forms::table.filter(held_forms::created_at.lt(before))).execute(conn)
}
