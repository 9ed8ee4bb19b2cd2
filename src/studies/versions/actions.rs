//! What sign-off, status changes and publishing do, for pages and the API alike. Each decision is made
//! inside the transaction that acts on it, against the draft as it is at that moment.

use std::collections::HashSet;

use chrono::NaiveDateTime;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::queries::{self, NewVersion, SignOffRecord, Version, VersionSummary};
use super::rules::{self, Change, SignOffRule, Status};
use crate::audit::{self, Origin};
use crate::db::{Db, DbConnection};
use crate::error::AppError;
use crate::studies::queries::{self as study_queries, Member};
use crate::studies::questionnaires::queries::Questionnaire;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SignOffView {
    pub user_id: i64,
    pub display_name: String,
    #[serde(with = "crate::db::utc")]
    pub signed_at: NaiveDateTime,
    /// True when this sign-off is of the draft as it is now; false when the draft changed after it.
    pub current: bool,
}

/// Where a questionnaire stands on its way to the next published version.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SignOffState {
    /// draft, pilot or published.
    pub status: String,
    pub rule: SignOffRule,
    /// SHA-256 of the draft as it is now: what a sign-off now would sign.
    pub draft_hash: String,
    pub sign_offs: Vec<SignOffView>,
    /// Whose sign-off is still needed; empty when the rule is met.
    pub missing: Vec<String>,
    /// Why the lead cannot publish now; absent when they can.
    pub publish_blocker: Option<String>,
    pub latest_version: Option<i32>,
}

fn status_of(questionnaire: &Questionnaire) -> Status {
    Status::parse(&questionnaire.status).unwrap_or(Status::Draft)
}

/// Everything needed to judge the draft, read in one go: the same function serves the page, the API and
/// the publish transaction, so what people see is what publishing checks.
struct Judgement {
    state: SignOffState,
    members: Vec<Member>,
    snapshot_json: String,
}

fn judge(conn: &mut DbConnection, questionnaire: &Questionnaire) -> Result<Judgement, AppError> {
    let snapshot = queries::draft_snapshot(conn, questionnaire)?;
    let snapshot_json = snapshot.canonical_json();
    let draft_hash = rules::content_hash(&snapshot_json);
    let rule = queries::rule(conn, questionnaire.id)?;
    let members = study_queries::members(conn, questionnaire.study_id)?;
    let sign_offs: Vec<SignOffView> = queries::sign_offs(conn, questionnaire.id)?
        .into_iter()
        .map(|s| SignOffView {
            current: s.content_hash == draft_hash,
            user_id: s.user_id,
            display_name: s.display_name,
            signed_at: s.signed_at,
        })
        .collect();
    let signed: HashSet<i64> = sign_offs
        .iter()
        .filter(|s| s.current)
        .map(|s| s.user_id)
        .collect();
    let missing = rules::missing_sign_offs(&rule, &members, &signed);
    let latest = queries::latest(conn, questionnaire.id)?;
    let publish_blocker = rules::check_publish(
        status_of(questionnaire),
        &snapshot,
        &draft_hash,
        latest.as_ref().map(|(_, hash)| hash.as_str()),
        &missing,
    )
    .err();
    Ok(Judgement {
        state: SignOffState {
            status: questionnaire.status.clone(),
            rule,
            draft_hash,
            sign_offs,
            missing,
            publish_blocker,
            latest_version: latest.map(|(number, _)| number),
        },
        members,
        snapshot_json,
    })
}

pub async fn state(db: &Db, questionnaire: &Questionnaire) -> Result<SignOffState, AppError> {
    let questionnaire = questionnaire.clone();
    db.read(move |conn| Ok(judge(conn, &questionnaire)?.state))
        .await
}

pub async fn set_rule(
    db: &Db,
    origin: &Origin,
    questionnaire: &Questionnaire,
    rule: &SignOffRule,
) -> Result<(), AppError> {
    let (questionnaire, rule, origin) = (questionnaire.clone(), rule.clone(), origin.clone());
    db.write(move |conn| {
        let members = study_queries::members(conn, questionnaire.study_id)?;
        let rule = rules::check_rule(&rule, &members)
            .map_err(|message| AppError::invalid("sign_off_rule", &message))?;
        let before = queries::rule(conn, questionnaire.id)?;
        queries::set_rule(conn, questionnaire.id, &rule)?;
        audit::record(
            conn,
            &origin,
            "sign_off_rule_changed",
            "questionnaire",
            Some(questionnaire.id),
            json!({ "before": before, "after": rule }),
        )?;
        Ok(())
    })
    .await
}

