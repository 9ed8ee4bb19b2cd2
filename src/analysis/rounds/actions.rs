//! What leads and coders do with double-coding rounds: start one over the sent answers to some
//! questions, code blind, compare (agreement per code and overall, disagreements side by side) and
//! record a consensus, which copies the passages kept into the study's coding.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::queries::{self, Consensus, Decision, NewRound, Round};
use crate::analysis::agreement::{self, Agreement, Coder, Span, Unit};
use crate::analysis::codebook::actions::{self as codebook, CODERS};
use crate::analysis::coding::actions::{codable_texts, questions_of, QuestionInfo};
use crate::analysis::coding::queries::{self as coding, Coding, Scope, SourceRow, View};
use crate::analysis::coding::rules::{pseudonym, Field, Passage, Valence};
use crate::audit::{self, Origin};
use crate::db::Db;
use crate::error::{AppError, FieldErrors};
use crate::state::AppState;
use crate::studies::access::StudyAccess;
use crate::studies::queries::members;
use crate::studies::rules::StudyRole;
use crate::studies::versions::cache::Snapshots;
use crate::web::CurrentUser;

const LEAD: &[StudyRole] = &[StudyRole::Lead];

/// A round as a lead starts it.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct RoundForm {
    pub name: String,
    /// character (default) or answer.
    pub unit: String,
    pub first_coder_id: Option<i64>,
    pub second_coder_id: Option<i64>,
    /// The round codes every sent answer with text to these questions.
    pub question_ids: Vec<i64>,
}

fn unit_of(text: &str) -> Option<Unit> {
    match text {
        "" | "character" => Some(Unit::Character),
        "answer" => Some(Unit::Source),
        _ => None,
    }
}

fn unit_name(unit: Unit) -> &'static str {
    match unit {
        Unit::Character => "character",
        Unit::Source => "answer",
    }
}

