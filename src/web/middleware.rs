//! Cross-cutting request handling: request ids and access logs, security headers, and error rendering.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::{DefaultHeaders, Next};
use actix_web::{web, Error, HttpMessage, HttpResponse};
use tracing::Instrument;

use crate::error::AppError;
use crate::request::RequestId;
use crate::state::AppState;

/// Gives each request an id and logs one line when it ends. The route pattern is logged rather than the
/// path, so tokens carried in paths (`/accounts/set-password/{token}`) never reach the logs.
pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    // Only to tell requests apart in the log: the thread's generator, not a system call per request.
    let id = format!("{:016x}", rand::random::<u64>());
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().to_string();
    let span = tracing::info_span!("request", request_id = %id);
    let result = next.call(req).instrument(span.clone()).await;
    let _entered = span.enter();
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    match result {
        Ok(mut res) => {
            let status = res.status().as_u16();
            if let Ok(value) = HeaderValue::from_str(&id) {
                res.headers_mut()
                    .insert(header::HeaderName::from_static("x-request-id"), value);
            }
            // After routing, the pattern is read off the route found (before it, it would be matched
            // again); only when the line is logged.
            if tracing::enabled!(tracing::Level::INFO) {
                let route = res
                    .request()
                    .match_pattern()
                    .unwrap_or_else(|| "(unmatched)".to_string());
                tracing::info!(%method, %route, status, latency_ms, "request");
            }
            Ok(res)
        }
        Err(error) => {
            tracing::warn!(%method, latency_ms, %error, "request failed");
            Err(error)
        }
    }
}

/// Strict headers on every response: no inline script or style, no framing, no sniffing, no referrer.
pub fn security_headers(https: bool) -> DefaultHeaders {
    let headers = DefaultHeaders::new()
        .add((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
             base-uri 'none'; object-src 'none'",
        ))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
        .add((
            "Permissions-Policy",
            "camera=(), microphone=(), geolocation=(), interest-cohort=()",
        ));
    if https {
        headers.add((
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        ))
    } else {
        headers
    }
}

fn default_code(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "unauthenticated",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        409 => "conflict",
        413 => "payload_too_large",
        415 => "unsupported_media_type",
        422 => "invalid",
        429 => "too_many_requests",
        503 => "unavailable",
        s if s >= 500 => "internal",
        _ => "error",
    }
}

fn friendly_message(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "The request could not be understood. Go back and try again.",
        401 => "You need to sign in to see this page.",
        403 => "You do not have permission to do this.",
        404 => "We could not find this page. Check the address, or go to the home page.",
        405 => "This page cannot be used that way.",
        413 => "What you sent is too large. Make it shorter and try again.",
        415 => "This page cannot read what was sent.",
        429 => "Too many attempts. Wait a while and try again.",
        s if s >= 500 => "Something went wrong on our side. Your last change may not have been saved; please try again. If it keeps happening, tell the study team.",
        _ => "Something went wrong.",
    }
}

fn title(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 => "Sign in needed",
        403 => "Not allowed",
        404 => "Page not found",
        413 => "Too large",
        429 => "Too many attempts",
        503 => "Sorry, the service is unavailable for a moment",
        s if s >= 500 => "Sorry, there is a problem with the service",
        _ => "There is a problem",
    }
}

/// Writes the body of every error response that carries an error: JSON under `/api/`, a page elsewhere.
/// Responses a handler built itself (a form shown again with its errors, say) pass through untouched.
/// Where a page request goes when the error is a missing sign-in step: signing in, setting up the
/// second step, or giving it again. Each comes back to the page asked for (a form sent comes back to the
/// page it was sent from, which asks again).
fn sign_in_step(error: Option<&AppError>, request: &actix_web::HttpRequest) -> Option<String> {
    let here = || {
        request
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into())
    };
    let encode =
        |path: &str| url::form_urlencoded::byte_serialize(path.as_bytes()).collect::<String>();
    match error? {
        AppError::Unauthenticated => Some(format!("/login?next={}", encode(&here()))),
        AppError::SecondFactorSetUpNeeded => Some("/account/two-step".into()),
        AppError::StepUpNeeded => {
            let back = if request.method() == actix_web::http::Method::GET {
                here()
            } else {
                request
                    .headers()
                    .get(header::REFERER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| url::Url::parse(v).ok())
                    .map(|u| match u.query() {
                        Some(query) => format!("{}?{query}", u.path()),
                        None => u.path().to_string(),
                    })
                    .unwrap_or_else(|| "/".into())
            };
            Some(format!("/account/confirm?next={}", encode(&back)))
        }
        _ => None,
    }
}

