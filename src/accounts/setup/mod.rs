//! Setting Voices up: the first-run page that makes the first administrator (open only while nobody has
//! an account, and only with the address the service writes to its log), the organisation's details
//! and logo, and sending a test email through the mail server.

pub mod api;

use actix_multipart::Multipart;
use actix_web::{web, HttpResponse};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::actions;
use super::forms::check_password;
use crate::audit::{self, Origin};
use crate::config::Settings;
use crate::error::{AppError, FieldErrors};
use crate::mail::{self, Envelope, SendError, Sender};
use crate::security::{derived_token, hash_token, new_token, NewToken};
use crate::state::AppState;
use crate::web::auth::start_session;
use crate::web::organisation::{self, OrganisationForm, LOGO_MAX_BYTES};
use crate::web::page::see_other;
use crate::web::{AdminUser, Page};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/setup", web::get().to(first_run_page))
        .route("/setup", web::post().to(first_run))
        .route("/admin/organisation", web::get().to(organisation_page))
        .route("/admin/organisation", web::post().to(save_organisation))
        .route("/admin/organisation/logo", web::post().to(upload_logo))
        .route(
            "/admin/organisation/logo/remove",
            web::post().to(remove_logo),
        )
        .route("/admin/mail-check", web::post().to(mail_check));
}

/// The first-run address's secret: the same on every instance that shares the secret key, and useless
/// once anyone has an account.
pub fn first_run_token(settings: &Settings) -> anyhow::Result<NewToken> {
    Ok(derived_token(
        &settings.secret_key_bytes()?,
        "voices first-run setup",
    ))
}

/// Where the first administrator is made, to be written to the log at start while nobody has an account.
pub fn first_run_url(settings: &Settings) -> anyhow::Result<String> {
    Ok(format!(
        "{}/setup?token={}",
        settings.base_url.trim_end_matches('/'),
        first_run_token(settings)?.secret
    ))
}

