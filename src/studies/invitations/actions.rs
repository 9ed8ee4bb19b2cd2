//! What inviting people to a study does, for pages and the JSON API alike. A study's lead (only a lead)
//! invites someone by email and the name they know them by; the person becomes a member only when they
//! accept. The lead's answer is the same whether or not the address has an account: someone new gets an
//! account and an email to choose a password, someone known gets a notice, and both wait as "invited".

use chrono::Duration;
use serde_json::json;
use validator::ValidateEmail;

use super::queries::{self, Invitation, MyInvitation, NewInvitation};
use super::rules;
use crate::accounts::queries as accounts;
use crate::accounts::rules::{normalize_email, plain_name, plain_words, NAME_MESSAGE};
use crate::audit::{self, Origin};
use crate::db::{now, Db};
use crate::error::AppError;
use crate::identity::{self, Role};
use crate::mail::Mailer;
use crate::state::AppState;
use crate::studies::forms::MemberForm;
use crate::studies::queries as studies;

/// Longer titles are left out of invitation emails ("a study") rather than cut.
const STUDY_TITLE_IN_EMAIL_MAX: usize = 120;

/// Invites someone to a study (the caller has checked that the inviter leads it).
pub async fn invite(
    state: &AppState,
    origin: &Origin,
    study_id: i64,
    form: &MemberForm,
) -> Result<Invitation, AppError> {
    let inviter_id = origin.user_id.ok_or(AppError::Forbidden)?;
    let email = normalize_email(&form.email);
    if email.is_empty() || !email.validate_email() {
        return Err(AppError::invalid(
            "email",
            "Enter an email address in the correct format, like name@example.com",
        ));
    }
    let name = form.display_name.trim().to_string();
    if !plain_name(&name) {
        return Err(AppError::invalid("display_name", NAME_MESSAGE));
    }
    let settings = state.settings.invitations.clone();
    let lookup = email.clone();
    let (existing, (by_person, on_site), study_title) = state
        .db
        .read(move |conn| {
            Ok::<_, AppError>((
                accounts::find_user_by_email(conn, &lookup)?,
                queries::sent_since(conn, inviter_id, now() - Duration::hours(1))?,
                studies::study_title(conn, study_id)?,
            ))
        })
        .await?;
    let roles_in_words = form.roles().in_words();
    // Anyone with an account can make a study, so its title goes into the email only as plain words.
    let study_title = plain_words(&study_title, STUDY_TITLE_IN_EMAIL_MAX).then_some(study_title);
    let joining = match &study_title {
        Some(title) => format!("the study “{title}” as {roles_in_words}"),
        None => format!("a study as {roles_in_words}"),
    };
    if let Some(limit) = rules::limit_reached(
        by_person,
        on_site,
        settings.per_person_per_hour,
        settings.per_site_per_hour,
    ) {
        return Err(AppError::TooManyRequests(limit.message()));
    }
    let (user, known) = match existing {
        Some(user) => (user, true),
        None => (
            crate::accounts::actions::invite(
                state,
                origin,
                &email,
                &name,
                Role::Member,
                Some(joining),
            )
            .await?,
            false,
        ),
    };
    let (roles, perspective) = (form.roles(), form.perspective());
    let (origin, mailer) = (origin.clone(), Mailer::new(state));
    let link = format!("{}/studies", state.settings.base_url);
    let invitation = state
        .db
        .write(move |conn| {
            if studies::is_member(conn, study_id, user.id)? {
                return Err(AppError::invalid(
                    "email",
                    "This person is already a member of the study",
                ));
            }
            if queries::is_invited(conn, study_id, user.id)? {
                return Err(AppError::invalid(
                    "email",
                    "This person has already been invited to the study",
                ));
            }
            let id = queries::insert(
                conn,
                &NewInvitation {
                    study_id,
                    user_id: user.id,
                    invited_name: &name,
                    roles,
                    perspective,
                    invited_by: inviter_id,
                },
            )?;
            if known {
                let inviter = identity::find_user(conn, inviter_id)?
                    .map(|u| u.display_name)
                    .unwrap_or_else(|| "A study lead".into());
                let mut context = tera::Context::new();
                context.insert("name", &user.display_name);
                context.insert("inviter", &inviter);
                context.insert("link", &link);
                context.insert("study", &study_title);
                context.insert("roles", &roles_in_words);
                mailer
                    .queue(
                        conn,
                        format!("study_invitation:{id}"),
                        "study_invitation",
                        &user.email,
                        &context,
                    )
                    .map_err(AppError::internal)?;
                // Counted like the new-account email: one email, one count, whoever it went to.
                audit::record(
                    conn,
                    &origin,
                    "study_invitation_notice_sent",
                    "study_invitation",
                    Some(id),
                    json!({ "study_id": study_id }),
                )?;
            }
            audit::record(
                conn,
                &origin,
                "study_invitation_created",
                "study_invitation",
                Some(id),
                json!({ "study_id": study_id, "user_id": user.id, "roles": roles, "perspective": perspective }),
            )?;
            Ok(Invitation {
                id,
                study_id,
                email: user.email.clone(),
                invited_name: name,
                roles,
                perspective,
                created_at: now(),
            })
        })
        .await?;
    state.outbox.wake();
    Ok(invitation)
}

