//! Who is asking: a signed-in session, or (under `/api/`) a bearer personal access token.
//! Handlers take `CurrentUser` or `AdminUser`; the extractor turns strangers away before the handler runs.

use std::future::Future;
use std::pin::Pin;

use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use serde::Serialize;

use chrono::{Duration, NaiveDateTime};

use super::page::Page;
use crate::config::SessionSettings;
use crate::error::AppError;
use crate::identity::{self, Role, User, UserSession};
use crate::request::client_ip;
use crate::security::{hash_token, new_token, Masked};
use crate::state::AppState;

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "voices_session";

/// The OpenAPI document, which anyone may read without signing in.
pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";

/// How to sign in (password, single sign-on): asked before anyone has signed in.
pub const SIGN_IN_METHODS_PATH: &str = "/api/v1/auth/methods";

/// The cookie session's key for the secret of the server-side session (`user_sessions`).
const SESSION_SECRET: &str = "session";

#[derive(Debug, Clone, Serialize)]
pub struct CurrentUser {
    pub id: i64,
    pub email: Masked<String>,
    pub display_name: String,
    pub role: Role,
    /// The server-side session behind a browser request; None for an API token.
    #[serde(skip)]
    pub session_id: Option<i64>,
    /// Whether the person signs in with a second step (an authenticator app).
    pub second_factor_on: bool,
    /// When this browser session last proved a second factor (an app code, or single sign-on where that
    /// counts as one); None for an API token.
    #[serde(skip)]
    pub second_factor_at: Option<NaiveDateTime>,
    /// The site requires a second step of this person and they have not set it up: until they do, only
    /// setting it up and signing out are open to them.
    pub must_set_up_second_factor: bool,
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
            session_id: None,
            second_factor_on: user.totp_enabled_at.is_some(),
            second_factor_at: None,
            must_set_up_second_factor: false,
        }
    }
}

impl<T: Serialize> Serialize for Masked<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

/// Starts a signed-in session: a new row on the server, and a fresh cookie session that holds only its
/// secret (so nothing set before sign-in survives it). `second_factor` says whether the sign-in proved
/// one (an app code, or single sign-on where that counts).
pub async fn start_session(page: &Page, user: &User, second_factor: bool) -> Result<(), AppError> {
    let token = new_token("");
    let ip = client_ip(page.request());
    let device = device_summary(
        page.request()
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or(""),
    );
    let (hash, user_id) = (token.hash, user.id);
    page.state()
        .db
        .write(move |conn| {
            identity::insert_session(conn, &hash, user_id, ip.as_deref(), &device, second_factor)
                .map_err(AppError::from)
        })
        .await?;
    let session = page.session();
    session.renew();
    super::csrf::rotate(session);
    session
        .insert(SESSION_SECRET, token.secret)
        .map_err(AppError::internal)
}

/// Ends this browser's session on the server, then forgets it in the cookie.
pub async fn end_session(page: &Page) -> Result<(), AppError> {
    if let Some(session_id) = page.user.as_ref().and_then(|u| u.session_id) {
        page.state()
            .db
            .write(move |conn| identity::delete_session(conn, session_id).map_err(AppError::from))
            .await?;
    }
    page.session().clear();
    Ok(())
}

/// Whether a session may still be used: seen within the idle timeout, and started within its lifetime.
fn live(session: &UserSession, now: NaiveDateTime, settings: &SessionSettings) -> bool {
    now - session.last_seen_at <= Duration::minutes(settings.idle_minutes)
        && now - session.created_at <= Duration::hours(settings.hours)
}

/// "Firefox on Windows": what a person needs to recognise their own sessions, and nothing more.
pub fn device_summary(user_agent: &str) -> String {
    let has = |needle: &str| user_agent.contains(needle);
    let browser = if has("Edg/") {
        "Edge"
    } else if has("Firefox/") {
        "Firefox"
    } else if has("Chrome/") || has("Chromium/") {
        "Chrome"
    } else if has("Safari/") {
        "Safari"
    } else {
        "A browser"
    };
    let system = if has("iPhone") || has("iPad") {
        "iOS"
    } else if has("Android") {
        "Android"
    } else if has("Windows") {
        "Windows"
    } else if has("Mac OS X") || has("Macintosh") {
        "macOS"
    } else if has("CrOS") {
        "ChromeOS"
    } else if has("Linux") {
        "Linux"
    } else {
        "an unknown system"
    };
    format!("{browser} on {system}")
}

#[derive(Clone)]
struct Resolved(Option<CurrentUser>);

/// Left on a request whose browser session had just run out (idle or too old), naming its person: a
/// form they were sending can be kept for them to send after signing in again.
#[derive(Clone, Copy)]
struct TimedOut(i64);

/// The person whose session ran out on this request, if it did (`resolve` has been called).
pub fn timed_out_session_of(req: &HttpRequest) -> Option<i64> {
    req.extensions().get::<TimedOut>().map(|t| t.0)
}

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
            let (user, timed_out) = from_session(&req.get_session(), &state).await?;
            if let Some(user_id) = timed_out {
                req.extensions_mut().insert(TimedOut(user_id));
            }
            user
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
    let must_set_up = must_set_up_second_factor(state, &user, None).await?;
    Ok(CurrentUser {
        must_set_up_second_factor: must_set_up,
        ..CurrentUser::from(&user)
    })
}

