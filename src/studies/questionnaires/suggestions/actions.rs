//! What suggestions do, for pages and the JSON API alike. A suggestion is checked with the same rules as
//! the edit it proposes and changes nothing; accepting it is that edit, saved through `save_question_in` /
//! `save_section_in` (the same checks, lock_version and revision), in one transaction with closing the
//! suggestion and its audit event. A proposal made before a later save is never applied silently: the
//! save is refused as stale until someone confirms it against the current version.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::queries::{self, NewSuggestion, Suggestion};
use super::rules::{self, Status};
use crate::audit::{self, Origin};
use crate::db::{Db, DbConnection};
use crate::error::AppError;
use crate::studies::access::StudyAccess;
use crate::studies::questionnaires::actions::{
    check_question_at, save_question_in, save_section_in, Saved,
};
use crate::studies::questionnaires::history::actions::{Reader, Target};
use crate::studies::questionnaires::history::rules::{
    changes, question_snapshot, snapshot, Action, Field, FieldChange, ObjectType,
};
use crate::studies::questionnaires::queries::{
    self as questionnaire_queries, Question, Questionnaire, Section,
};
use crate::studies::questionnaires::rules::{check_section_input, QuestionInput, SectionInput};

/// A suggestion as people and the API read it: who, when, why, the proposal and what it would change.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SuggestionView {
    pub id: i64,
    /// "question" or "section".
    pub object_type: String,
    pub object_id: i64,
    pub author_user_id: i64,
    pub author_name: String,
    #[serde(with = "crate::db::utc")]
    pub created_at: NaiveDateTime,
    /// Why the suggester proposes it; may be empty.
    pub reason: String,
    /// open, accepted, rejected or withdrawn.
    pub status: String,
    /// The version of the question or section the suggestion was made against.
    pub based_on_lock_version: i32,
    /// True when the question or section has been saved since the suggestion was made.
    pub outdated: bool,
    pub decided_by: Option<i64>,
    #[serde(with = "crate::db::utc::option")]
    pub decided_at: Option<NaiveDateTime>,
    pub decision_note: String,
    /// The full proposed content, in the shape of an edit.
    #[schema(value_type = Object)]
    pub proposed: serde_json::Value,
    /// The fields the proposal changes in the current version, word by word.
    pub changes: Vec<FieldChange>,
}

/// A lead's or author's decision: an optional note and, to accept a suggestion made before a later
/// change, the current version being confirmed.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct Decision {
    /// Optional, up to 1,000 characters; an accepted suggestion's note is kept in the history.
    pub note: String,
    /// Accept against this version of the question or section. Left out, the version the suggestion was
    /// made against: if someone has saved since, nothing changes and the current version comes back.
    pub lock_version: Option<i32>,
}

/// A suggestion with the question or section it is about, and what the person asking may do with it.
pub struct Loaded {
    pub suggestion: Suggestion,
    pub target: Target,
    pub questionnaire: Questionnaire,
    pub may_decide: bool,
    pub may_withdraw: bool,
}

fn describe(
    reader: &Reader,
    current: &[Field],
    lock_version: i32,
    s: Suggestion,
) -> SuggestionView {
    let proposed = reader.fields(Some(&s.proposed));
    SuggestionView {
        changes: changes(Some(current), proposed.as_deref()),
        proposed: serde_json::from_str(&s.proposed).unwrap_or_default(),
        outdated: s.based_on_lock_version != lock_version,
        id: s.id,
        object_type: s.object_type,
        object_id: s.object_id,
        author_user_id: s.author_user_id,
        author_name: s.author_name,
        created_at: s.created_at,
        reason: s.reason,
        status: s.status,
        based_on_lock_version: s.based_on_lock_version,
        decided_by: s.decided_by,
        decided_at: s.decided_at,
        decision_note: s.decision_note,
    }
}

/// Every suggestion on a question or section, newest first, each against the current version, and the
/// object's author: a fixed number of queries however many there are.
pub async fn list(
    db: &Db,
    target: &Target,
) -> Result<(Vec<SuggestionView>, Option<i64>), AppError> {
    let target = target.clone();
    db.read(move |conn| {
        let reader = Reader::new(conn, target.object())?;
        let current = reader.current(&target);
        let rows = queries::list(
            conn,
            target.questionnaire_id(),
            target.object(),
            target.id(),
        )?;
        let author = queries::object_author(
            conn,
            target.questionnaire_id(),
            target.object(),
            target.id(),
        )?;
        let views = rows
            .into_iter()
            .map(|s| describe(&reader, &current, target.lock_version(), s))
            .collect();
        Ok((views, author))
    })
    .await
}

