//! Two-step sign-in pages: setting it up (QR code and key, then a code), the recovery codes, the second
//! step of signing in, and confirming it is you before sensitive work.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::actions::{self, Proof};
use super::rules;
use crate::audit::{self, Origin};
use crate::error::AppError;
use crate::identity;
use crate::web::auth::{resolve, start_session};
use crate::web::page::{safe_next, see_other};
use crate::web::{CurrentUser, Page};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/account/two-step", web::get().to(set_up_page))
        .route("/account/two-step", web::post().to(confirm_set_up))
        .route(
            "/account/two-step/recovery-codes",
            web::post().to(new_recovery_codes),
        )
        .route("/account/two-step/off", web::post().to(turn_off))
        .route("/login/two-step", web::get().to(second_step_page))
        .route("/login/two-step", web::post().to(second_step))
        .route("/account/confirm", web::get().to(confirm_page))
        .route("/account/confirm", web::post().to(confirm));
}

/// Asks for the second step again before the routes in `rules::STEP_UP_ROUTES` when this browser
/// session gave it too long ago. (Whether someone must set it up at all is held by the `CurrentUser`
/// extractor.) API tokens are their own credential and are not asked again.
pub async fn gate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let sensitive = rules::may_need_step_up(req.path())
        && req
            .match_pattern()
            .is_some_and(|pattern| rules::needs_step_up(&pattern));
    if sensitive {
        if let Ok(Some(user)) = resolve(req.request()).await {
            let can_step_up = user.second_factor_on || user.second_factor_at.is_some();
            let minutes = req
                .app_data::<web::Data<crate::state::AppState>>()
                .map_or(15, |s| s.settings.second_factor.step_up_minutes);
            if user.session_id.is_some()
                && can_step_up
                && rules::step_up_due(user.second_factor_at, crate::db::now(), minutes)
            {
                return Ok(req.error_response(AppError::StepUpNeeded));
            }
        }
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_boxed_body)
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
    next: Option<String>,
}

fn code_missing(code: &str) -> Option<AppError> {
    code.trim().is_empty().then(|| {
        AppError::invalid(
            "code",
            "Enter the 6-digit code from your authenticator app, or a recovery code",
        )
    })
}

async fn set_up_context(page: &Page, user: &CurrentUser) -> Result<tera::Context, AppError> {
    let mut context = tera::Context::new();
    let status = actions::status(&page.state().db, user.id).await?;
    if !status.on {
        let enrolment = actions::begin(page.state(), user.id, &user.email.0).await?;
        context.insert("key", &enrolment.key);
        context.insert("qr_svg", &enrolment.qr_svg);
    }
    context.insert("status", &status);
    context.insert("required", &user.must_set_up_second_factor);
    Ok(context)
}

async fn set_up_page(user: CurrentUser, page: Page) -> Result<HttpResponse, AppError> {
    let context = set_up_context(&page, &user).await?;
    page.render("accounts/two_step.html", context)
}

