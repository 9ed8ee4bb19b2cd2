//! Closed-question counts for leads and analysts: for the team (every count), or ready to share
//! (counts under the study's threshold hidden, with whatever would give them away).

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::queries;
use super::rules::{self, ClosedQuestion, FunnelStep};
use crate::analysis::codebook::actions::CODERS;
use crate::analysis::exports::actions::{load, ExportOptions};
use crate::analysis::exports::queries::{exportable, Exportable};
use crate::db::Db;
use crate::error::AppError;
use crate::studies::access::StudyAccess;
use crate::web::CurrentUser;

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClosedOptions {
    /// The questionnaire; by default the study's first with a published version.
    #[serde(
        default,
        deserialize_with = "crate::analysis::exports::actions::empty_is_none"
    )]
    pub questionnaire_id: Option<i64>,
    /// One published version only; by default all of them (options as in the newest).
    #[serde(
        default,
        deserialize_with = "crate::analysis::exports::actions::empty_is_none"
    )]
    pub version_id: Option<i64>,
    /// true: for sharing beyond the study team, counts under the study's threshold hidden. Always so
    /// for analysts when the study gives them the shared view.
    #[serde(default, deserialize_with = "crate::studies::forms::checkbox")]
    pub shared: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClosedSummary {
    pub questionnaire_id: i64,
    pub questionnaire_title: String,
    /// The version counted, when one was chosen.
    pub version_id: Option<i64>,
    /// Hidden counts are those from 1 to this minus one (when shared).
    pub threshold: i64,
    pub shared: bool,
    /// Sent responses counted.
    pub responses: rules::Cell,
    pub funnel: Vec<FunnelStep>,
    pub questions: Vec<ClosedQuestion>,
}

/// The counts, and the questionnaires there are to choose from.
pub async fn summary(
    db: &Db,
    user: &CurrentUser,
    study_id: i64,
    options: &ClosedOptions,
) -> Result<(StudyAccess, Vec<Exportable>, ClosedSummary), AppError> {
    let access = StudyAccess::with_role(db, user, study_id, CODERS).await?;
    let threshold = i64::from(access.study.small_count_threshold);
    // Asked for, or the only view this member has (`Roles::view`).
    let shared = options.shared || access.view().is_shared();
    let (title, options) = (access.study.title.clone(), options.clone());
    let (list, summary) = db
        .read(move |conn| {
            let list = exportable(conn, study_id)?;
            let chosen = options
                .questionnaire_id
                .and_then(|id| list.iter().find(|q| q.id == id))
                .or(list.first())
                .ok_or(AppError::NotFound)?;
            if options.questionnaire_id.is_some_and(|id| id != chosen.id) {
                return Err(AppError::NotFound);
            }
            // A version of another questionnaire (the page's two lists changed at once) is no choice.
            let version_id = options
                .version_id
                .filter(|v| chosen.versions.iter().any(|cv| cv.id == *v));
            let wanted = ExportOptions {
                questionnaire_id: Some(chosen.id),
                version_id,
                ..ExportOptions::default()
            };
            let data = load(conn, study_id, title, &wanted, false)?;
            let people = queries::reached(conn, chosen.id, version_id)?;
            let limit = shared.then_some(threshold);
            let sent = data.responses.len() as i64;
            let summary = ClosedSummary {
                questionnaire_id: data.head.questionnaire_id,
                questionnaire_title: data.head.questionnaire_title.clone(),
                version_id,
                threshold,
                shared,
                responses: rules::Cell {
                    count: (!limit.is_some_and(|t| sent > 0 && sent < t)).then_some(sent),
                    percent: None,
                    suppressed: limit.is_some_and(|t| sent > 0 && sent < t),
                },
                funnel: rules::funnel(&people, limit),
                questions: rules::closed_questions(&data, limit),
            };
            Ok::<_, AppError>((list, summary))
        })
        .await?;
    Ok((access, list, summary))
}
