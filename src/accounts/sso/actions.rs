//! What a single sign-on does once the provider has vouched for an email address: find the account or
//! make one, and record it, in one transaction with its audit events.

use serde_json::json;

use super::super::queries;
use super::rules::{self, Refusal};
use crate::audit::{self, Origin};
use crate::error::AppError;
use crate::identity::{Role, User};
use crate::state::AppState;

/// The active account for this verified email, made now (a member with no study roles and no password)
/// when there is none and its domain is allowed. Refusals are audited when they concern an account, or
/// someone the provider vouched for; the email itself is never written to the audit log.
pub async fn sign_in(
    state: &AppState,
    origin: &Origin,
    email: String,
    name: Option<String>,
) -> Result<Result<User, Refusal>, AppError> {
    let attempt = || {
        let (origin, email, name) = (origin.clone(), email.clone(), name.clone());
        let allowed = state.settings.sso.allowed_domains.clone();
        state.db.write(move |conn| {
            let (user, created) = match queries::find_user_by_email(conn, &email)? {
                Some(user) if user.is_active => (user, false),
                Some(user) => {
                    let details = json!({ "via": "sso", "reason": Refusal::Deactivated.reason() });
                    audit::record(
                        conn,
                        &origin,
                        "sign_in_refused",
                        "user",
                        Some(user.id),
                        details,
                    )?;
                    return Ok(Err(Refusal::Deactivated));
                }
                None if rules::domain_allowed(&email, &allowed) => {
                    let display_name = rules::display_name(name.as_deref(), &email);
                    let id = queries::insert_user(conn, &email, &display_name, Role::Member, None)?;
                    let user = crate::identity::find_user(conn, id)?.ok_or(AppError::NotFound)?;
                    (user, true)
                }
                None => {
                    let details =
                        json!({ "via": "sso", "reason": Refusal::DomainNotAllowed.reason() });
                    audit::record(conn, &origin, "sign_in_refused", "user", None, details)?;
                    return Ok(Err(Refusal::DomainNotAllowed));
                }
            };
            let origin = origin.by(user.id);
            if created {
                let details = json!({ "role": Role::Member.as_str(), "via": "sso" });
                audit::record(
                    conn,
                    &origin,
                    "user_created_by_sso",
                    "user",
                    Some(user.id),
                    details,
                )?;
            }
            audit::record(
                conn,
                &origin,
                "signed_in",
                "user",
                Some(user.id),
                json!({ "via": "sso" }),
            )?;
            Ok::<_, AppError>(Ok(user))
        })
    };
    match attempt().await {
        // Two first sign-ins of one new person at once (two tabs) on PostgreSQL: the second insert
        // meets the first's account, which the next attempt finds.
        Err(AppError::Internal(error)) if is_unique_violation(&error) => attempt().await,
        done => done,
    }
}

fn is_unique_violation(error: &anyhow::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    matches!(
        error.downcast_ref::<Error>(),
        Some(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _))
    )
}

/// A refusal before any account was looked at, with the provider having vouched for someone (a
/// missing or unverified email): audited without the email.
pub async fn record_refusal(
    state: &AppState,
    origin: &Origin,
    refusal: Refusal,
) -> Result<(), AppError> {
    let origin = origin.clone();
    state
        .db
        .write(move |conn| {
            let details = json!({ "via": "sso", "reason": refusal.reason() });
            audit::record(conn, &origin, "sign_in_refused", "user", None, details)
                .map_err(AppError::from)
        })
        .await
}
