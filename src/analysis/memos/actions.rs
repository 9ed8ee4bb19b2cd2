//! What leads and analysts do with memos: read them all (each with what it is about), write one
//! about the study, a code, a coded passage or a participant, and change or remove their own (a
//! lead, anyone's).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::queries::{self, Memo};
use super::rules::{self, MemoChange, NewMemo, Subject};
use crate::analysis::codebook::actions::{self as codebook, Codebook, CODERS};
use crate::analysis::coding::queries::sent_responses;
use crate::analysis::coding::rules::pseudonym;
use crate::analysis::matrix::queries::{coded_rows, CodedRow};
use crate::audit::{self, Origin};
use crate::db::{Db, DbConnection};
use crate::error::AppError;
use crate::studies::access::StudyAccess;
use crate::studies::rules::StudyRole;
use crate::web::CurrentUser;

/// What a memo is about, in words: the code's name, the passage's quote and participant, the
/// participant's code.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct About {
    /// study, code, coding or response.
    pub subject: String,
    pub subject_id: Option<i64>,
    /// The code's name, the participant's code, or the study's title.
    pub label: String,
    /// The coded passage's words.
    pub quote: Option<String>,
    /// barrier, enabler, mixed or neutral, for a coded passage.
    pub valence: Option<String>,
    /// The participant a passage or response is from (their code, or R-<response id>).
    pub participant: Option<String>,
    /// The response a passage is from, or the response itself, to read it in context.
    pub response_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemoView {
    #[serde(flatten)]
    pub memo: Memo,
    pub about: About,
    /// Whether the reader may change or remove it (its author, or a lead).
    pub may_change: bool,
}

/// Which memos to read: all, those about one kind of subject, or about one thing.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(default)]
pub struct MemoQuery {
    /// study, code, coding or response.
    pub subject: String,
    pub subject_id: Option<i64>,
}

/// The subjects' descriptions, read in one go for a list of memos.
struct Lookup {
    title: String,
    codebook: Codebook,
    passages: HashMap<i64, CodedRow>,
    responses: HashMap<i64, Option<String>>,
}

impl Lookup {
    fn load(
        conn: &mut DbConnection,
        title: String,
        codebook: Codebook,
        study_id: i64,
        wanted: &[(Subject, Option<i64>)],
    ) -> Result<Lookup, AppError> {
        let ids = |kind: Subject| -> Vec<i64> {
            wanted
                .iter()
                .filter(|(s, _)| *s == kind)
                .filter_map(|(_, id)| *id)
                .collect()
        };
        let passages = coded_rows(conn, study_id, Some(&ids(Subject::Coding)))?
            .into_iter()
            .map(|p| (p.coding_id, p))
            .collect();
        let responses = sent_responses(conn, study_id, Some(&ids(Subject::Response)))?
            .into_iter()
            .map(|r| (r.response_id, r.participant_code))
            .collect();
        Ok(Lookup {
            title,
            codebook,
            passages,
            responses,
        })
    }

    fn code_name(&self, id: i64) -> Option<String> {
        let live = codebook::live_code(&self.codebook, id)?;
        Some(if live.id == id {
            live.name.clone()
        } else {
            let name = self.codebook.merged.iter().find(|c| c.id == id)?;
            format!("{} (merged into {})", name.name, live.name)
        })
    }

    /// What the subject is, or None when the study has no such thing (or only in a round).
    fn about(&self, subject: Subject, id: Option<i64>) -> Option<About> {
        let mut about = About {
            subject: subject.as_str().into(),
            subject_id: id,
            ..About::default()
        };
        match (subject, id) {
            (Subject::Study, _) => about.label.clone_from(&self.title),
            (Subject::Code, Some(id)) => about.label = self.code_name(id)?,
            (Subject::Coding, Some(id)) => {
                let passage = self.passages.get(&id)?;
                let participant =
                    pseudonym(passage.participant_code.as_deref(), passage.response_id);
                about.label = self.code_name(passage.code_id).unwrap_or_default();
                about.quote = Some(passage.quote.clone());
                about.valence = Some(passage.valence.clone());
                about.participant = Some(participant);
                about.response_id = Some(passage.response_id);
            }
            (Subject::Response, Some(id)) => {
                let code = self.responses.get(&id)?;
                about.label = pseudonym(code.as_deref(), id);
                about.participant = Some(about.label.clone());
                about.response_id = Some(id);
            }
            (_, None) => return None,
        }
        Some(about)
    }
}

