//! Storage for studies and their members. No HTTP here.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::rules::{Perspective, Roles};
use crate::db::schema::{studies, study_members, users};
use crate::db::{now, DbConnection};

#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = studies)]
pub struct Study {
    pub id: i64,
    pub title: String,
    pub summary: String,
    pub created_by: i64,
    #[serde(with = "crate::db::utc")]
    pub created_at: NaiveDateTime,
    #[serde(with = "crate::db::utc")]
    pub updated_at: NaiveDateTime,
    /// In views shared beyond the study's leads, counts from 1 up to this minus one are hidden.
    pub small_count_threshold: i32,
    /// At submission, the link between a participant's identity and their answers is dropped.
    pub anonymise_responses: bool,
    /// Participants may change submitted answers until their link closes.
    pub changes_after_submit: bool,
    /// Co-designers may read the analysis (the framework matrix and its tables).
    pub co_designers_read_analysis: bool,
    /// Analysts see participant-level rows and every count; otherwise they get the shared view.
    pub analysts_see_participants: bool,
}

/// A member as the study sees them: the person, their roles and perspective.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Member {
    /// The membership's id (not the person's account id).
    pub id: i64,
    pub user_id: i64,
    pub display_name: String,
    pub email: String,
    pub roles: Roles,
    pub perspective: Perspective,
    #[serde(with = "crate::db::utc")]
    pub added_at: NaiveDateTime,
}

type MemberRow = (
    i64,
    i64,
    String,
    String,
    bool,
    bool,
    bool,
    bool,
    String,
    NaiveDateTime,
);

fn member_columns() -> (
    study_members::id,
    study_members::user_id,
    users::display_name,
    users::email,
    study_members::is_lead,
    study_members::is_co_designer,
    study_members::is_interviewer,
    study_members::is_analyst,
    study_members::perspective,
    study_members::added_at,
) {
    (
        study_members::id,
        study_members::user_id,
        users::display_name,
        users::email,
        study_members::is_lead,
        study_members::is_co_designer,
        study_members::is_interviewer,
        study_members::is_analyst,
        study_members::perspective,
        study_members::added_at,
    )
}

fn member_from(row: MemberRow) -> Member {
    let (
        id,
        user_id,
        display_name,
        email,
        lead,
        co_designer,
        interviewer,
        analyst,
        perspective,
        added_at,
    ) = row;
    Member {
        id,
        user_id,
        display_name,
        email,
        roles: Roles {
            lead,
            co_designer,
            interviewer,
            analyst,
        },
        perspective: Perspective::parse(&perspective).unwrap_or(Perspective::Staff),
        added_at,
    }
}

pub fn insert_study(
    conn: &mut DbConnection,
    title: &str,
    summary: &str,
    created_by: i64,
) -> QueryResult<i64> {
    let at = now();
    diesel::insert_into(studies::table)
        .values((
            studies::title.eq(title),
            studies::summary.eq(summary),
            studies::created_by.eq(created_by),
            studies::created_at.eq(at),
            studies::updated_at.eq(at),
        ))
        .returning(studies::id)
        .get_result(conn)
}

/// A study's settings as a change names them: each left as it is when None.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct SettingsChange {
    pub anonymise_responses: Option<bool>,
    pub small_count_threshold: Option<i32>,
    pub changes_after_submit: Option<bool>,
    pub co_designers_read_analysis: Option<bool>,
    pub analysts_see_participants: Option<bool>,
}

pub fn update_study(
    conn: &mut DbConnection,
    id: i64,
    title: &str,
    summary: &str,
    settings: SettingsChange,
) -> QueryResult<()> {
    diesel::update(studies::table.find(id))
        .set((
            studies::title.eq(title),
            studies::summary.eq(summary),
            studies::updated_at.eq(now()),
        ))
        .execute(conn)?;
    if let Some(anonymise) = settings.anonymise_responses {
        diesel::update(studies::table.find(id))
            .set(studies::anonymise_responses.eq(anonymise))
            .execute(conn)?;
    }
    if let Some(changes) = settings.changes_after_submit {
        diesel::update(studies::table.find(id))
            .set(studies::changes_after_submit.eq(changes))
            .execute(conn)?;
    }
    if let Some(threshold) = settings.small_count_threshold {
        diesel::update(studies::table.find(id))
            .set(studies::small_count_threshold.eq(threshold))
            .execute(conn)?;
    }
    if let Some(shared) = settings.co_designers_read_analysis {
        diesel::update(studies::table.find(id))
            .set(studies::co_designers_read_analysis.eq(shared))
            .execute(conn)?;
    }
    if let Some(full) = settings.analysts_see_participants {
        diesel::update(studies::table.find(id))
            .set(studies::analysts_see_participants.eq(full))
            .execute(conn)?;
    }
    Ok(())
}

