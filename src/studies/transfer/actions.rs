//! What exporting and importing do, for pages and the API alike. An import is checked in full and
//! stored in one transaction: any problem and nothing is stored.

use std::collections::HashMap;

use serde_json::json;

use super::rules::{self, QuestionnaireFile};
use crate::audit::{self, Origin};
use crate::db::Db;
use crate::error::AppError;
use crate::studies::consent::queries as consent_queries;
use crate::studies::questionnaires::history::queries::{self as history, Change};
use crate::studies::questionnaires::history::rules::{
    question_snapshot, snapshot, Action, ObjectType,
};
use crate::studies::questionnaires::queries::{self as questionnaire_queries, Questionnaire};
use crate::studies::questionnaires::rules::SectionInput;
use crate::studies::versions::queries as version_queries;

const IMPORTED: &str = "Imported from a questionnaire file.";

/// The draft as a file, with the questionnaire it came from. A fixed number of queries.
/// The questionnaire as a file; every export is recorded, like every other file that leaves Voices.
pub async fn export(
    db: &Db,
    origin: &Origin,
    study_id: i64,
    questionnaire_id: i64,
) -> Result<(Questionnaire, QuestionnaireFile), AppError> {
    let origin = origin.clone();
    db.write(move |conn| {
        let questionnaire =
            questionnaire_queries::find_questionnaire(conn, study_id, questionnaire_id)?
                .ok_or(AppError::NotFound)?;
        let snapshot = version_queries::draft_snapshot(conn, &questionnaire)?;
        let details = serde_json::json!({ "questionnaire_id": questionnaire_id });
        audit::record(
            conn,
            &origin,
            "export.questionnaire",
            "study",
            Some(study_id),
            details,
        )?;
        Ok((questionnaire, rules::export(&snapshot)))
    })
    .await
}

/// Creates a new draft questionnaire from the file; returns its id. Each section and question gets its
/// first revision, as if added in the editor.
pub async fn import(
    db: &Db,
    origin: &Origin,
    study_id: i64,
    file: QuestionnaireFile,
) -> Result<i64, AppError> {
    let origin = origin.clone();
    db.write(move |conn| {
        let tag_ids: HashMap<String, i64> = questionnaire_queries::taxonomy(conn)?
            .into_iter()
            .map(|term| (term.code, term.id))
            .collect();
        let plan = rules::check_file(&file, &tag_ids).map_err(AppError::Invalid)?;
        let id = questionnaire_queries::insert_questionnaire(
            conn,
            study_id,
            &plan.title,
            &plan.description,
        )?;
        if let Some(information) = &plan.information {
            let (_, lock_version) = consent_queries::information(conn, id)?;
            consent_queries::update_information(conn, id, lock_version, information)?;
        }
        // New ids in reading order: a condition's planned target is an index into this list.
        let mut question_ids: Vec<i64> = Vec::new();
        for section in &plan.sections {
            let section_id = questionnaire_queries::insert_section(
                conn,
                id,
                &section.title,
                &section.introduction,
            )?;
            let section_input = SectionInput {
                title: section.title.clone(),
                introduction: section.introduction.clone(),
                reason: String::new(),
            };
            history::record(
                conn,
                &origin,
                Change {
                    object: ObjectType::Section,
                    object_id: section_id,
                    questionnaire_id: id,
                    action: Action::Created,
                    reason: IMPORTED,
                    before: None,
                    after: Some(snapshot(&section_input)),
                },
            )?;
            for planned in &section.questions {
                let mut content = planned.clone();
                content.input.show_if_question_id = planned
                    .input
                    .show_if_question_id
                    .map(|index| question_ids[index as usize]);
                let question_id =
                    questionnaire_queries::insert_question(conn, id, section_id, &content, None)?;
                question_ids.push(question_id);
                history::record(
                    conn,
                    &origin,
                    Change {
                        object: ObjectType::Question,
                        object_id: question_id,
                        questionnaire_id: id,
                        action: Action::Created,
                        reason: IMPORTED,
                        before: None,
                        after: Some(question_snapshot(&content)),
                    },
                )?;
            }
        }
        audit::record(
            conn,
            &origin,
            "questionnaire_imported",
            "questionnaire",
            Some(id),
            json!({ "study_id": study_id, "title": plan.title,
                    "sections": plan.sections.len(), "questions": question_ids.len() }),
        )?;
        Ok(id)
    })
    .await
}
