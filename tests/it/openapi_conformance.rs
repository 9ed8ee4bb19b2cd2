//! The API answers as its OpenAPI document says: Schemathesis (tests/schemathesis) generates requests
//! from the document, valid and invalid, and checks every answer against it: no server error, only
//! documented status codes and content types, bodies that validate against their schemas.
//!
//! Skipped with a note unless Schemathesis is installed in tests/schemathesis/.venv (`.ci/run` installs
//! it and sets VOICES_REQUIRE_SCHEMATHESIS=1, which makes its absence a failure).

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use reqwest::Method;
use serde_json::json;

use crate::distribution::{add_participant, create_campaign, published_study};
use crate::helpers::{spawn_app, Backend, Caller};

const CHECKS: &str =
    "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance";

fn schemathesis() -> Option<PathBuf> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/schemathesis/.venv/bin/schemathesis");
    if path.exists() {
        return Some(path);
    }
    let install = "python3 -m venv tests/schemathesis/.venv && tests/schemathesis/.venv/bin/pip install -r tests/schemathesis/requirements.txt";
    assert!(
        std::env::var("VOICES_REQUIRE_SCHEMATHESIS").as_deref() != Ok("1"),
        "Schemathesis is required but not installed; {install}"
    );
    eprintln!(
        "NOTE: Schemathesis is not installed, the OpenAPI conformance run is skipped ({install})"
    );
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_answers_as_its_openapi_document_says() {
    let Some(schemathesis) = schemathesis() else {
        return;
    };
    let app = spawn_app(Backend::Sqlite).await;
    // A study with something behind each kind of id, so generated requests reach real answers and not
    // only 404s: a published questionnaire, a participant, a campaign, an interview with consent.
    let (study, questionnaire, version) = published_study(&app).await;
    let lead = Caller::new(&app, "lead@example.org").await;
    let (participant, code) = add_participant(
        &lead,
        study,
        json!({ "name": "Alex Smith", "email": "alex@example.org", "group": "staff" }),
    )
    .await;
    let campaign = create_campaign(&lead, study, version).await;
    let lead_id = lead.call(Method::GET, "/api/v1/me", None).await.1["id"].clone();
    let (_, members) = lead
        .call(
            Method::GET,
            &format!("/api/v1/studies/{study}/members"),
            None,
        )
        .await;
    let lead_member = members[0]["id"].as_i64().unwrap();
    let (status, body) = lead
        .call(
            Method::PUT,
            &format!("/api/v1/studies/{study}/members/{lead_member}"),
            Some(json!({ "email": "lead@example.org", "display_name": "Lead", "lead": true,
                "co_designer": false, "interviewer": true, "analyst": false, "perspective": "staff" })),
        )
        .await;
    assert!(status.is_success(), "the lead also interviews: {body}");
    let (status, interview) = lead
        .call(
            Method::POST,
            &format!("/api/v1/studies/{study}/interviews"),
            Some(
                json!({ "participant_code": code, "version_id": version.to_string(),
                "interviewer_id": lead_id.to_string(), "note_taker_id": "", "date": "2026-12-03",
                "time": "14:30", "mode": "in_person" }),
            ),
        )
        .await;
    assert!(status.is_success(), "{interview}");
    let interview = interview["id"].as_i64().unwrap();
    let (status, body) = lead
        .call(
            Method::POST,
            &format!("/api/v1/studies/{study}/interviews/{interview}/consent"),
            Some(json!({ "answers": [true], "attested": true })),
        )
        .await;
    assert!(status.is_success(), "consent recorded: {body}");

    let token = voices::accounts::actions::create_api_token(
        &app.db,
        &voices::audit::Origin::command_line(),
        lead_id.as_i64().unwrap(),
        "schemathesis",
    )
    .await
    .unwrap()
    .1;
    let config = app.data_dir.path().join("schemathesis.toml");
    std::fs::write(
        &config,
        format!(
            r#"[parameters]
"path.id" = {study}
"path.questionnaire_id" = {questionnaire}
"path.participant_id" = {participant}
"path.campaign_id" = {campaign}
"path.interview_id" = {interview}
"#
        ),
    )
    .unwrap();
    let document = app.url("/api/v1/openapi.json");
    let started = Instant::now();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(schemathesis)
            // Its cache and reports go to the test's own folder, not the checkout.
            .current_dir(config.parent().unwrap())
            .arg("--config-file")
            .arg(config)
            .args(["run", &document, "--checks", CHECKS])
            .args(["--header", &format!("Authorization: Bearer {token}")])
            .args([
                "--phases",
                "examples,coverage,fuzzing",
                "--max-examples",
                "10",
            ])
            .args([
                "--workers",
                "2",
                "--seed",
                "1",
                "--output-truncate",
                "false",
            ])
            // Revoking a token could revoke the one this run uses: every later answer would be 401.
            .args(["--exclude-path", "/api/v1/me/tokens/{id}"])
            .output()
            .expect("schemathesis runs")
    })
    .await
    .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    eprintln!("Schemathesis took {:?}", started.elapsed());
    assert!(
        output.status.success(),
        "the API and its document disagree:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