/// The studies a person belongs to, with their roles in each, in one query.
pub fn studies_of(conn: &mut DbConnection, user_id: i64) -> QueryResult<Vec<(Study, Roles)>> {
    let rows: Vec<(Study, (bool, bool, bool, bool))> = studies::table
        .inner_join(study_members::table)
        .filter(study_members::user_id.eq(user_id))
        .order(studies::title.asc())
        .select((
            Study::as_select(),
            (
                study_members::is_lead,
                study_members::is_co_designer,
                study_members::is_interviewer,
                study_members::is_analyst,
            ),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(study, (lead, co_designer, interviewer, analyst))| {
            (
                study,
                Roles {
                    lead,
                    co_designer,
                    interviewer,
                    analyst,
                },
            )
        })
        .collect())
}

/// The study and the person's membership of it, or None when they are not a member.
pub fn membership(
    conn: &mut DbConnection,
    study_id: i64,
    user_id: i64,
) -> QueryResult<Option<(Study, Member)>> {
    let row: Option<(Study, MemberRow)> = studies::table
        .inner_join(study_members::table.inner_join(users::table))
        .filter(studies::id.eq(study_id))
        .filter(study_members::user_id.eq(user_id))
        .select((Study::as_select(), member_columns()))
        .first(conn)
        .optional()?;
    Ok(row.map(|(study, member)| (study, member_from(member))))
}

pub fn members(conn: &mut DbConnection, study_id: i64) -> QueryResult<Vec<Member>> {
    let rows: Vec<MemberRow> = study_members::table
        .inner_join(users::table)
        .filter(study_members::study_id.eq(study_id))
        .order(users::display_name.asc())
        .select(member_columns())
        .load(conn)?;
    Ok(rows.into_iter().map(member_from).collect())
}

pub fn member(
    conn: &mut DbConnection,
    study_id: i64,
    member_id: i64,
) -> QueryResult<Option<Member>> {
    let row: Option<MemberRow> = study_members::table
        .inner_join(users::table)
        .filter(study_members::study_id.eq(study_id))
        .filter(study_members::id.eq(member_id))
        .select(member_columns())
        .first(conn)
        .optional()?;
    Ok(row.map(member_from))
}

pub fn is_member(conn: &mut DbConnection, study_id: i64, user_id: i64) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        study_members::table
            .filter(study_members::study_id.eq(study_id))
            .filter(study_members::user_id.eq(user_id)),
    ))
    .get_result(conn)
}

pub fn insert_member(
    conn: &mut DbConnection,
    study_id: i64,
    user_id: i64,
    roles: Roles,
    perspective: Perspective,
) -> QueryResult<i64> {
    diesel::insert_into(study_members::table)
        .values((
            study_members::study_id.eq(study_id),
            study_members::user_id.eq(user_id),
            study_members::is_lead.eq(roles.lead),
            study_members::is_co_designer.eq(roles.co_designer),
            study_members::is_interviewer.eq(roles.interviewer),
            study_members::is_analyst.eq(roles.analyst),
            study_members::perspective.eq(perspective.as_str()),
            study_members::added_at.eq(now()),
        ))
        .returning(study_members::id)
        .get_result(conn)
}

pub fn update_member(
    conn: &mut DbConnection,
    member_id: i64,
    roles: Roles,
    perspective: Perspective,
) -> QueryResult<()> {
    diesel::update(study_members::table.find(member_id))
        .set((
            study_members::is_lead.eq(roles.lead),
            study_members::is_co_designer.eq(roles.co_designer),
            study_members::is_interviewer.eq(roles.interviewer),
            study_members::is_analyst.eq(roles.analyst),
            study_members::perspective.eq(perspective.as_str()),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn delete_member(conn: &mut DbConnection, member_id: i64) -> QueryResult<()> {
    diesel::delete(study_members::table.find(member_id))
        .execute(conn)
        .map(|_| ())
}

/// The study's words to avoid in participant-facing text.
pub fn study_title(conn: &mut DbConnection, study_id: i64) -> QueryResult<String> {
    studies::table
        .find(study_id)
        .select(studies::title)
        .first(conn)
}

pub fn jargon(conn: &mut DbConnection, study_id: i64) -> QueryResult<Vec<String>> {
    let text: String = studies::table
        .find(study_id)
        .select(studies::jargon)
        .first(conn)?;
    Ok(serde_json::from_str(&text).unwrap_or_default())
}

pub fn set_jargon(conn: &mut DbConnection, study_id: i64, terms: &[String]) -> QueryResult<()> {
    let text = serde_json::to_string(terms).unwrap_or_else(|_| "[]".into());
    diesel::update(studies::table.find(study_id))
        .set(studies::jargon.eq(text))
        .execute(conn)
        .map(|_| ())
}

pub fn lead_count(conn: &mut DbConnection, study_id: i64) -> QueryResult<i64> {
    study_members::table
        .filter(study_members::study_id.eq(study_id))
        .filter(study_members::is_lead.eq(true))
        .count()
        .get_result(conn)
}

/// How many lists of data due for deletion wait for a lead's review (the notice on the study's page;
/// the lists themselves are operations::retention's).
pub fn retention_lists_waiting(conn: &mut DbConnection, study_id: i64) -> QueryResult<i64> {
    use crate::db::schema::retention_reviews;
    retention_reviews::table
        .filter(retention_reviews::study_id.eq(study_id))
        .filter(retention_reviews::status.eq("open"))
        .count()
        .get_result(conn)
}
