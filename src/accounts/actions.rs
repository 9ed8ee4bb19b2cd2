//! What account actions do, for the pages, the JSON API and the command line alike: each change and its
//! audit event are written in one transaction.

use chrono::{Duration, NaiveDateTime};
use diesel::QueryResult;
use serde_json::json;

use super::passwords;
use super::queries::{self, ApiToken, LinkPurpose};
use super::rules::{self, LoginGate};
use crate::audit::{self, Origin};
use crate::db::{now, Db, DbConnection};
use crate::error::AppError;
use crate::identity::{self, Role, User, UserSession};
use crate::mail::Mailer;
use crate::security::{hash_token, new_token};
use crate::state::AppState;

/// Runs argon2 work on a blocking thread, at most one per CPU core at a time. Each hash takes 19 MiB and
/// a core for a while: without a bound, a burst of sign-ins would grow memory and starve every other
/// request; with it, the burst waits its turn.
async fn with_argon2<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AppError> {
    static TURNS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    let turns = TURNS.get_or_init(|| {
        tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    });
    let _turn = turns.acquire().await.map_err(AppError::internal)?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(AppError::internal)
}

async fn hash_off_workers(password: String) -> Result<String, AppError> {
    with_argon2(move || passwords::hash(&password))
        .await?
        .map_err(AppError::internal)
}

async fn verify_off_workers(password: String, stored: Option<String>) -> Result<bool, AppError> {
    with_argon2(move || passwords::verify(&password, stored.as_deref())).await
}

/// Checks an email and password, with throttling per email and per address. A wrong password, an unknown
/// email and an account without a password all get the same answer.
pub async fn sign_in(
    state: &AppState,
    origin: &Origin,
    email: &str,
    password: String,
) -> Result<User, AppError> {
    let settings = state.settings.login.clone();
    let email = rules::normalize_email(email);
    let email_key = email_throttle_key(&email);
    let ip_key = hash_token(&format!("ip:{}", origin.ip.as_deref().unwrap_or("unknown")));
    let remembered = Duration::minutes(settings.window_minutes + settings.lock_minutes);
    let fetch = rules::failures_to_fetch(&settings);

    let (user, email_failures, ip_failures) = {
        let (email, email_key, ip_key) = (email.clone(), email_key.clone(), ip_key.clone());
        state
            .db
            .read(move |conn| {
                let since = now() - remembered;
                Ok::<_, AppError>((
                    queries::find_user_by_email(conn, &email)?,
                    queries::recent_failures(conn, &email_key, since, fetch)?,
                    queries::recent_failures(conn, &ip_key, since, fetch)?,
                ))
            })
            .await?
    };
    let paused = match rules::login_gate(&email_failures, &ip_failures, now(), &settings) {
        LoginGate::LockedAddress => {
            return Err(AppError::TooManyRequests(rules::locked_message(&settings)))
        }
        LoginGate::LockedAccount(delay) => {
            tokio::time::sleep(delay).await;
            true
        }
        LoginGate::Slow(delay) => {
            tokio::time::sleep(delay).await;
            false
        }
        LoginGate::Open => false,
    };

    let user = user.filter(|u| u.is_active);
    let stored = user.as_ref().and_then(|u| u.password_hash.clone());
    let ok = verify_off_workers(password, stored).await?;
    let origin = origin.clone();
    // A paused account still signs in with the right password when a second step follows it: the
    // authenticator app is what an attacker who pauses the account does not have.
    let second_step = |user: &User| user.totp_enabled_at.is_some();
    match user {
        Some(user) if ok && paused && !second_step(&user) => {
            email_sign_in_link(state, &origin, user).await?;
            Err(AppError::TooManyRequests(rules::locked_message(&settings)))
        }
        Some(user) if ok => {
            let origin = origin.by(user.id);
            let action = if second_step(&user) {
                "password_accepted"
            } else {
                "signed_in"
            };
            state
                .db
                .write(move |conn| {
                    queries::clear_failures(conn, &email_key)?;
                    audit::record(conn, &origin, action, "user", Some(user.id), json!({}))?;
                    Ok::<_, AppError>(user)
                })
                .await
        }
        maybe_user => {
            let user_id = maybe_user.map(|u| u.id);
            // Whether this failure is the one that pauses the account, so the pause is audited once.
            let pauses_now = !paused && {
                let mut after = email_failures.clone();
                after.insert(0, now());
                matches!(
                    rules::login_gate(&after, &[], now(), &settings),
                    LoginGate::LockedAccount(_)
                )
            };
            let lock_minutes = settings.lock_minutes;
            state
                .db
                .write(move |conn| {
                    queries::record_failures(conn, &[&email_key, &ip_key], now() - remembered)?;
                    if let Some(id) = user_id {
                        audit::record(
                            conn,
                            &origin,
                            "sign_in_failed",
                            "user",
                            Some(id),
                            json!({}),
                        )?;
                        if pauses_now {
                            audit::record(
                                conn,
                                &origin,
                                "sign_in_paused",
                                "user",
                                Some(id),
                                json!({ "minutes": lock_minutes }),
                            )?;
                        }
                    } else {
                        // Someone tried an address with no account: recorded (from where, when),
                        // never the address itself.
                        audit::record(
                            conn,
                            &origin,
                            "sign_in_failed",
                            "user",
                            None,
                            json!({ "account": "none" }),
                        )?;
                    }
                    Ok::<_, AppError>(())
                })
                .await?;
            if paused {
                return Err(AppError::TooManyRequests(rules::locked_message(&settings)));
            }
            Err(AppError::invalid("email", rules::SIGN_IN_FAILED))
        }
    }
}

