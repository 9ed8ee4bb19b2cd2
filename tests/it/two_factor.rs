//! Two-step sign-in over HTTP: setting it up from the QR page's key, signing in with an app code (right,
//! wrong, reused) and with recovery codes (each once), the site's requirement, asking again before
//! exports and bulk identities, an administrator's reset, and a paused account that the app unlocks.

use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
use reqwest::{Method, StatusCode};
use voices::accounts::two_factor::rules::code_at;
use voices::audit::Origin;
use voices::config::SecondFactorRequired;
use voices::identity::Role;

use crate::helpers::{
    location, new_client, spawn_on, Backend, StudyTeam, TestApp, Visitor, PASSWORD,
};
use crate::on_both_backends;

on_both_backends!(
    setting_up_and_signing_in_with_codes,
    the_site_requirement_sends_people_to_set_it_up,
    exports_and_bulk_identities_ask_again_when_stale,
    an_administrator_reset_ends_sessions_and_tokens,
    a_paused_account_signs_in_with_its_app,
    wrong_codes_are_limited,
);

/// None for PostgreSQL when no server is configured (`spawn_on` says so).
async fn app_requiring(backend: Backend, required_for: SecondFactorRequired) -> Option<TestApp> {
    spawn_on(backend, move |s| {
        s.second_factor.required_for = required_for
    })
    .await
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The key as the set-up page shows it beside the QR code, decoded as an authenticator app would.
fn key_on_page(html: &str) -> Vec<u8> {
    let start = html.find("id=\"totp-key\">").expect("the key as text") + 14;
    let end = start + html[start..].find('<').unwrap();
    let typed: String = html[start..end].split_whitespace().collect();
    totp_rs::Secret::Encoded(typed).to_bytes().unwrap()
}

fn recovery_codes_on_page(html: &str) -> Vec<String> {
    html.split("<li><code>")
        .skip(1)
        .map(|rest| rest[..rest.find('<').unwrap()].to_string())
        .collect()
}

/// Turns two-step sign-in on for a signed-in visitor; returns the secret and the recovery codes.
pub async fn set_up(visitor: &Visitor) -> (Vec<u8>, Vec<String>) {
    let (status, html) = visitor.get_text("/account/two-step").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<svg"), "the QR code is drawn in the page");
    let secret = key_on_page(&html);
    let response = visitor
        .post_form(
            "/account/two-step",
            &[("code", &code_at(&secret, unix_now()))],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let codes = recovery_codes_on_page(&response.text().await.unwrap());
    assert_eq!(codes.len(), 10, "ten recovery codes");
    (secret, codes)
}

async fn sign_in_with(app: &TestApp, email: &str, code: &str) -> (Visitor, reqwest::Response) {
    let visitor = app.new_visitor();
    let response = visitor.sign_in(email, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response),
        "/login/two-step",
        "the password is not enough"
    );
    let response = visitor
        .post_form("/login/two-step", &[("code", code)])
        .await;
    (visitor, response)
}

async fn audit_actions(app: &TestApp) -> Vec<String> {
    app.db
        .read(|conn| voices::audit::recent(conn, 200, 0).map_err(voices::error::AppError::from))
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect()
}

async fn setting_up_and_signing_in_with_codes(backend: Backend) {
    let Some(app) = app_requiring(backend, SecondFactorRequired::Nobody).await else {
        return;
    };
    app.signed_in_as("ann@example.org", Role::Member).await;

    // A wrong code keeps the set-up page, with the message beside the field and the same key.
    let (_, html) = app.get_text("/account/two-step").await;
    let secret = key_on_page(&html);
    let wrong = app
        .post_form("/account/two-step", &[("code", "000000")])
        .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = wrong.text().await.unwrap();
    assert!(html.contains("That code is not right"));
    assert_eq!(
        key_on_page(&html),
        secret,
        "a reload keeps the key already scanned"
    );

    let (secret, codes) = set_up(&app).await;
    let (_, account) = app.get_text("/account").await;
    assert!(account.contains("Manage two-step sign-in"));

    // Signing in now needs the code; until it is given, nothing is signed in.
    let next_code = code_at(&secret, unix_now() + 30);
    let visitor = app.new_visitor();
    visitor.sign_in("ann@example.org", PASSWORD).await;
    assert_eq!(
        visitor.get("/account").await.status(),
        StatusCode::SEE_OTHER
    );
    let wrong = visitor
        .post_form("/login/two-step", &[("code", "123456")])
        .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let right = visitor
        .post_form("/login/two-step", &[("code", &next_code)])
        .await;
    assert_eq!(right.status(), StatusCode::SEE_OTHER);
    assert_eq!(visitor.get("/account").await.status(), StatusCode::OK);

    // The same code does not work twice.
    let (_, reused) = sign_in_with(&app, "ann@example.org", &next_code).await;
    assert_eq!(reused.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // A recovery code works once, typed loosely, and says how many are left.
    let typed = codes[3].to_uppercase().replace('-', " ");
    let (visitor, used) = sign_in_with(&app, "ann@example.org", &typed).await;
    assert_eq!(used.status(), StatusCode::SEE_OTHER);
    let (_, home) = visitor.get_text(&location(&used)).await;
    assert!(home.contains("You have 9 left"), "{home}");
    let (_, again) = sign_in_with(&app, "ann@example.org", &codes[3]).await;
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // New recovery codes replace the old ones.
    let response = app.post_form("/account/two-step/recovery-codes", &[]).await;
    let fresh = recovery_codes_on_page(&response.text().await.unwrap());
    assert_eq!(fresh.len(), 10);
    let (_, old) = sign_in_with(&app, "ann@example.org", &codes[4]).await;
    assert_eq!(old.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (_, new) = sign_in_with(&app, "ann@example.org", &fresh[0]).await;
    assert_eq!(new.status(), StatusCode::SEE_OTHER);

    // The secret is not stored as it was shown.
    let stored: Option<String> = app
        .db
        .read(|conn| {
            use voices::db::schema::users;
            users::table
                .filter(users::email.eq("ann@example.org"))
                .select(users::totp_secret)
                .first(conn)
                .map_err(voices::error::AppError::from)
        })
        .await
        .unwrap();
    let stored = stored.unwrap();
    let shown = totp_rs::TOTP::new_unchecked(totp_rs::Algorithm::SHA1, 6, 0, 30, secret)
        .get_secret_base32();
    assert!(!stored.contains(&shown));

    // Turning it off (not required here) goes back to the password alone.
    assert_eq!(
        app.post_form("/account/two-step/off", &[]).await.status(),
        StatusCode::SEE_OTHER
    );
    let visitor = app.new_visitor();
    let response = visitor.sign_in("ann@example.org", PASSWORD).await;
    assert_eq!(location(&response), "/");

    let actions = audit_actions(&app).await;
    for action in [
        "second_factor_turned_on",
        "second_factor_proved",
        "second_factor_failed",
        "recovery_codes_replaced",
        "second_factor_turned_off",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action} is audited");
    }
}

async fn the_site_requirement_sends_people_to_set_it_up(backend: Backend) {
    let Some(app) = app_requiring(backend, SecondFactorRequired::Nobody).await else {
        return;
    };
    let team = StudyTeam::new(&app).await;
    // The same people and database, served by an instance that requires a second step of everyone who
    // sees participants' names (cookies are not tied to a port, so the same browsers carry on).
    let strict = app
        .another_instance(|s| s.second_factor.required_for = SecondFactorRequired::Identities)
        .await;
    let at = |path: &str| format!("{}{path}", strict.address);

    // A lead sees names, so must set it up before anything else; the page says why.
    let studies = app.client.get(at("/studies")).send().await.unwrap();
    assert_eq!(studies.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&studies), "/account/two-step");
    let page = app
        .client
        .get(at("/account/two-step"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("must use two-step sign-in"));
    let (status, body) = call_at(
        &strict.address,
        &team.lead.token,
        Method::GET,
        "/api/v1/studies",
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "second_factor_required");
    let (status, me) = call_at(&strict.address, &team.lead.token, Method::GET, "/api/v1/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["must_set_up_two_step"], true);
    // So must an interviewer; a co-designer does not see names and carries on with a password.
    let (_, me) = call_at(
        &strict.address,
        &team.interviewer.token,
        Method::GET,
        "/api/v1/me",
    )
    .await;
    assert_eq!(me["must_set_up_two_step"], true);
    let (_, me) = call_at(
        &strict.address,
        &team.co_designer.token,
        Method::GET,
        "/api/v1/me",
    )
    .await;
    assert_eq!(me["must_set_up_two_step"], false);
    let (status, _) = call_at(
        &strict.address,
        &team.co_designer.token,
        Method::GET,
        "/api/v1/studies",
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // Once set up, the lead carries on, and cannot turn it off there.
    set_up(&app).await;
    let studies = app.client.get(at("/studies")).send().await.unwrap();
    assert_eq!(studies.status(), StatusCode::OK);
    let csrf = crate::helpers::csrf_from(
        &app.client
            .get(at("/account/two-step"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    let off = app
        .client
        .post(at("/account/two-step/off"))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(off.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(off.text().await.unwrap().contains("cannot be turned off"));
}

/// Makes the session's last second step an hour old, as if the person had been working a while.
pub async fn age_second_factor(app: &TestApp) {
    app.db
        .write(|conn| {
            use voices::db::schema::user_sessions;
            diesel::update(user_sessions::table)
                .set(
                    user_sessions::second_factor_at
                        .eq(voices::db::now() - chrono::Duration::hours(1)),
                )
                .execute(conn)
                .map_err(voices::error::AppError::from)
        })
        .await
        .unwrap();
}

async fn exports_and_bulk_identities_ask_again_when_stale(backend: Backend) {
    let Some(app) = app_requiring(backend, SecondFactorRequired::Nobody).await else {
        return;
    };
    let team = StudyTeam::new(&app).await;
    let (secret, _) = set_up(&app).await;
    let study = team.study;

    // Just set up: fresh enough.
    let roster = format!("/studies/{study}/participants");
    assert_eq!(app.get(&roster).await.status(), StatusCode::OK);

    age_second_factor(&app).await;
    for path in [
        roster.clone(),
        format!("/studies/{study}/participants.csv"),
        format!("/studies/{study}/exports/responses.csv"),
    ] {
        let response = app.get(&path).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        let encoded: String = url::form_urlencoded::byte_serialize(path.as_bytes()).collect();
        assert_eq!(
            location(&response),
            format!("/account/confirm?next={encoded}")
        );
    }
    // Pages that show one thing at a time do not ask.
    assert_eq!(
        app.get(&format!("/studies/{study}")).await.status(),
        StatusCode::OK
    );
    // API tokens are their own credential and are not asked.
    let (status, _) = team
        .lead
        .call(
            Method::GET,
            &format!("/api/v1/studies/{study}/participants"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, html) = app
        .get_text(&format!("/account/confirm?next={roster}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Confirm it is you"));
    let wrong = app
        .post_form("/account/confirm", &[("code", "000000"), ("next", &roster)])
        .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let code = code_at(&secret, unix_now() + 30);
    let confirmed = app
        .post_form("/account/confirm", &[("code", &code), ("next", &roster)])
        .await;
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&confirmed), roster);
    assert_eq!(app.get(&roster).await.status(), StatusCode::OK);
    assert_eq!(
        app.get(&format!("/studies/{study}/participants.csv"))
            .await
            .status(),
        StatusCode::OK
    );
}

async fn an_administrator_reset_ends_sessions_and_tokens(backend: Backend) {
    let Some(app) = app_requiring(backend, SecondFactorRequired::Admins).await else {
        return;
    };
    let admin_id = app.create_user("admin@example.org", Role::Admin).await;
    let admin_token = voices::accounts::actions::create_api_token(
        &app.db,
        &Origin::command_line(),
        admin_id,
        "admin",
    )
    .await
    .unwrap()
    .1;
    let user_id = app.signed_in_as("bob@example.org", Role::Member).await;
    set_up(&app).await;
    let token = voices::accounts::actions::create_api_token(
        &app.db,
        &Origin::command_line(),
        user_id,
        "script",
    )
    .await
    .unwrap()
    .1;

    // The administrator must set up their own second step before doing anything.
    let (status, body) = call(
        &app,
        &admin_token,
        Method::POST,
        &format!("/api/v1/users/{user_id}/reset-two-step"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let admin = app.new_visitor();
    admin.sign_in("admin@example.org", PASSWORD).await;
    set_up(&admin).await;

    let (status, body) = call(
        &app,
        &admin_token,
        Method::POST,
        &format!("/api/v1/users/{user_id}/reset-two-step"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["two_step_on"], false);
    assert_eq!(
        app.get("/account").await.status(),
        StatusCode::SEE_OTHER,
        "signed out"
    );
    let (status, _) = call(&app, &token, Method::GET, "/api/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "token revoked");
    // The password alone signs in again.
    let response = app.new_visitor().sign_in("bob@example.org", PASSWORD).await;
    assert_eq!(location(&response), "/");
    assert!(audit_actions(&app)
        .await
        .iter()
        .any(|a| a == "second_factor_reset"));
}

async fn call(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
) -> (StatusCode, serde_json::Value) {
    call_at(&app.address, token, method, path).await
}

async fn call_at(
    address: &str,
    token: &str,
    method: Method,
    path: &str,
) -> (StatusCode, serde_json::Value) {
    let response = new_client()
        .request(method, format!("{address}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or_default())
}

async fn a_paused_account_signs_in_with_its_app(backend: Backend) {
    let Some(app) = app_requiring(backend, SecondFactorRequired::Nobody).await else {
        return;
    };
    app.signed_in_as("cat@example.org", Role::Member).await;
    let (secret, _) = set_up(&app).await;
    let attacker = app.new_visitor();
    for _ in 0..app.settings.login.lock_after {
        attacker.sign_in("cat@example.org", "wrong password").await;
    }
    let (visitor, response) =
        sign_in_with(&app, "cat@example.org", &code_at(&secret, unix_now() + 30)).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "the app code unlocks it"
    );
    assert_eq!(visitor.get("/account").await.status(), StatusCode::OK);
}

async fn wrong_codes_are_limited(backend: Backend) {
    let Some(app) = app_requiring(backend, SecondFactorRequired::Nobody).await else {
        return;
    };
    app.signed_in_as("dan@example.org", Role::Member).await;
    let (secret, _) = set_up(&app).await;
    let visitor = app.new_visitor();
    visitor.sign_in("dan@example.org", PASSWORD).await;
    for _ in 0..app.settings.login.lock_after {
        let response = visitor
            .post_form("/login/two-step", &[("code", "000000")])
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    // Even the right code waits now: guessing a million codes is not possible.
    let response = visitor
        .post_form(
            "/login/two-step",
            &[("code", &code_at(&secret, unix_now() + 30))],
        )
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("Too many wrong codes"));
}
