//! The middleware that keeps a form sent just after its session ran out (and the page that gives it
//! back after signing in again), or sent while the database could not save it (given back at once).

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes};
use actix_web::HttpResponse;

use super::actions;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::auth::timed_out_session_of;
use crate::web::page::see_other;
use crate::web::{CurrentUser, Page};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/account/resume/{token}", web::get().to(resume));
}

/// A page form (not the API, not a file upload) that a signed-in route refuses because its sender's
/// session has just run out is kept, and they are sent to sign in with the kept form waiting. Runs
/// after the CSRF check, so only a form from this site's own pages is ever kept; public forms (signing
/// in, participants' answers) are never refused for want of a session, so never kept. A page form of
/// any kind that the database was not there to save is given back on the spot (`give_back`).
pub async fn hold_unsaved_forms(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let is_form = req.method() == Method::POST
        && !req.path().starts_with("/api/")
        && req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    // The CSRF check has read the body already (within the form limit) and put it back.
    let body = req.extract::<Bytes>().await?;
    req.set_payload(actix_web::dev::Payload::from(body.clone()));
    let res = next.call(req).await?;
    let error = res
        .response()
        .error()
        .and_then(|e| e.as_error::<AppError>());
    if let Some(AppError::Unavailable(cause)) = error {
        tracing::warn!(error = %format!("{cause:#}"), "database unavailable: the form is given back");
        return Ok(give_back(res, &body));
    }
    let refused = error.is_some_and(|e| matches!(e, AppError::Unauthenticated));
    let timed_out = refused
        .then(|| timed_out_session_of(res.request()))
        .flatten();
    let Some(user_id) = timed_out else {
        return Ok(res.map_into_boxed_body());
    };
    match keep(&res, user_id, body).await {
        Ok(resume) => {
            let next: String = url::form_urlencoded::byte_serialize(resume.as_bytes()).collect();
            Ok(res.into_response(see_other(&format!("/login?next={next}"))))
        }
        // Not kept: the sign-in page the refusal leads to is still right.
        Err(_) => Ok(res.map_into_boxed_body()),
    }
}

/// A form the database was not there to save, given back as it was sent (its CSRF token still good for
/// the same session) on a page that says so and sends it again at a press: nothing typed is lost.
fn give_back(res: ServiceResponse<impl MessageBody>, body: &Bytes) -> ServiceResponse<BoxBody> {
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(body)
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    let req = res.request();
    let action = match req.query_string() {
        "" => req.path().to_string(),
        query => format!("{}?{query}", req.path()),
    };
    let mut context = tera::Context::new();
    context.insert("action", &action);
    context.insert("fields", &fields);
    context.insert("flashes", &Vec::<crate::web::page::Flash>::new());
    context.insert("errors", &crate::error::FieldErrors::new());
    let html = req
        .app_data::<web::Data<AppState>>()
        .map(|state| state.render_bare("errors/not_saved.html", &context));
    let mut response = match html {
        Some(Ok(html)) => HttpResponse::ServiceUnavailable()
            .content_type("text/html; charset=utf-8")
            .body(html),
        _ => HttpResponse::ServiceUnavailable()
            .content_type("text/plain; charset=utf-8")
            .body(crate::web::middleware::unavailable_message(&Method::POST)),
    };
    response.headers_mut().insert(
        header::RETRY_AFTER,
        header::HeaderValue::from_static(crate::web::middleware::RETRY_AFTER_SECONDS),
    );
    res.into_response(response)
}

async fn keep(
    res: &ServiceResponse<impl MessageBody>,
    user_id: i64,
    body: Bytes,
) -> Result<String, AppError> {
    let body = String::from_utf8(body.to_vec())
        .map_err(|_| AppError::invalid("form", "The form could not be read"))?;
    let req = res.request();
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("no app state")))?;
    let path = match req.query_string() {
        "" => req.path().to_string(),
        query => format!("{}?{query}", req.path()),
    };
    actions::keep(&state.db, user_id, path, body).await
}

async fn resume(
    user: CurrentUser,
    page: Page,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let Some(kept) = actions::take(&page.state().db, user.id, &token).await? else {
        page.flash(
            "info",
            "There is no form waiting to be sent: it was sent already, or it is more than two hours old.",
        );
        return Ok(see_other("/"));
    };
    let mut context = tera::Context::new();
    context.insert("action", &kept.path);
    context.insert("fields", &kept.fields);
    page.render("accounts/resume.html", context)
}