/// The right password reached an account whose sign-in is paused: email its owner a one-time link to
/// continue, at most one per pause (the outbox key names the pause's first minute).
async fn email_sign_in_link(state: &AppState, origin: &Origin, user: User) -> Result<(), AppError> {
    let token = new_token("");
    let minutes = state.settings.login.lock_minutes;
    let expires = now() + Duration::minutes(minutes);
    let link = format!(
        "{}/accounts/continue/{}",
        state.settings.base_url, token.secret
    );
    let (origin, mailer) = (origin.clone().by(user.id), Mailer::new(state));
    state
        .db
        .write(move |conn| {
            let mut context = tera::Context::new();
            context.insert("name", &user.display_name);
            context.insert("link", &link);
            context.insert("minutes", &minutes);
            issue_link(
                conn,
                &mailer,
                &user,
                LinkPurpose::SignIn,
                &token.hash,
                expires,
                &context,
            )?;
            audit::record(
                conn,
                &origin,
                "sign_in_paused_link_sent",
                "user",
                Some(user.id),
                json!({}),
            )?;
            Ok::<_, AppError>(())
        })
        .await?;
    state.outbox.wake();
    Ok(())
}

/// Follows an emailed sign-in link: the pause on the account ends (its failures are cleared) and the
/// person is signed in. The link works once.
pub async fn continue_sign_in(
    state: &AppState,
    origin: &Origin,
    secret: &str,
) -> Result<User, AppError> {
    let token_hash = hash_token(secret);
    let origin = origin.clone();
    state
        .db
        .write(move |conn| {
            let (user, _) = queries::live_email_token(conn, &token_hash, &[LinkPurpose::SignIn])?
                .ok_or(AppError::NotFound)?;
            queries::use_email_token(conn, &token_hash)?;
            queries::clear_failures(conn, &email_throttle_key(&user.email))?;
            let details = json!({ "via": "emailed link" });
            audit::record(
                conn,
                &origin.by(user.id),
                "sign_in_unpaused",
                "user",
                Some(user.id),
                details,
            )?;
            Ok(user)
        })
        .await
}

/// An administrator ends the pause on someone's sign-in.
pub async fn unpause_sign_in(
    db: &Db,
    origin: &Origin,
    admin_id: i64,
    user_id: i64,
) -> Result<User, AppError> {
    let origin = origin.clone().by(admin_id);
    db.write(move |conn| {
        let user = identity::find_user(conn, user_id)?.ok_or(AppError::NotFound)?;
        queries::clear_failures(conn, &email_throttle_key(&user.email))?;
        let details = json!({ "via": "administrator" });
        audit::record(
            conn,
            &origin,
            "sign_in_unpaused",
            "user",
            Some(user_id),
            details,
        )?;
        Ok(user)
    })
    .await
}

/// The key sign-in failures are counted under for an email address: its hash, never the address.
pub fn email_throttle_key(email: &str) -> String {
    hash_token(&format!("email:{}", rules::normalize_email(email)))
}

fn link(state: &AppState, secret: &str) -> String {
    format!("{}/accounts/set-password/{secret}", state.settings.base_url)
}

