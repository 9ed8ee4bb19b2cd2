//! Email over a real SMTP conversation: lettre talks to an SMTP server on loopback inside the test.

use std::time::Duration;

use reqwest::StatusCode;
use voices::identity::Role;

use crate::helpers::{link_in, spawn_on, Backend};
use crate::smtp::Sink;

async fn invitation_and_reset_travel_by_smtp(backend: Backend) {
    let (smtp_url, inbox) = Sink::start();
    let Some(app) = spawn_on(backend, |s| {
        s.smtp_url = smtp_url.clone();
        s.mail_from = "Voices study team <study@example.org>".into();
    })
    .await
    else {
        return;
    };
    app.signed_in_as("lead@example.org", Role::Admin).await;
    let response = app
        .post_form(
            "/admin/users/invite",
            &[
                ("email", "oli@example.org"),
                ("display_name", "Oli Carer"),
                ("role", "member"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    // Every email leaves from the outbox: wait for the worker.
    let invitation = inbox.wait_for(1, Duration::from_secs(10)).await.remove(0);
    let (to, message) = (invitation.to, invitation.message);
    assert_eq!(to, vec!["oli@example.org".to_string()]);
    assert!(
        message.contains("From: \"Voices study team\" <study@example.org>"),
        "{message}"
    );
    assert!(message.contains("Subject: You are invited to Voices"));
    assert!(message.contains("multipart/alternative"));
    assert!(message.contains("text/plain") && message.contains("text/html"));
    assert!(
        app.emails().is_empty(),
        "nothing written to the outbox folder when SMTP is configured"
    );

    let invitee = app.new_visitor();
    let link = link_in(&message);
    let password = "copper window garden";
    let done = invitee
        .post_form(
            &link,
            &[("new_password", password), ("confirm_password", password)],
        )
        .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);

    invitee
        .post_form("/forgot-password", &[("email", "oli@example.org")])
        .await;
    let reset = inbox.wait_for(2, Duration::from_secs(10)).await[1]
        .message
        .clone();
    assert!(reset.contains("Subject: Choose a new password for Voices"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitation_and_reset_travel_by_smtp_sqlite() {
    invitation_and_reset_travel_by_smtp(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitation_and_reset_travel_by_smtp_postgres() {
    invitation_and_reset_travel_by_smtp(Backend::Postgres).await
}