pub async fn for_study(db: &Db, study_id: i64) -> Result<Vec<Invitation>, AppError> {
    db.read(move |conn| queries::for_study(conn, study_id).map_err(AppError::from))
        .await
}

pub async fn for_person(db: &Db, user_id: i64) -> Result<Vec<MyInvitation>, AppError> {
    db.read(move |conn| queries::for_person(conn, user_id).map_err(AppError::from))
        .await
}

/// The invited person accepts: they are a member with the roles offered. Returns the study's id.
pub async fn accept(
    db: &Db,
    origin: &Origin,
    user_id: i64,
    invitation_id: i64,
) -> Result<i64, AppError> {
    let origin = origin.clone().by(user_id);
    db.write(move |conn| {
        let (study_id, roles, perspective) =
            queries::mine(conn, user_id, invitation_id)?.ok_or(AppError::NotFound)?;
        if !identity::find_user(conn, user_id)?.is_some_and(|u| u.is_active) {
            return Err(AppError::Forbidden);
        }
        queries::delete(conn, invitation_id)?;
        if !studies::is_member(conn, study_id, user_id)? {
            let member_id = studies::insert_member(conn, study_id, user_id, roles, perspective)?;
            audit::record(
                conn,
                &origin,
                "study_member_added",
                "study_member",
                Some(member_id),
                json!({ "study_id": study_id, "user_id": user_id, "roles": roles, "perspective": perspective, "via": "invitation" }),
            )?;
        }
        audit::record(
            conn,
            &origin,
            "study_invitation_accepted",
            "study_invitation",
            Some(invitation_id),
            json!({ "study_id": study_id }),
        )?;
        Ok(study_id)
    })
    .await
}

pub async fn decline(
    db: &Db,
    origin: &Origin,
    user_id: i64,
    invitation_id: i64,
) -> Result<(), AppError> {
    let origin = origin.clone().by(user_id);
    db.write(move |conn| {
        let (study_id, _, _) =
            queries::mine(conn, user_id, invitation_id)?.ok_or(AppError::NotFound)?;
        queries::delete(conn, invitation_id)?;
        audit::record(
            conn,
            &origin,
            "study_invitation_declined",
            "study_invitation",
            Some(invitation_id),
            json!({ "study_id": study_id }),
        )?;
        Ok(())
    })
    .await
}

/// A lead withdraws an invitation that has not been accepted.
pub async fn withdraw(
    db: &Db,
    origin: &Origin,
    study_id: i64,
    invitation_id: i64,
) -> Result<(), AppError> {
    let origin = origin.clone();
    db.write(move |conn| {
        if !queries::withdraw(conn, study_id, invitation_id)? {
            return Err(AppError::NotFound);
        }
        audit::record(
            conn,
            &origin,
            "study_invitation_withdrawn",
            "study_invitation",
            Some(invitation_id),
            json!({ "study_id": study_id }),
        )?;
        Ok(())
    })
    .await
}
