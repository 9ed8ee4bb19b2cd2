//! Sessions that really end: server-side sessions, signing out (here, one session, everywhere), idle
//! timeouts, what a new password ends, deactivation, and where `next` may send someone, over HTTP.

use reqwest::StatusCode;
use voices::audit::Origin;
use voices::identity::Role;

use crate::helpers::{link_in, location, new_client, spawn_with, TestApp, Visitor, PASSWORD};
use crate::on_both_databases;

on_both_databases!(
    a_cookie_copied_before_sign_out_is_refused_after_it,
    sessions_are_listed_and_ended_one_at_a_time_or_everywhere,
    an_idle_session_ends,
    a_form_sent_after_the_session_ran_out_is_kept_for_after_sign_in,
    a_password_reset_ends_sessions_and_revokes_tokens,
    a_password_change_revokes_tokens_and_keeps_this_session,
    deactivated_people_cannot_sign_in_use_tokens_or_take_a_study_role,
    next_only_ever_leads_to_a_path_on_this_site,
);

fn session_cookie(response: &reqwest::Response) -> String {
    response
        .cookies()
        .find(|c| c.name() == "voices_session")
        .map(|c| c.value().to_string())
        .expect("a session cookie")
}

/// A request from a browser that somehow holds a copy of the cookie.
async fn with_cookie(app: &TestApp, path: &str, cookie: &str) -> reqwest::Response {
    new_client()
        .get(app.url(path))
        .header("cookie", format!("voices_session={cookie}"))
        .send()
        .await
        .unwrap()
}

async fn token_for(app: &TestApp, user_id: i64) -> String {
    voices::accounts::actions::create_api_token(&app.db, &Origin::command_line(), user_id, "script")
        .await
        .unwrap()
        .1
}

async fn api_status(app: &TestApp, path: &str, token: &str) -> StatusCode {
    new_client()
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
}

