//! Keeping a form sent after a session ran out, and giving it back once its person has signed in again.

use chrono::Duration;

use super::{queries, KEEP_HOURS, RESUME_PREFIX};
use crate::db::{now, Db};
use crate::error::AppError;
use crate::security::{hash_token, new_token};

/// The fields of a kept form, as sent (less its stale CSRF token), and where it was going.
pub struct KeptForm {
    pub path: String,
    pub fields: Vec<(String, String)>,
}

/// Keeps a form for `user_id`; returns the path, with the link's secret, to resume it at.
pub async fn keep(db: &Db, user_id: i64, path: String, body: String) -> Result<String, AppError> {
    let token = new_token("");
    let hash = token.hash;
    db.write(move |conn| {
        queries::forget_before(conn, now() - Duration::hours(KEEP_HOURS))?;
        queries::insert(conn, &hash, user_id, &path, &body).map_err(AppError::from)
    })
    .await?;
    Ok(format!("{RESUME_PREFIX}{}", token.secret))
}

/// The kept form behind a resume link, for the person it was kept for, once.
pub async fn take(db: &Db, user_id: i64, secret: &str) -> Result<Option<KeptForm>, AppError> {
    let hash = hash_token(secret);
    let found = db
        .write(move |conn| {
            queries::take(conn, &hash, user_id, now() - Duration::hours(KEEP_HOURS))
                .map_err(AppError::from)
        })
        .await?;
    Ok(found.map(|(path, body)| KeptForm {
        path,
        fields: url::form_urlencoded::parse(body.as_bytes())
            .filter(|(name, _)| name != crate::web::csrf::FIELD)
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect(),
    }))
}
