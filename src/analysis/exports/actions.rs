//! What leads and analysts export: responses (CSV wide or long, JSON; labels or codes) and the
//! codebook (CSV, REFI-QDA .qdc). Pseudonymous; every export is written in the audit log, with what
//! was exported but no personal data.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;

use super::queries::{self, Exportable, Selection};
use super::rules::{self, ExportData, Layout, Values, VersionQuestions};
use super::{coded, refi};
use crate::analysis::codebook::actions::{self as codebook, Codebook, CODERS};
use crate::analysis::coding::actions::{questions_of, QuestionInfo};
use crate::analysis::coding::queries::{self as coding, Scope};
use crate::analysis::memos::queries::memos_of;
use crate::audit::{self, Origin};
use crate::db::{Db, DbConnection};
use crate::error::AppError;
use crate::state::AppState;
use crate::studies::access::StudyAccess;
use crate::studies::versions::cache::Snapshots;
use crate::studies::versions::rules::Snapshot;
use crate::web::CurrentUser;

/// Which responses, and how answers are written.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportOptions {
    /// The questionnaire; by default the study's first with a published version.
    #[serde(default, deserialize_with = "empty_is_none")]
    pub questionnaire_id: Option<i64>,
    /// One published version only; by default all of them.
    #[serde(default, deserialize_with = "empty_is_none")]
    pub version_id: Option<i64>,
    /// labels (the default) or codes (option positions 1..n).
    #[serde(default)]
    #[param(inline)]
    pub values: Values,
    /// `in_progress` adds responses not sent yet; by default only sent ones.
    pub include: Option<String>,
    /// CSV only: wide (one row per response, the default) or long (one row per answer).
    #[serde(default)]
    #[param(inline)]
    pub layout: Layout,
}

/// A form's empty choice ("All versions") is no choice.
pub fn empty_is_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let text: Option<String> = Option::deserialize(d)?;
    match text.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(number) => number.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

