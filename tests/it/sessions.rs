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
        .split("<tr>")
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
