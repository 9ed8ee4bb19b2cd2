//! Administrators' pages: everyone with an account, inviting someone new, and deactivating or
//! reactivating an account.

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use chrono::{Duration, NaiveDateTime};
use serde::Serialize;
use validator::Validate;

use super::actions;
use super::forms::InviteForm;
use super::queries;
use super::rules::{self, LoginGate};
use crate::audit::Origin;
use crate::config::LoginSettings;
use crate::db::now;
use crate::error::field_errors;
use crate::error::AppError;
use crate::identity::{Role, User};
use crate::web::page::see_other;
use crate::web::{AdminUser, Page};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/users", web::get().to(users_page))
        .route("/admin/users/invite", web::get().to(invite_page))
        .route("/admin/users/invite", web::post().to(invite))
        .route("/admin/users/{id}/deactivate", web::post().to(deactivate))
        .route("/admin/users/{id}/reactivate", web::post().to(reactivate))
        .route("/admin/users/{id}/unpause", web::post().to(unpause))
        .route(
            "/admin/users/{id}/reset-two-step",
            web::post().to(reset_two_step),
        );
}

/// An account as administrators and the API see it: never the password hash.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserSummary {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub is_active: bool,
    /// False until an invited person has chosen a password.
    pub has_password: bool,
    /// True while signing in with a password is paused after too many failures.
    pub sign_in_paused: bool,
    /// Whether the person signs in with a second step (an authenticator app).
    pub two_step_on: bool,
    #[serde(with = "crate::db::utc")]
    pub created_at: chrono::NaiveDateTime,
}

impl From<User> for UserSummary {
    fn from(user: User) -> Self {
        UserSummary {
            role: user.role(),
            has_password: user.password_hash.is_some(),
            id: user.id,
            email: user.email,
            display_name: user.display_name,
            is_active: user.is_active,
            sign_in_paused: false,
            two_step_on: user.totp_enabled_at.is_some(),
            created_at: user.created_at,
        }
    }
}

/// Everyone with an account, and whose sign-in is paused now.
pub async fn all_users(
    db: &crate::db::Db,
    settings: &LoginSettings,
) -> Result<Vec<UserSummary>, AppError> {
    let since = now() - Duration::minutes(settings.window_minutes + settings.lock_minutes);
    let (users, failures) = db
        .read(move |conn| {
            let users = queries::list_users(conn)?;
            let keys: Vec<String> = users
                .iter()
                .map(|u| actions::email_throttle_key(&u.email))
                .collect();
            let failures = queries::failures_under(conn, &keys, since)?;
            Ok::<_, AppError>((users, failures))
        })
        .await?;
    let mut by_key: HashMap<String, Vec<NaiveDateTime>> = HashMap::new();
    for (key, at) in failures {
        by_key.entry(key).or_default().push(at);
    }
    Ok(users
        .into_iter()
        .map(|user| {
            let failed = by_key
                .get(&actions::email_throttle_key(&user.email))
                .map_or(&[][..], Vec::as_slice);
            let paused = matches!(
                rules::login_gate(failed, &[], now(), settings),
                LoginGate::LockedAccount(_)
            );
            UserSummary {
                sign_in_paused: paused,
                ..UserSummary::from(user)
            }
        })
        .collect())
}

async fn users_page(AdminUser(admin): AdminUser, page: Page) -> Result<HttpResponse, AppError> {
    let mut context = tera::Context::new();
    let settings = &page.state().settings.login;
    context.insert("users", &all_users(&page.state().db, settings).await?);
    context.insert("me", &admin.id);
    page.render("admin/users.html", context)
}

async fn deactivate(
    admin: AdminUser,
    page: Page,
    origin: Origin,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    set_active(admin, page, origin, id.into_inner(), false).await
}

async fn reactivate(
    admin: AdminUser,
    page: Page,
    origin: Origin,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    set_active(admin, page, origin, id.into_inner(), true).await
}

async fn unpause(
    AdminUser(admin): AdminUser,
    page: Page,
    origin: Origin,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let user =
        actions::unpause_sign_in(&page.state().db, &origin, admin.id, id.into_inner()).await?;
    page.flash(
        "success",
        format!(
            "{} can sign in with their password again.",
            user.display_name
        ),
    );
    Ok(see_other("/admin/users"))
}

async fn reset_two_step(
    AdminUser(admin): AdminUser,
    page: Page,
    origin: Origin,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let user =
        super::two_factor::actions::reset(&page.state().db, &origin, admin.id, id.into_inner())
            .await?;
    page.flash(
        "success",
        format!(
            "{}'s two-step sign-in is reset: they are signed out everywhere and their tokens are revoked. They set it up again when they next sign in.",
            user.display_name
        ),
    );
    Ok(see_other("/admin/users"))
}

async fn set_active(
    AdminUser(admin): AdminUser,
    page: Page,
    origin: Origin,
    user_id: i64,
    active: bool,
) -> Result<HttpResponse, AppError> {
    match actions::set_active(&page.state().db, &origin, admin.id, user_id, active).await {
        Ok(user) if active => page.flash(
            "success",
            format!("{} can sign in again.", user.display_name),
        ),
        Ok(user) => page.flash(
            "success",
            format!(
                "{} is deactivated: they are signed out, their tokens are revoked and they cannot sign in.",
                user.display_name
            ),
        ),
        Err(AppError::Invalid(errors)) => {
            page.flash("info", errors.into_values().collect::<Vec<_>>().join(" "))
        }
        Err(other) => return Err(other),
    }
    Ok(see_other("/admin/users"))
}

fn invite_context(form: &InviteForm) -> tera::Context {
    let mut context = tera::Context::new();
    context.insert("email", &form.email);
    context.insert("display_name", &form.display_name);
    context.insert("role", &form.role);
    context.insert(
        "role_options",
        &serde_json::json!([
            { "value": "member", "label": "Member", "hint": "Takes part in studies they are added to." },
            { "value": "admin", "label": "Administrator", "hint": "Also manages accounts and sees the audit log." }
        ]),
    );
    context
}

async fn invite_page(_admin: AdminUser, page: Page) -> Result<HttpResponse, AppError> {
    let form = InviteForm {
        role: Role::Member.as_str().into(),
        ..InviteForm::default()
    };
    page.render("admin/invite.html", invite_context(&form))
}

async fn invite(
    AdminUser(admin): AdminUser,
    page: Page,
    origin: Origin,
    form: web::Form<InviteForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    if let Err(errors) = form.validate() {
        return page.render_invalid(
            "admin/invite.html",
            invite_context(&form),
            &field_errors(&errors),
        );
    }
    let role = Role::parse(&form.role).unwrap_or(Role::Member);
    let origin = origin.by(admin.id);
    match actions::invite(
        page.state(),
        &origin,
        &form.email,
        &form.display_name,
        role,
        None,
    )
    .await
    {
        Ok(user) => {
            match crate::mail::no_server_note(&page.state().settings) {
                None => page.flash(
                    "success",
                    format!(
                        "{} has been sent an invitation by email.",
                        user.display_name
                    ),
                ),
                Some(note) => page.flash(
                    "info",
                    format!("{}'s account is created. {note}", user.display_name),
                ),
            }
            Ok(see_other("/admin/users"))
        }
        Err(AppError::Invalid(errors)) => {
            page.render_invalid("admin/invite.html", invite_context(&form), &errors)
        }
        Err(other) => Err(other),
    }
}
