//! What analysts do when coding: read sent answers and interview notes by question or by
//! participant (pseudonymised), code passages with codes and a valence, and take codings back.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::queries::{self, Coding, ResponseRow, Scope, SourceRow, View};
use super::rules::{self, Field, NewCoding, Placement, TEXT_KINDS};
use crate::analysis::codebook::actions::{self as codebook, Codebook, CODERS};
use crate::analysis::rounds;
use crate::audit::{self, Origin};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::state::AppState;
use crate::studies::access::StudyAccess;
use crate::studies::rules::StudyRole;
use crate::studies::versions::cache::Snapshots;
use crate::web::CurrentUser;

/// Sources shown on one page of a question or a response.
pub const PAGE_SIZE: i64 = 25;

/// A question as the coding pages name it, from the newest published version that has it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuestionInfo {
    pub id: i64,
    /// Its number in that version (1 for the first question).
    pub number: usize,
    pub text: String,
    pub kind: String,
    pub section: String,
    /// COM-B and TDF tags (C-PSY, TDF-KNO, ...).
    pub tags: Vec<String>,
}

impl QuestionInfo {
    pub fn answer_is_text(&self) -> bool {
        TEXT_KINDS.contains(&self.kind.as_str())
    }
}

/// The texts of an answer that can be coded: the participant's words when the question asks for
/// free text, and the interviewer's notes.
pub fn codable_texts<'a>(
    row: &'a SourceRow,
    question: Option<&QuestionInfo>,
) -> Vec<(Field, &'a str)> {
    let mut texts = Vec::new();
    if !row.value.is_empty() && question.is_some_and(QuestionInfo::answer_is_text) {
        texts.push((Field::Answer, row.value.as_str()));
    }
    if !row.notes.is_empty() {
        texts.push((Field::Notes, row.notes.as_str()));
    }
    texts
}

/// The questions of the study's answered versions, newest version first, each once.
pub fn questions_of(
    conn: &mut DbConnection,
    snapshots: &Snapshots,
    study_id: i64,
) -> Result<Vec<QuestionInfo>, AppError> {
    let mut questions: Vec<QuestionInfo> = Vec::new();
    for version_id in queries::answered_versions(conn, study_id)? {
        let snapshot = snapshots.get(conn, version_id)?;
        let numbered = snapshot
            .sections
            .iter()
            .flat_map(|s| s.questions.iter().map(move |q| (s, q)))
            .enumerate();
        for (index, (section, question)) in numbered {
            if questions.iter().all(|known| known.id != question.id) {
                questions.push(QuestionInfo {
                    id: question.id,
                    number: index + 1,
                    text: question.text.clone(),
                    kind: question.kind.clone(),
                    section: section.title.clone(),
                    tags: question.tags.clone(),
                });
            }
        }
    }
    Ok(questions)
}

/// A coding as shown beside its text.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CodingView {
    #[serde(flatten)]
    pub coding: Coding,
    pub code_name: String,
    pub code_colour: String,
    /// Where the passage is in the text as it reads now.
    pub placement: Placement,
}

/// A stretch of a text and the numbers (1-based, in the text's list of codings) covering it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Stretch {
    pub text: String,
    pub codings: Vec<usize>,
    /// The colour of the first coding covering it, for the highlight.
    pub colour: Option<String>,
}

