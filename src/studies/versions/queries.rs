//! Storage for sign-off rules, sign-offs and published versions. Versions are only ever inserted: the
//! database refuses to change them. No HTTP here.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::rules::{SignOffRule, Snapshot, Status};
use crate::db::schema::{questionnaire_sign_offs, questionnaire_versions, questionnaires, users};
use crate::db::{now, DbConnection};
use crate::studies::consent;
use crate::studies::questionnaires::queries::{self as questionnaire_queries, Questionnaire};

pub fn rule(conn: &mut DbConnection, questionnaire_id: i64) -> QueryResult<SignOffRule> {
    let (member_ids, needs_advisor, needs_staff): (String, bool, bool) = questionnaires::table
        .find(questionnaire_id)
        .select((
            questionnaires::signoff_member_ids,
            questionnaires::signoff_needs_advisor,
            questionnaires::signoff_needs_staff,
        ))
        .first(conn)?;
    Ok(SignOffRule {
        member_ids: serde_json::from_str(&member_ids).unwrap_or_default(),
        needs_advisor,
        needs_staff,
    })
}

pub fn set_rule(
    conn: &mut DbConnection,
    questionnaire_id: i64,
    rule: &SignOffRule,
) -> QueryResult<()> {
    diesel::update(questionnaires::table.find(questionnaire_id))
        .set((
            questionnaires::signoff_member_ids
                .eq(serde_json::to_string(&rule.member_ids).unwrap_or_else(|_| "[]".into())),
            questionnaires::signoff_needs_advisor.eq(rule.needs_advisor),
            questionnaires::signoff_needs_staff.eq(rule.needs_staff),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn set_status(
    conn: &mut DbConnection,
    questionnaire_id: i64,
    status: Status,
) -> QueryResult<()> {
    diesel::update(questionnaires::table.find(questionnaire_id))
        .set((
            questionnaires::status.eq(status.as_str()),
            questionnaires::updated_at.eq(now()),
        ))
        .execute(conn)
        .map(|_| ())
}

/// The draft as it stands, in a fixed number of queries whatever its size.
pub fn draft_snapshot(
    conn: &mut DbConnection,
    questionnaire: &Questionnaire,
) -> QueryResult<Snapshot> {
    let tree = questionnaire_queries::tree(conn, questionnaire.id)?;
    let (information, _) = consent::queries::information(conn, questionnaire.id)?;
    let codes: HashMap<i64, String> = questionnaire_queries::taxonomy(conn)?
        .into_iter()
        .map(|term| (term.id, term.code))
        .collect();
    Ok(Snapshot::build(questionnaire, &tree, information, &codes))
}

/// One person's sign-off of the draft as it was when they signed (its content hash).
#[derive(Debug, Clone, Queryable, Serialize, ToSchema)]
pub struct SignOff {
    pub user_id: i64,
    pub display_name: String,
    pub content_hash: String,
    #[serde(with = "crate::db::utc")]
    pub signed_at: NaiveDateTime,
}

/// Every sign-off of this questionnaire, newest first.
pub fn sign_offs(conn: &mut DbConnection, questionnaire_id: i64) -> QueryResult<Vec<SignOff>> {
    questionnaire_sign_offs::table
        .inner_join(users::table)
        .filter(questionnaire_sign_offs::questionnaire_id.eq(questionnaire_id))
        .order(questionnaire_sign_offs::id.desc())
        .select((
            questionnaire_sign_offs::user_id,
            users::display_name,
            questionnaire_sign_offs::content_hash,
            questionnaire_sign_offs::signed_at,
        ))
        .load(conn)
}

pub fn insert_sign_off(
    conn: &mut DbConnection,
    questionnaire_id: i64,
    user_id: i64,
    content_hash: &str,
) -> QueryResult<i64> {
    diesel::insert_into(questionnaire_sign_offs::table)
        .values((
            questionnaire_sign_offs::questionnaire_id.eq(questionnaire_id),
            questionnaire_sign_offs::user_id.eq(user_id),
            questionnaire_sign_offs::content_hash.eq(content_hash),
            questionnaire_sign_offs::signed_at.eq(now()),
        ))
        .returning(questionnaire_sign_offs::id)
        .get_result(conn)
}

/// A sign-off a version rests on, as recorded in the version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SignOffRecord {
    pub user_id: i64,
    pub name: String,
    /// staff, service_user or carer, at the time of publishing.
    pub perspective: String,
    #[serde(with = "crate::db::utc")]
    pub signed_at: NaiveDateTime,
}

/// A published version without its content.
#[derive(Debug, Clone, Queryable, Serialize, ToSchema)]
pub struct VersionSummary {
    /// Stable: responses and interviews refer to a version by this id.
    pub id: i64,
    pub questionnaire_id: i64,
    /// 1, 2, … within the questionnaire.
    pub version_number: i32,
    /// SHA-256 (hex) of the snapshot's canonical JSON.
    pub content_hash: String,
    pub published_by: i64,
    pub published_by_name: String,
    #[serde(with = "crate::db::utc")]
    pub published_at: NaiveDateTime,
}

/// A published version: what was published, exactly, and on whose sign-off.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Version {
    #[serde(flatten)]
    pub summary: VersionSummary,
    pub snapshot: Snapshot,
    pub sign_offs: Vec<SignOffRecord>,
}

type SummaryColumns = (
    questionnaire_versions::id,
    questionnaire_versions::questionnaire_id,
    questionnaire_versions::version_number,
    questionnaire_versions::content_hash,
    questionnaire_versions::published_by,
    users::display_name,
    questionnaire_versions::published_at,
);

const SUMMARY: SummaryColumns = (
    questionnaire_versions::id,
    questionnaire_versions::questionnaire_id,
    questionnaire_versions::version_number,
    questionnaire_versions::content_hash,
    questionnaire_versions::published_by,
    users::display_name,
    questionnaire_versions::published_at,
);

/// The versions of a questionnaire, newest first.
pub fn versions(
    conn: &mut DbConnection,
    questionnaire_id: i64,
) -> QueryResult<Vec<VersionSummary>> {
    questionnaire_versions::table
        .inner_join(users::table)
        .filter(questionnaire_versions::questionnaire_id.eq(questionnaire_id))
        .order(questionnaire_versions::version_number.desc())
        .select(SUMMARY)
        .load(conn)
}

pub fn version(
    conn: &mut DbConnection,
    questionnaire_id: i64,
    number: i32,
) -> QueryResult<Option<Version>> {
    let found: Option<(VersionSummary, String, String)> = questionnaire_versions::table
        .inner_join(users::table)
        .filter(questionnaire_versions::questionnaire_id.eq(questionnaire_id))
        .filter(questionnaire_versions::version_number.eq(number))
        .select((
            SUMMARY,
            questionnaire_versions::snapshot,
            questionnaire_versions::sign_offs,
        ))
        .first(conn)
        .optional()?;
    found
        .map(|(summary, snapshot, sign_offs)| {
            Ok(Version {
                summary,
                snapshot: serde_json::from_str(&snapshot)
                    .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?,
                sign_offs: serde_json::from_str(&sign_offs).unwrap_or_default(),
            })
        })
        .transpose()
}

/// The newest version's number and hash.
pub fn latest(
    conn: &mut DbConnection,
    questionnaire_id: i64,
) -> QueryResult<Option<(i32, String)>> {
    questionnaire_versions::table
        .filter(questionnaire_versions::questionnaire_id.eq(questionnaire_id))
        .order(questionnaire_versions::version_number.desc())
        .select((
            questionnaire_versions::version_number,
            questionnaire_versions::content_hash,
        ))
        .first(conn)
        .optional()
}

pub struct NewVersion<'a> {
    pub questionnaire_id: i64,
    pub version_number: i32,
    pub snapshot_json: &'a str,
    pub content_hash: &'a str,
    pub sign_offs: &'a [SignOffRecord],
    pub published_by: i64,
}

pub fn insert_version(conn: &mut DbConnection, new: &NewVersion) -> QueryResult<i64> {
    diesel::insert_into(questionnaire_versions::table)
        .values((
            questionnaire_versions::questionnaire_id.eq(new.questionnaire_id),
            questionnaire_versions::version_number.eq(new.version_number),
            questionnaire_versions::snapshot.eq(new.snapshot_json),
            questionnaire_versions::content_hash.eq(new.content_hash),
            questionnaire_versions::sign_offs
                .eq(serde_json::to_string(new.sign_offs).unwrap_or_else(|_| "[]".into())),
            questionnaire_versions::published_by.eq(new.published_by),
            questionnaire_versions::published_at.eq(now()),
        ))
        .returning(questionnaire_versions::id)
        .get_result(conn)
}

/// The published version's snapshot (JSON text) as stored when it was published.
pub fn version_snapshot(conn: &mut DbConnection, version_id: i64) -> QueryResult<String> {
    questionnaire_versions::table
        .find(version_id)
        .select(questionnaire_versions::snapshot)
        .first(conn)
}
