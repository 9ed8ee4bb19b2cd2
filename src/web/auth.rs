//! Who is asking: a signed-in session, or (under `/api/`) a bearer personal access token.
//! Handlers take `CurrentUser` or `AdminUser`; the extractor turns strangers away before the handler runs.

use std::future::Future;
use std::pin::Pin;

use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use serde::Serialize;

use crate::error::AppError;
use crate::identity::{self, Role, User};
use crate::security::{hash_token, Masked};
use crate::state::AppState;

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "voices_session";

/// The OpenAPI document, which anyone may read without signing in.
pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";

const USER_ID: &str = "user_id";
const EPOCH: &str = "epoch";
const SIGNED_IN_AT: &str = "signed_in_at";

#[derive(Debug, Clone, Serialize)]
pub struct CurrentUser {
    pub id: i64,
    pub email: Masked<String>,
    pub display_name: String,
    pub role: Role,
}

impl CurrentUser {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

impl From<&User> for CurrentUser {
    fn from(user: &User) -> Self {
        CurrentUser {
            id: user.id,
            email: Masked(user.email.clone()),
            display_name: user.display_name.clone(),
            role: user.role(),
        }
    }
}

impl<T: Serialize> Serialize for Masked<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

/// Starts a signed-in session with a fresh session state, so nothing set before sign-in survives it.
pub fn start_session(session: &Session, user: &User) -> Result<(), AppError> {
    session.renew();
    super::csrf::rotate(session);
    session
        .insert(USER_ID, user.id)
        .and_then(|_| session.insert(EPOCH, user.session_epoch))
        .and_then(|_| session.insert(SIGNED_IN_AT, chrono::Utc::now().timestamp()))
        .map_err(AppError::internal)
}

/// Keeps this session valid after its own password change ended all the others.
pub fn update_session_epoch(session: &Session, epoch: i32) -> Result<(), AppError> {
    session.insert(EPOCH, epoch).map_err(AppError::internal)
}

#[derive(Clone)]
struct Resolved(Option<CurrentUser>);

/// Finds the person behind the request once; the answer is kept for other extractors of the same request.
pub async fn resolve(req: &HttpRequest) -> Result<Option<CurrentUser>, AppError> {
    if let Some(Resolved(known)) = req.extensions().get::<Resolved>() {
        return Ok(known.clone());
    }
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("no app state")))?
        .clone();
    let found =
        if req.path().starts_with("/api/") && req.headers().contains_key(header::AUTHORIZATION) {
            Some(from_bearer(req, &state).await?)
        } else {
            from_session(&req.get_session(), &state).await?
        };
    req.extensions_mut().insert(Resolved(found.clone()));
    Ok(found)
}

async fn from_bearer(req: &HttpRequest, state: &AppState) -> Result<CurrentUser, AppError> {
    let secret = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_string())
        .ok_or(AppError::Unauthenticated)?;
    let token_hash = hash_token(&secret);
    let (user, token_id, last_used) = state
        .db
        .read(move |conn| identity::user_for_api_token(conn, &token_hash).map_err(AppError::from))
        .await?
        .ok_or(AppError::Unauthenticated)?;
    // Recording every use would turn each API read into a write; once a minute is precise enough.
    let stale = last_used.is_none_or(|at| crate::db::now() - at > chrono::Duration::minutes(1));
    if stale {
        state
            .db
            .write(move |conn| identity::touch_api_token(conn, token_id).map_err(AppError::from))
            .await?;
    }
    Ok(CurrentUser::from(&user))
}

async fn from_session(
    session: &Session,
    state: &AppState,
) -> Result<Option<CurrentUser>, AppError> {
    let read = |key: &str| session.get::<i64>(key).ok().flatten();
    let (Some(user_id), Some(epoch), Some(signed_in_at)) =
        (read(USER_ID), read(EPOCH), read(SIGNED_IN_AT))
    else {
        return Ok(None);
    };
    let expired =
        chrono::Utc::now().timestamp() - signed_in_at > state.settings.session.hours * 3600;
    if expired {
        session.purge();
        return Ok(None);
    }
    let user = state
        .db
        .read(move |conn| identity::find_user(conn, user_id).map_err(AppError::from))
        .await?;
    match user {
        Some(user) if user.is_active && i64::from(user.session_epoch) == epoch => {
            Ok(Some(CurrentUser::from(&user)))
        }
        _ => {
            session.purge();
            Ok(None)
        }
    }
}

type Extracting<T> = Pin<Box<dyn Future<Output = Result<T, AppError>>>>;

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = Extracting<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { resolve(&req).await?.ok_or(AppError::Unauthenticated) })
    }
}

/// A signed-in administrator; anyone else signed in gets 403.
#[derive(Debug, Clone)]
pub struct AdminUser(pub CurrentUser);

impl FromRequest for AdminUser {
    type Error = AppError;
    type Future = Extracting<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let user = resolve(&req).await?.ok_or(AppError::Unauthenticated)?;
            if user.is_admin() {
                Ok(AdminUser(user))
            } else {
                Err(AppError::Forbidden)
            }
        })
    }
}

/// Turns strangers away from a whole scope before any handler (or its body parsing) runs, so an
/// unauthenticated call always gets 401, whatever else is wrong with it.
pub async fn require_signed_in(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    if req.path() == OPENAPI_PATH {
        return next
            .call(req)
            .await
            .map(actix_web::dev::ServiceResponse::map_into_boxed_body);
    }
    match resolve(req.request()).await {
        Ok(Some(_)) => next
            .call(req)
            .await
            .map(actix_web::dev::ServiceResponse::map_into_boxed_body),
        Ok(None) => Ok(req.error_response(AppError::Unauthenticated)),
        Err(error) => Ok(req.error_response(error)),
    }
}