/// One suggestion against the current version of its object.
pub async fn view(db: &Db, loaded: Loaded) -> Result<SuggestionView, AppError> {
    db.read(move |conn| {
        let reader = Reader::new(conn, loaded.target.object())?;
        let current = reader.current(&loaded.target);
        Ok(describe(
            &reader,
            &current,
            loaded.target.lock_version(),
            loaded.suggestion,
        ))
    })
    .await
}

fn target_of(
    conn: &mut DbConnection,
    study_id: i64,
    suggestion: &Suggestion,
) -> Result<(Target, Questionnaire), AppError> {
    let found = match ObjectType::parse(&suggestion.object_type) {
        Some(ObjectType::Question) => {
            questionnaire_queries::find_question(conn, study_id, suggestion.object_id)?
                .map(|(q, questionnaire)| (Target::Question(Box::new(q)), questionnaire))
        }
        Some(ObjectType::Section) => {
            questionnaire_queries::find_section(conn, study_id, suggestion.object_id)?
                .map(|(s, questionnaire)| (Target::Section(s), questionnaire))
        }
        None => None,
    };
    found.ok_or(AppError::NotFound)
}

/// Loads a suggestion of the study for a member (the caller has opened the study: non-members never
/// get here).
pub async fn load(db: &Db, access: &StudyAccess, suggestion_id: i64) -> Result<Loaded, AppError> {
    let (study_id, me, roles) = (access.study.id, access.me.user_id, access.me.roles);
    db.read(move |conn| {
        let suggestion = queries::find(conn, study_id, suggestion_id)?.ok_or(AppError::NotFound)?;
        let (target, questionnaire) = target_of(conn, study_id, &suggestion)?;
        let author = queries::object_author(
            conn,
            target.questionnaire_id(),
            target.object(),
            target.id(),
        )?;
        Ok(Loaded {
            may_decide: rules::may_decide(&roles, author == Some(me)),
            may_withdraw: suggestion.author_user_id == me,
            suggestion,
            target,
            questionnaire,
        })
    })
    .await
}

fn record_made(
    conn: &mut DbConnection,
    origin: &Origin,
    id: i64,
    new: &NewSuggestion,
) -> Result<(), AppError> {
    audit::record(
        conn,
        origin,
        "suggestion_made",
        "suggestion",
        Some(id),
        json!({ "object_type": new.object.as_str(), "object_id": new.object_id,
                "questionnaire_id": new.questionnaire_id }),
    )?;
    Ok(())
}

/// Proposes new content for a question: checked like the edit (422 beside the fields), nothing changed.
pub async fn suggest_question(
    db: &Db,
    origin: &Origin,
    author_user_id: i64,
    question: &Question,
    input: &QuestionInput,
) -> Result<i64, AppError> {
    let (question, input, origin) = (question.clone(), input.clone(), origin.clone());
    db.write(move |conn| {
        let tree = questionnaire_queries::tree(conn, question.questionnaire_id)?;
        let content = check_question_at(conn, &tree, &question, &input)?;
        let proposed = question_snapshot(&content);
        let new = NewSuggestion {
            questionnaire_id: question.questionnaire_id,
            object: ObjectType::Question,
            object_id: question.id,
            author_user_id,
            proposed: &proposed,
            reason: &content.input.reason,
            based_on_lock_version: input.lock_version.unwrap_or(question.lock_version),
        };
        let id = queries::insert(conn, &new)?;
        record_made(conn, &origin, id, &new)?;
        Ok(id)
    })
    .await
}

/// Proposes a new title and introduction for a section; `lock_version` is the version it started from.
pub async fn suggest_section(
    db: &Db,
    origin: &Origin,
    author_user_id: i64,
    section: &Section,
    lock_version: i32,
    input: &SectionInput,
) -> Result<i64, AppError> {
    let input = check_section_input(input).map_err(AppError::Invalid)?;
    let (section, origin) = (section.clone(), origin.clone());
    db.write(move |conn| {
        let proposed = snapshot(&input);
        let new = NewSuggestion {
            questionnaire_id: section.questionnaire_id,
            object: ObjectType::Section,
            object_id: section.id,
            author_user_id,
            proposed: &proposed,
            reason: &input.reason,
            based_on_lock_version: lock_version,
        };
        let id = queries::insert(conn, &new)?;
        record_made(conn, &origin, id, &new)?;
        Ok(id)
    })
    .await
}

