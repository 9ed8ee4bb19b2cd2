//! Single sign-on pages: `/auth/sso` sends the browser to the provider, `/auth/callback` brings it back
//! signed in. With `sso.only`, the password pages are answered here instead, with a refusal.

use actix_web::http::StatusCode;
use actix_web::{guard, web, HttpResponse};
use serde::Deserialize;

use super::rules::{self, Failure, PendingFlow, Refusal};
use super::{actions, provider};
use crate::accounts::two_factor;
use crate::audit::Origin;
use crate::error::{AppError, FieldErrors};
use crate::state::AppState;
use crate::web::auth::{end_session, start_session};
use crate::web::page::{safe_next, see_other};
use crate::web::{CurrentUser, Page};

/// The cookie session's key for the sign-in under way.
const FLOW: &str = "sso_flow";

/// The password pages that `sso.only` closes to strangers: signing in with a password, the
/// forgotten-password email, setting a password from an invitation or reset link, and continuing a
/// paused password sign-in. (Changing one's password, for the signed-in, is closed too.)
const PASSWORD_PAGES: &[&str] = &[
    "/login",
    "/forgot-password",
    "/accounts/set-password/{token}",
    "/accounts/continue/{token}",
];

/// Mount before the account pages: with `sso.only` on, the refusals below match first; with it off,
/// their guard fails and the request goes on to the password pages as usual.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/sso", web::get().to(start))
        .route("/auth/callback", web::get().to(callback));
    for &path in PASSWORD_PAGES {
        let resource = web::resource(path).guard(guard::fn_guard(sso_only));
        // GET /login still shows the page, which then offers only the single sign-on button.
        let resource = if path == "/login" {
            resource.guard(guard::Post())
        } else {
            resource
        };
        cfg.service(resource.to(password_refused));
    }
    cfg.service(
        web::resource("/account/password")
            .guard(guard::fn_guard(sso_only))
            .to(password_change_refused),
    );
}

fn sso_only(ctx: &guard::GuardContext) -> bool {
    ctx.app_data::<web::Data<AppState>>()
        .is_some_and(|state| state.settings.sso.enabled() && state.settings.sso.only)
}

async fn password_refused(page: Page) -> Result<HttpResponse, AppError> {
    page.render_status(
        StatusCode::FORBIDDEN,
        "accounts/sso_only.html",
        tera::Context::new(),
    )
}

async fn password_change_refused(_user: CurrentUser, page: Page) -> Result<HttpResponse, AppError> {
    page.render_status(
        StatusCode::FORBIDDEN,
        "accounts/sso_only.html",
        tera::Context::new(),
    )
}

#[derive(Deserialize)]
struct StartQuery {
    next: Option<String>,
    /// Set by the "confirm it is you" page: sign in again even though signed in.
    #[serde(default)]
    confirm: bool,
}

async fn start(page: Page, query: web::Query<StartQuery>) -> Result<HttpResponse, AppError> {
    let state = page.state();
    if !state.settings.sso.enabled() {
        return Err(AppError::NotFound);
    }
    let next = rules::flow_next(safe_next(query.next.as_deref()));
    if page.user.is_some() && !query.confirm {
        return Ok(see_other(&next));
    }
    match provider::authorization(state, next.clone(), crate::db::unix_now(), query.confirm).await {
        Ok((url, flow)) => {
            page.session()
                .insert(FLOW, flow)
                .map_err(AppError::internal)?;
            Ok(see_other(url.as_str()))
        }
        Err(refusal) => refused(&page, refusal, &next),
    }
}

/// The callback's query: `code` and `state`, or `error` (with `error_description`, not shown: it is
/// the provider's wording for developers); `iss` names the provider (RFC 9207).
#[derive(Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    iss: Option<String>,
}