/// Stores a one-time link for someone and queues the email that carries it, in the caller's write: the
/// email is queued if and only if the link exists. The email template is named after the purpose.
fn issue_link(
    conn: &mut DbConnection,
    mailer: &Mailer,
    user: &User,
    purpose: LinkPurpose,
    token_hash: &str,
    expires: NaiveDateTime,
    context: &tera::Context,
) -> Result<(), AppError> {
    let token_id = queries::insert_email_token(conn, user.id, purpose, token_hash, expires)?;
    let key = format!("account:{}:{token_id}", purpose.as_str());
    mailer
        .queue(conn, key, purpose.as_str(), &user.email, context)
        .map_err(AppError::internal)?;
    Ok(())
}

/// Emails a one-time link to choose a new password, if the address belongs to an active account.
/// The caller's answer is the same either way: the email leaves from the outbox, not from here.
pub async fn request_password_reset(
    state: &AppState,
    origin: &Origin,
    email: &str,
) -> Result<(), AppError> {
    let email = rules::normalize_email(email);
    let token = new_token("");
    let hours = state.settings.tokens.reset_hours;
    let expires = now() + Duration::hours(hours);
    let (origin, mailer, link) = (
        origin.clone(),
        Mailer::new(state),
        link(state, &token.secret),
    );
    state
        .db
        .write(move |conn| {
            let Some(user) = queries::find_user_by_email(conn, &email)?.filter(|u| u.is_active)
            else {
                audit::record(
                    conn,
                    &origin,
                    "password_reset_requested",
                    "user",
                    None,
                    json!({ "account": "none" }),
                )?;
                return Ok::<_, AppError>(());
            };
            let mut context = tera::Context::new();
            context.insert("name", &user.display_name);
            context.insert("link", &link);
            context.insert("hours", &hours);
            let purpose = LinkPurpose::PasswordReset;
            issue_link(
                conn,
                &mailer,
                &user,
                purpose,
                &token.hash,
                expires,
                &context,
            )?;
            audit::record(
                conn,
                &origin,
                "password_reset_requested",
                "user",
                Some(user.id),
                json!({}),
            )?;
            Ok(())
        })
        .await?;
    state.outbox.wake();
    Ok(())
}

/// An administrator invites someone: the account is created without a password and an email link lets
/// them choose one. The email is queued with the account and leaves from the outbox. `joining` says
/// what they are invited to do, in words ("the study “Involvement” as a co-designer"), when a study
/// lead invites them.
pub async fn invite(
    state: &AppState,
    origin: &Origin,
    email: &str,
    display_name: &str,
    role: Role,
    joining: Option<String>,
) -> Result<User, AppError> {
    let email = rules::normalize_email(email);
    let display_name = display_name.trim().to_string();
    let token = new_token("");
    let expires = now() + Duration::hours(state.settings.tokens.invitation_hours);
    let days = state.settings.tokens.invitation_hours / 24;
    let (origin, mailer, link) = (
        origin.clone(),
        Mailer::new(state),
        link(state, &token.secret),
    );
    let user = state
        .db
        .write(move |conn| {
            if queries::find_user_by_email(conn, &email)?.is_some() {
                return Err(AppError::invalid(
                    "email",
                    "An account with this email address already exists",
                ));
            }
            let id = queries::insert_user(conn, &email, &display_name, role, None)?;
            let user = identity::find_user(conn, id)?.ok_or(AppError::NotFound)?;
            let inviter = match origin.user_id {
                Some(by) => identity::find_user(conn, by)?.map(|u| u.display_name),
                None => None,
            };
            let mut context = tera::Context::new();
            context.insert("name", &user.display_name);
            context.insert(
                "inviter",
                &inviter.unwrap_or_else(|| "An administrator".into()),
            );
            context.insert("link", &link);
            context.insert("days", &days);
            context.insert("joining", &joining);
            let purpose = LinkPurpose::Invitation;
            issue_link(
                conn,
                &mailer,
                &user,
                purpose,
                &token.hash,
                expires,
                &context,
            )?;
            audit::record(
                conn,
                &origin,
                "user_invited",
                "user",
                Some(id),
                json!({ "role": role.as_str() }),
            )?;
            Ok(user)
        })
        .await?;
    state.outbox.wake();
    Ok(user)
}

/// The person behind a live invitation or password link, or None when it is unknown, used or expired.
pub async fn link_holder(db: &Db, secret: &str) -> Result<Option<(User, String)>, AppError> {
    let token_hash = hash_token(secret);
    db.read(move |conn| {
        queries::live_email_token(conn, &token_hash, LinkPurpose::SET_PASSWORD)
            .map_err(AppError::from)
    })
    .await
}

