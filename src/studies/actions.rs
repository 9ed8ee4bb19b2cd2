//! What study actions do, for pages and the JSON API alike; each change is audited in its transaction.

use serde_json::json;

use super::forms::{MemberForm, StudyForm};
use super::queries::{self, Member};
use super::rules::{Perspective, Roles};
use crate::audit::{self, Origin};
use crate::db::Db;
use crate::error::{AppError, FieldErrors};

/// Creates a study; its creator becomes its first lead and co-designer.
pub async fn create_study(
    db: &Db,
    origin: &Origin,
    user_id: i64,
    form: &StudyForm,
) -> Result<i64, AppError> {
    let (title, summary) = (
        form.title.trim().to_string(),
        form.summary.trim().to_string(),
    );
    let origin = origin.clone().by(user_id);
    db.write(move |conn| {
        let id = queries::insert_study(conn, &title, &summary, user_id)?;
        let creator = Roles {
            lead: true,
            co_designer: true,
            ..Roles::default()
        };
        queries::insert_member(conn, id, user_id, creator, Perspective::Staff)?;
        audit::record(
            conn,
            &origin,
            "study_created",
            "study",
            Some(id),
            json!({ "title": title }),
        )?;
        Ok(id)
    })
    .await
}

pub async fn update_study(
    db: &Db,
    origin: &Origin,
    study_id: i64,
    form: &StudyForm,
) -> Result<(), AppError> {
    let (title, summary) = (
        form.title.trim().to_string(),
        form.summary.trim().to_string(),
    );
    let origin = origin.clone();
    let settings = queries::SettingsChange {
        anonymise_responses: form.anonymise_responses,
        small_count_threshold: form.small_count_threshold,
        changes_after_submit: form.changes_after_submit,
        co_designers_read_analysis: form.co_designers_read_analysis,
        analysts_see_participants: form.analysts_see_participants,
    };
    db.write(move |conn| {
        queries::update_study(conn, study_id, &title, &summary, settings)?;
        audit::record(
            conn,
            &origin,
            "study_updated",
            "study",
            Some(study_id),
            json!({ "title": title, "settings": settings }),
        )?;
        Ok(())
    })
    .await
}

pub async fn set_jargon(
    db: &Db,
    origin: &Origin,
    study_id: i64,
    lines: &[String],
) -> Result<Vec<String>, AppError> {
    let terms = super::rules::check_jargon(lines)
        .map_err(|message| AppError::invalid("jargon", &message))?;
    let (saved, origin) = (terms.clone(), origin.clone());
    db.write(move |conn| {
        queries::set_jargon(conn, study_id, &saved)?;
        audit::record(
            conn,
            &origin,
            "jargon_changed",
            "study",
            Some(study_id),
            json!({ "terms": saved }),
        )?;
        Ok::<_, AppError>(())
    })
    .await?;
    Ok(terms)
}

const LAST_LEAD: &str = "A study needs at least one lead. Make someone else a lead first.";

pub async fn update_member(
    db: &Db,
    origin: &Origin,
    study_id: i64,
    member_id: i64,
    form: &MemberForm,
) -> Result<Member, AppError> {
    let (roles, perspective, origin) = (form.roles(), form.perspective(), origin.clone());
    db.write(move |conn| {
        let before = queries::member(conn, study_id, member_id)?.ok_or(AppError::NotFound)?;
        if before.roles.lead && !roles.lead && queries::lead_count(conn, study_id)? <= 1 {
            return Err(AppError::Invalid(FieldErrors::from([(
                "roles".into(),
                LAST_LEAD.into(),
            )])));
        }
        queries::update_member(conn, member_id, roles, perspective)?;
        audit::record(
            conn,
            &origin,
            "study_member_changed",
            "study_member",
            Some(member_id),
            json!({ "before": { "roles": before.roles, "perspective": before.perspective },
                    "after": { "roles": roles, "perspective": perspective } }),
        )?;
        queries::member(conn, study_id, member_id)?.ok_or(AppError::NotFound)
    })
    .await
}

pub async fn remove_member(
    db: &Db,
    origin: &Origin,
    study_id: i64,
    member_id: i64,
) -> Result<(), AppError> {
    let origin = origin.clone();
    db.write(move |conn| {
        let member = queries::member(conn, study_id, member_id)?.ok_or(AppError::NotFound)?;
        if member.roles.lead && queries::lead_count(conn, study_id)? <= 1 {
            return Err(AppError::Invalid(FieldErrors::from([(
                "roles".into(),
                LAST_LEAD.into(),
            )])));
        }
        queries::delete_member(conn, member_id)?;
        audit::record(
            conn,
            &origin,
            "study_member_removed",
            "study_member",
            Some(member_id),
            json!({ "study_id": study_id, "user_id": member.user_id }),
        )?;
        Ok(())
    })
    .await
}