/// Signs off the draft as it is now. Only people the rule asks for may sign (403 for others).
pub async fn sign_off(
    db: &Db,
    origin: &Origin,
    questionnaire: &Questionnaire,
    me: &Member,
) -> Result<(), AppError> {
    let (questionnaire, me, origin) = (questionnaire.clone(), me.clone(), origin.clone());
    db.write(move |conn| {
        let judgement = judge(conn, &questionnaire)?;
        if !rules::may_sign(&judgement.state.rule, &me) {
            return Err(AppError::Forbidden);
        }
        if judgement
            .state
            .sign_offs
            .iter()
            .any(|s| s.current && s.user_id == me.user_id)
        {
            return Err(AppError::invalid(
                "sign_off",
                "You have already signed off the questionnaire as it is now",
            ));
        }
        let id = queries::insert_sign_off(
            conn,
            questionnaire.id,
            me.user_id,
            &judgement.state.draft_hash,
        )?;
        audit::record(
            conn,
            &origin,
            "questionnaire_signed_off",
            "questionnaire",
            Some(questionnaire.id),
            json!({ "sign_off_id": id, "content_hash": judgement.state.draft_hash }),
        )?;
        Ok(())
    })
    .await
}

pub async fn change_status(
    db: &Db,
    origin: &Origin,
    questionnaire: &Questionnaire,
    to: &str,
) -> Result<(), AppError> {
    let to =
        Status::parse(to).ok_or_else(|| AppError::invalid("status", "Choose draft or pilot"))?;
    let from = status_of(questionnaire);
    rules::check_status_change(from, to).map_err(|message| AppError::invalid("status", message))?;
    let (id, origin) = (questionnaire.id, origin.clone());
    db.write(move |conn| {
        queries::set_status(conn, id, to)?;
        audit::record(
            conn,
            &origin,
            "questionnaire_status_changed",
            "questionnaire",
            Some(id),
            json!({ "from": from.as_str(), "to": to.as_str() }),
        )?;
        Ok(())
    })
    .await
}

/// Freezes the draft as the next version, if the sign-off rule is met; returns its number.
pub async fn publish(
    db: &Db,
    origin: &Origin,
    study_id: i64,
    questionnaire_id: i64,
    user_id: i64,
) -> Result<i32, AppError> {
    let origin = origin.clone();
    db.write(move |conn| {
        // Read again inside the transaction: the status and draft may have changed since the request began.
        let questionnaire = crate::studies::questionnaires::queries::find_questionnaire(
            conn,
            study_id,
            questionnaire_id,
        )?
        .ok_or(AppError::NotFound)?;
        let judgement = judge(conn, &questionnaire)?;
        if let Some(blocker) = &judgement.state.publish_blocker {
            return Err(AppError::invalid("publish", blocker));
        }
        let sign_offs: Vec<SignOffRecord> = judgement
            .state
            .sign_offs
            .iter()
            .filter(|s| s.current)
            .map(|s| SignOffRecord {
                user_id: s.user_id,
                name: s.display_name.clone(),
                perspective: judgement
                    .members
                    .iter()
                    .find(|m| m.user_id == s.user_id)
                    .map_or("", |m| m.perspective.as_str())
                    .into(),
                signed_at: s.signed_at,
            })
            .collect();
        let number = judgement.state.latest_version.unwrap_or(0) + 1;
        let version_id = queries::insert_version(
            conn,
            &NewVersion {
                questionnaire_id,
                version_number: number,
                snapshot_json: &judgement.snapshot_json,
                content_hash: &judgement.state.draft_hash,
                sign_offs: &sign_offs,
                published_by: user_id,
            },
        )?;
        queries::set_status(conn, questionnaire_id, Status::Published)?;
        audit::record(
            conn,
            &origin,
            "questionnaire_published",
            "questionnaire",
            Some(questionnaire_id),
            json!({ "version_id": version_id, "version_number": number,
                    "content_hash": judgement.state.draft_hash, "signed_by": sign_offs.iter().map(|s| s.user_id).collect::<Vec<_>>() }),
        )?;
        Ok(number)
    })
    .await
}

pub async fn versions(db: &Db, questionnaire_id: i64) -> Result<Vec<VersionSummary>, AppError> {
    db.read(move |conn| queries::versions(conn, questionnaire_id).map_err(AppError::from))
        .await
}

pub async fn version(db: &Db, questionnaire_id: i64, number: i32) -> Result<Version, AppError> {
    db.read(move |conn| queries::version(conn, questionnaire_id, number).map_err(AppError::from))
        .await?
        .ok_or(AppError::NotFound)
}

/// Two versions and every difference between them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Comparison {
    pub from: VersionSummary,
    pub to: VersionSummary,
    pub changes: Vec<Change>,
}

pub async fn compare(
    db: &Db,
    questionnaire_id: i64,
    from: i32,
    to: i32,
) -> Result<Comparison, AppError> {
    let (before, after) = db
        .read(move |conn| {
            Ok::<_, AppError>((
                queries::version(conn, questionnaire_id, from)?,
                queries::version(conn, questionnaire_id, to)?,
            ))
        })
        .await?;
    let (before, after) = before.zip(after).ok_or(AppError::NotFound)?;
    Ok(Comparison {
        changes: rules::compare(&before.snapshot, &after.snapshot),
        from: before.summary,
        to: after.summary,
    })
}