/// Ends a person's sessions (all but `keep`) and revokes their API tokens: what a new password,
/// deactivation or a reset second factor must do, since whoever held the old credentials may hold these.
pub(super) fn cut_off(
    conn: &mut DbConnection,
    user_id: i64,
    keep: Option<i64>,
) -> QueryResult<serde_json::Value> {
    let sessions = queries::end_sessions(conn, user_id, keep)?;
    let tokens = queries::revoke_api_tokens(conn, user_id)?;
    Ok(json!({ "sessions_ended": sessions, "tokens_revoked": tokens }))
}

/// Uses a link to set a password. Every outstanding link of the person stops working, every session
/// ends and every API token is revoked.
pub async fn redeem_link(
    state: &AppState,
    origin: &Origin,
    secret: &str,
    new_password: String,
) -> Result<User, AppError> {
    let token_hash = hash_token(secret);
    let password_hash = hash_off_workers(new_password).await?;
    let origin = origin.clone();
    state
        .db
        .write(move |conn| {
            let (user, purpose) =
                queries::live_email_token(conn, &token_hash, LinkPurpose::SET_PASSWORD)?
                    .ok_or(AppError::NotFound)?;
            queries::set_password(conn, user.id, &password_hash)?;
            queries::use_email_tokens(conn, user.id)?;
            let mut details = cut_off(conn, user.id, None)?;
            details["via"] = json!(purpose);
            let origin = origin.by(user.id);
            audit::record(
                conn,
                &origin,
                "password_set",
                "user",
                Some(user.id),
                details,
            )?;
            Ok(user)
        })
        .await
}

/// Changes a password after checking the current one. Every other session ends and every API token is
/// revoked; the session that asked (`keep`, if any) stays signed in.
pub async fn change_password(
    db: &Db,
    origin: &Origin,
    user_id: i64,
    keep: Option<i64>,
    current: String,
    new_password: String,
) -> Result<(), AppError> {
    let stored = db
        .read(move |conn| identity::find_user(conn, user_id).map_err(AppError::from))
        .await?
        .ok_or(AppError::NotFound)?
        .password_hash;
    if !verify_off_workers(current, stored).await? {
        return Err(AppError::invalid(
            "current_password",
            "Your current password is not right",
        ));
    }
    let password_hash = hash_off_workers(new_password).await?;
    let origin = origin.clone().by(user_id);
    db.write(move |conn| {
        queries::set_password(conn, user_id, &password_hash)?;
        let details = cut_off(conn, user_id, keep)?;
        audit::record(
            conn,
            &origin,
            "password_changed",
            "user",
            Some(user_id),
            details,
        )?;
        Ok(())
    })
    .await
}

/// Creates an account with a password (the command line's `create-admin`).
pub async fn create_user(
    db: &Db,
    origin: &Origin,
    email: &str,
    display_name: &str,
    role: Role,
    password: String,
) -> Result<i64, AppError> {
    insert_account(db, origin, email, display_name, role, password, false).await
}

/// Creates the first administrator from the first-run page; refused once any account exists, so two
/// people racing through setup cannot both become administrators.
pub async fn create_first_admin(
    db: &Db,
    origin: &Origin,
    email: &str,
    display_name: &str,
    password: String,
) -> Result<i64, AppError> {
    insert_account(db, origin, email, display_name, Role::Admin, password, true).await
}

pub async fn has_accounts(db: &Db) -> Result<bool, AppError> {
    db.read(|conn| queries::has_accounts(conn).map_err(AppError::from))
        .await
}

async fn insert_account(
    db: &Db,
    origin: &Origin,
    email: &str,
    display_name: &str,
    role: Role,
    password: String,
    only_first: bool,
) -> Result<i64, AppError> {
    let email = rules::normalize_email(email);
    let display_name = display_name.to_string();
    let password_hash = hash_off_workers(password).await?;
    let origin = origin.clone();
    db.write(move |conn| {
        if only_first && queries::has_accounts(conn)? {
            return Err(AppError::invalid(
                "email",
                "Voices has been set up already: sign in instead",
            ));
        }
        if queries::find_user_by_email(conn, &email)?.is_some() {
            return Err(AppError::invalid(
                "email",
                "An account with this email address already exists",
            ));
        }
        let id = queries::insert_user(conn, &email, &display_name, role, Some(&password_hash))?;
        audit::record(
            conn,
            &origin,
            "user_created",
            "user",
            Some(id),
            json!({ "role": role.as_str() }),
        )?;
        Ok(id)
    })
    .await
}