pub async fn render_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let is_api = req.path().starts_with("/api/");
    let res = next.call(req).await?;
    let status = res.status();
    let Some(error) = res.response().error() else {
        return Ok(res.map_into_boxed_body());
    };
    let app_error = error.as_error::<AppError>();
    let (code, message) = match app_error {
        Some(AppError::Unavailable(cause)) => {
            tracing::warn!(error = %format!("{cause:#}"), "database unavailable");
            let message = if is_api {
                app_error.map(ToString::to_string).unwrap_or_default()
            } else {
                unavailable_message(res.request().method()).to_string()
            };
            ("unavailable", message)
        }
        Some(AppError::Internal(cause)) => {
            tracing::error!(error = %format!("{cause:#}"), "internal error");
            ("internal", friendly_message(status).to_string())
        }
        Some(e) if is_api || matches!(e, AppError::Csrf | AppError::TooManyRequests(_)) => {
            (e.code(), e.to_string())
        }
        Some(e) => (e.code(), friendly_message(status).to_string()),
        None if status.is_server_error() => {
            tracing::error!(%error, "internal error");
            ("internal", friendly_message(status).to_string())
        }
        // actix's own messages (malformed JSON, wrong content type) help API callers fix their request.
        None if is_api => (default_code(status), error.to_string()),
        None => (default_code(status), friendly_message(status).to_string()),
    };
    let fields = app_error.and_then(AppError::fields).cloned();
    let step = sign_in_step(app_error, res.request());
    let (request, _) = res.into_parts();

    let mut body = if is_api {
        let mut builder = HttpResponse::build(status);
        builder.insert_header((header::CACHE_CONTROL, "no-store"));
        if status == StatusCode::UNAUTHORIZED {
            builder.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        builder.json(serde_json::json!({
            "error": { "code": code, "message": message, "fields": fields.unwrap_or_default() }
        }))
    } else if let Some(location) = step {
        HttpResponse::SeeOther()
            .insert_header((header::LOCATION, location))
            .finish()
    } else {
        let state = request.app_data::<web::Data<AppState>>();
        let mut context = tera::Context::new();
        context.insert("status", &status.as_u16());
        context.insert("title", title(status));
        context.insert("message", &message);
        context.insert("flashes", &Vec::<super::page::Flash>::new());
        context.insert("errors", &crate::error::FieldErrors::new());
        context.insert(
            "participant_page",
            &super::organisation::is_participant_path(request.path()),
        );
        if let Some(organisation) = state.and_then(|s| super::organisation::cached(s)) {
            context.insert("organisation", &*organisation);
        }
        let html = state
            .map(|s| s.render_bare("errors/error.html", &context))
            .unwrap_or_else(|| Err(anyhow::anyhow!("no app state")));
        match html {
            Ok(html) => HttpResponse::build(status)
                .content_type("text/html; charset=utf-8")
                .body(html),
            Err(e) => {
                tracing::error!(error = %e, "rendering the error page");
                HttpResponse::build(status)
                    .content_type("text/plain; charset=utf-8")
                    .body(message)
            }
        }
    };
    if status == StatusCode::SERVICE_UNAVAILABLE {
        body.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from_static(RETRY_AFTER_SECONDS),
        );
    }
    Ok(ServiceResponse::new(request, body))
}

/// When to try again after a 503: long enough for a restarting database, short enough for a person.
pub const RETRY_AFTER_SECONDS: &str = "10";

/// What a person is told when the database cannot be reached, fitting what they were doing.
pub fn unavailable_message(method: &actix_web::http::Method) -> &'static str {
    if method == actix_web::http::Method::GET || method == actix_web::http::Method::HEAD {
        "This page could not be shown just now because the service cannot reach its database. Try again in a minute."
    } else {
        "Your change was not saved because the service cannot reach its database just now. Go back: what you typed is still in the form. Send it again in a minute."
    }
}