/// Whether the site requires a second step of this person and neither their account (an app) nor this
/// session (single sign-on that counts as one) has one. Asks the database only in that case.
async fn must_set_up_second_factor(
    state: &AppState,
    user: &User,
    session_proved: Option<NaiveDateTime>,
) -> Result<bool, AppError> {
    let setting = state.settings.second_factor.required_for;
    if user.totp_enabled_at.is_some()
        || session_proved.is_some()
        || setting == crate::config::SecondFactorRequired::Nobody
    {
        return Ok(false);
    }
    let user = user.clone();
    state
        .db
        .read(move |conn| {
            identity::must_use_second_factor(conn, &user, setting).map_err(AppError::from)
        })
        .await
}

/// The person behind the browser session, or None; and, when the session has just run out, whose it
/// was.
async fn from_session(
    session: &Session,
    state: &AppState,
) -> Result<(Option<CurrentUser>, Option<i64>), AppError> {
    let Some(secret) = session.get::<String>(SESSION_SECRET).ok().flatten() else {
        return Ok((None, None));
    };
    let token_hash = hash_token(&secret);
    let found = state
        .db
        .read(move |conn| identity::session_user(conn, &token_hash).map_err(AppError::from))
        .await?;
    let now = crate::db::now();
    match found {
        Some((row, user)) if user.is_active && live(&row, now, &state.settings.session) => {
            // Recording every request would turn each page view into a write; a minute is precise enough
            // for an idle timeout counted in tens of minutes.
            if now - row.last_seen_at > Duration::minutes(1) {
                let session_id = row.id;
                state
                    .db
                    .write(move |conn| {
                        identity::touch_session(conn, session_id).map_err(AppError::from)
                    })
                    .await?;
            }
            let must_set_up = must_set_up_second_factor(state, &user, row.second_factor_at).await?;
            let current = CurrentUser {
                session_id: Some(row.id),
                second_factor_at: row.second_factor_at,
                must_set_up_second_factor: must_set_up,
                ..CurrentUser::from(&user)
            };
            Ok((Some(current), None))
        }
        Some((row, user)) => {
            let session_id = row.id;
            state
                .db
                .write(move |conn| {
                    identity::delete_session(conn, session_id).map_err(AppError::from)
                })
                .await?;
            session.purge();
            Ok((None, user.is_active.then_some(user.id)))
        }
        None => {
            session.purge();
            Ok((None, None))
        }
    }
}

type Extracting<T> = Pin<Box<dyn Future<Output = Result<T, AppError>>>>;

/// What someone who must set up two-step sign-in, and has not, may still use: setting it up, and saying
/// who they are to the API (which tells them why everything else is refused).
const OPEN_BEFORE_SET_UP: &[&str] = &[
    "/account/two-step",
    "/account/two-step/recovery-codes",
    "/api/v1/me",
    "/api/v1/me/two-step",
    "/api/v1/me/two-step/confirm",
];

/// The signed-in person, held to the site's two-step requirement.
async fn admitted(req: &HttpRequest) -> Result<CurrentUser, AppError> {
    let user = resolve(req).await?.ok_or(AppError::Unauthenticated)?;
    if user.must_set_up_second_factor && !OPEN_BEFORE_SET_UP.contains(&req.path()) {
        return Err(AppError::SecondFactorSetUpNeeded);
    }
    Ok(user)
}

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = Extracting<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { admitted(&req).await })
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
            let user = admitted(&req).await?;
            if user.is_admin() {
                Ok(AdminUser(user))
            } else {
                Err(AppError::Forbidden)
            }
        })
    }
}

/// Turns strangers away from a whole scope before any handler (or its body parsing) runs, so an
/// unauthenticated call always gets 401, whatever else is wrong with it (and someone who must set up
/// two-step sign-in gets 403 until they have).
pub async fn require_signed_in(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    if req.path() == OPENAPI_PATH || req.path() == SIGN_IN_METHODS_PATH {
        return next
            .call(req)
            .await
            .map(actix_web::dev::ServiceResponse::map_into_boxed_body);
    }
    match admitted(req.request()).await {
        Ok(_) => next
            .call(req)
            .await
            .map(actix_web::dev::ServiceResponse::map_into_boxed_body),
        Err(error) => Ok(req.error_response(error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_end_when_idle_or_too_old() {
        let settings = SessionSettings {
            hours: 12,
            idle_minutes: 30,
        };
        let start = chrono::NaiveDate::from_ymd_opt(2026, 12, 7)
            .unwrap()
            .and_hms_opt(9, 0, 0)
            .unwrap();
        let session = |seen_minutes: i64| UserSession {
            id: 1,
            created_at: start,
            last_seen_at: start + Duration::minutes(seen_minutes),
            ip_address: None,
            device: String::new(),
            second_factor_at: None,
        };
        let at = |minutes: i64| start + Duration::minutes(minutes);
        assert!(live(&session(0), at(30), &settings));
        assert!(!live(&session(0), at(31), &settings));
        assert!(live(&session(700), at(720), &settings));
        assert!(
            !live(&session(715), at(721), &settings),
            "12 hours is the limit"
        );
    }

    #[test]
    fn devices_are_named_plainly() {
        let firefox =
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
        assert_eq!(device_summary(firefox), "Firefox on Windows");
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";
        assert_eq!(device_summary(iphone), "Safari on iOS");
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0";
        assert_eq!(device_summary(edge), "Edge on Windows");
        assert_eq!(device_summary(""), "A browser on an unknown system");
    }
}
