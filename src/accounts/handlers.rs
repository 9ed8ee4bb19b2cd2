//! Account pages: sign in and out, forgotten password, invitation and reset links, the account page with
//! password change, signed-in sessions and personal access tokens.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use validator::Validate;

use super::actions;
use super::forms::{
    ChangePasswordForm, ForgotPasswordForm, NewPasswordForm, SignInForm, TokenForm,
};
use super::queries;
use super::two_factor;
use crate::audit::Origin;
use crate::error::field_errors;
use crate::error::AppError;
use crate::web::auth::{end_session, start_session};
use crate::web::page::{safe_next, see_other};
use crate::web::{CurrentUser, Page};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/login", web::get().to(sign_in_page))
        .route("/login", web::post().to(sign_in))
        .route("/logout", web::post().to(sign_out))
        .route("/forgot-password", web::get().to(forgot_page))
        .route("/forgot-password", web::post().to(forgot))
        .route(
            "/accounts/set-password/{token}",
            web::get().to(set_password_page),
        )
        .route(
            "/accounts/set-password/{token}",
            web::post().to(set_password),
        )
        .route(
            "/accounts/continue/{token}",
            web::get().to(continue_sign_in_page),
        )
        .route(
            "/accounts/continue/{token}",
            web::post().to(continue_sign_in),
        )
        .route("/account", web::get().to(account_page))
        .route("/account/password", web::get().to(change_password_page))
        .route("/account/password", web::post().to(change_password))
        .route(
            "/account/sessions/{id}/end",
            web::post().to(end_one_session),
        )
        .route(
            "/account/sessions/end-all",
            web::post().to(sign_out_everywhere),
        )
        .route("/account/tokens", web::post().to(create_token))
        .route("/account/tokens/{id}/revoke", web::post().to(revoke_token));
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn sign_in_page(page: Page, query: web::Query<NextQuery>) -> Result<HttpResponse, AppError> {
    if page.user.is_some() {
        return Ok(see_other(&safe_next(query.next.as_deref())));
    }
    let mut context = tera::Context::new();
    context.insert("email", "");
    context.insert("next", &query.next);
    let kept = query
        .next
        .as_deref()
        .is_some_and(|n| n.starts_with(super::held_forms::RESUME_PREFIX));
    context.insert("kept_form", &kept);
    context.insert("idle_minutes", &page.state().settings.session.idle_minutes);
    let first_run = !actions::has_accounts(&page.state().db).await?;
    context.insert("first_run", &first_run);
    page.render("accounts/sign_in.html", context)
}

async fn sign_in(
    page: Page,
    origin: Origin,
    form: web::Form<SignInForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let mut context = tera::Context::new();
    context.insert("email", &form.email);
    context.insert("next", &form.next);
    if let Err(errors) = form.validate() {
        return page.render_invalid("accounts/sign_in.html", context, &field_errors(&errors));
    }
    match actions::sign_in(page.state(), &origin, &form.email, form.password).await {
        Ok(user) => signed_in(&page, &user, form.next).await,
        Err(AppError::Invalid(errors)) => {
            page.render_invalid("accounts/sign_in.html", context, &errors)
        }
        Err(AppError::TooManyRequests(message)) => {
            context.insert(
                "errors",
                &crate::error::FieldErrors::from([("email".to_string(), message)]),
            );
            page.render_status(
                StatusCode::TOO_MANY_REQUESTS,
                "accounts/sign_in.html",
                context,
            )
        }
        Err(other) => Err(other),
    }
}

/// The password (or an emailed link) is accepted: someone with two-step sign-in gives the second step
/// next; anyone else is signed in.
async fn signed_in(
    page: &Page,
    user: &crate::identity::User,
    next: Option<String>,
) -> Result<HttpResponse, AppError> {
    if user.totp_enabled_at.is_some() {
        return Ok(two_factor::handlers::ask_second_step(page, user.id, next));
    }
    start_session(page, user, false).await?;
    Ok(see_other(&safe_next(next.as_deref())))
}

async fn sign_out(page: Page, origin: Origin) -> Result<HttpResponse, AppError> {
    if let Some(user) = &page.user {
        let origin = origin.by(user.id);
        let user_id = user.id;
        page.state()
            .db
            .write(move |conn| {
                crate::audit::record(
                    conn,
                    &origin,
                    "signed_out",
                    "user",
                    Some(user_id),
                    serde_json::json!({}),
                )
                .map_err(AppError::from)
            })
            .await?;
    }
    end_session(&page).await?;
    // A fresh empty cookie session rather than none, so the goodbye message can still be shown.
    page.session().renew();
    page.flash("success", "You have signed out.");
    Ok(see_other("/login"))
}

async fn forgot_page(page: Page) -> Result<HttpResponse, AppError> {
    let mut context = tera::Context::new();
    context.insert("email", "");
    page.render("accounts/forgot_password.html", context)
}

async fn forgot(
    page: Page,
    origin: Origin,
    form: web::Form<ForgotPasswordForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let mut context = tera::Context::new();
    context.insert("email", &form.email);
    if let Err(errors) = form.validate() {
        return page.render_invalid(
            "accounts/forgot_password.html",
            context,
            &field_errors(&errors),
        );
    }
    actions::request_password_reset(page.state(), &origin, &form.email).await?;
    context.insert("hours", &page.state().settings.tokens.reset_hours);
    page.render("accounts/forgot_password_sent.html", context)
}

