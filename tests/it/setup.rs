//! From an empty install to a set-up Voices, over HTTP as the first administrator does it: the
//! first-run page (open only with its address, and only once), the organisation's details and logo on
//! every page and in the accessibility statement, calm error pages for participants, and a test email
//! through a real SMTP server. On SQLite and PostgreSQL.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use voices::identity::Role;

use crate::helpers::{csrf_from, location, spawn_on, Backend, Caller, TestApp, PASSWORD};
use crate::smtp::Sink;
use crate::{on_both_backends, on_both_databases};

on_both_databases!(
    the_first_run_page_makes_the_first_administrator_once,
    the_organisation_shows_on_every_page_and_in_the_accessibility_statement,
);
on_both_backends!(a_test_email_goes_through_the_mail_server_and_ticks_the_checklist);

/// The status of each step of the setup checklist, by key.
async fn checklist(admin: &Caller<'_>) -> Vec<(String, String)> {
    let (status, tasks) = admin.call(Method::GET, "/api/v1/admin/setup", None).await;
    assert_eq!(status, StatusCode::OK, "{tasks}");
    tasks
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["key"].as_str().unwrap().to_string(),
                t["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn status_in(list: &[(String, String)], key: &str) -> String {
    list.iter().find(|(k, _)| k == key).unwrap().1.clone()
}

async fn the_first_run_page_makes_the_first_administrator_once(app: TestApp) {
    let (_, sign_in) = app.get_text("/login").await;
    assert!(sign_in.contains("Nobody has an account yet"), "{sign_in}");
    let token = voices::accounts::setup::first_run_token(&app.settings)
        .unwrap()
        .secret;
    assert_eq!(
        app.get("/setup?token=not-the-token").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.get("/setup").await.status(), StatusCode::NOT_FOUND);
    let (status, page) = app.get_text(&format!("/setup?token={token}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Your organisation&#x27;s name"), "{page}");

    let first_run = |confirm: &'static str| {
        let token = token.clone();
        let app = &app;
        async move {
            app.post_form(
                "/setup",
                &[
                    ("token", token.as_str()),
                    ("organisation", "Northshire NHS Foundation Trust"),
                    ("display_name", "Sam Admin"),
                    ("email", "sam@northshire.nhs.uk"),
                    ("password", PASSWORD),
                    ("confirm_password", confirm),
                ],
            )
            .await
        }
    };
    let mistaken = first_run("another password entirely").await;
    assert_eq!(mistaken.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = mistaken.text().await.unwrap();
    assert!(page.contains("The passwords do not match"), "{page}");
    assert!(page.contains("value=\"Northshire NHS Foundation Trust\""));
    assert!(!page.contains(PASSWORD), "a password is never sent back");

    let made = first_run(PASSWORD).await;
    assert_eq!(made.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&made), "/admin/setup");
    // Signed in already, and the checklist is where to go on.
    let (status, page) = app.get_text("/admin/setup").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Setting up Voices"));
    assert!(
        page.contains("Northshire NHS Foundation Trust"),
        "the header names the trust"
    );
    let (_, home) = app.get_text("/").await;
    assert!(home.contains("Finish setting up Voices"), "{home}");

    // The page is shut for good: to the same visitor, to a newcomer with the address, and to a
    // second account sent through it.
    let newcomer = app.new_visitor();
    let again = newcomer.get(&format!("/setup?token={token}")).await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&again), "/login");
    let late = newcomer
        .post_form(
            "/setup",
            &[
                ("token", &token),
                ("organisation", "Someone else"),
                ("display_name", "Eve"),
                ("email", "eve@example.org"),
                ("password", PASSWORD),
                ("confirm_password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(location(&late), "/login");
    assert_eq!(
        newcomer.sign_in("eve@example.org", PASSWORD).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "no account was made for the latecomer"
    );
    let (_, sign_in) = newcomer.get_text("/login").await;
    assert!(!sign_in.contains("Nobody has an account yet"));
    let sam = Caller::new(&app, "sam@northshire.nhs.uk").await;
    let (_, me) = sam.call(Method::GET, "/api/v1/me", None).await;
    assert_eq!(me["role"], "admin", "{me}");
    let (_, organisation) = sam.call(Method::GET, "/api/v1/organisation", None).await;
    assert_eq!(organisation["name"], "Northshire NHS Foundation Trust");
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\0\x05\0\x01\xff\x89\x99=\x1d\0\0\0\0IEND\xaeB`\x82";

async fn upload_logo(app: &TestApp, file_name: &str, bytes: &[u8]) -> reqwest::Response {
    let (_, page) = app.get_text("/admin/organisation").await;
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", csrf_from(&page))
        .part(
            "logo",
            reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(file_name.to_string()),
        );
    app.client
        .post(app.url("/admin/organisation/logo"))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

async fn the_organisation_shows_on_every_page_and_in_the_accessibility_statement(app: TestApp) {
    app.signed_in_as("admin@northshire.nhs.uk", Role::Admin)
        .await;
    let admin = Caller::new(&app, "admin@northshire.nhs.uk").await;
    let before = checklist(&admin).await;
    assert_eq!(status_in(&before, "organisation"), "not_started");
    assert_eq!(status_in(&before, "people"), "not_started");
    assert_eq!(status_in(&before, "study"), "not_started");

    let wrong = app
        .post_form(
            "/admin/organisation",
            &[
                ("name", "Northshire NHS Foundation Trust"),
                ("privacy_url", "northshire.nhs.uk/privacy"),
                ("contact_email", "not an address"),
                ("contact_phone", ""),
            ],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = wrong.text().await.unwrap();
    assert!(page.contains("full address, starting https:"), "{page}");
    assert!(page.contains("like team@trust.nhs.uk"));
    assert!(
        page.contains("value=\"northshire.nhs.uk&#x2F;privacy\""),
        "input kept"
    );

    let saved = app
        .post_form(
            "/admin/organisation",
            &[
                ("name", "Northshire NHS Foundation Trust"),
                ("privacy_url", "https://www.northshire.nhs.uk/privacy"),
                ("contact_email", "involvement@northshire.nhs.uk"),
                ("contact_phone", "0300 123 4567"),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        status_in(&checklist(&admin).await, "organisation"),
        "completed"
    );

    // Anyone, signed in or not, sees who runs it, and the footer's links.
    let stranger = app.new_visitor();
    let (status, statement) = stranger.get_text("/accessibility").await;
    assert_eq!(status, StatusCode::OK);
    for expected in [
        "Northshire NHS Foundation Trust",
        "mailto:involvement@northshire.nhs.uk",
        "tel:03001234567",
        "WCAG",
        "Equality Advisory and Support Service",
        "href=\"/cookies\"",
        "Privacy notice",
    ] {
        assert!(statement.contains(expected), "{expected} in {statement}");
    }
    assert!(
        !statement.contains("class=\"nhsuk-header__service-logo\" href=\"/\""),
        "a visitor who is not signed in is not sent to the staff sign-in"
    );
    let privacy = stranger.get("/privacy").await;
    assert_eq!(privacy.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&privacy), "https://www.northshire.nhs.uk/privacy");
    let (_, cookies) = stranger.get_text("/cookies").await;
    assert!(cookies.contains("voices_session"));
    let (status, contact) = stranger.get_text("/contact").await;
    assert_eq!(status, StatusCode::OK);
    assert!(contact.contains("tel:116123"));

    // A participant's link that does not work gets a calm page, and so does a refused form on their
    // pages: what was kept, who to ask, and no way into the staff sign-in.
    let (status, lost) = stranger.get_text("/p/no-such-link").await;
    assert!(status.is_client_error(), "{status}");
    assert!(lost.contains("We do not recognise this link"), "{lost}");
    assert!(!lost.contains("href=\"/\""), "{lost}");
    let refused = stranger
        .client
        .post(stranger.url("/p/no-such-link/consent"))
        .form(&[("decision", "agree")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let refused = refused.text().await.unwrap();
    assert!(
        refused.contains("every page you sent before this is kept"),
        "{refused}"
    );
    assert!(refused.contains("mailto:involvement@northshire.nhs.uk"));
    assert!(!refused.contains("href=\"/\""), "{refused}");

    // The logo: PNG or JPEG only, then in every page's header.
    let refused = upload_logo(
        &app,
        "logo.svg",
        b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>",
    )
    .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.unwrap().contains("PNG or JPEG"));
    let uploaded = upload_logo(&app, "logo.png", PNG).await;
    assert_eq!(uploaded.status(), StatusCode::SEE_OTHER);
    let (_, organisation) = admin.call(Method::GET, "/api/v1/organisation", None).await;
    let version = organisation["logo_version"].as_str().unwrap().to_string();
    let (_, home) = app.get_text("/").await;
    assert!(
        home.contains(&format!("/organisation/logo?v={version}")),
        "{home}"
    );
    let logo = stranger
        .get(&format!("/organisation/logo?v={version}"))
        .await;
    assert_eq!(logo.status(), StatusCode::OK);
    assert_eq!(logo.headers()["content-type"], "image/png");
    assert_eq!(logo.bytes().await.unwrap().as_ref(), PNG);

    // The API: members read, only administrators change.
    app.create_user("member@northshire.nhs.uk", Role::Member)
        .await;
    let member = Caller::new(&app, "member@northshire.nhs.uk").await;
    let (status, read) = member.call(Method::GET, "/api/v1/organisation", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["contact_phone"], "0300 123 4567");
    let change = json!({ "name": "Someone else", "privacy_text": "Ours.", "contact_email": "x@example.org" });
    let (status, _) = member
        .call(Method::PUT, "/api/v1/organisation", Some(change.clone()))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, changed) = admin
        .call(Method::PUT, "/api/v1/organisation", Some(change))
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["name"], "Someone else");
    let (status, refused) = admin
        .call(
            Method::PUT,
            "/api/v1/organisation",
            Some(json!({ "name": "" })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused["error"]["fields"]["name"].is_string(), "{refused}");
    let (_, privacy) = stranger.get_text("/privacy").await;
    assert!(privacy.contains("Ours."), "{privacy}");
    let (status, _) = admin
        .call(Method::DELETE, "/api/v1/organisation/logo", None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        stranger.get("/organisation/logo").await.status(),
        StatusCode::NOT_FOUND
    );
    // The checklist now counts the second account.
    assert_eq!(status_in(&checklist(&admin).await, "people"), "completed");
}

async fn a_test_email_goes_through_the_mail_server_and_ticks_the_checklist(backend: Backend) {
    let (url, sink) = Sink::start();
    let Some(app) = spawn_on(backend, |s| s.smtp_url = url).await else {
        return;
    };
    app.create_user("admin@northshire.nhs.uk", Role::Admin)
        .await;
    let admin = Caller::new(&app, "admin@northshire.nhs.uk").await;
    assert_eq!(status_in(&checklist(&admin).await, "mail"), "not_started");

    sink.refuse_permanently(Some("550 5.7.1 Relaying denied"));
    let (status, refused) = admin
        .call(Method::POST, "/api/v1/admin/mail-check", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{refused}");
    assert_eq!(refused["accepted"], false);
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("Relaying denied"),
        "{refused}"
    );
    assert_eq!(status_in(&checklist(&admin).await, "mail"), "not_started");

    sink.refuse_permanently(None);
    let (_, accepted): (StatusCode, Value) = admin
        .call(Method::POST, "/api/v1/admin/mail-check", None)
        .await;
    assert_eq!(accepted["accepted"], true, "{accepted}");
    let received = sink.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].to, ["admin@northshire.nhs.uk"]);
    assert_eq!(
        received[0].header("Subject").as_deref(),
        Some("Voices: test email")
    );
    assert_eq!(status_in(&checklist(&admin).await, "mail"), "completed");
}
