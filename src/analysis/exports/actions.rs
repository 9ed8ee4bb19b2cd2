//! What leads and analysts export: responses (CSV wide or long, JSON; labels or codes) and the
//! codebook (CSV, REFI-QDA .qdc). Pseudonymous; every export is written in the audit log, with what
//! was exported but no personal data.

use std::collections::{HashMap, HashSet};

use actix_web::body::BoxBody;
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;

use super::queries::{self, Exportable, Page, Selection};
use super::refi::{self, Qdpx};
use super::rules::{
    self, json_head, json_response, long_rows, Answered, Csv, ExportData, ExportHead, JsonDocument,
    Layout, Questions, Values, VersionQuestions, Wide, LONG_COLUMNS,
};
use super::{coded, stream};
use crate::analysis::codebook::actions::{self as codebook, Codebook, CODERS};
use crate::analysis::coding::actions::{questions_of, QuestionInfo};
use crate::analysis::coding::queries::{self as coding, Coding, Scope, View};
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

/// A file to download; big ones are written as they are sent (see [`stream`]).
pub struct Download {
    pub file_name: String,
    pub content_type: &'static str,
    pub body: BoxBody,
}

/// Responses read at a time for a response export.
const RESPONSE_PAGE: i64 = 200;
/// Participants' documents read at a time for a REFI-QDA project.
const DOCUMENT_PAGE: i64 = 100;
/// Coded answers read at a time for the coded passages.
const PASSAGE_PAGE: i64 = 1_000;

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

/// The questionnaire the options name (or the study's first with a published version) and its
/// versions' questions: what every response export is of.
pub fn head(
    conn: &mut DbConnection,
    study_id: i64,
    study_title: String,
    options: &ExportOptions,
) -> Result<ExportHead, AppError> {
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
    Ok(ExportHead {
        study_id,
        study_title,
        questionnaire_id: questionnaire.id,
        questionnaire_title: questionnaire.title,
        versions,
    })
}

fn selection(head: &ExportHead, options: &ExportOptions, in_progress: bool) -> Selection {
    Selection {
        study_id: head.study_id,
        questionnaire_id: head.questionnaire_id,
        version_id: options.version_id,
        in_progress,
    }
}

/// The export's head and all the chosen responses with their answers, at once: what the
/// closed-question counts are made from.
pub fn load(
    conn: &mut DbConnection,
    study_id: i64,
    study_title: String,
    options: &ExportOptions,
    in_progress: bool,
) -> Result<ExportData, AppError> {
    let head = head(conn, study_id, study_title, options)?;
    let responses =
        queries::responses_with_answers(conn, selection(&head, options, in_progress), Page::ALL)?;
    Ok(ExportData { head, responses })
}

/// The questions whose interview notes get a column in the wide layout, found without reading
/// every note: the questions with any notes, each kept once one of its notes is more than blanks.
fn questions_with_notes(
    conn: &mut DbConnection,
    selection: Selection,
) -> Result<HashSet<i64>, AppError> {
    const NOTES: i64 = 100;
    let mut with_notes = HashSet::new();
    for question in queries::questions_noted(conn, selection)? {
        let mut offset = 0;
        loop {
            let notes = queries::notes_of_question(conn, selection, question, offset, NOTES)?;
            if notes.iter().any(|n| rules::has_notes(n)) {
                with_notes.insert(question);
            }
            if with_notes.contains(&question) || (notes.len() as i64) < NOTES {
                break;
            }
            offset += NOTES;
        }
    }
    Ok(with_notes)
}

/// Hands each page of the selected responses, in order, to `write`.
fn each_page(
    pages: &stream::Pages,
    selection: Selection,
    mut write: impl FnMut(&[Answered]) -> Result<(), AppError>,
) -> Result<(), AppError> {
    let mut after = i64::MIN;
    loop {
        let page = Page {
            after,
            limit: RESPONSE_PAGE,
        };
        let responses = pages.read(move |conn| {
            queries::responses_with_answers(conn, selection, page).map_err(AppError::from)
        })?;
        let Some((last, _)) = responses.last() else {
            return Ok(());
        };
        after = last.id;
        write(&responses)?;
        if (responses.len() as i64) < RESPONSE_PAGE {
            return Ok(());
        }
    }
}