async fn link_context(page: &Page, token: &str) -> Result<Option<tera::Context>, AppError> {
    let Some((user, purpose)) = actions::link_holder(&page.state().db, token).await? else {
        return Ok(None);
    };
    let mut context = tera::Context::new();
    context.insert("name", &user.display_name);
    context.insert(
        "invitation",
        &(purpose == queries::LinkPurpose::Invitation.as_str()),
    );
    Ok(Some(context))
}

fn link_invalid(page: &Page) -> Result<HttpResponse, AppError> {
    page.render_status(
        StatusCode::NOT_FOUND,
        "accounts/link_invalid.html",
        tera::Context::new(),
    )
}

async fn set_password_page(page: Page, token: web::Path<String>) -> Result<HttpResponse, AppError> {
    match link_context(&page, &token).await? {
        Some(context) => page.render("accounts/set_password.html", context),
        None => link_invalid(&page),
    }
}

async fn set_password(
    page: Page,
    origin: Origin,
    token: web::Path<String>,
    form: web::Form<NewPasswordForm>,
) -> Result<HttpResponse, AppError> {
    let Some(context) = link_context(&page, &token).await? else {
        return link_invalid(&page);
    };
    let form = form.into_inner();
    if let Err(errors) = form.validate() {
        return page.render_invalid(
            "accounts/set_password.html",
            context,
            &field_errors(&errors),
        );
    }
    match actions::redeem_link(page.state(), &origin, &token, form.new_password).await {
        Ok(user) => {
            page.flash("success", "Your password is set.");
            signed_in(&page, &user, None).await
        }
        Err(AppError::NotFound) => link_invalid(&page),
        Err(other) => Err(other),
    }
}

/// The emailed link only shows a button: mail scanners that open links must not use it up.
async fn continue_sign_in_page(page: Page) -> Result<HttpResponse, AppError> {
    page.render("accounts/continue_sign_in.html", tera::Context::new())
}

async fn continue_sign_in(
    page: Page,
    origin: Origin,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    match actions::continue_sign_in(page.state(), &origin, &token).await {
        Ok(user) => signed_in(&page, &user, None).await,
        Err(AppError::NotFound) => link_invalid(&page),
        Err(other) => Err(other),
    }
}

async fn account_context(page: &Page, user: &CurrentUser) -> Result<tera::Context, AppError> {
    let user_id = user.id;
    let tokens = page
        .state()
        .db
        .read(move |conn| queries::list_api_tokens(conn, user_id).map_err(AppError::from))
        .await?;
    let sessions = actions::sessions(&page.state().db, user.id).await?;
    let mut context = tera::Context::new();
    context.insert("tokens", &tokens);
    context.insert("token_name", "");
    context.insert("sessions", &sessions);
    context.insert("this_session", &user.session_id);
    context.insert("idle_minutes", &page.state().settings.session.idle_minutes);
    context.insert("session_hours", &page.state().settings.session.hours);
    Ok(context)
}

async fn account_page(user: CurrentUser, page: Page) -> Result<HttpResponse, AppError> {
    let context = account_context(&page, &user).await?;
    page.render("accounts/account.html", context)
}

async fn create_token(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    if let Err(errors) = form.validate() {
        let mut context = account_context(&page, &user).await?;
        context.insert("token_name", &form.name);
        return page.render_invalid("accounts/account.html", context, &field_errors(&errors));
    }
    let (created, secret) =
        actions::create_api_token(&page.state().db, &origin, user.id, &form.name).await?;
    let mut context = account_context(&page, &user).await?;
    context.insert("new_token", &secret);
    context.insert("new_token_name", &created.name);
    page.render("accounts/account.html", context)
}

async fn end_one_session(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    actions::end_session(&page.state().db, &origin, user.id, id).await?;
    if user.session_id == Some(id) {
        page.session().clear();
        page.session().renew();
        page.flash("success", "You have signed out.");
        return Ok(see_other("/login"));
    }
    page.flash("success", "That session has ended: it is signed out.");
    Ok(see_other("/account#sessions"))
}

async fn sign_out_everywhere(
    user: CurrentUser,
    page: Page,
    origin: Origin,
) -> Result<HttpResponse, AppError> {
    actions::end_all_sessions(&page.state().db, &origin, user.id).await?;
    page.session().clear();
    page.session().renew();
    page.flash(
        "success",
        "You have signed out everywhere, on this device and every other.",
    );
    Ok(see_other("/login"))
}

async fn revoke_token(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    actions::revoke_api_token(&page.state().db, &origin, user.id, id.into_inner()).await?;
    page.flash(
        "success",
        "The token is revoked. Anything using it can no longer connect.",
    );
    Ok(see_other("/account"))
}

async fn change_password_page(_user: CurrentUser, page: Page) -> Result<HttpResponse, AppError> {
    page.render("accounts/change_password.html", tera::Context::new())
}

async fn change_password(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    form: web::Form<ChangePasswordForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let template = "accounts/change_password.html";
    if let Err(errors) = form.validate() {
        return page.render_invalid(template, tera::Context::new(), &field_errors(&errors));
    }
    let db = &page.state().db;
    match actions::change_password(
        db,
        &origin,
        user.id,
        user.session_id,
        form.current_password,
        form.new_password,
    )
    .await
    {
        Ok(()) => {
            page.flash(
                "success",
                "Your password is changed. You have been signed out everywhere else, and your personal access tokens are revoked.",
            );
            Ok(see_other("/account"))
        }
        Err(AppError::Invalid(errors)) => {
            page.render_invalid(template, tera::Context::new(), &errors)
        }
        Err(other) => Err(other),
    }
}
