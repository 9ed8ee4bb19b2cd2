//! What analysts do with a codebook: open it (seeded with the COM-B sub-components the first time),
//! add, change, move and merge codes. Every change is a numbered version with before and after.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::queries::{self, Change, Code};
use super::rules::{self, CodeFields};
use crate::audit::{self, Origin};
use crate::db::{Db, DbConnection};
use crate::error::AppError;
use crate::studies::access::StudyAccess;
use crate::studies::questionnaires::queries::{taxonomy, TaxonomyTerm};
use crate::studies::rules::StudyRole;
use crate::web::CurrentUser;

/// Analysts code; leads run the study and read and change the codebook too.
pub const CODERS: &[StudyRole] = &[StudyRole::Lead, StudyRole::Analyst];

/// A live code in its place in the tree.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Placed {
    #[serde(flatten)]
    pub code: Code,
    /// 0 for a top-level code.
    pub depth: usize,
    /// Theoretical Domains Framework domains it maps to.
    pub tdf: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Codebook {
    /// Live codes in reading order: each followed by the codes under it.
    pub codes: Vec<Placed>,
    /// Codes merged into others, kept so their codings follow.
    pub merged: Vec<Code>,
    pub version: i32,
    pub taxonomy: Vec<TaxonomyTerm>,
}

/// The live code `id` stands for: itself, or the code it was merged into (followed to the end).
pub fn live_code(codebook: &Codebook, id: i64) -> Option<&Code> {
    let mut id = id;
    for _ in 0..=codebook.merged.len() {
        if let Some(live) = codebook.codes.iter().find(|p| p.code.id == id) {
            return Some(&live.code);
        }
        id = codebook.merged.iter().find(|c| c.id == id)?.merged_into?;
    }
    None
}

/// The COM-B sub-component each live code stands under: its own, or the nearest code above's.
pub fn comb_of_codes(codebook: &Codebook) -> HashMap<i64, String> {
    let parents: HashMap<i64, (Option<i64>, &str)> = codebook
        .codes
        .iter()
        .map(|p| (p.code.id, (p.code.parent_id, p.code.comb.as_str())))
        .collect();
    parents
        .keys()
        .map(|&id| {
            let mut at = Some(id);
            let mut comb = String::new();
            for _ in 0..=parents.len() {
                let Some((parent, own)) = at.and_then(|i| parents.get(&i)) else {
                    break;
                };
                if !own.is_empty() {
                    comb = own.to_string();
                    break;
                }
                at = *parent;
            }
            (id, comb)
        })
        .collect()
}

/// Seeds an empty codebook with the six COM-B sub-components, as version 1 to 6.
fn seeded(
    conn: &mut DbConnection,
    study_id: i64,
    taxonomy: &[TaxonomyTerm],
) -> Result<(), AppError> {
    queries::lock_codebook(conn, study_id)?;
    if !queries::codes_of(conn, study_id)?.is_empty() {
        return Ok(());
    }
    for fields in rules::seed(taxonomy) {
        let code = queries::insert_code(conn, study_id, &fields, "comb", None)?;
        queries::record_change(conn, study_id, code.id, "seeded", None, Some(&fields), None)?;
    }
    Ok(())
}

fn load(conn: &mut DbConnection, study_id: i64) -> Result<Codebook, AppError> {
    let all = queries::codes_of(conn, study_id)?;
    let (live, merged): (Vec<Code>, Vec<Code>) =
        all.into_iter().partition(|c| c.merged_into.is_none());
    let order = rules::tree_order(&live, |c| c.id, |c| c.parent_id);
    Ok(Codebook {
        codes: order
            .into_iter()
            .map(|(i, depth)| Placed {
                code: live[i].clone(),
                depth,
                tdf: live[i].tdf(),
            })
            .collect(),
        merged,
        version: queries::version(conn, study_id)?,
        taxonomy: taxonomy(conn)?,
    })
}

/// The codebook as it stands (empty before its first opening), for readers already let in.
pub async fn load_codebook(db: &Db, study_id: i64) -> Result<Codebook, AppError> {
    db.read(move |conn| load(conn, study_id)).await
}

pub async fn open(
    db: &Db,
    user: &CurrentUser,
    study_id: i64,
) -> Result<(StudyAccess, Codebook), AppError> {
    let access = StudyAccess::with_role(db, user, study_id, CODERS).await?;
    let codebook = load_codebook(db, study_id).await?;
    if codebook.version > 0 {
        return Ok((access, codebook));
    }
    // Only the first opening writes: the seed, then the codebook as seeded.
    let codebook = db
        .write(move |conn| {
            let taxonomy = taxonomy(conn)?;
            seeded(conn, study_id, &taxonomy)?;
            load(conn, study_id)
        })
        .await?;
    Ok((access, codebook))
}