async fn confirm_set_up(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, AppError> {
    let result = match code_missing(&form.code) {
        Some(error) => Err(error),
        None => actions::confirm(page.state(), &origin, user.id, user.session_id, &form.code).await,
    };
    match result {
        Ok(codes) => show_codes(&page, &codes, true),
        Err(AppError::Invalid(errors)) => {
            let context = set_up_context(&page, &user).await?;
            page.render_invalid("accounts/two_step.html", context, &errors)
        }
        Err(other) => Err(other),
    }
}

fn show_codes(
    page: &Page,
    codes: &[String],
    just_turned_on: bool,
) -> Result<HttpResponse, AppError> {
    let mut context = tera::Context::new();
    context.insert("codes", codes);
    context.insert("just_turned_on", &just_turned_on);
    page.render("accounts/recovery_codes.html", context)
}

async fn new_recovery_codes(
    user: CurrentUser,
    page: Page,
    origin: Origin,
) -> Result<HttpResponse, AppError> {
    let codes = actions::new_recovery_codes(&page.state().db, &origin, user.id).await?;
    show_codes(&page, &codes, false)
}

async fn turn_off(user: CurrentUser, page: Page, origin: Origin) -> Result<HttpResponse, AppError> {
    let account = page
        .state()
        .db
        .read({
            let id = user.id;
            move |conn| identity::find_user(conn, id).map_err(AppError::from)
        })
        .await?
        .ok_or(AppError::NotFound)?;
    match actions::turn_off(page.state(), &origin, &account).await {
        Ok(()) => {
            page.flash(
                "success",
                "Two-step sign-in is off. You sign in with your password alone.",
            );
            Ok(see_other("/account"))
        }
        Err(AppError::Invalid(errors)) => {
            let context = set_up_context(&page, &user).await?;
            page.render_invalid("accounts/two_step.html", context, &errors)
        }
        Err(other) => Err(other),
    }
}

/// The cookie session's record of a password accepted for someone who must now give the second step.
const PENDING: &str = "second_step";
/// How long the second step may take after the password.
const PENDING_SECONDS: i64 = 300;

#[derive(Serialize, Deserialize)]
struct Pending {
    user_id: i64,
    started: i64,
    next: Option<String>,
}

/// Remembers, in this browser only, that the password was right, and sends the person to the second step.
pub fn ask_second_step(page: &Page, user_id: i64, next: Option<String>) -> HttpResponse {
    let pending = Pending {
        user_id,
        started: crate::db::unix_now(),
        next,
    };
    let _ = page.session().insert(PENDING, pending);
    see_other("/login/two-step")
}

fn pending(page: &Page) -> Option<Pending> {
    let pending: Pending = page.session().get(PENDING).ok().flatten()?;
    let age = crate::db::unix_now() - pending.started;
    (0..=PENDING_SECONDS).contains(&age).then_some(pending)
}

fn start_again(page: &Page) -> HttpResponse {
    page.session().remove(PENDING);
    page.flash(
        "error",
        "Signing in took too long. Enter your email address and password again.",
    );
    see_other("/login")
}

async fn second_step_page(page: Page) -> Result<HttpResponse, AppError> {
    if pending(&page).is_none() {
        return Ok(start_again(&page));
    }
    page.render("accounts/second_step.html", tera::Context::new())
}

async fn second_step(
    page: Page,
    origin: Origin,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, AppError> {
    let Some(pending) = pending(&page) else {
        return Ok(start_again(&page));
    };
    let result = match code_missing(&form.code) {
        Some(error) => Err(error),
        None => actions::prove(page.state(), &origin, pending.user_id, None, &form.code).await,
    };
    let proof = match result {
        Ok(proof) => proof,
        Err(AppError::Invalid(errors)) => {
            return page.render_invalid("accounts/second_step.html", tera::Context::new(), &errors)
        }
        Err(AppError::TooManyRequests(message)) => {
            let mut context = tera::Context::new();
            context.insert(
                "errors",
                &crate::error::FieldErrors::from([("code".to_string(), message)]),
            );
            return page.render_status(
                actix_web::http::StatusCode::TOO_MANY_REQUESTS,
                "accounts/second_step.html",
                context,
            );
        }
        Err(other) => return Err(other),
    };
    let user_id = pending.user_id;
    let origin = origin.by(user_id);
    let user = page
        .state()
        .db
        .write(move |conn| {
            let user = identity::find_user(conn, user_id)?
                .filter(|u| u.is_active)
                .ok_or(AppError::NotFound)?;
            audit::record(
                conn,
                &origin,
                "signed_in",
                "user",
                Some(user_id),
                serde_json::json!({ "second_factor": true }),
            )?;
            Ok::<_, AppError>(user)
        })
        .await;
    let Ok(user) = user else {
        return Ok(start_again(&page));
    };
    page.session().remove(PENDING);
    start_session(&page, &user, true).await?;
    warn_if_recovery_code(&page, proof);
    Ok(see_other(&safe_next(pending.next.as_deref())))
}

fn warn_if_recovery_code(page: &Page, proof: Proof) {
    if let Proof::RecoveryCode { left } = proof {
        page.flash(
            "warning",
            format!(
                "You used a recovery code; it will not work again. You have {left} left. You can make new ones on your account page."
            ),
        );
    }
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn confirm_page(
    _user: CurrentUser,
    page: Page,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, AppError> {
    let mut context = tera::Context::new();
    context.insert("next", &safe_next(query.next.as_deref()));
    context.insert(
        "minutes",
        &page.state().settings.second_factor.step_up_minutes,
    );
    page.render("accounts/confirm.html", context)
}

async fn confirm(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, AppError> {
    let next = safe_next(form.next.as_deref());
    let result = match code_missing(&form.code) {
        Some(error) => Err(error),
        None => actions::prove(page.state(), &origin, user.id, user.session_id, &form.code).await,
    };
    match result {
        Ok(proof) => {
            warn_if_recovery_code(&page, proof);
            Ok(see_other(&next))
        }
        Err(AppError::Invalid(errors)) => {
            let mut context = tera::Context::new();
            context.insert("next", &next);
            context.insert(
                "minutes",
                &page.state().settings.second_factor.step_up_minutes,
            );
            page.render_invalid("accounts/confirm.html", context, &errors)
        }
        Err(other) => Err(other),
    }
}
