//! What leads and analysts do with belief statements: read them by code with their supporting
//! quotes, write one for a code from passages coded with it, change and remove them (the author, or
//! a lead). Merged codes are followed to the code they went into, for beliefs and passages alike.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::queries::{self, Belief};
use super::rules::{self, BeliefChange, NewBelief};
use crate::analysis::codebook::actions::{self as codebook, Codebook, CODERS};
use crate::analysis::codebook::queries::Code;
use crate::analysis::coding::rules::pseudonym;
use crate::analysis::matrix::queries::{coded_rows, CodedRow};
use crate::audit::{self, Origin};
use crate::db::{Db, DbConnection};
use crate::error::{AppError, FieldErrors};
use crate::studies::access::StudyAccess;
use crate::studies::rules::StudyRole;
use crate::web::CurrentUser;

/// A supporting passage, pseudonymised.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = BeliefQuote)]
pub struct Quote {
    pub coding_id: i64,
    pub quote: String,
    /// barrier, enabler, mixed or neutral.
    pub valence: String,
    /// answer or notes.
    pub field: String,
    /// The participant's code, or R-<response id> when the study keeps no link.
    pub participant: String,
    pub response_id: i64,
}

impl Quote {
    fn from_row(row: &CodedRow) -> Quote {
        Quote {
            coding_id: row.coding_id,
            quote: row.quote.clone(),
            valence: row.valence.clone(),
            field: row.field.clone(),
            participant: pseudonym(row.participant_code.as_deref(), row.response_id),
            response_id: row.response_id,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BeliefView {
    #[serde(flatten)]
    pub belief: Belief,
    pub passages: Vec<Quote>,
    /// Whether the reader may change or remove it (its author, or a lead).
    pub may_change: bool,
}

/// A code's belief statements.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CodeBeliefs {
    pub code_id: i64,
    pub code_name: String,
    pub colour: String,
    pub beliefs: Vec<BeliefView>,
}

fn live_id(codebook: &Codebook, code_id: i64) -> Option<i64> {
    codebook::live_code(codebook, code_id).map(|c| c.id)
}

fn is_lead(access: &StudyAccess) -> bool {
    access.me.roles.has(StudyRole::Lead)
}

/// The study's belief statements grouped by (live) code in codebook order, each with its quotes.
pub async fn list(
    db: &Db,
    user: &CurrentUser,
    study_id: i64,
) -> Result<(StudyAccess, Vec<CodeBeliefs>), AppError> {
    let access = StudyAccess::with_role(db, user, study_id, CODERS).await?;
    let codebook = codebook::load_codebook(db, study_id).await?;
    let (beliefs, links, rows) = db
        .read(move |conn| {
            let beliefs = queries::beliefs_of(conn, study_id)?;
            let links = queries::links(conn, study_id)?;
            let ids: Vec<i64> = links.iter().map(|(_, coding)| *coding).collect();
            let rows = coded_rows(conn, study_id, Some(&ids))?;
            Ok::<_, AppError>((beliefs, links, rows))
        })
        .await?;
    let (lead, user_id) = (is_lead(&access), user.id);
    let quotes: HashMap<i64, Quote> = rows
        .iter()
        .map(|row| (row.coding_id, Quote::from_row(row)))
        .collect();
    let mut by_code: HashMap<i64, Vec<BeliefView>> = HashMap::new();
    for belief in beliefs {
        let passages = rows
            .iter()
            .filter(|row| links.contains(&(belief.id, row.coding_id)))
            .filter_map(|row| quotes.get(&row.coding_id).cloned())
            .collect();
        let code = live_id(&codebook, belief.code_id).unwrap_or(belief.code_id);
        by_code.entry(code).or_default().push(BeliefView {
            may_change: rules_may_change(belief.created_by, user_id, lead),
            belief,
            passages,
        });
    }
    let grouped = codebook
        .codes
        .iter()
        .filter_map(|placed| {
            Some(CodeBeliefs {
                code_id: placed.code.id,
                code_name: placed.code.name.clone(),
                colour: placed.code.colour.clone(),
                beliefs: by_code.remove(&placed.code.id)?,
            })
        })
        .collect();
    Ok((access, grouped))
}

fn rules_may_change(author: i64, user: i64, is_lead: bool) -> bool {
    crate::analysis::memos::rules::may_change(author, user, is_lead)
}

/// A code and its passages in the study's coding, to choose supporting passages from.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CodePassages {
    pub code: Code,
    pub passages: Vec<Quote>,
}

fn code_passages(
    conn: &mut DbConnection,
    codebook: &Codebook,
    study_id: i64,
    code_id: i64,
) -> Result<CodePassages, AppError> {
    let code = codebook::live_code(codebook, code_id)
        .cloned()
        .ok_or(AppError::NotFound)?;
    let passages = coded_rows(conn, study_id, None)?
        .iter()
        .filter(|row| live_id(codebook, row.code_id) == Some(code.id))
        .map(Quote::from_row)
        .collect();
    Ok(CodePassages { code, passages })
}

/// The codebook and, when a code is chosen, that code and its passages (404 for no such code).
pub async fn form(
    db: &Db,
    user: &CurrentUser,
    study_id: i64,
    code_id: Option<i64>,
) -> Result<(StudyAccess, Codebook, Option<CodePassages>), AppError> {
    let (access, codebook) = codebook::open(db, user, study_id).await?;
    let chosen = match code_id {
        Some(code_id) => {
            let book = codebook.clone();
            Some(
                db.read(move |conn| code_passages(conn, &book, study_id, code_id))
                    .await?,
            )
        }
        None => None,
    };
    Ok((access, codebook, chosen))
}

/// Checks a statement and its passages for the live code `code`, errors beside the fields.
fn checked(
    conn: &mut DbConnection,
    codebook: &Codebook,
    study_id: i64,
    code: Option<i64>,
    statement: &str,
    coding_ids: &[i64],
) -> Result<(i64, String, Vec<i64>), AppError> {
    let mut errors = FieldErrors::new();
    if code.is_none() {
        errors.insert("code_id".into(), "Choose a code from the codebook".into());
    }
    let statement = rules::check_statement(statement)
        .map_err(|m| errors.insert("statement".into(), m))
        .ok();
    let known: Vec<(i64, Option<i64>)> = coded_rows(conn, study_id, Some(coding_ids))?
        .iter()
        .map(|row| (row.coding_id, live_id(codebook, row.code_id)))
        .collect();
    let kept = code.and_then(|code| {
        rules::check_passages(code, coding_ids, &known)
            .map_err(|m| errors.insert("coding_ids".into(), m))
            .ok()
    });
    match (code, statement, kept) {
        (Some(code), Some(statement), Some(kept)) if errors.is_empty() => {
            Ok((code, statement, kept))
        }
        _ => Err(AppError::Invalid(errors)),
    }
}

fn view(
    conn: &mut DbConnection,
    study_id: i64,
    belief: Belief,
    kept: &[i64],
) -> Result<BeliefView, AppError> {
    let passages = coded_rows(conn, study_id, Some(kept))?
        .iter()
        .map(Quote::from_row)
        .collect();
    Ok(BeliefView {
        belief,
        passages,
        may_change: true,
    })
}

/// Writes a belief statement about a code, linked to passages coded with it.
pub async fn create(
    db: &Db,
    origin: &Origin,
    user: &CurrentUser,
    study_id: i64,
    new: NewBelief,
) -> Result<BeliefView, AppError> {
    let (_, codebook) = codebook::open(db, user, study_id).await?;
    let (origin, user_id) = (origin.clone(), user.id);
    db.write(move |conn| {
        let code = live_id(&codebook, new.code_id);
        let (code, statement, kept) = checked(
            conn,
            &codebook,
            study_id,
            code,
            &new.statement,
            &new.coding_ids,
        )?;
        let id = queries::insert_belief(conn, study_id, code, &statement, user_id)?;
        queries::set_passages(conn, id, &kept)?;
        audit::record(
            conn,
            &origin,
            "belief.created",
            "belief",
            Some(id),
            json!({ "study_id": study_id, "code_id": code, "codings": kept }),
        )?;
        let belief = queries::belief(conn, study_id, id)?.ok_or(AppError::NotFound)?;
        view(conn, study_id, belief, &kept)
    })
    .await
}

/// A belief its reader may change, with its code's passages to choose from: 404 when the study
/// has none by that number, 403 when it is someone else's and the reader is not a lead.
pub async fn editable(
    db: &Db,
    user: &CurrentUser,
    study_id: i64,
    belief_id: i64,
) -> Result<(StudyAccess, BeliefView, CodePassages), AppError> {
    let (access, codebook) = codebook::open(db, user, study_id).await?;
    let (lead, user_id) = (is_lead(&access), user.id);
    let (belief, choices) = db
        .read(move |conn| {
            let belief = queries::belief(conn, study_id, belief_id)?.ok_or(AppError::NotFound)?;
            if !rules_may_change(belief.created_by, user_id, lead) {
                return Err(AppError::Forbidden);
            }
            let linked: Vec<i64> = queries::links(conn, study_id)?
                .into_iter()
                .filter(|(b, _)| *b == belief_id)
                .map(|(_, coding)| coding)
                .collect();
            let choices = code_passages(conn, &codebook, study_id, belief.code_id)?;
            Ok((view(conn, study_id, belief, &linked)?, choices))
        })
        .await?;
    Ok((access, belief, choices))
}

/// Rewrites a belief statement and its supporting passages (its author, or a lead).
pub async fn change(
    db: &Db,
    origin: &Origin,
    user: &CurrentUser,
    study_id: i64,
    belief_id: i64,
    change: BeliefChange,
) -> Result<BeliefView, AppError> {
    let (access, codebook) = codebook::open(db, user, study_id).await?;
    let (origin, user_id, lead) = (origin.clone(), user.id, is_lead(&access));
    db.write(move |conn| {
        let belief = queries::belief(conn, study_id, belief_id)?.ok_or(AppError::NotFound)?;
        if !rules_may_change(belief.created_by, user_id, lead) {
            return Err(AppError::Forbidden);
        }
        let code = live_id(&codebook, belief.code_id);
        let (_, statement, kept) = checked(
            conn,
            &codebook,
            study_id,
            code,
            &change.statement,
            &change.coding_ids,
        )?;
        queries::update_belief(conn, belief_id, &statement)?;
        queries::set_passages(conn, belief_id, &kept)?;
        audit::record(
            conn,
            &origin,
            "belief.changed",
            "belief",
            Some(belief_id),
            json!({ "study_id": study_id, "codings": kept }),
        )?;
        let belief = queries::belief(conn, study_id, belief_id)?.ok_or(AppError::NotFound)?;
        view(conn, study_id, belief, &kept)
    })
    .await
}

/// Removes a belief statement (its author, or a lead); the passages stay coded.
pub async fn remove(
    db: &Db,
    origin: &Origin,
    user: &CurrentUser,
    study_id: i64,
    belief_id: i64,
) -> Result<Belief, AppError> {
    let access = StudyAccess::with_role(db, user, study_id, CODERS).await?;
    let (origin, user_id, lead) = (origin.clone(), user.id, is_lead(&access));
    db.write(move |conn| {
        let belief = queries::belief(conn, study_id, belief_id)?.ok_or(AppError::NotFound)?;
        if !rules_may_change(belief.created_by, user_id, lead) {
            return Err(AppError::Forbidden);
        }
        queries::delete_belief(conn, belief_id)?;
        audit::record(
            conn,
            &origin,
            "belief.deleted",
            "belief",
            Some(belief_id),
            json!({ "study_id": study_id, "code_id": belief.code_id }),
        )?;
        Ok(belief)
    })
    .await
}
