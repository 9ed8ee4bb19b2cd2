//! Administrators' pages: everyone with an account, and inviting someone new.

use actix_web::{web, HttpResponse};
use serde::Serialize;
use validator::Validate;

use super::actions;
use super::forms::InviteForm;
use super::queries;
use crate::audit::Origin;
use crate::error::field_errors;
use crate::error::AppError;
use crate::identity::{Role, User};
use crate::web::page::see_other;
use crate::web::{AdminUser, Page};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/users", web::get().to(users_page))
        .route("/admin/users/invite", web::get().to(invite_page))
        .route("/admin/users/invite", web::post().to(invite));
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
            created_at: user.created_at,
        }
    }
}

pub async fn all_users(db: &crate::db::Db) -> Result<Vec<UserSummary>, AppError> {
    let users = db
        .read(|conn| queries::list_users(conn).map_err(AppError::from))
        .await?;
    Ok(users.into_iter().map(UserSummary::from).collect())
}

async fn users_page(_admin: AdminUser, page: Page) -> Result<HttpResponse, AppError> {
    let mut context = tera::Context::new();
    context.insert("users", &all_users(&page.state().db).await?);
    page.render("admin/users.html", context)
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
    match actions::invite(page.state(), &origin, &form.email, &form.display_name, role).await {
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
