//! What two-step sign-in does, for the pages and the JSON API alike: setting it up, proving it (at
//! sign-in and again before sensitive work), new recovery codes, turning it off, and an administrator's
//! reset. Every change and its audit event are written in one transaction.

use chrono::Duration;
use serde::Serialize;
use serde_json::json;

use super::queries;
use super::rules;
use crate::accounts::actions::cut_off;
use crate::accounts::queries as account_queries;
use crate::audit::{self, Origin};
use crate::db::{now, Db};
use crate::error::AppError;
use crate::identity::{self, User};
use crate::security::hash_token;
use crate::state::AppState;

pub const WRONG_CODE: &str = "That code is not right. Type the 6 digits your authenticator app shows for Voices now, or one of your recovery codes.";

/// What someone needs to add Voices to their authenticator app.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Enrolment {
    /// The shared key as text, in groups of four, for typing into the app by hand.
    pub key: String,
    /// The `otpauth://` address the QR code holds.
    pub uri: String,
    /// The QR code, as SVG.
    #[serde(skip)]
    pub qr_svg: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Proof {
    App,
    RecoveryCode { left: i64 },
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Status {
    pub on: bool,
    pub recovery_codes_left: i64,
}

fn sealing_key(state: &AppState) -> Result<[u8; 32], AppError> {
    let service_key = state
        .settings
        .secret_key_bytes()
        .map_err(AppError::internal)?;
    Ok(rules::sealing_key(&service_key))
}

/// TOTP counts time from 1970, which is never before now.
fn unix_seconds() -> u64 {
    crate::db::unix_now().max(0) as u64
}

pub async fn status(db: &Db, user_id: i64) -> Result<Status, AppError> {
    db.read(move |conn| {
        let authenticator = queries::authenticator(conn, user_id)?;
        Ok(Status {
            on: authenticator.enabled_at.is_some(),
            recovery_codes_left: queries::recovery_codes_left(conn, user_id)?,
        })
    })
    .await
}

/// Starts setting up (or shows again the set-up already started, so a reload keeps the code that was
/// scanned): a new secret is kept, sealed, until a code from the app confirms it.
pub async fn begin(state: &AppState, user_id: i64, email: &str) -> Result<Enrolment, AppError> {
    let key = sealing_key(state)?;
    let secret = state
        .db
        .write(move |conn| {
            let authenticator = queries::authenticator(conn, user_id)?;
            if authenticator.enabled_at.is_some() {
                return Err(AppError::invalid(
                    "code",
                    "Two-step sign-in is already on for your account.",
                ));
            }
            if let Some(secret) = authenticator
                .sealed_secret
                .as_deref()
                .and_then(|sealed| rules::open(&key, sealed))
            {
                return Ok(secret);
            }
            let secret = rules::new_secret();
            queries::set_pending_secret(conn, user_id, &rules::seal(&key, &secret))?;
            Ok(secret)
        })
        .await?;
    let uri = rules::otpauth_uri(&state.settings.second_factor.issuer, email, &secret);
    let qr_svg = rules::qr_svg(&uri).map_err(AppError::internal)?;
    Ok(Enrolment {
        key: rules::display_key(&secret),
        uri,
        qr_svg,
    })
}

/// Confirms the set-up with a code from the app. Two-step sign-in is on from here, this session counts as
/// having proved it, and the ten recovery codes are returned this once (only their hashes are kept).
pub async fn confirm(
    state: &AppState,
    origin: &Origin,
    user_id: i64,
    session_id: Option<i64>,
    code: &str,
) -> Result<Vec<String>, AppError> {
    let key = sealing_key(state)?;
    let (code, origin) = (code.to_string(), origin.clone().by(user_id));
    let codes = rules::new_recovery_codes();
    let hashes: Vec<String> = codes.iter().map(|c| rules::recovery_code_hash(c)).collect();
    state
        .db
        .write(move |conn| {
            let authenticator = queries::authenticator(conn, user_id)?;
            if authenticator.enabled_at.is_some() {
                return Err(AppError::invalid(
                    "code",
                    "Two-step sign-in is already on for your account.",
                ));
            }
            let secret = authenticator
                .sealed_secret
                .as_deref()
                .and_then(|sealed| rules::open(&key, sealed))
                .ok_or_else(|| {
                    AppError::invalid(
                        "code",
                        "The set-up has expired. Reload this page and scan the new code.",
                    )
                })?;
            let step = rules::accepted_step(&secret, &code, unix_seconds(), None)
                .ok_or_else(|| AppError::invalid("code", WRONG_CODE))?;
            queries::enable(conn, user_id, step)?;
            queries::replace_recovery_codes(conn, user_id, &hashes)?;
            if let Some(session_id) = session_id {
                identity::mark_second_factor(conn, session_id)?;
            }
            audit::record(
                conn,
                &origin,
                "second_factor_turned_on",
                "user",
                Some(user_id),
                json!({}),
            )?;
            Ok(())
        })
        .await?;
    Ok(codes)
}

fn failure_key(user_id: i64) -> String {
    hash_token(&format!("second-factor:{user_id}"))
}

/// Checks a code from the app or a recovery code. Each code works once; wrong codes are counted, and after
/// the sign-in lockout's limit the person must wait (six digits cannot be guessed in the time allowed).
/// With a session, that session counts as having proved the second factor just now.
pub async fn prove(
    state: &AppState,
    origin: &Origin,
    user_id: i64,
    session_id: Option<i64>,
    code: &str,
) -> Result<Proof, AppError> {
    let key = sealing_key(state)?;
    let login = state.settings.login.clone();
    let remembered = Duration::minutes(login.window_minutes + login.lock_minutes);
    let failure_key = failure_key(user_id);
    let waiting = {
        let failure_key = failure_key.clone();
        state
            .db
            .read(move |conn| {
                account_queries::at_limit(
                    conn,
                    &failure_key,
                    now() - Duration::minutes(login.window_minutes),
                    login.lock_after,
                )
                .map_err(AppError::from)
            })
            .await?
    };
    if waiting {
        return Err(AppError::TooManyRequests(format!(
            "Too many wrong codes. Wait {} minutes and try again, or ask an administrator to reset your two-step sign-in.",
            state.settings.login.lock_minutes
        )));
    }
    let (code, origin) = (code.trim().to_string(), origin.clone().by(user_id));
    let outcome = state
        .db
        .write(move |conn| {
            let authenticator = queries::authenticator(conn, user_id)?;
            let secret = authenticator
                .enabled_at
                .and(authenticator.sealed_secret.as_deref())
                .and_then(|sealed| rules::open(&key, sealed));
            let proof = match secret {
                None => None,
                Some(secret) if rules::looks_like_app_code(&code) => {
                    match rules::accepted_step(
                        &secret,
                        &code,
                        unix_seconds(),
                        authenticator.last_step,
                    ) {
                        Some(step) if queries::use_step(conn, user_id, step)? => Some(Proof::App),
                        _ => None,
                    }
                }
                Some(_) => {
                    if queries::use_recovery_code(conn, user_id, &rules::recovery_code_hash(&code))?
                    {
                        let left = queries::recovery_codes_left(conn, user_id)?;
                        Some(Proof::RecoveryCode { left })
                    } else {
                        None
                    }
                }
            };
            match proof {
                Some(proof) => {
                    account_queries::clear_failures(conn, &failure_key)?;
                    if let Some(session_id) = session_id {
                        identity::mark_second_factor(conn, session_id)?;
                    }
                    let with = match proof {
                        Proof::App => "app",
                        Proof::RecoveryCode { .. } => "recovery_code",
                    };
                    audit::record(
                        conn,
                        &origin,
                        "second_factor_proved",
                        "user",
                        Some(user_id),
                        json!({ "with": with }),
                    )?;
                }
                None => {
                    // Kept even though the answer is an error: the failure must count.
                    account_queries::record_failures(conn, &[&failure_key], now() - remembered)?;
                    audit::record(
                        conn,
                        &origin,
                        "second_factor_failed",
                        "user",
                        Some(user_id),
                        json!({}),
                    )?;
                }
            }
            Ok::<_, AppError>(proof)
        })
        .await?;
    outcome.ok_or_else(|| AppError::invalid("code", WRONG_CODE))
}

/// Ten new recovery codes; the old ones stop working.
pub async fn new_recovery_codes(
    db: &Db,
    origin: &Origin,
    user_id: i64,
) -> Result<Vec<String>, AppError> {
    let codes = rules::new_recovery_codes();
    let hashes: Vec<String> = codes.iter().map(|c| rules::recovery_code_hash(c)).collect();
    let origin = origin.clone().by(user_id);
    db.write(move |conn| {
        if queries::authenticator(conn, user_id)?.enabled_at.is_none() {
            return Err(AppError::invalid("code", "Turn on two-step sign-in first."));
        }
        queries::replace_recovery_codes(conn, user_id, &hashes)?;
        audit::record(
            conn,
            &origin,
            "recovery_codes_replaced",
            "user",
            Some(user_id),
            json!({}),
        )?;
        Ok(())
    })
    .await?;
    Ok(codes)
}

/// Someone turns off their own two-step sign-in, where the site does not require it of them.
pub async fn turn_off(state: &AppState, origin: &Origin, user: &User) -> Result<(), AppError> {
    let (origin, user, setting) = (
        origin.clone().by(user.id),
        user.clone(),
        state.settings.second_factor.required_for,
    );
    state
        .db
        .write(move |conn| {
            if identity::must_use_second_factor(conn, &user, setting)? {
                return Err(AppError::invalid(
                    "code",
                    "Your account must use two-step sign-in, so it cannot be turned off. An administrator can reset it if you have lost your phone.",
                ));
            }
            if queries::clear(conn, user.id)? {
                audit::record(
                    conn,
                    &origin,
                    "second_factor_turned_off",
                    "user",
                    Some(user.id),
                    json!({}),
                )?;
            }
            Ok(())
        })
        .await
}

/// An administrator resets someone's second factor (a lost phone): it is off, every session of theirs
/// ends and every API token is revoked; they set it up again at their next sign-in if they must.
pub async fn reset(
    db: &Db,
    origin: &Origin,
    admin_id: i64,
    user_id: i64,
) -> Result<User, AppError> {
    let origin = origin.clone().by(admin_id);
    db.write(move |conn| {
        let user = identity::find_user(conn, user_id)?.ok_or(AppError::NotFound)?;
        queries::clear(conn, user_id)?;
        let details = cut_off(conn, user_id, None)?;
        audit::record(
            conn,
            &origin,
            "second_factor_reset",
            "user",
            Some(user_id),
            details,
        )?;
        Ok(User {
            totp_enabled_at: None,
            ..user
        })
    })
    .await
}
