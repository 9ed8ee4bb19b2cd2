//! Signing in and out, throttling, forgotten passwords, invitations and password changes, over HTTP.

use std::time::Instant;

use reqwest::StatusCode;
use voices::identity::Role;

use crate::helpers::{
    link_in, new_client, spawn_postgres_app, spawn_with, Backend, TestApp, PASSWORD,
};
use crate::on_both_databases;

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .cookies()
        .find(|c| c.name() == "voices_session")
        .map(|c| c.value().to_string())
}

on_both_databases!(
    sign_in_succeeds_and_renews_the_session,
    wrong_password_and_unknown_email_get_the_same_answer,
    validation_errors_are_shown_beside_fields_with_input_kept,
    sign_out_ends_the_session,
    forgotten_password_link_works_once,
    invitation_lets_a_new_person_choose_a_password,
    changing_password_signs_out_other_sessions,
    expired_links_do_not_work,
);

async fn sign_in_succeeds_and_renews_the_session(app: TestApp) {
    app.create_user("ann@example.org", Role::Member).await;
    let page = app.get("/login").await;
    assert_eq!(page.status(), StatusCode::OK);
    let before = session_cookie(&page).expect("a session cookie before sign-in");
    let token = crate::helpers::csrf_from(&page.text().await.unwrap());

    let response = app
        .client
        .post(app.url("/login?next=/account"))
        .form(&[
            ("email", "Ann@Example.org "),
            ("password", PASSWORD),
            ("csrf_token", &token),
            ("next", "/account"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/account");
    let after = session_cookie(&response).expect("a new session cookie at sign-in");
    assert_ne!(before, after, "the session is renewed at sign-in");

    let (status, home) = app.get_text("/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(home.contains("Hello, Test Person"));

    // The cookie from before sign-in grants nothing.
    let stranger = new_client();
    let replay = stranger
        .get(app.url("/"))
        .header("cookie", format!("voices_session={before}"))
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), StatusCode::SEE_OTHER);
    assert!(replay.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/login"));
}

async fn wrong_password_and_unknown_email_get_the_same_answer(app: TestApp) {
    app.create_user("ben@example.org", Role::Member).await;
    let wrong = app.sign_in("ben@example.org", "not the password").await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let wrong = wrong.text().await.unwrap();
    let unknown = app.sign_in("nobody@example.org", "not the password").await;
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let unknown = unknown.text().await.unwrap();
    let message = "The email address or password is not right";
    assert!(wrong.contains(message) && unknown.contains(message));
    assert!(
        wrong.contains(r#"value="ben@example.org""#),
        "the email is kept"
    );
    assert!(
        !wrong.contains("not the password"),
        "a password is never sent back"
    );
}

async fn validation_errors_are_shown_beside_fields_with_input_kept(app: TestApp) {
    let response = app.sign_in("not-an-email", "").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("<title>Error: Sign in"));
    assert!(html.contains(r#"class="nhsuk-error-summary""#));
    assert!(html.contains(r##"<a href="#email">Enter an email address in the correct format"##));
    assert!(html.contains(r#"id="email-error""#));
    assert!(html.contains(r#"aria-describedby="email-error""#));
    assert!(html.contains(r##"<a href="#password">Enter your password</a>"##));
    assert!(html.contains(r#"value="not-an-email""#));

    app.signed_in_as("admin@example.org", Role::Admin).await;
    let response = app
        .post_form(
            "/admin/users/invite",
            &[("email", "cara@"), ("display_name", ""), ("role", "member")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("Enter their name"));
    assert!(html.contains(r#"value="cara@""#));
    assert!(html.contains(r#"id="role-member" name="role" type="radio" value="member" checked"#));
}

async fn sign_out_ends_the_session(app: TestApp) {
    app.signed_in_as("dee@example.org", Role::Member).await;
    assert_eq!(app.get("/").await.status(), StatusCode::OK);
    let response = app.post_form("/logout", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, login) = app.get_text("/login").await;
    assert!(login.contains("You have signed out."));
    assert_eq!(app.get("/").await.status(), StatusCode::SEE_OTHER);
}

async fn forgotten_password_link_works_once(app: TestApp) {
    app.create_user("eve@example.org", Role::Member).await;
    let unknown = app
        .post_form("/forgot-password", &[("email", "ghost@example.org")])
        .await;
    assert_eq!(unknown.status(), StatusCode::OK);
    let unknown = unknown.text().await.unwrap();
    let known = app
        .post_form("/forgot-password", &[("email", "eve@example.org")])
        .await;
    let known = known.text().await.unwrap();
    assert!(unknown.contains("Check your email") && known.contains("Check your email"));

    let email = app.wait_for_email("eve@example.org").await;
    assert!(email.contains("Subject: Choose a new password for Voices"));
    assert!(!app.emails().iter().any(|m| m.contains("ghost@example.org")));
    let link = link_in(&email);

    let (status, page) = app.get_text(&link).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Choose a new password"));
    let mismatch = app
        .post_form(
            &link,
            &[
                ("new_password", "a brand new password"),
                ("confirm_password", "something else"),
            ],
        )
        .await;
    assert_eq!(mismatch.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(mismatch
        .text()
        .await
        .unwrap()
        .contains("The passwords do not match"));

    let new_password = "a brand new password";
    let done = app
        .post_form(
            &link,
            &[
                ("new_password", new_password),
                ("confirm_password", new_password),
            ],
        )
        .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.get("/").await.status(),
        StatusCode::OK,
        "signed in after choosing a password"
    );

    let (status, page) = app.get_text(&link).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the link works only once");
    assert!(page.contains("This link does not work"));

    let fresh = app.new_visitor();
    assert_eq!(
        fresh.sign_in("eve@example.org", PASSWORD).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        fresh
            .sign_in("eve@example.org", new_password)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
}

async fn invitation_lets_a_new_person_choose_a_password(app: TestApp) {
    app.signed_in_as("lead@example.org", Role::Admin).await;
    let response = app
        .post_form(
            "/admin/users/invite",
            &[
                ("email", "Fay@Example.org"),
                ("display_name", "Fay Advisor"),
                ("role", "member"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, users) = app.get_text("/admin/users").await;
    // No mail server in these tests: the page says plainly that the email is only a file.
    assert!(users.contains("Fay Advisor&#x27;s account is created. No mail server is set up"));
    assert!(users.contains("Invited, not yet signed in"));

    let again = app
        .post_form(
            "/admin/users/invite",
            &[
                ("email", "fay@example.org"),
                ("display_name", "Fay"),
                ("role", "member"),
            ],
        )
        .await;
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(again.text().await.unwrap().contains("already exists"));

    let email = app.wait_for_email("fay@example.org").await;
    assert!(email.contains("You are invited to Voices"));
    let link = link_in(&email);
    let invitee = app.new_visitor();
    let (status, page) = invitee.get_text(&link).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Welcome to Voices, Fay Advisor"));
    let password = "meadow lantern violin";
    let done = invitee
        .post_form(
            &link,
            &[("new_password", password), ("confirm_password", password)],
        )
        .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let (_, home) = invitee.get_text("/").await;
    assert!(home.contains("Hello, Fay Advisor"));
    assert!(
        !home.contains("/admin/users"),
        "a member sees no administration links"
    );
}

async fn changing_password_signs_out_other_sessions(app: TestApp) {
    app.signed_in_as("gus@example.org", Role::Member).await;
    let other = app.new_visitor();
    assert_eq!(
        other.sign_in("gus@example.org", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );

    let wrong = app
        .post_form(
            "/account/password",
            &[
                ("current_password", "wrong"),
                ("new_password", "orange harbour kite"),
                ("confirm_password", "orange harbour kite"),
            ],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong
        .text()
        .await
        .unwrap()
        .contains("Your current password is not right"));

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
    assert_eq!(
        app.get("/account").await.status(),
        StatusCode::OK,
        "this session stays signed in"
    );
    assert_eq!(
        other.get("/account").await.status(),
        StatusCode::SEE_OTHER,
        "the other session ended"
    );
}

async fn expired_links_do_not_work(app: TestApp) {
    // An app whose links expire at once, on the same backend as `app`.
    let adjust = |s: &mut voices::config::Settings| s.tokens.reset_hours = 0;
    let expiring = match app.backend {
        Backend::Sqlite => spawn_with(Backend::Sqlite, adjust).await,
        Backend::Postgres => spawn_postgres_app(adjust).await.unwrap(),
    };
    expiring.create_user("hal@example.org", Role::Member).await;
    expiring
        .post_form("/forgot-password", &[("email", "hal@example.org")])
        .await;
    let link = link_in(&expiring.wait_for_email("hal@example.org").await);
    let (status, page) = expiring.get_text(&link).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(page.contains("This link does not work"));
    let post = expiring
        .post_form(
            &link,
            &[
                ("new_password", "a brand new password"),
                ("confirm_password", "a brand new password"),
            ],
        )
        .await;
    assert_eq!(post.status(), StatusCode::NOT_FOUND);
}

mod throttling {
    use super::*;

    async fn slows_then_locks(backend: Backend) {
        let adjust = |s: &mut voices::config::Settings| {
            s.login.slow_after = 2;
            s.login.slow_step_ms = 300;
            s.login.lock_after = 4;
            s.login.ip_slow_after = 100;
            s.login.ip_lock_after = 100;
        };
        let Some(app) = (match backend {
            Backend::Sqlite => Some(spawn_with(backend, adjust).await),
            Backend::Postgres => spawn_postgres_app(adjust).await,
        }) else {
            return;
        };
        app.create_user("ivy@example.org", Role::Member).await;
        for _ in 0..2 {
            assert_eq!(
                app.sign_in("ivy@example.org", "wrong").await.status(),
                StatusCode::UNPROCESSABLE_ENTITY
            );
        }
        let started = Instant::now();
        assert_eq!(
            app.sign_in("ivy@example.org", "wrong").await.status(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert!(
            started.elapsed().as_millis() >= 300,
            "the third attempt is slowed down"
        );
        assert_eq!(
            app.sign_in("ivy@example.org", "wrong").await.status(),
            StatusCode::UNPROCESSABLE_ENTITY
        );

        // Paused: a wrong and a right password get the same answer, and only the right one sends
        // the owner a link to continue, so typing wrong passwords cannot keep the owner out.
        let wrong = app.sign_in("ivy@example.org", "wrong").await;
        assert_eq!(wrong.status(), StatusCode::TOO_MANY_REQUESTS);
        let wrong = wrong.text().await.unwrap();
        assert!(wrong.contains("Too many attempts to sign in"));
        assert!(app.emails().is_empty(), "no email for a wrong password");
        let locked = app.sign_in("ivy@example.org", PASSWORD).await;
        assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            locked.text().await.unwrap(),
            wrong,
            "the same page either way"
        );
        let email = app.wait_for_email("ivy@example.org").await;
        assert!(email.contains("Subject: Continue signing in to Voices"));
        let link = crate::helpers::account_link_in(&email, "/accounts/continue/");
        let (status, page) = app.get_text(&link).await;
        assert_eq!(status, StatusCode::OK, "opening the link uses nothing up");
        assert!(page.contains("Continue signing in"));
        let continued = app.post_form(&link, &[]).await;
        assert_eq!(continued.status(), StatusCode::SEE_OTHER);
        assert_eq!(crate::helpers::location(&continued), "/");
        assert_eq!(app.get("/account").await.status(), StatusCode::OK);
        assert_eq!(
            app.new_visitor().post_form(&link, &[]).await.status(),
            StatusCode::NOT_FOUND,
            "the link works once"
        );
        let again = app.new_visitor().sign_in("ivy@example.org", PASSWORD).await;
        assert_eq!(again.status(), StatusCode::SEE_OTHER, "the pause has ended");

        // An unknown email locks the same way, so a lock reveals nothing.
        for _ in 0..4 {
            app.sign_in("nobody@example.org", "wrong").await;
        }
        let unknown = app.sign_in("nobody@example.org", "wrong").await;
        assert_eq!(unknown.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(unknown
            .text()
            .await
            .unwrap()
            .contains("Too many attempts to sign in"));
    }

    async fn an_administrator_ends_a_pause(backend: Backend) {
        let adjust = |s: &mut voices::config::Settings| s.login.lock_after = 3;
        let Some(app) = (match backend {
            Backend::Sqlite => Some(spawn_with(backend, adjust).await),
            Backend::Postgres => spawn_postgres_app(adjust).await,
        }) else {
            return;
        };
        app.signed_in_as("admin@example.org", Role::Admin).await;
        let kim = app.create_user("kim@example.org", Role::Member).await;
        let attacker = app.new_visitor();
        for _ in 0..3 {
            attacker.sign_in("kim@example.org", "wrong").await;
        }
        let (_, users) = app.get_text("/admin/users").await;
        assert!(users.contains("Sign-in paused"));
        let response = app
            .post_form(&format!("/admin/users/{kim}/unpause"), &[])
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let (_, users) = app.get_text("/admin/users").await;
        assert!(!users.contains("Sign-in paused"));
        assert_eq!(
            app.new_visitor()
                .sign_in("kim@example.org", PASSWORD)
                .await
                .status(),
            StatusCode::SEE_OTHER
        );
        let audit = app
            .db
            .read(|conn| voices::audit::recent(conn, 50, 0).map_err(voices::error::AppError::from))
            .await
            .unwrap();
        assert!(audit
            .iter()
            .any(|e| e.action == "sign_in_unpaused"
                && e.object_id.as_deref() == Some(&*kim.to_string())));
        let paused: Vec<_> = audit
            .iter()
            .filter(|e| e.action == "sign_in_paused")
            .collect();
        assert_eq!(paused.len(), 1, "the pause is audited once, when it starts");
        assert_eq!(paused[0].object_id.as_deref(), Some(&*kim.to_string()));
    }

    async fn one_address_is_locked_across_accounts(backend: Backend) {
        let adjust = |s: &mut voices::config::Settings| {
            s.login.slow_after = 100;
            s.login.lock_after = 100;
            s.login.ip_slow_after = 100;
            s.login.ip_lock_after = 5;
        };
        let Some(app) = (match backend {
            Backend::Sqlite => Some(spawn_with(backend, adjust).await),
            Backend::Postgres => spawn_postgres_app(adjust).await,
        }) else {
            return;
        };
        app.create_user("jo@example.org", Role::Member).await;
        for n in 0..5 {
            app.sign_in(&format!("guess{n}@example.org"), "wrong").await;
        }
        assert_eq!(
            app.sign_in("jo@example.org", PASSWORD).await.status(),
            StatusCode::TOO_MANY_REQUESTS
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn slows_then_locks_sqlite() {
        slows_then_locks(Backend::Sqlite).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn slows_then_locks_postgres() {
        slows_then_locks(Backend::Postgres).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_administrator_ends_a_pause_sqlite() {
        an_administrator_ends_a_pause(Backend::Sqlite).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_administrator_ends_a_pause_postgres() {
        an_administrator_ends_a_pause(Backend::Postgres).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_address_is_locked_across_accounts_sqlite() {
        one_address_is_locked_across_accounts(Backend::Sqlite).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_address_is_locked_across_accounts_postgres() {
        one_address_is_locked_across_accounts(Backend::Postgres).await
    }
}