impl ExportOptions {
    pub fn in_progress(&self) -> bool {
        self.include.as_deref() == Some("in_progress")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
}

/// A file to download.
pub struct Download {
    pub file_name: String,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

/// The export page: the questionnaires that can be exported, with their versions.
pub async fn exportable(
    db: &Db,
    user: &CurrentUser,
    study_id: i64,
) -> Result<(StudyAccess, Vec<Exportable>), AppError> {
    let access = StudyAccess::with_role(db, user, study_id, CODERS).await?;
    let list = db
        .read(move |conn| queries::exportable(conn, study_id).map_err(AppError::from))
        .await?;
    Ok((access, list))
}

fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

async fn audited(
    db: &Db,
    origin: &Origin,
    action: &'static str,
    study_id: i64,
    details: serde_json::Value,
) -> Result<(), AppError> {
    let origin = origin.clone();
    db.write(move |conn| {
        audit::record(conn, &origin, action, "study", Some(study_id), details)
            .map_err(AppError::from)
    })
    .await
}

/// The questionnaire the options name (or the study's first with a published version), its versions'
/// questions and the chosen responses with their answers: what every response export and the
/// closed-question counts are made from.
pub fn load(
    conn: &mut DbConnection,
    study_id: i64,
    study_title: String,
    options: &ExportOptions,
    in_progress: bool,
) -> Result<ExportData, AppError> {
    let list = queries::exportable(conn, study_id)?;
    let questionnaire = match options.questionnaire_id {
        Some(id) => list.into_iter().find(|q| q.id == id),
        None => list.into_iter().next(),
    }
    .ok_or(AppError::NotFound)?;
    if let Some(version) = options.version_id {
        if !questionnaire.versions.iter().any(|v| v.id == version) {
            return Err(AppError::NotFound);
        }
    }
    let versions = queries::versions_with_snapshots(conn, questionnaire.id)?
        .into_iter()
        .filter(|v| options.version_id.is_none_or(|only| only == v.id))
        .map(|v| {
            let snapshot: Snapshot =
                serde_json::from_str(&v.snapshot).map_err(AppError::internal)?;
            Ok(VersionQuestions::from_snapshot(
                v.id,
                v.number,
                v.published_at,
                &snapshot,
            ))
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    let responses = queries::responses_with_answers(
        conn,
        Selection {
            study_id,
            questionnaire_id: questionnaire.id,
            version_id: options.version_id,
            in_progress,
        },
    )?;
    Ok(ExportData {
        study_id,
        study_title,
        questionnaire_id: questionnaire.id,
        questionnaire_title: questionnaire.title,
        versions,
        responses,
    })
}

/// The responses to one questionnaire as a file.
pub async fn responses(
    db: &Db,
    origin: &Origin,
    user: &CurrentUser,
    study_id: i64,
    options: &ExportOptions,
    format: Format,
) -> Result<Download, AppError> {
    let access = StudyAccess::with_role(db, user, study_id, CODERS).await?;
    let in_progress = options.in_progress();
    let (title, wanted) = (access.study.title.clone(), options.clone());
    let data = db
        .read(move |conn| load(conn, study_id, title, &wanted, in_progress))
        .await?;
    let (what, extension, content_type, body) = match (format, options.layout) {
        (Format::Csv, Layout::Wide) => (
            "responses-wide",
            "csv",
            "text/csv; charset=utf-8",
            rules::wide_csv(&data, options.values),
        ),
        (Format::Csv, Layout::Long) => (
            "responses-long",
            "csv",
            "text/csv; charset=utf-8",
            rules::long_csv(&data, options.values),
        ),
        (Format::Json, _) => (
            "responses",
            "json",
            "application/json",
            serde_json::to_vec_pretty(&rules::json_document(&data, options.values))
                .map_err(AppError::internal)?,
        ),
    };
    audited(
        db,
        origin,
        "export.responses",
        study_id,
        json!({
            "questionnaire_id": data.questionnaire_id,
            "version_id": options.version_id,
            "format": what,
            "values": options.values,
            "in_progress": in_progress,
            "responses": data.responses.len(),
        }),
    )
    .await?;
    Ok(Download {
        file_name: rules::file_name(&data.study_title, what, today(), extension),
        content_type,
        body,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodebookFormat {
    Csv,
    Qdc,
}

/// The live codebook's codes as REFI-QDA codes, nested by parent, with stable GUIDs.
pub fn refi_codes(study_id: i64, codebook: &Codebook) -> Vec<refi::Code> {
    codebook
        .codes
        .iter()
        .map(|placed| {
            let c = &placed.code;
            let mut description = c.definition.clone();
            for (label, text) in [
                ("Use when", &c.inclusion),
                ("Do not use when", &c.exclusion),
                ("Example", &c.example),
            ] {
                if !text.is_empty() {
                    if !description.is_empty() {
                        description.push('\n');
                    }
                    description.push_str(&format!("{label}: {text}"));
                }
            }
            refi::Code {
                guid: refi::guid(study_id, "code", c.id),
                parent: c.parent_id.map(|p| refi::guid(study_id, "code", p)),
                name: c.name.clone(),
                colour: rules::colour_hex(&c.colour).map(str::to_string),
                description,
            }
        })
        .collect()
}

/// The study's codebook as a file.
pub async fn codebook_file(
    db: &Db,
    origin: &Origin,
    user: &CurrentUser,
    study_id: i64,
    format: CodebookFormat,
) -> Result<Download, AppError> {
    let (access, codebook) = codebook::open(db, user, study_id).await?;
    let (extension, content_type, body) = match format {
        CodebookFormat::Csv => (
            "csv",
            "text/csv; charset=utf-8",
            rules::codebook_csv(&codebook),
        ),
        CodebookFormat::Qdc => (
            "qdc",
            "application/xml",
            refi::codebook_qdc(&refi_codes(study_id, &codebook))
                .map_err(AppError::internal)?
                .into_bytes(),
        ),
    };
    audited(
        db,
        origin,
        "export.codebook",
        study_id,
        json!({ "format": extension, "version": codebook.version, "codes": codebook.codes.len() }),
    )
    .await?;
    Ok(Download {
        file_name: rules::file_name(&access.study.title, "codebook", today(), extension),
        content_type,
        body,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodingFormat {
    /// The whole project for NVivo, ATLAS.ti, MAXQDA or QualCoder.
    Qdpx,
    /// The coded passages, one row each.
    PassagesCsv,
}

/// The study's coding as a file: every sent answer and interview note with text, one document per
/// participant, and every coded passage (not the blind work of double-coding rounds).
pub async fn coding_file(
    state: &AppState,
    origin: &Origin,
    user: &CurrentUser,
    study_id: i64,
    format: CodingFormat,
) -> Result<Download, AppError> {
    let (access, codebook) = codebook::open(&state.db, user, study_id).await?;
    let snapshots = state.caches.get::<Snapshots>();
    let (rows, codings, questions, memos) = state
        .db
        .read(move |conn| {
            let (rows, _) = coding::sources(conn, study_id, Scope::Study, 0, i64::MAX)?;
            let codings = coding::codings_of_study(conn, study_id)?;
            let questions = questions_of(conn, &snapshots, study_id)?;
            let memos = memos_of(conn, study_id, None, None)?;
            Ok::<_, AppError>((rows, codings, questions, memos))
        })
        .await?;
    let by_id: HashMap<i64, &QuestionInfo> = questions.iter().map(|q| (q.id, q)).collect();
    let (what, extension, content_type, body) = match format {
        CodingFormat::Qdpx => {
            let documents = coded::documents(&rows, &by_id);
            let project = coded::project(coded::ProjectParts {
                study_id,
                name: &access.study.title,
                created_at: crate::db::now(),
                codes: refi_codes(study_id, &codebook),
                codebook: &codebook,
                documents: &documents,
                codings: &codings,
                memos: &memos,
            });
            let zip = refi::write_qdpx(&project).map_err(AppError::internal)?;
            ("project", "qdpx", "application/zip", zip)
        }
        CodingFormat::PassagesCsv => (
            "coded-passages",
            "csv",
            "text/csv; charset=utf-8",
            coded::passages_csv(&rows, &by_id, &codebook, &codings),
        ),
    };
    audited(
        &state.db,
        origin,
        "export.coding",
        study_id,
        json!({ "format": extension, "codings": codings.len(), "codebook_version": codebook.version }),
    )
    .await?;
    Ok(Download {
        file_name: rules::file_name(&access.study.title, what, today(), extension),
        content_type,
        body,
    })
}