/// What a memo was about when that is no longer there (a coding taken off): the memo stays.
fn gone(memo: &Memo) -> About {
    About {
        subject: memo.subject.clone(),
        subject_id: memo.subject_id,
        label: "no longer in the study".into(),
        ..About::default()
    }
}

fn is_lead(access: &StudyAccess) -> bool {
    access.me.roles.has(StudyRole::Lead)
}

/// The study's memos (all, or about one subject or thing), oldest first, each with what it is
/// about.
pub async fn list(
    db: &Db,
    user: &CurrentUser,
    study_id: i64,
    query: MemoQuery,
) -> Result<(StudyAccess, Vec<MemoView>), AppError> {
    let access = StudyAccess::with_role(db, user, study_id, CODERS).await?;
    let subject = match query.subject.trim() {
        "" => None,
        given => Some(Subject::parse(given).ok_or_else(|| {
            AppError::invalid(
                "subject",
                &format!("Memos are about {}", Subject::choices()),
            )
        })?),
    };
    let codebook = codebook::load_codebook(db, study_id).await?;
    let (title, lead, user_id) = (access.study.title.clone(), is_lead(&access), user.id);
    let views = db
        .read(move |conn| {
            let memos = queries::memos_of(conn, study_id, subject, query.subject_id)?;
            let wanted: Vec<(Subject, Option<i64>)> = memos
                .iter()
                .filter_map(|m| Some((Subject::parse(&m.subject)?, m.subject_id)))
                .collect();
            let lookup = Lookup::load(conn, title, codebook, study_id, &wanted)?;
            Ok::<_, AppError>(
                memos
                    .into_iter()
                    .map(|memo| MemoView {
                        about: Subject::parse(&memo.subject)
                            .and_then(|s| lookup.about(s, memo.subject_id))
                            .unwrap_or_else(|| gone(&memo)),
                        may_change: rules::may_change(memo.author_id, user_id, lead),
                        memo,
                    })
                    .collect(),
            )
        })
        .await?;
    Ok((access, views))
}

fn described(
    conn: &mut DbConnection,
    title: String,
    codebook: Codebook,
    study_id: i64,
    (subject, id): (Subject, Option<i64>),
) -> Result<About, AppError> {
    let lookup = Lookup::load(conn, title, codebook, study_id, &[(subject, id)])?;
    lookup.about(subject, id).ok_or_else(|| no_such(subject))
}

fn no_such(subject: Subject) -> AppError {
    AppError::invalid(
        "subject_id",
        &format!(
            "There is no {} with this number in the study",
            rules::noun(subject)
        ),
    )
}

/// What a new memo would be about, for the page that writes it: 404 when it is not the study's.
pub async fn about(
    db: &Db,
    user: &CurrentUser,
    study_id: i64,
    query: MemoQuery,
) -> Result<(StudyAccess, About), AppError> {
    let access = StudyAccess::with_role(db, user, study_id, CODERS).await?;
    let subject =
        rules::check_subject(&query.subject, query.subject_id).map_err(|_| AppError::NotFound)?;
    let codebook = codebook::load_codebook(db, study_id).await?;
    let title = access.study.title.clone();
    let about = db
        .read(move |conn| described(conn, title, codebook, study_id, subject))
        .await
        .map_err(|e| match e {
            AppError::Invalid(_) => AppError::NotFound,
            other => other,
        })?;
    Ok((access, about))
}

/// Writes a memo about the study or something of it.
pub async fn create(
    db: &Db,
    origin: &Origin,
    user: &CurrentUser,
    study_id: i64,
    memo: NewMemo,
) -> Result<Memo, AppError> {
    let access = StudyAccess::with_role(db, user, study_id, CODERS).await?;
    let (subject, subject_id, body) = rules::check(&memo).map_err(AppError::Invalid)?;
    let codebook = codebook::load_codebook(db, study_id).await?;
    let (origin, user_id, title) = (origin.clone(), user.id, access.study.title.clone());
    db.write(move |conn| {
        described(conn, title, codebook, study_id, (subject, subject_id))?;
        let id = queries::insert_memo(conn, study_id, (subject, subject_id), &body, user_id)?;
        audit::record(
            conn,
            &origin,
            "memo.created",
            "memo",
            Some(id),
            json!({ "study_id": study_id, "subject": subject.as_str(), "subject_id": subject_id }),
        )?;
        queries::memo(conn, study_id, id)?.ok_or(AppError::NotFound)
    })
    .await
}

