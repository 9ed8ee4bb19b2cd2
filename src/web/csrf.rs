//! One global CSRF check on every state-changing request. The token lives in the (encrypted) session and
//! comes back in the form field `csrf_token` (of a urlencoded or a multipart form) or the
//! `X-CSRF-Token` header. The only exemptions are the JSON API called without the session cookie (with
//! a bearer token, or not signed in at all), and one-click unsubscribe links.

use actix_session::{Session, SessionExt};
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes, BytesMut};
use actix_web::{Error, HttpMessage};
use futures_util::StreamExt;

use crate::error::AppError;
use crate::state::AppState;

pub const FIELD: &str = "csrf_token";
pub const HEADER: &str = "x-csrf-token";
const SESSION_KEY: &str = "csrf";

/// The session's CSRF token, created on first use.
pub fn token(session: &Session) -> String {
    if let Ok(Some(existing)) = session.get::<String>(SESSION_KEY) {
        return existing;
    }
    let fresh = hex::encode(crate::security::random_bytes::<32>());
    // A session that cannot be written only means the next form post is refused, with a clear message.
    let _ = session.insert(SESSION_KEY, &fresh);
    fresh
}

/// Starts a new token, e.g. at sign-in, so a token seen before sign-in is worthless after it.
pub fn rotate(session: &Session) {
    session.remove(SESSION_KEY);
}

pub fn has_bearer(req: &ServiceRequest) -> bool {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.len() > 7 && v[..7].eq_ignore_ascii_case("bearer "))
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The text of one part of a multipart body (forms put the token first, so little is read).
async fn multipart_field(headers: &header::HeaderMap, body: Bytes, name: &str) -> Option<String> {
    let stream = futures_util::stream::once(async move { Ok::<_, PayloadError>(body) });
    let mut parts = actix_multipart::Multipart::new(headers, stream);
    while let Some(Ok(mut part)) = parts.next().await {
        if part.name() == Some(name) {
            let mut value = Vec::new();
            while let Some(Ok(chunk)) = part.next().await {
                value.extend_from_slice(&chunk);
            }
            return String::from_utf8(value).ok();
        }
    }
    None
}

pub async fn guard(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    // An API call without the session cookie has no ambient authority for a forged request to ride on;
    // it is authenticated (or refused with 401) by its bearer token alone.
    let api_without_cookie = req.path().starts_with("/api/")
        && (has_bearer(&req) || req.cookie(super::auth::SESSION_COOKIE).is_none());
    // One-click unsubscribe (RFC 8058) is posted by mail programs, which hold no session: the opt-out
    // link's own secret is the authority, and the worst a forged post could do is what the link does.
    let opt_out_link = req.path().starts_with("/o/");
    let exempt = req.method().is_safe() || api_without_cookie || opt_out_link;
    if exempt {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    let expected = req.get_session().get::<String>(SESSION_KEY).ok().flatten();
    let mut provided = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let is_form = content_type.starts_with("application/x-www-form-urlencoded");
    // A file upload form: the token is one of its parts.
    let is_multipart = content_type.starts_with("multipart/form-data");
    if provided.is_none() && (is_form || is_multipart) {
        let limit = req
            .app_data::<web::Data<AppState>>()
            .map(|s| &s.settings.limits)
            .map_or(65536, |l| {
                if is_multipart {
                    l.upload_bytes + l.form_bytes
                } else {
                    l.form_bytes
                }
            });
        let mut payload = req.take_payload();
        let mut body = BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(e) => return Ok(req.error_response(e)),
            };
            if body.len() + chunk.len() > limit {
                return Ok(req.error_response(actix_web::error::PayloadError::Overflow));
            }
            body.extend_from_slice(&chunk);
        }
        let body = body.freeze();
        provided = if is_multipart {
            multipart_field(req.headers(), body.clone(), FIELD).await
        } else {
            url::form_urlencoded::parse(&body)
                .find(|(key, _)| key == FIELD)
                .map(|(_, value)| value.into_owned())
        };
        req.set_payload(Payload::from(body));
    }
    match (expected, provided) {
        (Some(expected), Some(provided)) if same(&expected, &provided) => next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body),
        _ => Ok(req.error_response(AppError::Csrf)),
    }
}