/// Adds a code: under a COM-B code it is deductive; anywhere else it is emergent.
pub async fn create(
    db: &Db,
    origin: &Origin,
    user: &CurrentUser,
    study_id: i64,
    fields: CodeFields,
) -> Result<Code, AppError> {
    StudyAccess::with_role(db, user, study_id, CODERS).await?;
    let (origin, user_id) = (origin.clone(), user.id);
    db.write(move |conn| {
        let taxonomy = taxonomy(conn)?;
        seeded(conn, study_id, &taxonomy)?;
        let codes = queries::codes_of(conn, study_id)?;
        let known: Vec<_> = codes.iter().map(Code::known).collect();
        let fields = rules::check(fields, None, &known, &taxonomy).map_err(AppError::Invalid)?;
        let root_branch = |mut id: Option<i64>| {
            while let Some(code) = id.and_then(|id| codes.iter().find(|c| c.id == id)) {
                if code.parent_id.is_none() {
                    return code.branch.clone();
                }
                id = code.parent_id;
            }
            "emergent".to_string()
        };
        let branch = root_branch(fields.parent_id);
        let code = queries::insert_code(conn, study_id, &fields, &branch, Some(user_id))?;
        let version = queries::record_change(
            conn,
            study_id,
            code.id,
            "created",
            None,
            Some(&fields),
            Some(user_id),
        )?;
        audit::record(
            conn,
            &origin,
            "code.created",
            "code",
            Some(code.id),
            json!({ "study_id": study_id, "version": version }),
        )?;
        Ok(code)
    })
    .await
}

/// Changes a code's fields or moves it; a change that changes nothing records nothing.
pub async fn update(
    db: &Db,
    origin: &Origin,
    user: &CurrentUser,
    study_id: i64,
    code_id: i64,
    fields: CodeFields,
) -> Result<Code, AppError> {
    StudyAccess::with_role(db, user, study_id, CODERS).await?;
    let (origin, user_id) = (origin.clone(), user.id);
    db.write(move |conn| {
        queries::lock_codebook(conn, study_id)?;
        let codes = queries::codes_of(conn, study_id)?;
        let code = codes
            .iter()
            .find(|c| c.id == code_id && c.merged_into.is_none())
            .cloned()
            .ok_or(AppError::NotFound)?;
        let known: Vec<_> = codes.iter().map(Code::known).collect();
        let fields = rules::check(fields, Some(code_id), &known, &taxonomy(conn)?)
            .map_err(AppError::Invalid)?;
        let before = code.fields();
        if before == fields {
            return Ok(code);
        }
        queries::update_code(conn, code_id, &fields)?;
        let version = queries::record_change(
            conn,
            study_id,
            code_id,
            "changed",
            Some(&before),
            Some(&fields),
            Some(user_id),
        )?;
        audit::record(
            conn,
            &origin,
            "code.changed",
            "code",
            Some(code_id),
            json!({ "study_id": study_id, "version": version }),
        )?;
        queries::codes_of(conn, study_id)?
            .into_iter()
            .find(|c| c.id == code_id)
            .ok_or(AppError::NotFound)
    })
    .await
}

/// Merges `from` into `into`: `from` leaves the live codebook, its codes move under `into`, and
/// everything coded with it counts for `into`.
pub async fn merge(
    db: &Db,
    origin: &Origin,
    user: &CurrentUser,
    study_id: i64,
    from: i64,
    into: i64,
) -> Result<(), AppError> {
    StudyAccess::with_role(db, user, study_id, CODERS).await?;
    let (origin, user_id) = (origin.clone(), user.id);
    db.write(move |conn| {
        queries::lock_codebook(conn, study_id)?;
        let codes = queries::codes_of(conn, study_id)?;
        let source = codes
            .iter()
            .find(|c| c.id == from)
            .cloned()
            .ok_or(AppError::NotFound)?;
        if source.merged_into == Some(into) {
            return Ok(());
        }
        let known: Vec<_> = codes.iter().map(Code::known).collect();
        rules::check_merge(&known, from, into).map_err(|m| AppError::invalid("into", &m))?;
        queries::merge(conn, from, into)?;
        let version = queries::record_change(
            conn,
            study_id,
            from,
            "merged",
            Some(&source.fields()),
            Some(&CodeFields {
                parent_id: Some(into),
                ..source.fields()
            }),
            Some(user_id),
        )?;
        audit::record(
            conn,
            &origin,
            "code.merged",
            "code",
            Some(from),
            json!({ "study_id": study_id, "into": into, "version": version }),
        )
        .map_err(AppError::from)
    })
    .await
}

pub async fn history(
    db: &Db,
    user: &CurrentUser,
    study_id: i64,
) -> Result<(StudyAccess, Vec<Change>), AppError> {
    let access = StudyAccess::with_role(db, user, study_id, CODERS).await?;
    let changes = db
        .read(move |conn| queries::changes_of(conn, study_id).map_err(AppError::from))
        .await?;
    Ok((access, changes))
}
