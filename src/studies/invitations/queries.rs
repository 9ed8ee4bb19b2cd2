//! Storage of study invitations, and the hourly counts of invitations sent (read from the audit log).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::{audit_events, studies, study_invitations, users};
use crate::db::{now, DbConnection};
use crate::studies::rules::{Perspective, Roles};

/// What the audit log calls an invitation email, whichever it was (a new account's invitation to choose
/// a password, or the notice to someone who has an account): the hourly limits count these, one per email.
pub const SENT_ACTIONS: &[&str] = &["study_invitation_notice_sent", "user_invited"];

/// An invitation as the study's leads see it: the address and the name they typed, never the account's
/// own name (that would tell them whether the address has an account).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Invitation {
    pub id: i64,
    pub study_id: i64,
    pub email: String,
    pub invited_name: String,
    pub roles: Roles,
    pub perspective: Perspective,
    #[serde(with = "crate::db::utc")]
    pub created_at: NaiveDateTime,
}

/// An invitation as the invited person sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MyInvitation {
    pub id: i64,
    pub study_id: i64,
    pub study_title: String,
    pub roles: Roles,
    pub perspective: Perspective,
    #[serde(with = "crate::db::utc")]
    pub created_at: NaiveDateTime,
}

/// Lead, co-designer, interviewer, analyst.
type RoleFlags = (bool, bool, bool, bool);

type Row = (i64, i64, i64, String, RoleFlags, String, NaiveDateTime);
type PersonRow = (i64, i64, String, RoleFlags, String, NaiveDateTime);

fn roles((lead, co_designer, interviewer, analyst): RoleFlags) -> Roles {
    Roles {
        lead,
        co_designer,
        interviewer,
        analyst,
    }
}

fn perspective(text: &str) -> Perspective {
    Perspective::parse(text).unwrap_or(Perspective::Staff)
}

macro_rules! role_columns {
    () => {
        (
            study_invitations::is_lead,
            study_invitations::is_co_designer,
            study_invitations::is_interviewer,
            study_invitations::is_analyst,
        )
    };
}

pub struct NewInvitation<'a> {
    pub study_id: i64,
    pub user_id: i64,
    pub invited_name: &'a str,
    pub roles: Roles,
    pub perspective: Perspective,
    pub invited_by: i64,
}

pub fn insert(conn: &mut DbConnection, new: &NewInvitation) -> QueryResult<i64> {
    diesel::insert_into(study_invitations::table)
        .values((
            study_invitations::study_id.eq(new.study_id),
            study_invitations::user_id.eq(new.user_id),
            study_invitations::invited_name.eq(new.invited_name),
            study_invitations::is_lead.eq(new.roles.lead),
            study_invitations::is_co_designer.eq(new.roles.co_designer),
            study_invitations::is_interviewer.eq(new.roles.interviewer),
            study_invitations::is_analyst.eq(new.roles.analyst),
            study_invitations::perspective.eq(new.perspective.as_str()),
            study_invitations::invited_by.eq(new.invited_by),
            study_invitations::created_at.eq(now()),
        ))
        .returning(study_invitations::id)
        .get_result(conn)
}

pub fn is_invited(conn: &mut DbConnection, study_id: i64, user_id: i64) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        study_invitations::table
            .filter(study_invitations::study_id.eq(study_id))
            .filter(study_invitations::user_id.eq(user_id)),
    ))
    .get_result(conn)
}

/// A study's open invitations, oldest first.
pub fn for_study(conn: &mut DbConnection, study_id: i64) -> QueryResult<Vec<Invitation>> {
    let rows: Vec<(Row, String)> = study_invitations::table
        .inner_join(users::table.on(users::id.eq(study_invitations::user_id)))
        .filter(study_invitations::study_id.eq(study_id))
        .order(study_invitations::id)
        .select((
            (
                study_invitations::id,
                study_invitations::study_id,
                study_invitations::user_id,
                study_invitations::invited_name,
                role_columns!(),
                study_invitations::perspective,
                study_invitations::created_at,
            ),
            users::email,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |((id, study_id, _, invited_name, flags, persp, created_at), email)| Invitation {
                id,
                study_id,
                email,
                invited_name,
                roles: roles(flags),
                perspective: perspective(&persp),
                created_at,
            },
        )
        .collect())
}

/// Someone's open invitations, with the studies' titles, newest first.
pub fn for_person(conn: &mut DbConnection, user_id: i64) -> QueryResult<Vec<MyInvitation>> {
    let rows: Vec<PersonRow> = study_invitations::table
        .inner_join(studies::table)
        .filter(study_invitations::user_id.eq(user_id))
        .order(study_invitations::id.desc())
        .select((
            study_invitations::id,
            study_invitations::study_id,
            studies::title,
            role_columns!(),
            study_invitations::perspective,
            study_invitations::created_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(id, study_id, study_title, flags, persp, created_at)| MyInvitation {
                id,
                study_id,
                study_title,
                roles: roles(flags),
                perspective: perspective(&persp),
                created_at,
            },
        )
        .collect())
}

/// One of someone's own invitations: (study, roles, perspective).
pub fn mine(
    conn: &mut DbConnection,
    user_id: i64,
    invitation_id: i64,
) -> QueryResult<Option<(i64, Roles, Perspective)>> {
    let row: Option<(i64, RoleFlags, String)> = study_invitations::table
        .filter(study_invitations::id.eq(invitation_id))
        .filter(study_invitations::user_id.eq(user_id))
        .select((
            study_invitations::study_id,
            role_columns!(),
            study_invitations::perspective,
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(|(study_id, flags, persp)| (study_id, roles(flags), perspective(&persp))))
}

pub fn delete(conn: &mut DbConnection, invitation_id: i64) -> QueryResult<()> {
    diesel::delete(study_invitations::table.find(invitation_id))
        .execute(conn)
        .map(|_| ())
}

/// Withdraws one of a study's invitations; false if it is not one of this study's.
pub fn withdraw(conn: &mut DbConnection, study_id: i64, invitation_id: i64) -> QueryResult<bool> {
    diesel::delete(
        study_invitations::table
            .filter(study_invitations::id.eq(invitation_id))
            .filter(study_invitations::study_id.eq(study_id)),
    )
    .execute(conn)
    .map(|n| n == 1)
}

/// Invitations sent since `since`: by one person, and on the whole site.
pub fn sent_since(
    conn: &mut DbConnection,
    user_id: i64,
    since: NaiveDateTime,
) -> QueryResult<(i64, i64)> {
    let sent = || {
        audit_events::table
            .filter(audit_events::action.eq_any(SENT_ACTIONS))
            .filter(audit_events::occurred_at.gt(since))
    };
    let by_person = sent()
        .filter(audit_events::actor_user_id.eq(user_id))
        .count()
        .get_result(conn)?;
    let on_site = sent().count().get_result(conn)?;
    Ok((by_person, on_site))
}
