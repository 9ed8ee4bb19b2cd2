//! Invitations that cannot be abused, over HTTP: the same answer whether or not the address has an
//! account, names that cannot carry links, hourly limits per person and per site, and membership only
//! when the invited person accepts.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use voices::identity::Role;

use crate::helpers::{spawn_on, Backend, Caller, TestApp, PASSWORD};
use crate::on_both_backends;

on_both_backends!(
    known_and_unknown_addresses_get_the_same_answer,
    invitations_are_accepted_declined_or_withdrawn,
    invitations_are_limited_per_person_and_per_site,
);

/// None for PostgreSQL when no server is configured (`spawn_on` says so).
async fn app_with(backend: Backend, per_person: i64, per_site: i64) -> Option<TestApp> {
    spawn_on(backend, move |s| {
        s.invitations.per_person_per_hour = per_person;
        s.invitations.per_site_per_hour = per_site;
    })
    .await
}

async fn study_led_by<'a>(app: &'a TestApp, email: &str) -> (Caller<'a>, i64) {
    app.create_user(email, Role::Member).await;
    let lead = Caller::new(app, email).await;
    let (status, study) = lead
        .call(
            Method::POST,
            "/api/v1/studies",
            Some(json!({ "title": "Involvement", "summary": "" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{study}");
    (lead, study["study"]["id"].as_i64().unwrap())
}

async fn invite(lead: &Caller<'_>, study: i64, email: &str, name: &str) -> (StatusCode, Value) {
    lead.call(
        Method::POST,
        &format!("/api/v1/studies/{study}/members"),
        Some(json!({ "email": email, "display_name": name, "co_designer": true, "perspective": "carer" })),
    )
    .await
}

/// The invitation without what differs by nature between two of them (its id, address and time).
fn shape(mut invitation: Value) -> Value {
    for key in ["id", "email", "created_at"] {
        invitation.as_object_mut().unwrap().remove(key);
    }
    invitation
}

async fn known_and_unknown_addresses_get_the_same_answer(backend: Backend) {
    let Some(app) = app_with(backend, 20, 200).await else {
        return;
    };
    let (lead, study) = study_led_by(&app, "lead@example.org").await;
    app.create_user("known@example.org", Role::Member).await;

    let (known_status, known) = invite(&lead, study, "known@example.org", "Kim").await;
    let (unknown_status, unknown) = invite(&lead, study, "new@example.org", "Kim").await;
    assert_eq!(known_status, StatusCode::ACCEPTED, "{known}");
    assert_eq!(unknown_status, known_status);
    assert_eq!(shape(known.clone()), shape(unknown.clone()));
    // The lead sees the name they typed, not the account's own ("Test Person").
    assert_eq!(known["invited_name"], "Kim");

    // Neither is a member until they accept; both are listed as invited.
    let (_, members) = lead
        .call(
            Method::GET,
            &format!("/api/v1/studies/{study}/members"),
            None,
        )
        .await;
    assert_eq!(members.as_array().unwrap().len(), 1, "only the lead");
    let (_, invited) = lead
        .call(
            Method::GET,
            &format!("/api/v1/studies/{study}/invitations"),
            None,
        )
        .await;
    assert_eq!(invited.as_array().unwrap().len(), 2);

    // The person with an account gets a notice greeting them by their own name (not the typed one)
    // and naming the study and the roles offered; the new person an invitation to choose a password
    // that says the same.
    let notice = app.wait_for_email("known@example.org").await;
    let notice = notice.replace("=\r\n", "").replace("=\n", "");
    assert!(notice.contains("Hello Test Person"), "{notice}");
    assert!(
        notice.contains("Involvement") && notice.contains("as a co-designer"),
        "{notice}"
    );
    assert!(!notice.contains("Kim"));
    let welcome = app.wait_for_email("new@example.org").await;
    let welcome = welcome.replace("=\r\n", "").replace("=\n", "");
    assert!(welcome.contains("Choose your password") || welcome.contains("choose your password"));
    assert!(
        welcome.contains("Involvement") && welcome.contains("as a co-designer"),
        "{welcome}"
    );

    // Links and addresses cannot ride in a name.
    for name in [
        "Dear colleague, visit https://evil.example",
        "evil.example",
        "someone@evil.example",
        "",
    ] {
        let (status, body) = invite(&lead, study, "other@example.org", name).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{name}");
        assert!(body["error"]["fields"]["display_name"]
            .as_str()
            .unwrap()
            .contains("plain words"));
    }
    // Only a lead invites.
    let (status, _) = lead
        .call(
            Method::POST,
            &format!("/api/v1/studies/{study}/members"),
            Some(json!({ "email": "x@example.org", "display_name": "X", "perspective": "carer" })),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "at least one role"
    );
    let known_caller = Caller::new(&app, "known@example.org").await;
    let (status, _) = invite(&known_caller, study, "y@example.org", "Y").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not a member of the study");
}

async fn invitations_are_accepted_declined_or_withdrawn(backend: Backend) {
    let Some(app) = app_with(backend, 20, 200).await else {
        return;
    };
    let (lead, study) = study_led_by(&app, "lead@example.org").await;
    for email in ["ann@example.org", "ben@example.org", "cat@example.org"] {
        app.create_user(email, Role::Member).await;
        let (status, _) = invite(&lead, study, email, "Guest").await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }
    let ann = Caller::new(&app, "ann@example.org").await;
    let ben = Caller::new(&app, "ben@example.org").await;
    let cat = Caller::new(&app, "cat@example.org").await;

    // Before accepting, the study is not theirs to see.
    let (status, _) = ann
        .call(Method::GET, &format!("/api/v1/studies/{study}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, mine) = ann.call(Method::GET, "/api/v1/me/invitations", None).await;
    assert_eq!(mine[0]["study_title"], "Involvement");
    assert_eq!(mine[0]["roles"]["co_designer"], true);
    let id = mine[0]["id"].as_i64().unwrap();
    // Someone else cannot accept it for them.
    let (status, _) = ben
        .call(
            Method::POST,
            &format!("/api/v1/me/invitations/{id}/accept"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, joined) = ann
        .call(
            Method::POST,
            &format!("/api/v1/me/invitations/{id}/accept"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(joined["study_id"], study);
    let (status, _) = ann
        .call(Method::GET, &format!("/api/v1/studies/{study}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);

    let (_, mine) = ben.call(Method::GET, "/api/v1/me/invitations", None).await;
    let id = mine[0]["id"].as_i64().unwrap();
    let (status, _) = ben
        .call(
            Method::POST,
            &format!("/api/v1/me/invitations/{id}/decline"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let (_, invited) = lead
        .call(
            Method::GET,
            &format!("/api/v1/studies/{study}/invitations"),
            None,
        )
        .await;
    assert_eq!(invited.as_array().unwrap().len(), 1, "only cat's is left");
    let id = invited[0]["id"].as_i64().unwrap();
    let (status, _) = lead
        .call(
            Method::DELETE,
            &format!("/api/v1/studies/{study}/invitations/{id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, mine) = cat.call(Method::GET, "/api/v1/me/invitations", None).await;
    assert_eq!(mine.as_array().unwrap().len(), 0);

    let (_, members) = lead
        .call(
            Method::GET,
            &format!("/api/v1/studies/{study}/members"),
            None,
        )
        .await;
    assert_eq!(members.as_array().unwrap().len(), 2, "the lead and ann");
}

async fn invitations_are_limited_per_person_and_per_site(backend: Backend) {
    let Some(app) = app_with(backend, 3, 5).await else {
        return;
    };
    let (lead, study) = study_led_by(&app, "lead@example.org").await;
    app.create_user("known@example.org", Role::Member).await;
    // Known and unknown addresses count alike: each is one email.
    for email in ["known@example.org", "a@example.org", "b@example.org"] {
        let (status, body) = invite(&lead, study, email, "Guest").await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }
    let (status, body) = invite(&lead, study, "c@example.org", "Guest").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("the most one person may send"));

    // Another lead has their own allowance, until the site's is used up.
    let (other, other_study) = study_led_by(&app, "other@example.org").await;
    for email in ["d@example.org", "e@example.org"] {
        let (status, _) = invite(&other, other_study, email, "Guest").await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }
    let (status, body) = invite(&other, other_study, "f@example.org", "Guest").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("the most it sends"));

    // The page says so beside the field, keeping what was typed.
    let page = app.new_visitor();
    page.sign_in("lead@example.org", PASSWORD).await;
    let response = page
        .post_form(
            &format!("/studies/{study}/members"),
            &[
                ("email", "g@example.org"),
                ("display_name", "Gus"),
                ("analyst", "on"),
                ("perspective", "staff"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let html = response.text().await.unwrap();
    assert!(html.contains("Try again in an hour") && html.contains(r#"value="g@example.org""#));
}