/// The responses to one questionnaire as a file, written as the responses are read.
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
    let layout = match format {
        Format::Csv => Some(options.layout),
        Format::Json => None,
    };
    let (title, wanted) = (access.study.title.clone(), options.clone());
    let (head, selection, count, with_notes) = db
        .read(move |conn| {
            let head = head(conn, study_id, title, &wanted)?;
            let selection = selection(&head, &wanted, in_progress);
            let count = queries::count_responses(conn, selection)?;
            let with_notes = match layout {
                Some(Layout::Wide) => questions_with_notes(conn, selection)?,
                _ => HashSet::new(),
            };
            Ok::<_, AppError>((head, selection, count, with_notes))
        })
        .await?;
    let (what, extension, content_type) = match layout {
        Some(Layout::Wide) => ("responses-wide", "csv", "text/csv; charset=utf-8"),
        Some(Layout::Long) => ("responses-long", "csv", "text/csv; charset=utf-8"),
        None => ("responses", "json", "application/json"),
    };
    audited(
        db,
        origin,
        "export.responses",
        study_id,
        json!({
            "questionnaire_id": head.questionnaire_id,
            "version_id": options.version_id,
            "format": what,
            "values": options.values,
            "in_progress": in_progress,
            "responses": count,
        }),
    )
    .await?;
    let file_name = rules::file_name(&head.study_title, what, today(), extension);
    let values = options.values;
    let body = stream::body(db, move |pages, out| {
        let questions = Questions::of(&head.versions);
        match layout {
            Some(Layout::Wide) => {
                let wide = Wide::new(&head, &with_notes, values);
                let mut csv = Csv::new(out).map_err(AppError::internal)?;
                csv.row(wide.header()).map_err(AppError::internal)?;
                each_page(pages, selection, |page| {
                    for (response, answers) in page {
                        csv.row(wide.row(response, answers))
                            .map_err(AppError::internal)?;
                    }
                    Ok(())
                })?;
                csv.finish().map_err(AppError::internal)?;
            }
            Some(Layout::Long) => {
                let mut csv = Csv::new(out).map_err(AppError::internal)?;
                csv.row(LONG_COLUMNS).map_err(AppError::internal)?;
                each_page(pages, selection, |page| {
                    for (response, answers) in page {
                        for row in long_rows(&questions, response, answers, values) {
                            csv.row(row).map_err(AppError::internal)?;
                        }
                    }
                    Ok(())
                })?;
                csv.finish().map_err(AppError::internal)?;
            }
            None => {
                let mut doc = JsonDocument::start(out, &json_head(&head, values))
                    .map_err(AppError::internal)?;
                each_page(pages, selection, |page| {
                    for (response, answers) in page {
                        doc.response(&json_response(&questions, response, answers, values))
                            .map_err(AppError::internal)?;
                    }
                    Ok(())
                })?;
                doc.finish().map_err(AppError::internal)?;
            }
        }
        Ok(())
    });
    Ok(Download {
        file_name,
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
        body: BoxBody::new(body),
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
/// participant, and every coded passage (not the blind work of double-coding rounds). Written as the
/// documents, or the passages, are read.
pub async fn coding_file(
    state: &AppState,
    origin: &Origin,
    user: &CurrentUser,
    study_id: i64,
    format: CodingFormat,
) -> Result<Download, AppError> {
    let (access, codebook) = codebook::open(&state.db, user, study_id).await?;
    let snapshots = state.caches.get::<Snapshots>();
    let (questions, memos, coders, count) = state
        .db
        .read(move |conn| {
            let questions = questions_of(conn, &snapshots, study_id)?;
            let memos = memos_of(conn, study_id, None, None)?;
            let coders = queries::coders_in_order(conn, study_id)?;
            let count = queries::count_codings(conn, study_id)?;
            Ok::<_, AppError>((questions, memos, coders, count))
        })
        .await?;
    let coders = coded::coder_names(coders);
    let (what, extension, content_type) = match format {
        CodingFormat::Qdpx => ("project", "qdpx", "application/zip"),
        CodingFormat::PassagesCsv => ("coded-passages", "csv", "text/csv; charset=utf-8"),
    };
    audited(
        &state.db,
        origin,
        "export.coding",
        study_id,
        json!({ "format": extension, "codings": count, "codebook_version": codebook.version }),
    )
    .await?;
    let title = access.study.title;
    let file_name = rules::file_name(&title, what, today(), extension);
    let body = stream::body(&state.db, move |pages, out| {
        let by_id: HashMap<i64, &QuestionInfo> = questions.iter().map(|q| (q.id, q)).collect();
        match format {
            CodingFormat::Qdpx => {
                let created_at = crate::db::now();
                let mut qdpx = Qdpx::new(out, created_at);
                let mut project = qdpx
                    .project(coded::project_head(coded::ProjectParts {
                        study_id,
                        name: &title,
                        created_at,
                        codes: refi_codes(study_id, &codebook),
                        codebook: &codebook,
                        coders: &coders,
                        memos: &memos,
                    }))
                    .map_err(AppError::internal)?;
                // project.qde lists the cases before the sources, and the zip holds the sources'
                // texts after it: three passes over the documents, a page at a time.
                each_document_page(pages, study_id, false, &by_id, |documents, _| {
                    for document in documents {
                        project
                            .case(&coded::case(study_id, document))
                            .map_err(AppError::internal)?;
                    }
                    Ok(())
                })?;
                each_document_page(pages, study_id, true, &by_id, |documents, codings| {
                    let selections = coded::selections(study_id, documents, &codebook, codings);
                    for document in documents {
                        let source = coded::text_source(study_id, document, created_at);
                        let own: Vec<refi::Selection> = (selections.iter())
                            .filter(|s| s.source == source.guid)
                            .cloned()
                            .collect();
                        project.source(&source, &own).map_err(AppError::internal)?;
                    }
                    Ok(())
                })?;
                project.finish().map_err(AppError::internal)?;
                each_document_page(pages, study_id, false, &by_id, |documents, _| {
                    for document in documents {
                        qdpx.source(&coded::text_source(study_id, document, created_at))
                            .map_err(AppError::internal)?;
                    }
                    Ok(())
                })?;
                qdpx.finish().map_err(AppError::internal)?;
            }
            CodingFormat::PassagesCsv => {
                let passages = coded::Passages::new(&by_id, &codebook, &coders);
                let mut csv = Csv::new(out).map_err(AppError::internal)?;
                csv.row(coded::PASSAGE_COLUMNS)
                    .map_err(AppError::internal)?;
                let mut after = i64::MIN;
                loop {
                    let (rows, codings, last) = pages.read(move |conn| {
                        let answers =
                            queries::coded_answers_after(conn, study_id, after, PASSAGE_PAGE)?;
                        let Some(&up_to) = answers.last() else {
                            return Ok((Vec::new(), Vec::new(), None));
                        };
                        let scope = Scope::Coded { after, up_to };
                        let (rows, _) = coding::sources(conn, study_id, scope, 0, i64::MAX)?;
                        let codings = coding::codings_of_answers(conn, &answers, View::Study)?;
                        let more = (answers.len() as i64 == PASSAGE_PAGE).then_some(up_to);
                        Ok::<_, AppError>((rows, codings, more))
                    })?;
                    for row in passages.rows(&rows, &codings) {
                        csv.row(row).map_err(AppError::internal)?;
                    }
                    match last {
                        Some(up_to) => after = up_to,
                        None => break,
                    }
                }
                csv.finish().map_err(AppError::internal)?;
            }
        }
        Ok(())
    });
    Ok(Download {
        file_name,
        content_type,
        body,
    })
}

/// Hands each page of the study's documents, in response order, to `write`, with the passages coded
/// in them when `with_codings`.
fn each_document_page(
    pages: &stream::Pages,
    study_id: i64,
    with_codings: bool,
    questions: &HashMap<i64, &QuestionInfo>,
    mut write: impl FnMut(&[coded::Document], &[Coding]) -> Result<(), AppError>,
) -> Result<(), AppError> {
    let mut after = i64::MIN;
    loop {
        let (rows, codings, last) = pages.read(move |conn| {
            let responses = queries::sent_responses_after(conn, study_id, after, DOCUMENT_PAGE)?;
            let Some(&up_to) = responses.last() else {
                return Ok((Vec::new(), Vec::new(), None));
            };
            let scope = Scope::Responses { after, up_to };
            let (rows, _) = coding::sources(conn, study_id, scope, 0, i64::MAX)?;
            let codings = if with_codings {
                let answers: Vec<i64> = rows.iter().map(|r| r.answer_id).collect();
                coding::codings_of_answers(conn, &answers, View::Study)?
            } else {
                Vec::new()
            };
            let more = (responses.len() as i64 == DOCUMENT_PAGE).then_some(up_to);
            Ok::<_, AppError>((rows, codings, more))
        })?;
        write(&coded::documents(&rows, questions), &codings)?;
        match last {
            Some(up_to) => after = up_to,
            None => return Ok(()),
        }
    }
}