/// Creates a personal access token; the secret is returned this once and only its hash is kept.
pub async fn create_api_token(
    db: &Db,
    origin: &Origin,
    user_id: i64,
    name: &str,
) -> Result<(ApiToken, String), AppError> {
    let token = new_token("vt_");
    let prefix: String = token.secret.chars().take(7).collect();
    let (origin, name, hash) = (
        origin.clone().by(user_id),
        name.trim().to_string(),
        token.hash,
    );
    let created = db
        .write(move |conn| {
            let created = queries::insert_api_token(conn, user_id, &name, &hash, &prefix)?;
            audit::record(
                conn,
                &origin,
                "api_token_created",
                "api_token",
                Some(created.id),
                json!({ "name": name }),
            )?;
            Ok::<_, AppError>(created)
        })
        .await?;
    Ok((created, token.secret))
}

pub async fn revoke_api_token(
    db: &Db,
    origin: &Origin,
    user_id: i64,
    token_id: i64,
) -> Result<(), AppError> {
    let origin = origin.clone().by(user_id);
    db.write(move |conn| {
        if !queries::revoke_api_token(conn, user_id, token_id)? {
            return Err(AppError::NotFound);
        }
        audit::record(
            conn,
            &origin,
            "api_token_revoked",
            "api_token",
            Some(token_id),
            json!({}),
        )?;
        Ok(())
    })
    .await
}

/// The account of an email address, for the command line.
pub async fn user_by_email(db: &Db, email: &str) -> Result<Option<User>, AppError> {
    let email = rules::normalize_email(email);
    db.read(move |conn| queries::find_user_by_email(conn, &email).map_err(AppError::from))
        .await
}

/// A person's signed-in sessions, the most recently used first.
pub async fn sessions(db: &Db, user_id: i64) -> Result<Vec<UserSession>, AppError> {
    db.read(move |conn| queries::sessions_of(conn, user_id).map_err(AppError::from))
        .await
}

/// Ends one of the asker's own sessions (another device, or this one).
pub async fn end_session(
    db: &Db,
    origin: &Origin,
    user_id: i64,
    session_id: i64,
) -> Result<(), AppError> {
    let origin = origin.clone().by(user_id);
    db.write(move |conn| {
        if !queries::end_session_of(conn, user_id, session_id)? {
            return Err(AppError::NotFound);
        }
        let details = json!({ "session": session_id });
        audit::record(
            conn,
            &origin,
            "session_ended",
            "user",
            Some(user_id),
            details,
        )?;
        Ok(())
    })
    .await
}

/// "Sign out everywhere": ends every session of the asker, this one included.
pub async fn end_all_sessions(db: &Db, origin: &Origin, user_id: i64) -> Result<usize, AppError> {
    let origin = origin.clone().by(user_id);
    db.write(move |conn| {
        let ended = queries::end_sessions(conn, user_id, None)?;
        let details = json!({ "sessions_ended": ended });
        audit::record(
            conn,
            &origin,
            "signed_out_everywhere",
            "user",
            Some(user_id),
            details,
        )?;
        Ok(ended)
    })
    .await
}

/// An administrator deactivates or reactivates an account. A deactivated person cannot sign in or use
/// a token, and whatever they did stays attributed to them; deactivation ends their sessions and
/// revokes their tokens. Nobody deactivates themselves, and the last active administrator stays.
pub async fn set_active(
    db: &Db,
    origin: &Origin,
    admin_id: i64,
    user_id: i64,
    active: bool,
) -> Result<User, AppError> {
    let origin = origin.clone().by(admin_id);
    db.write(move |conn| {
        let user = identity::find_user(conn, user_id)?.ok_or(AppError::NotFound)?;
        if !active && user_id == admin_id {
            return Err(AppError::invalid(
                "user",
                "You cannot deactivate your own account. Ask another administrator.",
            ));
        }
        if !active
            && user.is_active
            && user.role() == Role::Admin
            && queries::active_admins(conn)? <= 1
        {
            return Err(AppError::invalid(
                "user",
                "This is the only active administrator. Make someone else an administrator first.",
            ));
        }
        if user.is_active == active {
            return Ok(user);
        }
        queries::set_active(conn, user_id, active)?;
        let (action, details) = if active {
            ("user_reactivated", json!({}))
        } else {
            ("user_deactivated", cut_off(conn, user_id, None)?)
        };
        audit::record(conn, &origin, action, "user", Some(user_id), details)?;
        Ok(User {
            is_active: active,
            ..user
        })
    })
    .await
}