pub async fn create(
    db: &Db,
    origin: &Origin,
    user: &CurrentUser,
    study_id: i64,
    form: RoundForm,
) -> Result<Round, AppError> {
    StudyAccess::with_role(db, user, study_id, LEAD).await?;
    let (origin, user_id) = (origin.clone(), user.id);
    db.write(move |conn| {
        let coders: Vec<i64> = members(conn, study_id)?
            .into_iter()
            .filter(|m| m.roles.lead || m.roles.analyst)
            .map(|m| m.user_id)
            .collect();
        let mut errors = FieldErrors::new();
        let name = form.name.trim();
        if name.is_empty() || name.chars().count() > 120 {
            errors.insert(
                "name".into(),
                "Give the round a name of up to 120 characters".into(),
            );
        }
        let unit = unit_of(&form.unit);
        if unit.is_none() {
            errors.insert("unit".into(), "Choose characters or whole answers".into());
        }
        for (field, coder) in [
            ("first_coder_id", form.first_coder_id),
            ("second_coder_id", form.second_coder_id),
        ] {
            if !coder.is_some_and(|c| coders.contains(&c)) {
                errors.insert(field.into(), "Choose a lead or analyst of the study".into());
            }
        }
        if form.first_coder_id.is_some() && form.first_coder_id == form.second_coder_id {
            errors.insert(
                "second_coder_id".into(),
                "Choose two different people".into(),
            );
        }
        let mut answer_ids = Vec::new();
        for &question in &form.question_ids {
            let (rows, _) =
                coding::sources(conn, study_id, Scope::Question(question), 0, i64::MAX)?;
            answer_ids.extend(rows.into_iter().map(|r| r.answer_id));
        }
        answer_ids.sort_unstable();
        answer_ids.dedup();
        if answer_ids.is_empty() {
            errors.insert(
                "question_ids".into(),
                "Choose questions that have sent answers or interview notes".into(),
            );
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let new = NewRound {
            name,
            unit: unit.map(unit_name).unwrap_or("character"),
            first_coder_id: form.first_coder_id.unwrap_or_default(),
            second_coder_id: form.second_coder_id.unwrap_or_default(),
        };
        let id = queries::insert_round(conn, study_id, &new, &answer_ids, user_id)?;
        audit::record(
            conn,
            &origin,
            "round.created",
            "coding_round",
            Some(id),
            json!({ "study_id": study_id, "sources": answer_ids.len() }),
        )?;
        queries::round(conn, study_id, id)?.ok_or(AppError::NotFound)
    })
    .await
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RoundSummary {
    #[serde(flatten)]
    pub round: Round,
    pub first_coder: String,
    pub second_coder: String,
    /// Whether the reader is one of its coders.
    pub mine: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CoderChoice {
    pub user_id: i64,
    pub name: String,
}

/// The rounds the reader may see: every round for leads, their own for analysts; and who may code.
pub async fn list(
    db: &Db,
    user: &CurrentUser,
    study_id: i64,
) -> Result<(StudyAccess, Vec<RoundSummary>, Vec<CoderChoice>), AppError> {
    let access = StudyAccess::with_role(db, user, study_id, CODERS).await?;
    let (is_lead, user_id) = (access.me.roles.lead, user.id);
    let (rounds, people) = db
        .read(move |conn| {
            Ok::<_, AppError>((
                queries::rounds_of(conn, study_id)?,
                members(conn, study_id)?,
            ))
        })
        .await?;
    let name = |id: i64| {
        people
            .iter()
            .find(|m| m.user_id == id)
            .map(|m| m.display_name.clone())
            .unwrap_or_default()
    };
    let summaries = rounds
        .into_iter()
        .filter(|r| is_lead || r.is_coder(user_id))
        .map(|round| RoundSummary {
            first_coder: name(round.first_coder_id),
            second_coder: name(round.second_coder_id),
            mine: round.is_coder(user_id),
            round,
        })
        .collect();
    let coders = people
        .iter()
        .filter(|m| m.roles.lead || m.roles.analyst)
        .map(|m| CoderChoice {
            user_id: m.user_id,
            name: m.display_name.clone(),
        })
        .collect();
    Ok((access, summaries, coders))
}

/// A round its coder is about to code in; anyone else is refused.
pub async fn as_coder(
    db: &Db,
    user: &CurrentUser,
    study_id: i64,
    round_id: i64,
) -> Result<Round, AppError> {
    StudyAccess::with_role(db, user, study_id, CODERS).await?;
    let round = db
        .read(move |conn| queries::round(conn, study_id, round_id).map_err(AppError::from))
        .await?
        .ok_or(AppError::NotFound)?;
    if round.is_coder(user.id) {
        Ok(round)
    } else {
        Err(AppError::Forbidden)
    }
}

/// A passage as one coder coded it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Coded {
    pub start: usize,
    pub end: usize,
    pub quote: String,
    pub valence: String,
}

/// A stretch one coder coded and the other did not.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Difference {
    pub start: usize,
    pub end: usize,
    pub coder: Coder,
    pub text: String,
}

/// Where two coders differ on one code in one text, side by side.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Disagreement {
    pub answer_id: i64,
    /// answer or notes.
    pub field: String,
    pub participant: String,
    pub question: Option<QuestionInfo>,
    pub code_id: i64,
    pub code_name: String,
    pub first: Vec<Coded>,
    pub second: Vec<Coded>,
    pub differences: Vec<Difference>,
    /// The lead's decision, once recorded.
    pub consensus: Option<Consensus>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CodeFigures {
    pub code_id: i64,
    pub code_name: String,
    pub agreement: Agreement,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgreementReport {
    pub round: RoundSummary,
    pub sources: usize,
    pub codes: Vec<CodeFigures>,
    /// Pooled over every code.
    pub overall: Agreement,
    pub disagreements: Vec<Disagreement>,
}

/// A text of a source as agreement counts it: each answer's codable texts are separate sources.
fn source_key(answer_id: i64, field: &str) -> i64 {
    answer_id * 2 + i64::from(field == Field::Notes.as_str())
}

/// The lead's comparison of the two coders' work.
pub async fn agreement_report(
    state: &AppState,
    user: &CurrentUser,
    study_id: i64,
    round_id: i64,
) -> Result<(StudyAccess, AgreementReport), AppError> {
    let access = StudyAccess::with_role(&state.db, user, study_id, LEAD).await?;
    let report = compare(state, user, study_id, round_id).await?;
    Ok((access, report))
}

/// The comparison itself, for readers already let in (leads, and the learning report's methods).
pub async fn compare(
    state: &AppState,
    user: &CurrentUser,
    study_id: i64,
    round_id: i64,
) -> Result<AgreementReport, AppError> {
    let codebook = codebook::load_codebook(&state.db, study_id).await?;
    let snapshots = state.caches.get::<Snapshots>();
    let (round, rows, codings, consensus, questions) = state
        .db
        .read(move |conn| {
            let round = queries::round(conn, study_id, round_id)?.ok_or(AppError::NotFound)?;
            let (rows, _) = coding::sources(conn, study_id, Scope::Round(round_id), 0, i64::MAX)?;
            let ids: Vec<i64> = rows.iter().map(|r| r.answer_id).collect();
            let view = View::Round {
                round_id,
                coder: None,
            };
            let codings = coding::codings_of_answers(conn, &ids, view)?;
            let consensus = queries::consensus_of(conn, round_id)?;
            let questions = questions_of(conn, &snapshots, study_id)?;
            Ok::<_, AppError>((round, rows, codings, consensus, questions))
        })
        .await?;
    let (_, rounds, _) = list(&state.db, user, study_id).await?;
    let summary = rounds
        .into_iter()
        .find(|r| r.round.id == round.id)
        .ok_or(AppError::NotFound)?;
    let unit = unit_of(&round.unit).unwrap_or(Unit::Character);
    let question_of: HashMap<i64, &QuestionInfo> = questions.iter().map(|q| (q.id, q)).collect();
    let mut lengths = Vec::new();
    let mut text_of: HashMap<i64, (&SourceRow, &str, &str)> = HashMap::new();
    for row in &rows {
        for (field, text) in codable_texts(row, question_of.get(&row.question_id).copied()) {
            let key = source_key(row.answer_id, field.as_str());
            lengths.push((key, text.chars().count()));
            text_of.insert(key, (row, field.as_str(), text));
        }
    }
    let code_name = |id: i64| {
        codebook::live_code(&codebook, id)
            .map(|c| c.name.clone())
            .unwrap_or_default()
    };
    let live = |c: &Coding| codebook::live_code(&codebook, c.code_id).map(|code| code.id);
    let spans_of = |coder: i64| -> Vec<(i64, Span)> {
        codings
            .iter()
            .filter(|c| c.coder_id == coder)
            .filter_map(|c| {
                let key = source_key(c.answer_id, &c.field);
                text_of.contains_key(&key).then_some(())?;
                Some((
                    live(c)?,
                    Span {
                        source: key,
                        start: c.start_char as usize,
                        end: c.end_char as usize,
                    },
                ))
            })
            .collect()
    };
    let (first, second) = (
        spans_of(round.first_coder_id),
        spans_of(round.second_coder_id),
    );
    let report = agreement::per_code(unit, &lengths, &first, &second);
    let mut by_code: BTreeMap<i64, (Vec<Span>, Vec<Span>)> = BTreeMap::new();
    for &(code, span) in &first {
        by_code.entry(code).or_default().0.push(span);
    }
    for &(code, span) in &second {
        by_code.entry(code).or_default().1.push(span);
    }
    let coded_by = |coder: i64, answer_id: i64, field: &str, code: i64| -> Vec<Coded> {
        codings
            .iter()
            .filter(|c| {
                c.coder_id == coder
                    && c.answer_id == answer_id
                    && c.field == field
                    && live(c) == Some(code)
            })
            .map(|c| Coded {
                start: c.start_char as usize,
                end: c.end_char as usize,
                quote: c.quote.clone(),
                valence: c.valence.clone(),
            })
            .collect()
    };
    let mut disagreements = Vec::new();
    for (&code, (a, b)) in &by_code {
        let mut per_source: BTreeMap<i64, Vec<Difference>> = BTreeMap::new();
        for d in agreement::disagreements(unit, &lengths, a, b) {
            let text = text_of.get(&d.source).map_or("", |t| t.2);
            per_source.entry(d.source).or_default().push(Difference {
                start: d.start,
                end: d.end,
                coder: d.coder,
                text: agreement::slice_chars(text, d.start, d.end)
                    .unwrap_or_default()
                    .to_string(),
            });
        }
        for (key, differences) in per_source {
            let Some(&(row, field, _)) = text_of.get(&key) else {
                continue;
            };
            disagreements.push(Disagreement {
                answer_id: row.answer_id,
                field: field.to_string(),
                participant: pseudonym(row.participant_code.as_deref(), row.response_id),
                question: question_of.get(&row.question_id).map(|q| (*q).clone()),
                code_id: code,
                code_name: code_name(code),
                first: coded_by(round.first_coder_id, row.answer_id, field, code),
                second: coded_by(round.second_coder_id, row.answer_id, field, code),
                differences,
                consensus: consensus
                    .iter()
                    .find(|c| c.answer_id == row.answer_id && c.field == field && c.code_id == code)
                    .cloned(),
            });
        }
    }
    Ok(AgreementReport {
        round: summary,
        sources: rows.len(),
        codes: report
            .codes
            .iter()
            .map(|c| CodeFigures {
                code_id: c.code,
                code_name: code_name(c.code),
                agreement: c.agreement,
            })
            .collect(),
        overall: report.overall,
        disagreements,
    })
}

/// A lead's decision on one disagreement.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct ConsensusForm {
    pub answer_id: i64,
    /// answer or notes.
    pub field: String,
    pub code_id: i64,
    /// first, second, both or neither.
    pub decision: String,
    pub note: String,
}

const DECISIONS: &[&str] = &["first", "second", "both", "neither"];

/// Records the lead's decision and copies the passages kept into the study's coding, under the
/// coder who coded them. A decision is final.
pub async fn decide(
    db: &Db,
    origin: &Origin,
    user: &CurrentUser,
    study_id: i64,
    round_id: i64,
    form: ConsensusForm,
) -> Result<(), AppError> {
    StudyAccess::with_role(db, user, study_id, LEAD).await?;
    let codebook = codebook::load_codebook(db, study_id).await?;
    if !DECISIONS.contains(&form.decision.as_str()) {
        return Err(AppError::invalid(
            "decision",
            "Choose whose passages to keep: the first coder's, the second's, both or neither",
        ));
    }
    if form.note.chars().count() > 2_000 {
        return Err(AppError::invalid(
            "note",
            "Keep the note to 2,000 characters or fewer",
        ));
    }
    let field = Field::parse(&form.field)
        .ok_or_else(|| AppError::invalid("field", "Name the text: answer or notes"))?;
    let (origin, user_id) = (origin.clone(), user.id);
    db.write(move |conn| {
        let round = queries::round(conn, study_id, round_id)?.ok_or(AppError::NotFound)?;
        let view = View::Round {
            round_id,
            coder: None,
        };
        let codings = coding::codings_of_answers(conn, &[form.answer_id], view)?;
        let decided = queries::consensus_of(conn, round_id)?.into_iter().any(|c| {
            c.answer_id == form.answer_id && c.field == field.as_str() && c.code_id == form.code_id
        });
        if decided {
            return Err(AppError::invalid(
                "decision",
                "A consensus is already recorded for this code in this text",
            ));
        }
        let kept: Vec<&Coding> = codings
            .iter()
            .filter(|c| {
                c.field == field.as_str()
                    && codebook::live_code(&codebook, c.code_id).map(|code| code.id)
                        == Some(form.code_id)
            })
            .filter(|c| match form.decision.as_str() {
                "first" => c.coder_id == round.first_coder_id,
                "second" => c.coder_id == round.second_coder_id,
                "both" => true,
                _ => false,
            })
            .collect();
        if codings.iter().all(|c| c.field != field.as_str()) {
            return Err(AppError::invalid(
                "answer_id",
                "Neither coder coded this text in the round",
            ));
        }
        for coded in &kept {
            let passage = Passage {
                field,
                start: coded.start_char as usize,
                end: coded.end_char as usize,
                quote: coded.quote.clone(),
                valence: Valence::parse(&coded.valence).unwrap_or(Valence::Neutral),
            };
            coding::insert_coding(
                conn,
                study_id,
                form.answer_id,
                &passage,
                form.code_id,
                coded.coder_id,
                None,
            )?;
        }
        let decision = Decision {
            answer_id: form.answer_id,
            field: field.as_str(),
            code_id: form.code_id,
            decision: &form.decision,
            note: form.note.trim(),
        };
        queries::insert_consensus(conn, round_id, &decision, user_id)?;
        audit::record(
            conn,
            &origin,
            "round.consensus",
            "coding_round",
            Some(round_id),
            json!({ "answer_id": form.answer_id, "code_id": form.code_id,
                    "decision": form.decision, "passages_kept": kept.len() }),
        )
        .map_err(AppError::from)
    })
    .await
}