const NO_LONGER_OPEN: &str = "This suggestion has already been decided or withdrawn.";

fn still_open(suggestion: &Suggestion) -> Result<(), AppError> {
    if suggestion.status == Status::Open.as_str() {
        Ok(())
    } else {
        Err(AppError::invalid("suggestion", NO_LONGER_OPEN))
    }
}

fn check_note(note: &str) -> Result<(), AppError> {
    match rules::note_error(note) {
        Some(message) => Err(AppError::invalid("note", &message)),
        None => Ok(()),
    }
}

fn close(
    conn: &mut DbConnection,
    origin: &Origin,
    suggestion: &Suggestion,
    status: Status,
    note: &str,
) -> Result<(), AppError> {
    let by = origin.user_id.ok_or(AppError::Forbidden)?;
    if !queries::decide(conn, suggestion.id, status, by, note)? {
        // Someone decided first; returning an error rolls back anything this transaction changed.
        return Err(AppError::invalid("suggestion", NO_LONGER_OPEN));
    }
    audit::record(
        conn,
        origin,
        &format!("suggestion_{}", status.as_str()),
        "suggestion",
        Some(suggestion.id),
        json!({ "object_type": suggestion.object_type, "object_id": suggestion.object_id,
                "note": note.trim() }),
    )?;
    Ok(())
}

/// Applies a suggestion as an edit (a lead or the object's author). Stale (nothing written) when the
/// object was saved since the version being accepted against; 422 when the proposal breaks a rule now.
pub async fn accept(
    db: &Db,
    origin: &Origin,
    loaded: &Loaded,
    decision: &Decision,
) -> Result<Saved<Target>, AppError> {
    if !loaded.may_decide {
        return Err(AppError::Forbidden);
    }
    // Before the save: a decided suggestion is never applied, and never reported as a conflict.
    still_open(&loaded.suggestion)?;
    check_note(&decision.note)?;
    let suggestion = loaded.suggestion.clone();
    let reason =
        rules::accepted_reason(&suggestion.author_name, &suggestion.reason, &decision.note);
    let lock_version = decision
        .lock_version
        .unwrap_or(suggestion.based_on_lock_version);
    let (target, origin, note) = (loaded.target.clone(), origin.clone(), decision.note.clone());
    db.write(move |conn| {
        let saved = match &target {
            Target::Question(question) => {
                let proposed: QuestionInput =
                    serde_json::from_str(&suggestion.proposed).map_err(AppError::internal)?;
                let input = QuestionInput {
                    lock_version: Some(lock_version),
                    reason,
                    ..proposed
                };
                match save_question_in(conn, &origin, question, &input, Action::Changed)? {
                    Saved::Done => Saved::Done,
                    Saved::Stale(current) => Saved::Stale(Target::Question(Box::new(current))),
                }
            }
            Target::Section(section) => {
                let proposed: SectionInput =
                    serde_json::from_str(&suggestion.proposed).map_err(AppError::internal)?;
                let input = SectionInput { reason, ..proposed };
                match save_section_in(
                    conn,
                    &origin,
                    section,
                    lock_version,
                    &input,
                    Action::Changed,
                )? {
                    Saved::Done => Saved::Done,
                    Saved::Stale(current) => Saved::Stale(Target::Section(current)),
                }
            }
        };
        if let Saved::Done = saved {
            close(conn, &origin, &suggestion, Status::Accepted, &note)?;
        }
        Ok(saved)
    })
    .await
}

/// Declines a suggestion (a lead or the object's author); the question or section is untouched.
pub async fn reject(db: &Db, origin: &Origin, loaded: &Loaded, note: &str) -> Result<(), AppError> {
    if !loaded.may_decide {
        return Err(AppError::Forbidden);
    }
    check_note(note)?;
    let (suggestion, origin, note) = (loaded.suggestion.clone(), origin.clone(), note.to_string());
    db.write(move |conn| close(conn, &origin, &suggestion, Status::Rejected, &note))
        .await
}

/// Takes back one's own suggestion.
pub async fn withdraw(db: &Db, origin: &Origin, loaded: &Loaded) -> Result<(), AppError> {
    if !loaded.may_withdraw {
        return Err(AppError::Forbidden);
    }
    let (suggestion, origin) = (loaded.suggestion.clone(), origin.clone());
    db.write(move |conn| close(conn, &origin, &suggestion, Status::Withdrawn, ""))
        .await
}