/// Compared by hash, so the comparison's timing says nothing about the token itself.
fn token_matches(state: &AppState, given: &str) -> bool {
    first_run_token(&state.settings).is_ok_and(|token| token.hash == hash_token(given))
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
struct FirstRunForm {
    token: String,
    organisation: String,
    display_name: String,
    email: String,
    password: String,
    confirm_password: String,
}

impl FirstRunForm {
    fn problems(&self) -> FieldErrors {
        let mut errors = FieldErrors::new();
        if self.organisation.trim().is_empty() {
            errors.insert(
                "organisation".into(),
                "Enter your organisation's name, as people know it".into(),
            );
        }
        if self.display_name.trim().is_empty() {
            errors.insert("display_name".into(), "Enter your name".into());
        }
        if !self.email.contains('@') {
            errors.insert(
                "email".into(),
                "Enter an email address in the correct format, like name@example.com".into(),
            );
        }
        if let Err(rule) = check_password(&self.password) {
            errors.insert("password".into(), rule.into());
        } else if self.password != self.confirm_password {
            errors.insert(
                "confirm_password".into(),
                "The passwords do not match. Type the same password twice.".into(),
            );
        }
        errors
    }
}

#[derive(Deserialize)]
struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// Once someone has an account there is nothing to set up here: sign in instead.
async fn open_for_first_run(page: &Page, token: &str) -> Result<Option<HttpResponse>, AppError> {
    if actions::has_accounts(&page.state().db).await? {
        return Ok(Some(see_other("/login")));
    }
    if !token_matches(page.state(), token) {
        return Err(AppError::NotFound);
    }
    Ok(None)
}

fn first_run_context(form: &FirstRunForm) -> tera::Context {
    let mut context = tera::Context::new();
    context.insert("form", form);
    context
}

async fn first_run_page(
    page: Page,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, AppError> {
    if let Some(elsewhere) = open_for_first_run(&page, &query.token).await? {
        return Ok(elsewhere);
    }
    let form = FirstRunForm {
        token: query.token.clone(),
        ..FirstRunForm::default()
    };
    page.render("admin/first_run.html", first_run_context(&form))
}

async fn first_run(
    page: Page,
    origin: Origin,
    form: web::Form<FirstRunForm>,
) -> Result<HttpResponse, AppError> {
    let mut form = form.into_inner();
    if let Some(elsewhere) = open_for_first_run(&page, &form.token).await? {
        return Ok(elsewhere);
    }
    let errors = form.problems();
    if !errors.is_empty() {
        form.password.clear();
        form.confirm_password.clear();
        return page.render_invalid("admin/first_run.html", first_run_context(&form), &errors);
    }
    let db = &page.state().db;
    let created = actions::create_first_admin(
        db,
        &origin,
        form.email.trim(),
        form.display_name.trim(),
        form.password.clone(),
    )
    .await;
    let id = match created {
        Ok(id) => id,
        Err(AppError::Invalid(errors)) => {
            form.password.clear();
            form.confirm_password.clear();
            return page.render_invalid("admin/first_run.html", first_run_context(&form), &errors);
        }
        Err(other) => return Err(other),
    };
    let name = form
        .organisation
        .trim()
        .chars()
        .take(200)
        .collect::<String>();
    let origin = origin.by(id);
    organisation::change(page.state(), move |conn| {
        organisation::save_name(conn, &name)?;
        audited(
            conn,
            &origin,
            "organisation_changed",
            serde_json::json!({ "fields": ["name"] }),
        )
    })
    .await?;
    let user = actions::user_by_email(db, form.email.trim())
        .await?
        .ok_or(AppError::NotFound)?;
    start_session(&page, &user, false).await?;
    page.flash(
        "success",
        "Your administrator account is ready. Finish setting up below.",
    );
    Ok(see_other("/admin/setup"))
}

/// Every change to the organisation goes into the audit log, by field names and sizes, never values.
fn audited(
    conn: &mut crate::db::DbConnection,
    origin: &Origin,
    action: &str,
    details: serde_json::Value,
) -> diesel::QueryResult<()> {
    audit::record(conn, origin, action, "organisation", None, details)
}

fn organisation_context(page: &Page, form: &OrganisationForm) -> tera::Context {
    let mut context = tera::Context::new();
    context.insert("form", form);
    context.insert("logo_max_kb", &(LOGO_MAX_BYTES / 1024));
    context.insert(
        "no_mail_server",
        &mail::no_server_note(&page.state().settings),
    );
    context
}

async fn organisation_page(_admin: AdminUser, page: Page) -> Result<HttpResponse, AppError> {
    let form = OrganisationForm::from(page.organisation());
    page.render(
        "admin/organisation.html",
        organisation_context(&page, &form),
    )
}

/// Saves the details, audited by field name (never the values).
pub async fn save_details(
    state: &AppState,
    origin: &Origin,
    form: OrganisationForm,
) -> Result<OrganisationForm, AppError> {
    let form = form.checked().map_err(AppError::Invalid)?;
    let (saved, origin) = (form.clone(), origin.clone());
    organisation::change(state, move |conn| {
        organisation::save(conn, &saved)?;
        let fields = [
            "name",
            "privacy_url",
            "privacy_text",
            "contact_email",
            "contact_phone",
        ];
        audited(
            conn,
            &origin,
            "organisation_changed",
            serde_json::json!({ "fields": fields }),
        )
    })
    .await?;
    Ok(form)
}

async fn save_organisation(
    admin: AdminUser,
    page: Page,
    origin: Origin,
    form: web::Form<OrganisationForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    match save_details(page.state(), &origin.by(admin.0.id), form.clone()).await {
        Ok(_) => {
            page.flash("success", "The organisation's details are saved.");
            Ok(see_other("/admin/setup"))
        }
        Err(AppError::Invalid(errors)) => page.render_invalid(
            "admin/organisation.html",
            organisation_context(&page, &form),
            &errors,
        ),
        Err(other) => Err(other),
    }
}

/// Checks and stores a logo (PNG or JPEG, at most `LOGO_MAX_BYTES`), audited.
pub async fn set_logo(state: &AppState, origin: &Origin, bytes: Vec<u8>) -> Result<(), AppError> {
    let kind = organisation::logo_type(&bytes)
        .ok_or_else(|| AppError::invalid("logo", "The logo must be a PNG or JPEG image"))?;
    let origin = origin.clone();
    organisation::change(state, move |conn| {
        organisation::save_logo(conn, Some((&bytes, kind)))?;
        audited(
            conn,
            &origin,
            "organisation_logo_changed",
            serde_json::json!({ "bytes": bytes.len() }),
        )
    })
    .await
}

pub async fn clear_logo(state: &AppState, origin: &Origin) -> Result<(), AppError> {
    let origin = origin.clone();
    organisation::change(state, move |conn| {
        organisation::save_logo(conn, None)?;
        audited(
            conn,
            &origin,
            "organisation_logo_removed",
            serde_json::json!({}),
        )
    })
    .await
}

pub fn logo_too_large() -> String {
    format!(
        "The logo must be smaller than {} KB: save it at about 200 pixels wide",
        LOGO_MAX_BYTES / 1024
    )
}

async fn read_logo(mut multipart: Multipart) -> Result<Vec<u8>, AppError> {
    let too_large = logo_too_large();
    let mut logo = None;
    while let Some(field) = multipart.next().await {
        let field = field.map_err(|e| {
            AppError::invalid(
                "logo",
                &format!("The form could not be read ({e}). Try again."),
            )
        })?;
        let is_logo = field.name() == Some("logo");
        // The CSRF token's part is read too, already checked; an empty part is no file chosen.
        let bytes =
            crate::web::upload::read_limited(field, LOGO_MAX_BYTES, "logo", &too_large).await?;
        if is_logo && !bytes.is_empty() {
            logo = Some(bytes);
        }
    }
    logo.ok_or_else(|| AppError::invalid("logo", "Choose the logo's file: a PNG or JPEG image"))
}

async fn upload_logo(
    admin: AdminUser,
    page: Page,
    origin: Origin,
    multipart: Multipart,
) -> Result<HttpResponse, AppError> {
    let result = match read_logo(multipart).await {
        Ok(bytes) => set_logo(page.state(), &origin.by(admin.0.id), bytes).await,
        Err(error) => Err(error),
    };
    match result {
        Ok(()) => {
            page.flash(
                "success",
                "The logo is saved: it shows at the top of every page.",
            );
            Ok(see_other("/admin/organisation"))
        }
        Err(AppError::Invalid(errors)) => page.render_invalid(
            "admin/organisation.html",
            organisation_context(&page, &OrganisationForm::from(page.organisation())),
            &errors,
        ),
        Err(other) => Err(other),
    }
}

async fn remove_logo(
    admin: AdminUser,
    page: Page,
    origin: Origin,
) -> Result<HttpResponse, AppError> {
    clear_logo(page.state(), &origin.by(admin.0.id)).await?;
    page.flash("success", "The logo is removed.");
    Ok(see_other("/admin/organisation"))
}

/// What the mail server said to a test email.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MailCheck {
    /// The mail server accepted the email for delivery.
    pub accepted: bool,
    /// Emails are written as files because no mail server is set up.
    pub written_to_file: bool,
    /// What happened, in words (the server's reply when it refused).
    pub detail: String,
}

/// Sends a test email to the administrator at once (not through the outbox), so the answer is the
/// mail server's own; a success is remembered for the setup checklist.
pub async fn check_mail(state: &AppState, to: &str) -> Result<MailCheck, AppError> {
    let settings = &state.settings;
    let sender = Sender::new(settings).map_err(AppError::internal)?;
    let message_id = crate::mail::outbox::message_id(
        &format!("mail-check-{}", new_token("").secret),
        &settings.message_domain(),
    );
    let text = format!(
        "This is a test email from Voices at {}. If you can read it, emails reach people.",
        settings.base_url
    );
    let envelope = Envelope {
        message_id: &message_id,
        to,
        subject: "Voices: test email",
        text: &text,
        html: &format!("<p>{text}</p>"),
        opt_out_url: None,
    };
    let written_to_file = mail::writes_files(settings);
    let sent = match sender.build(&envelope) {
        Ok(message) => {
            tokio::time::timeout(std::time::Duration::from_secs(20), sender.deliver(message))
                .await
                .unwrap_or_else(|_| {
                    Err(SendError::Temporary(
                        "the mail server did not answer within 20 seconds".into(),
                    ))
                })
        }
        Err(error) => Err(error),
    };
    let check = match sent {
        Ok(()) if written_to_file => MailCheck {
            accepted: false,
            written_to_file,
            detail: mail::no_server_note(settings).unwrap_or_default(),
        },
        Ok(()) => MailCheck {
            accepted: true,
            written_to_file,
            detail: format!(
                "The mail server accepted a test email to {to}. Check that it arrived."
            ),
        },
        Err(SendError::Permanent(reply) | SendError::Temporary(reply)) => MailCheck {
            accepted: false,
            written_to_file,
            detail: format!("The mail server did not take the test email: {reply}"),
        },
    };
    if check.accepted {
        organisation::change(state, organisation::mark_mail_checked).await?;
    }
    Ok(check)
}

async fn mail_check(admin: AdminUser, page: Page) -> Result<HttpResponse, AppError> {
    let check = check_mail(page.state(), &admin.0.email.0).await?;
    page.flash(
        if check.accepted { "success" } else { "info" },
        check.detail,
    );
    Ok(see_other("/admin/setup"))
}