async fn signed_in_visitor(app: &TestApp, email: &str) -> Visitor {
    let visitor = app.new_visitor();
    let response = visitor.sign_in(email, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{email} signs in");
    visitor
}

async fn a_cookie_copied_before_sign_out_is_refused_after_it(app: TestApp) {
    app.create_user("ann@example.org", Role::Member).await;
    let response = app.sign_in("ann@example.org", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let copied = session_cookie(&response);
    assert_eq!(
        with_cookie(&app, "/account", &copied).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        with_cookie(&app, "/api/v1/me", &copied).await.status(),
        StatusCode::OK
    );

    assert_eq!(
        app.post_form("/logout", &[]).await.status(),
        StatusCode::SEE_OTHER
    );
    let after = with_cookie(&app, "/account", &copied).await;
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
    assert!(location(&after).starts_with("/login"));
    assert_eq!(
        with_cookie(&app, "/api/v1/me", &copied).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

async fn sessions_are_listed_and_ended_one_at_a_time_or_everywhere(app: TestApp) {
    let id = app.signed_in_as("bea@example.org", Role::Member).await;
    let laptop = signed_in_visitor(&app, "bea@example.org").await;
    let phone = signed_in_visitor(&app, "bea@example.org").await;

    let (status, page) = app.get_text("/account").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Where you are signed in"));
    assert_eq!(page.matches("/end\"").count(), 3, "three sessions listed");
    assert_eq!(page.matches("(this device)").count(), 1);

    let token = token_for(&app, id).await;
    let listed: Vec<serde_json::Value> = new_client()
        .get(app.url("/api/v1/me/sessions"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed.len(), 3);
    assert!(listed.iter().all(|s| s["device"].is_string()));

    // The laptop's session ends from this browser's account page.
    let (_, laptop_page) = laptop.get_text("/account").await;
    let laptop_own = own_session(&laptop_page);
    let mine: Vec<i64> = listed.iter().map(|s| s["id"].as_i64().unwrap()).collect();
    assert!(mine.contains(&laptop_own));
    let ended = app
        .post_form(&format!("/account/sessions/{laptop_own}/end"), &[])
        .await;
    assert_eq!(ended.status(), StatusCode::SEE_OTHER);
    assert_eq!(laptop.get("/account").await.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.get("/account").await.status(), StatusCode::OK);
    assert_eq!(phone.get("/account").await.status(), StatusCode::OK);

    // Another person's session, or one already ended, is not found.
    let missing = app
        .post_form(&format!("/account/sessions/{laptop_own}/end"), &[])
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    // Sign out everywhere: this browser and the phone.
    let everywhere = app.post_form("/account/sessions/end-all", &[]).await;
    assert_eq!(everywhere.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&everywhere), "/login");
    assert_eq!(app.get("/account").await.status(), StatusCode::SEE_OTHER);
    assert_eq!(phone.get("/account").await.status(), StatusCode::SEE_OTHER);
    let (_, login) = app.get_text("/login").await;
    assert!(login.contains("You have signed out everywhere"));

    // The API ends sessions too, and keeps the token.
    let tablet = signed_in_visitor(&app, "bea@example.org").await;
    let status = new_client()
        .delete(app.url("/api/v1/me/sessions"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(tablet.get("/account").await.status(), StatusCode::SEE_OTHER);
    assert_eq!(api_status(&app, "/api/v1/me", &token).await, StatusCode::OK);

    let audit = recent_audit(&app).await;
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert!(actions.contains(&"session_ended") && actions.contains(&"signed_out_everywhere"));
}

async fn recent_audit(app: &TestApp) -> Vec<voices::audit::AuditEvent> {
    app.db
        .read(|conn| voices::audit::recent(conn, 100, 0).map_err(voices::error::AppError::from))
        .await
        .unwrap()
}

/// The id of the session marked "(this device)" on an account page.
fn own_session(page: &str) -> i64 {
    let row = page
        .split("<tr class=\"nhsuk-table__row\">")
        .find(|row| row.contains("(this device)"))
        .expect("this device's row");
    crate::helpers::id_after(row, "/account/sessions/")
}

async fn an_idle_session_ends(app: TestApp) {
    // An app whose sessions end as soon as they are idle at all, on the same backend as `app`.
    let quick = spawn_with(app.backend, |s| s.session.idle_minutes = 0).await;
    quick.signed_in_as("cal@example.org", Role::Member).await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let response = quick.get("/account").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with("/login"));
    let left: i64 = quick
        .db
        .read(|conn| {
            use diesel::prelude::*;
            voices::db::schema::user_sessions::table
                .count()
                .get_result(conn)
                .map_err(voices::error::AppError::from)
        })
        .await
        .unwrap();
    assert_eq!(left, 0, "the idle session's row is gone");

    // With the default of 30 minutes the same steps keep the session.
    app.signed_in_as("cal@example.org", Role::Member).await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    assert_eq!(app.get("/account").await.status(), StatusCode::OK);
}

/// Makes every session look idle for longer than the timeout, as if its person had gone for lunch.
async fn idle_for_an_hour(app: &TestApp) {
    app.db
        .write(|conn| {
            use diesel::prelude::*;
            use voices::db::schema::user_sessions;
            diesel::update(user_sessions::table)
                .set(user_sessions::last_seen_at.eq(voices::db::now() - chrono::Duration::hours(1)))
                .execute(conn)
                .map_err(voices::error::AppError::from)
        })
        .await
        .unwrap();
}

async fn a_form_sent_after_the_session_ran_out_is_kept_for_after_sign_in(app: TestApp) {
    app.signed_in_as("eve@example.org", Role::Member).await;
    // The form was on the page before the session ran out: its CSRF token is the page's.
    let token = app.csrf().await;
    idle_for_an_hour(&app).await;
    let sent = app
        .client
        .post(app.url("/studies"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("title", "Typed before lunch"),
            ("summary", "Every word kept"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let to_login = location(&sent);
    assert!(
        to_login.starts_with("/login?next=%2Faccount%2Fresume%2F"),
        "{to_login}"
    );
    let (_, page) = app.get_text(&to_login).await;
    assert!(page.contains("what you just sent has not"));

    // Someone else signing in on that link finds nothing of Eve's.
    let resume = url::form_urlencoded::parse(to_login.split_once('?').unwrap().1.as_bytes())
        .find(|(k, _)| k == "next")
        .unwrap()
        .1
        .into_owned();
    app.create_user("mal@example.org", Role::Member).await;
    let mal = app.new_visitor();
    mal.sign_in("mal@example.org", PASSWORD).await;
    let (_, page) = mal.get_text(&location(&mal.get(&resume).await)).await;
    assert!(page.contains("There is no form waiting"));

    // Eve signs in and is taken to the kept form, which sends what she typed.
    let signed_in = app
        .post_form(
            "/login",
            &[
                ("email", "eve@example.org"),
                ("password", PASSWORD),
                ("next", &resume),
            ],
        )
        .await;
    assert_eq!(location(&signed_in), resume);
    let (status, page) = app.get_text(&resume).await;
    assert_eq!(status, StatusCode::OK);
    // Tera writes the slash as an HTML entity, which browsers read back as "/".
    assert!(page.contains(r#"action="&#x2F;studies""#));
    assert!(
        page.contains(r#"value="Typed before lunch""#)
            && page.contains(r#"value="Every word kept""#)
    );
    let fields: Vec<(String, String)> = page
        .split("<input type=\"hidden\" name=\"")
        .skip(1)
        .map(|rest| {
            let (name, rest) = rest.split_once('"').unwrap();
            let value = rest
                .split_once("value=\"")
                .unwrap()
                .1
                .split_once('"')
                .unwrap()
                .0;
            (name.to_string(), value.replace("&#x2F;", "/"))
        })
        .collect();
    let created = app
        .client
        .post(app.url("/studies"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    assert!(location(&created).starts_with("/studies/"));
    let (_, study) = app.get_text(&location(&created)).await;
    assert!(study.contains("Typed before lunch"));

    // The kept form is used once.
    let (_, again) = app.get_text(&location(&app.get(&resume).await)).await;
    assert!(again.contains("There is no form waiting"));
}

async fn a_password_reset_ends_sessions_and_revokes_tokens(app: TestApp) {
    let id = app.create_user("dan@example.org", Role::Member).await;
    let token = token_for(&app, id).await;
    let laptop = signed_in_visitor(&app, "dan@example.org").await;
    assert_eq!(api_status(&app, "/api/v1/me", &token).await, StatusCode::OK);

    app.post_form("/forgot-password", &[("email", "dan@example.org")])
        .await;
    let link = link_in(&app.wait_for_email("dan@example.org").await);
    let reset = app
        .post_form(
            &link,
            &[
                ("new_password", "a brand new password"),
                ("confirm_password", "a brand new password"),
            ],
        )
        .await;
    assert_eq!(reset.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.get("/account").await.status(), StatusCode::OK);
    assert_eq!(laptop.get("/account").await.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        api_status(&app, "/api/v1/me", &token).await,
        StatusCode::UNAUTHORIZED
    );
}

async fn a_password_change_revokes_tokens_and_keeps_this_session(app: TestApp) {
    let id = app.signed_in_as("eva@example.org", Role::Member).await;
    let token = token_for(&app, id).await;
    let done = app
        .post_form(
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "orange harbour kite"),
                ("confirm_password", "orange harbour kite"),
            ],
        )
        .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.get("/account").await.status(), StatusCode::OK);
    assert_eq!(
        api_status(&app, "/api/v1/me", &token).await,
        StatusCode::UNAUTHORIZED
    );
    let (_, account) = app.get_text("/account").await;
    assert!(account.contains("Revoked"));
}

async fn deactivated_people_cannot_sign_in_use_tokens_or_take_a_study_role(app: TestApp) {
    let admin_id = app.signed_in_as("admin@example.org", Role::Admin).await;
    let fay = app.create_user("fay@example.org", Role::Member).await;
    let token = token_for(&app, fay).await;
    let fay_browser = signed_in_visitor(&app, "fay@example.org").await;
    let admin_token = token_for(&app, admin_id).await;

    let (_, users) = app.get_text("/admin/users").await;
    assert!(users.contains(&format!("/admin/users/{fay}/deactivate")));
    assert!(!users.contains(&format!("/admin/users/{admin_id}/deactivate")));
    let response = app
        .post_form(&format!("/admin/users/{fay}/deactivate"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, users) = app.get_text("/admin/users").await;
    assert!(users.contains("is deactivated"));
    assert!(users.contains(&format!("/admin/users/{fay}/reactivate")));

    assert_eq!(
        fay_browser.get("/account").await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        api_status(&app, "/api/v1/me", &token).await,
        StatusCode::UNAUTHORIZED
    );
    let again = app.new_visitor().sign_in("fay@example.org", PASSWORD).await;
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // A lead cannot give a deactivated person a study role: the invitation gets the same answer as
    // anyone's (it must not tell the lead the account is deactivated) but can never be accepted.
    let study: serde_json::Value = new_client()
        .post(app.url("/api/v1/studies"))
        .bearer_auth(&admin_token)
        .json(&serde_json::json!({ "title": "Involvement", "summary": "" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let added = new_client()
        .post(app.url(&format!("/api/v1/studies/{}/members", study["study"]["id"])))
        .bearer_auth(&admin_token)
        .json(&serde_json::json!({
            "email": "fay@example.org", "display_name": "Fay", "analyst": true, "perspective": "staff"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), StatusCode::ACCEPTED);
    let invitation: serde_json::Value = added.json().await.unwrap();
    let accepted = voices::studies::invitations::actions::accept(
        &app.db,
        &Origin::command_line(),
        fay,
        invitation["id"].as_i64().unwrap(),
    )
    .await;
    assert!(accepted.is_err(), "a deactivated person cannot accept");

    // Nobody deactivates themselves.
    let own = new_client()
        .post(app.url(&format!("/api/v1/users/{admin_id}/deactivate")))
        .bearer_auth(&admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Reactivated: signing in works again, the old token stays revoked.
    let back = new_client()
        .post(app.url(&format!("/api/v1/users/{fay}/reactivate")))
        .bearer_auth(&admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(back.status(), StatusCode::OK);
    let summary: serde_json::Value = back.json().await.unwrap();
    assert_eq!(summary["is_active"], true);
    let again = app.new_visitor().sign_in("fay@example.org", PASSWORD).await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        api_status(&app, "/api/v1/me", &token).await,
        StatusCode::UNAUTHORIZED
    );

    let audit = recent_audit(&app).await;
    let deactivated = audit
        .iter()
        .find(|e| e.action == "user_deactivated")
        .expect("deactivation is audited");
    assert_eq!(deactivated.actor_user_id, Some(admin_id));
    assert!(audit.iter().any(|e| e.action == "user_reactivated"));
}

async fn next_only_ever_leads_to_a_path_on_this_site(app: TestApp) {
    app.create_user("gil@example.org", Role::Member).await;
    // Signing in with a trick in `next` lands at home.
    let token = app.csrf().await;
    let signed_in = app
        .client
        .post(app.url("/login"))
        .form(&[
            ("email", "gil@example.org"),
            ("password", PASSWORD),
            ("csrf_token", token.as_str()),
            ("next", "/\t/evil.example"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&signed_in), "/");

    // Signed in, the sign-in page sends you on at once: only ever within the site.
    for (next, expected) in [
        ("%2F%09%2Fevil.example", "/"),
        ("%2F%0A", "/"),
        ("%2F%0D%0ASet-Cookie:%20a=b", "/"),
        ("%2F%2Fevil.example", "/"),
        ("%2F%5Cevil.example", "/"),
        ("https:%2F%2Fevil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("%2Fstudies%3Ftab%3Dmembers", "/studies?tab=members"),
    ] {
        let response = app.get(&format!("/login?next={next}")).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "next={next}");
        assert_eq!(location(&response), expected, "next={next}");
    }
}
