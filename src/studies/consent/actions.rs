//! What changing the information sheet does, for pages and the API alike: checked, saved with its audit
//! event in one transaction, and refused (not overwritten) when someone else saved first.

use serde_json::json;

use super::queries;
use super::rules::{self, Information};
use crate::audit::{self, Origin};
use crate::db::Db;
use crate::error::AppError;
use crate::studies::questionnaires::actions::Saved;
use crate::studies::questionnaires::queries::Questionnaire;

/// The sheet as stored, with the version a change must start from.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct StoredInformation {
    pub information: Information,
    pub lock_version: i32,
}

pub async fn load(db: &Db, questionnaire_id: i64) -> Result<StoredInformation, AppError> {
    db.read(move |conn| {
        let (information, lock_version) = queries::information(conn, questionnaire_id)?;
        Ok(StoredInformation {
            information,
            lock_version,
        })
    })
    .await
}

pub async fn update(
    db: &Db,
    origin: &Origin,
    questionnaire: &Questionnaire,
    lock_version: i32,
    input: &Information,
) -> Result<Saved<StoredInformation>, AppError> {
    let info = rules::check_information(input).map_err(AppError::Invalid)?;
    let (id, origin) = (questionnaire.id, origin.clone());
    db.write(move |conn| {
        let (before, current_version) = queries::information(conn, id)?;
        if !queries::update_information(conn, id, lock_version, &info)? {
            return Ok(Saved::Stale(StoredInformation {
                information: before,
                lock_version: current_version,
            }));
        }
        audit::record(
            conn,
            &origin,
            "information_changed",
            "questionnaire",
            Some(id),
            json!({ "before": before, "after": info }),
        )?;
        Ok(Saved::Done)
    })
    .await
}

/// The questionnaire, if it belongs to this study.
pub async fn questionnaire(
    db: &Db,
    study_id: i64,
    questionnaire_id: i64,
) -> Result<Questionnaire, AppError> {
    db.read(move |conn| {
        crate::studies::questionnaires::queries::find_questionnaire(
            conn,
            study_id,
            questionnaire_id,
        )
        .map_err(AppError::from)
    })
    .await?
    .ok_or(AppError::NotFound)
}
