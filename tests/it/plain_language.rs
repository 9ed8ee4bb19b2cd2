//! The plain-language aid: figures beside participant-facing texts, the study's words to avoid, and the
//! live analysis the editor's script calls.

use reqwest::StatusCode;
use voices::identity::Role;

use crate::helpers::{TestApp, PASSWORD};
use crate::on_both_databases;

on_both_databases!(texts_show_how_plain_they_are_and_flag_the_study_jargon);

fn id_after(text: &str, marker: &str) -> i64 {
    let start = text.find(marker).unwrap() + marker.len();
    text[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

async fn texts_show_how_plain_they_are_and_flag_the_study_jargon(app: TestApp) {
    app.signed_in_as("lead@example.org", Role::Member).await;
    let created = app
        .post_form("/studies", &[("title", "Plain words"), ("summary", "")])
        .await;
    let study = id_after(created.headers()["location"].to_str().unwrap(), "/studies/");
    let created = app
        .post_form(
            &format!("/studies/{study}/questionnaires"),
            &[("title", "Guide"), ("description", "")],
        )
        .await;
    let questionnaire = id_after(
        created.headers()["location"].to_str().unwrap(),
        "/questionnaires/",
    );
    app.post_form(
        &format!("/studies/{study}/questionnaires/{questionnaire}/sections"),
        &[("title", "Start"), ("introduction", "")],
    )
    .await;
    let (_, editor) = app
        .get_text(&format!("/studies/{study}/questionnaires/{questionnaire}"))
        .await;
    let section = id_after(&editor, "id=\"section-");

    // A question full of jargon and passive voice, shown again with its figures when it fails a rule.
    let text = "Were you asked about the QI project's PDSA cycle by stakeholders?";
    let response = app
        .post_form(
            &format!("/studies/{study}/sections/{section}/questions"),
            &[("kind", "long_text"), ("text", text)],
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "no audience chosen"
    );
    let html = response.text().await.unwrap();
    assert!(html.contains("How plain is this?") && html.contains("Reading age about"));
    assert!(
        html.contains(r#"<mark class="jargon">QI</mark>"#)
            && html.contains(r#"<mark class="jargon">PDSA</mark>"#)
    );
    assert!(
        html.contains("Passive voice: “Were you asked”"),
        "passive hint"
    );

    let saved = app
        .post_form(
            &format!("/studies/{study}/sections/{section}/questions"),
            &[("kind", "long_text"), ("text", text), ("for_staff", "on")],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let (_, editor) = app
        .get_text(&format!("/studies/{study}/questionnaires/{questionnaire}"))
        .await;
    assert!(editor.contains("Reading age about") && editor.contains("3 words to avoid"));

    // The study's own list: "cycle" becomes a word to avoid; an analyst may not change the list.
    let (status, page) = app.get_text(&format!("/studies/{study}/jargon")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("PDSA") && page.contains("stakeholder"));
    let too_long = "x".repeat(61);
    let refused = app
        .post_form(
            &format!("/studies/{study}/jargon"),
            &[("jargon", &format!("QI\n{too_long}"))],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused
        .text()
        .await
        .unwrap()
        .contains("up to 60 characters"));
    let saved = app
        .post_form(
            &format!("/studies/{study}/jargon"),
            &[("jargon", "QI\ncycle\n")],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);

    app.create_user("analyst@example.org", Role::Member).await;
    app.post_form(
        &format!("/studies/{study}/members"),
        &[
            ("email", "analyst@example.org"),
            ("display_name", "Test Person"),
            ("analyst", "on"),
            ("perspective", "staff"),
        ],
    )
    .await;
    crate::helpers::accept_invitations(&app, "analyst@example.org").await;
    let analyst = app.new_visitor();
    analyst.sign_in("analyst@example.org", PASSWORD).await;
    assert_eq!(
        analyst
            .get(&format!("/studies/{study}/jargon"))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );

    // The live analysis: any member, with the session's CSRF token (as the editor's script sends it).
    let token = analyst.csrf().await;
    let report: serde_json::Value = analyst
        .client
        .post(analyst.url(&format!("/api/v1/studies/{study}/plain-language")))
        .header("x-csrf-token", token)
        .json(&serde_json::json!({ "text": "The QI cycle <script>alert(1)</script> ends." }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let found: Vec<&str> = report["analysis"]["jargon"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["term"].as_str().unwrap())
        .collect();
    assert_eq!(found, vec!["QI", "cycle"]);
    let highlighted = report["highlighted_html"].as_str().unwrap();
    assert!(highlighted.contains("&lt;script&gt;") && !highlighted.contains("<script>"));
    assert!(report["analysis"]["reading_age"].as_u64().unwrap() >= 5);
}