/// One text of an answer: the participant's words or the interviewer's notes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SourceText {
    /// answer or notes.
    pub field: String,
    pub label: String,
    pub text: String,
    /// Characters in the text.
    pub length: usize,
    /// Whether passages of it can be coded (free text; not a choice from a list).
    pub codable: bool,
    pub codings: Vec<CodingView>,
    pub stretches: Vec<Stretch>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Source {
    #[serde(flatten)]
    pub row: SourceRow,
    /// The participant's code, or the response's number when the study keeps no link.
    pub participant: String,
    pub question: Option<QuestionInfo>,
    pub texts: Vec<SourceText>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SourcesPage {
    pub sources: Vec<Source>,
    pub total: i64,
    pub page: i64,
    pub pages: i64,
    /// The question, when reading by question.
    pub question: Option<QuestionInfo>,
    /// The response, when reading by participant.
    pub response: Option<ResponseRow>,
    /// Codes the question's COM-B tags point to, offered first.
    pub suggested: Vec<i64>,
    /// The round's name, when coding in a double-coding round.
    pub round_name: Option<String>,
}

fn source_texts(
    row: &SourceRow,
    question: Option<&QuestionInfo>,
    codings: &[Coding],
    codebook: &Codebook,
) -> Vec<SourceText> {
    let code = |id: i64| codebook::live_code(codebook, id);
    [(Field::Answer, &row.value), (Field::Notes, &row.notes)]
        .into_iter()
        .filter(|(_, text)| !text.is_empty())
        .map(|(field, text)| {
            let views: Vec<CodingView> = codings
                .iter()
                .filter(|c| c.answer_id == row.answer_id && c.field == field.as_str())
                .map(|c| {
                    let code = code(c.code_id);
                    CodingView {
                        placement: rules::placement(
                            text,
                            c.start_char as usize,
                            c.end_char as usize,
                            &c.quote,
                        ),
                        code_name: code.map(|c| c.name.clone()).unwrap_or_default(),
                        code_colour: code.map(|c| c.colour.clone()).unwrap_or_default(),
                        coding: c.clone(),
                    }
                })
                .collect();
            let spans: Vec<(usize, usize)> = views
                .iter()
                .filter_map(|v| match v.placement {
                    Placement::Exact => {
                        Some((v.coding.start_char as usize, v.coding.end_char as usize))
                    }
                    Placement::Moved { start, end } => Some((start, end)),
                    Placement::Lost => None,
                })
                .collect();
            let stretches = rules::segments(text, &spans)
                .into_iter()
                .map(|segment| Stretch {
                    colour: segment
                        .covered_by
                        .first()
                        .map(|&i| views[i].code_colour.clone()),
                    codings: segment.covered_by.iter().map(|i| i + 1).collect(),
                    text: segment.text,
                })
                .collect();
            SourceText {
                field: field.as_str().into(),
                label: field.label().into(),
                length: text.chars().count(),
                codable: field == Field::Notes
                    || question.is_some_and(QuestionInfo::answer_is_text),
                text: text.clone(),
                codings: views,
                stretches,
            }
        })
        .collect()
}

/// One page of the sources of a question, a response or a round, with the codings `view` names.
pub async fn sources(
    state: &AppState,
    user: &CurrentUser,
    study_id: i64,
    (scope, view): (Scope, View),
    page: i64,
) -> Result<(StudyAccess, Codebook, SourcesPage), AppError> {
    let (access, codebook) = codebook::open(&state.db, user, study_id).await?;
    let snapshots = state.caches.get::<Snapshots>();
    let page = page.max(1);
    let (questions, rows, total, codings, response, round_name) = state
        .db
        .read(move |conn| {
            let questions = questions_of(conn, &snapshots, study_id)?;
            let (rows, total) = queries::sources(
                conn,
                study_id,
                scope,
                (page - 1).saturating_mul(PAGE_SIZE),
                PAGE_SIZE,
            )?;
            let ids: Vec<i64> = rows.iter().map(|r| r.answer_id).collect();
            let codings = queries::codings_of_answers(conn, &ids, view)?;
            let response = match scope {
                Scope::Response(id) => Some(
                    queries::sent_responses(conn, study_id, Some(&[id]))?
                        .into_iter()
                        .next()
                        .ok_or(AppError::NotFound)?,
                ),
                _ => None,
            };
            let round_name = match scope {
                Scope::Round(id) => Some(
                    rounds::queries::round(conn, study_id, id)?
                        .ok_or(AppError::NotFound)?
                        .name,
                ),
                _ => None,
            };
            Ok::<_, AppError>((questions, rows, total, codings, response, round_name))
        })
        .await?;
    let by_id: HashMap<i64, &QuestionInfo> = questions.iter().map(|q| (q.id, q)).collect();
    let question = match scope {
        Scope::Question(id) => Some((*by_id.get(&id).ok_or(AppError::NotFound)?).clone()),
        _ => None,
    };
    let suggested = question
        .as_ref()
        .map(|q| {
            codebook
                .codes
                .iter()
                .filter(|p| !p.code.comb.is_empty() && q.tags.contains(&p.code.comb))
                .map(|p| p.code.id)
                .collect()
        })
        .unwrap_or_default();
    let sources = rows
        .into_iter()
        .map(|row| {
            let question = by_id.get(&row.question_id).copied();
            Source {
                participant: rules::pseudonym(row.participant_code.as_deref(), row.response_id),
                texts: source_texts(&row, question, &codings, &codebook),
                question: question.cloned(),
                row,
            }
        })
        .collect();
    let listing = SourcesPage {
        sources,
        total,
        page,
        pages: (total + PAGE_SIZE - 1) / PAGE_SIZE,
        question,
        response,
        suggested,
        round_name,
    };
    Ok((access, codebook, listing))
}

/// A question with how much of it is coded.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuestionProgress {
    #[serde(flatten)]
    pub question: QuestionInfo,
    /// Sent answers with text (answers or interview notes).
    pub with_text: i64,
    /// Of those, how many carry at least one coding.
    pub coded: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ResponseProgress {
    #[serde(flatten)]
    pub response: ResponseRow,
    pub participant: String,
    pub codings: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Overview {
    pub questions: Vec<QuestionProgress>,
    pub responses: Vec<ResponseProgress>,
}

/// Where coding stands: per question and per response.
pub async fn overview(
    state: &AppState,
    user: &CurrentUser,
    study_id: i64,
) -> Result<(StudyAccess, Overview), AppError> {
    let access = StudyAccess::with_role(&state.db, user, study_id, CODERS).await?;
    let snapshots = state.caches.get::<Snapshots>();
    let overview = state
        .db
        .read(move |conn| {
            let counts = queries::question_counts(conn, study_id)?;
            let questions = questions_of(conn, &snapshots, study_id)?
                .into_iter()
                .filter_map(|question| {
                    let (with_text, coded) = counts.get(&question.id).copied()?;
                    Some(QuestionProgress {
                        question,
                        with_text,
                        coded,
                    })
                })
                .collect();
            let coded = queries::codings_per_response(conn, study_id)?;
            let responses = queries::sent_responses(conn, study_id, None)?
                .into_iter()
                .map(|response| ResponseProgress {
                    participant: rules::pseudonym(
                        response.participant_code.as_deref(),
                        response.response_id,
                    ),
                    codings: coded.get(&response.response_id).copied().unwrap_or(0),
                    response,
                })
                .collect();
            Ok::<_, AppError>(Overview {
                questions,
                responses,
            })
        })
        .await?;
    Ok((access, overview))
}

/// Codes a passage with each code asked for (coding it again with a code is a no-op).
pub async fn code(
    state: &AppState,
    origin: &Origin,
    user: &CurrentUser,
    study_id: i64,
    request: NewCoding,
) -> Result<Vec<Coding>, AppError> {
    let (_, codebook) = codebook::open(&state.db, user, study_id).await?;
    let snapshots = state.caches.get::<Snapshots>();
    let (origin, coder) = (origin.clone(), user.id);
    state
        .db
        .write(move |conn| {
            let row = queries::source(conn, study_id, request.answer_id)?.ok_or_else(|| {
                AppError::invalid("answer_id", "There is no sent answer with this number")
            })?;
            if let Some(round_id) = request.round_id {
                rounds::queries::check_coder(conn, study_id, round_id, coder, row.answer_id)?;
            }
            let snapshot = snapshots.get(conn, row.version_id)?;
            let answer_is_text = snapshot
                .sections
                .iter()
                .flat_map(|s| &s.questions)
                .any(|q| q.id == row.question_id && TEXT_KINDS.contains(&q.kind.as_str()));
            let passage = rules::check(&request, |field| match field {
                Field::Answer if answer_is_text => row.value.clone(),
                Field::Answer => String::new(),
                Field::Notes => row.notes.clone(),
            })
            .map_err(AppError::Invalid)?;
            if let Some(unknown) = request
                .code_ids
                .iter()
                .find(|&&id| codebook::live_code(&codebook, id).is_none())
            {
                return Err(AppError::invalid(
                    "code_ids",
                    &format!("Code {unknown} is not in the codebook"),
                ));
            }
            let mut made = Vec::new();
            for &code_id in &request.code_ids {
                made.push(queries::insert_coding(
                    conn,
                    study_id,
                    row.answer_id,
                    &passage,
                    code_id,
                    coder,
                    request.round_id,
                )?);
            }
            audit::record(
                conn,
                &origin,
                "coding.created",
                "answer",
                Some(row.answer_id),
                json!({
                    "study_id": study_id, "round_id": request.round_id,
                    "codings": made.iter().map(|c| c.id).collect::<Vec<_>>(),
                }),
            )?;
            Ok(made)
        })
        .await
}

/// Takes a coding back: its coder may, and so may a lead.
pub async fn uncode(
    state: &AppState,
    origin: &Origin,
    user: &CurrentUser,
    study_id: i64,
    coding_id: i64,
) -> Result<Coding, AppError> {
    let access = StudyAccess::with_role(&state.db, user, study_id, CODERS).await?;
    let is_lead = access.me.roles.has(StudyRole::Lead);
    let (origin, user_id) = (origin.clone(), user.id);
    state
        .db
        .write(move |conn| {
            let coding = queries::coding(conn, study_id, coding_id)?.ok_or(AppError::NotFound)?;
            if coding.coder_id != user_id && !is_lead {
                return Err(AppError::Forbidden);
            }
            queries::delete_coding(conn, coding_id)?;
            audit::record(
                conn,
                &origin,
                "coding.deleted",
                "coding",
                Some(coding_id),
                json!({ "study_id": study_id, "answer_id": coding.answer_id }),
            )?;
            Ok(coding)
        })
        .await
}
