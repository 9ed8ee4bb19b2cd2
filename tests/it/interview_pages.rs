//! Interviews through their pages, without JavaScript, as a lead and an interviewer use them: assigning
//! (with an error kept beside the field), verbal consent, the live guide saving on every button, a
//! stale save showing both texts, the distress pause, closing with field notes and correcting them
//! with history. On SQLite and PostgreSQL.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{location, Caller, StudyTeam, TestApp, Visitor};
use crate::on_both_databases;

const SAMPLE: &str = include_str!("../fixtures/sample_guide.json");

on_both_databases!(an_interview_runs_from_assignment_to_corrected_field_notes);

/// A team's study with the sample guide published; returns (team, version).
pub async fn team_with_guide(app: &TestApp) -> (StudyTeam, i64) {
    let team = StudyTeam::new(app).await;
    let lead = Caller::new(app, "lead@example.org").await;
    let (status, imported) = lead
        .call(
            Method::POST,
            &format!("/api/v1/studies/{}/questionnaires/import", team.study),
            Some(serde_json::from_str(SAMPLE).unwrap()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{imported}");
    let questionnaire = imported["questionnaire"]["id"].as_i64().unwrap();
    let version = crate::helpers::publish(&lead, team.study, questionnaire).await;
    (team, version)
}

/// Every `name="<prefix><id>"` on a page, in order: the ids of the questions shown.
pub(crate) fn ids_named(page: &str, prefix: &str) -> Vec<i64> {
    let marker = format!("name=\"{prefix}");
    page.match_indices(&marker)
        .filter_map(|(at, _)| {
            let rest = &page[at + marker.len()..];
            rest[..rest.find('"')?].parse().ok()
        })
        .collect()
}

fn revision_of(page: &str, question: i64) -> String {
    let marker = format!("name=\"revision-{question}\" value=\"");
    let at = page.find(&marker).expect("a revision field") + marker.len();
    page[at..at + page[at..].find('"').unwrap()].to_string()
}

pub(crate) async fn post(
    visitor: &Visitor,
    path: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String, String) {
    let response = visitor.post_form(path, fields).await;
    let status = response.status();
    let to = if status == StatusCode::SEE_OTHER {
        location(&response)
    } else {
        String::new()
    };
    (status, to, response.text().await.unwrap())
}

async fn an_interview_runs_from_assignment_to_corrected_field_notes(app: TestApp) {
    let (team, version) = team_with_guide(&app).await;
    let study = team.study;
    let lead = &team.lead.visitor;
    let interviewer = &team.interviewer.visitor;
    let base = format!("/studies/{study}/interviews");
    let interviewer_id = team.user_id("interviewer@example.org").await.to_string();
    let version = version.to_string();

    // The lead assigns someone met on the spot; a missing time comes back beside the field, input kept.
    let (status, page) = lead.get_text(&format!("{base}/new")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Assign an interview"));
    let mut fields = vec![
        ("who", "new"),
        ("group", "carer"),
        ("name", "Sam Example"),
        ("phone", "07700 900123"),
        ("large_print", "on"),
        ("version_id", version.as_str()),
        ("interviewer_id", interviewer_id.as_str()),
        ("date", "31/2/2026"),
        ("time", ""),
        ("mode", "phone"),
    ];
    let (status, _, page) = post(lead, &base, &fields).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("Enter the time on the 24-hour clock"),
        "{page}"
    );
    // Staff type dates as they write them, on every form; a day that does not exist is refused.
    assert!(page.contains("Enter a real date, for example 27 3 2026"));
    assert!(
        page.contains("value=\"31&#x2F;2&#x2F;2026\""),
        "the date typed is kept"
    );
    fields.retain(|(k, _)| *k != "date");
    fields.push(("date", "3 December 2026"));
    assert!(
        page.contains("value=\"Sam Example\""),
        "the name typed is kept"
    );
    fields.retain(|(k, _)| *k != "time");
    fields.push(("time", "14:30"));
    let (status, to, _) = post(lead, &base, &fields).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let interview = to.clone();
    assert!(interview.starts_with(&format!("{base}/")), "{interview}");

    // The interviewer's schedule shows who, with their needs; the analyst is turned away.
    let (status, page) = interviewer.get_text(&base).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Sam Example") && page.contains("Large print"),
        "{page}"
    );
    assert_eq!(
        team.analyst.visitor.get(&base).await.status(),
        StatusCode::FORBIDDEN
    );

    // Verbal consent: every statement needs an answer and the attestation.
    let (status, page) = interviewer.get_text(&format!("{interview}/consent")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Read each statement and record the answer"));
    let statements = ids_named(&page, "statement_").len();
    assert!(statements >= 2, "{page}");
    let (status, _, page) = post(
        interviewer,
        &format!("{interview}/consent"),
        &[("statement_1", "yes")],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Record the participant\u{2019}s answer to this statement"));
    assert!(page.contains("Confirm that you read the information"));
    let names: Vec<String> = (1..=statements).map(|i| format!("statement_{i}")).collect();
    let mut answers: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "yes")).collect();
    answers.push(("attested", "yes"));
    let (status, to, _) = post(interviewer, &format!("{interview}/consent"), &answers).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(to, format!("{interview}/guide/1"));

    // The live guide: notes saved by the Save button and by moving on.
    let (status, page) = interviewer.get_text(&format!("{interview}/guide/2")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Probes"), "the guide shows probes");
    let questions = ids_named(&page, "revision-");
    let first = questions[0];
    let first_field = format!("notes-{first}");
    let revision_field = format!("revision-{first}");
    let status_field = format!("status-{first}");
    let (status, to, _) = post(
        interviewer,
        &format!("{interview}/guide/2"),
        &[
            (
                first_field.as_str(),
                "Feels listened to at the carers' forum.",
            ),
            (revision_field.as_str(), "0"),
            (status_field.as_str(), "asked"),
            ("go", &format!("stay-{first}")),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(to, format!("{interview}/guide/2#question-{first}"));
    let (_, page) = interviewer.get_text(&format!("{interview}/guide/2")).await;
    assert!(
        page.contains("Feels listened to at the carers&#x27; forum."),
        "{page}"
    );
    assert_eq!(revision_of(&page, first), "1");

    // Another tab still on revision 0 sends other words: both are shown, neither is lost.
    let (status, _, page) = post(
        interviewer,
        &format!("{interview}/guide/2"),
        &[
            (first_field.as_str(), "Typed in the other tab."),
            (revision_field.as_str(), "0"),
            ("go", "next"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(page.contains("These notes were changed elsewhere"));
    assert!(page.contains("Typed in the other tab."));
    assert!(page.contains("carers"));
    assert_eq!(revision_of(&page, first), "1", "saving again keeps the box");
    let (status, to, _) = post(
        interviewer,
        &format!("{interview}/guide/2"),
        &[
            (
                first_field.as_str(),
                "Feels listened to at the carers' forum. Typed in the other tab.",
            ),
            (revision_field.as_str(), "1"),
            ("go", "next"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(to, format!("{interview}/guide/3"));

    // A quick note by form; the distress button pauses, shows support and sets a follow-up.
    let (status, _, _) = post(
        interviewer,
        &format!("{interview}/moments"),
        &[
            ("kind", "quote"),
            ("body", "\u{201c}They asked us at the start\u{201d}"),
            ("client_key", "k1"),
            ("section", "3"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let long = format!("Too long to keep as a quick note {}", "x".repeat(5_000));
    let (status, _, page) = post(
        interviewer,
        &format!("{interview}/moments"),
        &[
            ("kind", "note"),
            ("body", &long),
            ("client_key", "k2"),
            ("section", "3"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("A quick note can be up to 5,000 characters"),
        "{page}"
    );
    assert!(
        page.contains("Too long to keep as a quick note xxx"),
        "what was typed is kept"
    );
    let (status, to, _) = post(interviewer, &format!("{interview}/distress"), &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(to, format!("{interview}/paused"));
    let (status, page) = interviewer.get_text(&to).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("crisis line"),
        "the study's signposting is shown"
    );
    let (_, page) = interviewer.get_text(&base).await;
    assert!(page.contains("Follow-ups to do") && page.contains("distress pause"));
    let (status, to, _) = post(interviewer, &format!("{interview}/resume"), &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(to, format!("{interview}/guide/1"));

    // Closing needs every field-notes item; then it is complete with the notes in the response.
    let (status, _, page) = post(
        interviewer,
        &format!("{interview}/close"),
        &[("setting", "By phone")],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Enter the rapport"), "{page}");
    assert!(
        page.contains(">By phone</textarea>"),
        "what was typed is kept"
    );
    let notes = [
        ("setting", "By phone, participant at home"),
        ("people_present", "None"),
        ("interruptions", "A doorbell at minute 12"),
        ("rapport", "Warm"),
        ("recording_quality", "Notes only, full"),
        ("reflections", "Strong sense of being asked too late"),
    ];
    let (status, to, _) = post(interviewer, &format!("{interview}/close"), &notes).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(to, interview);
    let (_, page) = interviewer.get_text(&interview).await;
    assert!(page.contains("Completed") && page.contains("A doorbell at minute 12"));
    let (_, responses) = team
        .lead
        .call(
            Method::GET,
            &format!("/api/v1/studies/{study}/responses"),
            None,
        )
        .await;
    let response = responses
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["mode"] == "interview")
        .expect("the interview is a response");
    assert!(!response["submitted_at"].is_null(), "{response}");

    // Corrected later: the history keeps who, before and after.
    let mut changed = notes.to_vec();
    changed[3] = ("rapport", "Warm, then tired after 40 minutes");
    let (status, _, _) = post(interviewer, &format!("{interview}/close"), &changed).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, page) = lead.get_text(&interview).await;
    assert!(page.contains("Changes after completion"));
    assert!(page.contains("Warm, then tired after 40 minutes"));
    let (_, detail) = team
        .lead
        .call(Method::GET, &format!("/api/v1{interview}"), None)
        .await;
    assert_eq!(detail["edits"][0]["field"], json!("rapport"));
    assert_eq!(detail["edits"][0]["old_text"], json!("Warm"));
}
