//! Loading what a preview shows: the draft as it stands or a published version, as a snapshot.

use super::rules::{self, Audience, Preview};
use crate::db::Db;
use crate::error::AppError;
use crate::studies::questionnaires::queries::{self as questionnaire_queries, Questionnaire};
use crate::studies::versions::queries as version_queries;

/// The questionnaire as `audience` meets it: the draft, or version `version` when given. A fixed number
/// of queries whatever the size.
pub async fn preview(
    db: &Db,
    study_id: i64,
    questionnaire_id: i64,
    version: Option<i32>,
    audience: Audience,
) -> Result<(Questionnaire, Preview), AppError> {
    db.read(move |conn| {
        let questionnaire =
            questionnaire_queries::find_questionnaire(conn, study_id, questionnaire_id)?
                .ok_or(AppError::NotFound)?;
        let snapshot = match version {
            None => version_queries::draft_snapshot(conn, &questionnaire)?,
            Some(number) => {
                version_queries::version(conn, questionnaire_id, number)?
                    .ok_or(AppError::NotFound)?
                    .snapshot
            }
        };
        Ok((questionnaire, rules::preview(&snapshot, audience)))
    })
    .await
}

/// The audience named in `?as=`; the interviewer's guide when none is named.
pub fn audience(named: Option<&str>) -> Result<Audience, AppError> {
    match named.map(str::trim).filter(|a| !a.is_empty()) {
        None => Ok(Audience::Interviewer),
        Some(text) => Audience::parse(text).ok_or_else(|| {
            AppError::invalid(
                "as",
                "Choose staff, service_user, carer, easy_read or interviewer",
            )
        }),
    }
}