/// A memo its reader may change (its author, or a lead): 404 when the study has none by that
/// number, 403 when it is someone else's.
pub async fn editable(
    db: &Db,
    user: &CurrentUser,
    study_id: i64,
    memo_id: i64,
) -> Result<(StudyAccess, MemoView), AppError> {
    let access = StudyAccess::with_role(db, user, study_id, CODERS).await?;
    let codebook = codebook::load_codebook(db, study_id).await?;
    let (title, lead, user_id) = (access.study.title.clone(), is_lead(&access), user.id);
    let view = db
        .read(move |conn| {
            let memo = queries::memo(conn, study_id, memo_id)?.ok_or(AppError::NotFound)?;
            if !rules::may_change(memo.author_id, user_id, lead) {
                return Err(AppError::Forbidden);
            }
            let subject = Subject::parse(&memo.subject).unwrap_or(Subject::Study);
            let wanted = [(subject, memo.subject_id)];
            let lookup = Lookup::load(conn, title, codebook, study_id, &wanted)?;
            Ok(MemoView {
                about: lookup
                    .about(subject, memo.subject_id)
                    .unwrap_or_else(|| gone(&memo)),
                may_change: true,
                memo,
            })
        })
        .await?;
    Ok((access, view))
}

/// Rewrites a memo (its author, or a lead).
pub async fn change(
    db: &Db,
    origin: &Origin,
    user: &CurrentUser,
    study_id: i64,
    memo_id: i64,
    change: MemoChange,
) -> Result<Memo, AppError> {
    let access = StudyAccess::with_role(db, user, study_id, CODERS).await?;
    let (origin, user_id, lead) = (origin.clone(), user.id, is_lead(&access));
    db.write(move |conn| {
        let memo = queries::memo(conn, study_id, memo_id)?.ok_or(AppError::NotFound)?;
        if !rules::may_change(memo.author_id, user_id, lead) {
            return Err(AppError::Forbidden);
        }
        let body = rules::check_body(&change.body).map_err(|m| AppError::invalid("body", &m))?;
        queries::update_memo(conn, memo_id, &body)?;
        audit::record(
            conn,
            &origin,
            "memo.changed",
            "memo",
            Some(memo_id),
            json!({ "study_id": study_id, "subject": memo.subject, "subject_id": memo.subject_id }),
        )?;
        queries::memo(conn, study_id, memo_id)?.ok_or(AppError::NotFound)
    })
    .await
}

/// Removes a memo (its author, or a lead).
pub async fn remove(
    db: &Db,
    origin: &Origin,
    user: &CurrentUser,
    study_id: i64,
    memo_id: i64,
) -> Result<Memo, AppError> {
    let access = StudyAccess::with_role(db, user, study_id, CODERS).await?;
    let (origin, user_id, lead) = (origin.clone(), user.id, is_lead(&access));
    db.write(move |conn| {
        let memo = queries::memo(conn, study_id, memo_id)?.ok_or(AppError::NotFound)?;
        if !rules::may_change(memo.author_id, user_id, lead) {
            return Err(AppError::Forbidden);
        }
        queries::delete_memo(conn, memo_id)?;
        audit::record(
            conn,
            &origin,
            "memo.deleted",
            "memo",
            Some(memo_id),
            json!({ "study_id": study_id, "subject": memo.subject, "subject_id": memo.subject_id }),
        )?;
        Ok(memo)
    })
    .await
}

/// Memos per code, coded passage and response (keys `code-5`, `coding-12`, `response-3`), for
/// pages whose readers are already let in. One query.
pub async fn counts(db: &Db, study_id: i64) -> Result<HashMap<String, i64>, AppError> {
    db.read(move |conn| queries::counts(conn, study_id).map_err(AppError::from))
        .await
}