async fn callback(
    page: Page,
    origin: Origin,
    query: web::Query<Callback>,
) -> Result<HttpResponse, AppError> {
    if !page.state().settings.sso.enabled() {
        return Err(AppError::NotFound);
    }
    // Taken whatever happens next, so a callback works once: a replay, or a second try with the same
    // state, finds nothing.
    let flow = page
        .session()
        .remove_as::<PendingFlow>(FLOW)
        .and_then(Result::ok);
    if flow.is_none() && page.user.is_some() {
        // Back to a used callback after signing in (the browser's Back button): nothing to refuse.
        return Ok(see_other("/"));
    }
    let next = flow.as_ref().map_or_else(|| "/".into(), |f| f.next.clone());
    match finish(&page, &origin, flow, query.into_inner()).await {
        Ok(user) => {
            // Where the organisation's sign-in asks for its own second factor (Entra's Conditional
            // Access), it counts as ours; otherwise someone with an authenticator app gives its code too.
            let counts = page.state().settings.sso.counts_as_second_factor;
            if !counts && user.totp_enabled_at.is_some() {
                return Ok(two_factor::handlers::ask_second_step(
                    &page,
                    user.id,
                    Some(next),
                ));
            }
            // Confirming while signed in replaces this browser's session with the fresh one.
            end_session(&page).await?;
            start_session(&page, &user, counts).await?;
            Ok(see_other(&next))
        }
        Err(Failure::Refused(refusal)) => refused(&page, refusal, &next),
        Err(Failure::App(error)) => Err(error),
    }
}

async fn finish(
    page: &Page,
    origin: &Origin,
    flow: Option<PendingFlow>,
    query: Callback,
) -> Result<crate::identity::User, Failure> {
    let state = page.state();
    let settings = &state.settings.sso;
    let flow = flow.ok_or(Refusal::NoFlow)?;
    if flow.expired(crate::db::unix_now()) {
        return Err(Refusal::Expired.into());
    }
    if !query.state.is_some_and(|s| flow.state_matches(&s)) {
        return Err(Refusal::StateMismatch.into());
    }
    if let Some(error) = query.error {
        // The provider's error code (RFC 6749 4.1.2.1); anything else in it is not written to the log.
        let code: String = error
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(40)
            .collect();
        tracing::info!(error = %code, "single sign-on: the provider answered with an error");
        return Err(if error == "access_denied" {
            Refusal::Cancelled
        } else {
            Refusal::ProviderError
        }
        .into());
    }
    if query.iss.is_some_and(|iss| iss != settings.issuer) {
        return Err(Refusal::WrongIssuer.into());
    }
    let code = query.code.ok_or(Refusal::ProviderError)?;
    let identity = provider::redeem(state, &flow, code).await?;
    let Some(email) = rules::verified_email(
        identity.email.as_deref(),
        identity.email_verified,
        settings.trust_email_claim,
    ) else {
        actions::record_refusal(state, origin, Refusal::EmailUnverified).await?;
        return Err(Refusal::EmailUnverified.into());
    };
    Ok(actions::sign_in(state, origin, email, identity.name).await??)
}

/// Back to the sign-in page with the reason in plain words: 403 when it is about the person (cancelled,
/// not allowed), 502 when the provider could not be used, 400 for a broken or stale flow.
fn refused(page: &Page, refusal: Refusal, next: &str) -> Result<HttpResponse, AppError> {
    tracing::info!(reason = refusal.reason(), "single sign-on refused");
    let status = if refusal == Refusal::Unavailable {
        StatusCode::BAD_GATEWAY
    } else if refusal.is_about_the_person() {
        StatusCode::FORBIDDEN
    } else {
        StatusCode::BAD_REQUEST
    };
    let mut context = tera::Context::new();
    context.insert("email", "");
    context.insert("next", &(next != "/").then_some(next));
    context.insert(
        "errors",
        &FieldErrors::from([("sso".to_string(), refusal.message().to_string())]),
    );
    page.render_status(status, "accounts/sign_in.html", context)
}
