//! The study's coding leaving by open standards, as an analyst downloads it: the REFI-QDA project
//! (`.qdpx`) unzipped, its `project.qde` checked against the published Project schema and every
//! selection's offsets pointing at the passage coded; and the coded passages CSV read back. No names,
//! no blind double-coding work. On SQLite and PostgreSQL.

use std::collections::HashMap;
use std::io::{Cursor, Read};

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::exports::{assert_valid, download, read_csv};
use crate::helpers::TestApp;
use crate::interviewed::{code_id, coded_three};
use crate::on_both_databases;

on_both_databases!(the_coding_exports_to_refi_qda_and_csv_with_exact_offsets);

/// The value of `name="…"` in the XML element that starts at `element`.
fn attribute<'a>(element: &'a str, name: &str) -> &'a str {
    let at = element
        .find(&format!(" {name}=\""))
        .unwrap_or_else(|| panic!("no {name} in {element}"))
        + name.len()
        + 3;
    &element[at..at + element[at..].find('"').unwrap()]
}

async fn the_coding_exports_to_refi_qda_and_csv_with_exact_offsets(app: TestApp) {
    let fixture = coded_three(&app).await;
    let study = fixture.team.study;
    // Blind work in a round stays out of the exports.
    let lead_id = fixture.team.user_id("lead@example.org").await;
    let analyst_id = fixture.team.user_id("analyst@example.org").await;
    let question = fixture.question("What gets in the way");
    let (status, round) = fixture
        .team
        .lead
        .call(
            Method::POST,
            &fixture.api("/rounds"),
            Some(json!({ "name": "Blind", "first_coder_id": analyst_id,
                         "second_coder_id": lead_id, "question_ids": [question] })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{round}");
    let (_, sources) = fixture
        .team
        .analyst
        .call(
            Method::GET,
            &fixture.api(&format!("/rounds/{}/sources", round["id"])),
            None,
        )
        .await;
    let social = code_id(&fixture, "Social opportunity").await;
    let (status, _) = fixture
        .team
        .analyst
        .call(
            Method::POST,
            &fixture.api("/codings"),
            Some(
                json!({ "answer_id": sources["sources"][0]["answer_id"], "field": "notes",
                         "code_ids": [social], "valence": "enabler", "round_id": round["id"] }),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    // Memos go with the project as notes on what they are about.
    for (subject, subject_id) in [("study", None), ("code", Some(social))] {
        let (status, body) = fixture
            .team
            .analyst
            .call(
                Method::POST,
                &fixture.api("/memos"),
                Some(json!({ "subject": subject, "subject_id": subject_id,
                             "body": format!("Memo on the {subject}: time & money") })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }

    let (status, headers, qdpx) = download(
        &app,
        "analyst@example.org",
        &format!("/api/v1/studies/{study}/exports/project.qdpx"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/zip");
    assert!(headers["content-disposition"]
        .to_str()
        .unwrap()
        .ends_with(".qdpx\""));
    let mut zip = zip::ZipArchive::new(Cursor::new(qdpx)).unwrap();
    let mut qde = String::new();
    zip.by_name("project.qde")
        .unwrap()
        .read_to_string(&mut qde)
        .unwrap();
    assert!(qde.contains("urn:QDA-XML:project:1.0"));
    assert_valid("Project.xsd", &qde);
    for name in [
        "Person 0",
        "Person 1",
        "lead@example.org",
        "analyst@example.org",
    ] {
        assert!(!qde.contains(name), "{name} in the project");
    }
    assert!(qde.contains("name=\"Coder 1\""));
    assert!(qde.contains("Memo on the study: time &amp; money"));
    assert!(qde.contains("Memo on the code: time &amp; money"));

    // Every selection slices its source to exactly the passage coded.
    let (_, _, passages) = download(
        &app,
        "analyst@example.org",
        &format!("/api/v1/studies/{study}/exports/coded-passages.csv"),
    )
    .await;
    let (header, rows) = read_csv(&passages);
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let quote_of: HashMap<String, String> = rows
        .iter()
        .map(|r| (r[column("coding_id")].clone(), r[column("passage")].clone()))
        .collect();
    assert_eq!(rows.len(), 7, "the study's seven codings, not the round's");
    let mut selections = 0;
    for (at, _) in qde.match_indices("<PlainTextSelection ") {
        let element = &qde[at..at + qde[at..].find('>').unwrap()];
        let source_at = qde[..at].rfind("<TextSource ").unwrap();
        let source_element = &qde[source_at..source_at + qde[source_at..].find('>').unwrap()];
        let path = attribute(source_element, "plainTextPath").replace("internal://", "sources/");
        let mut text = String::new();
        zip.by_name(&path)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        let (start, end): (usize, usize) = (
            attribute(element, "startPosition").parse().unwrap(),
            attribute(element, "endPosition").parse().unwrap(),
        );
        let slice: String = text.chars().skip(start).take(end - start).collect();
        assert!(
            quote_of.values().any(|q| *q == slice),
            "{slice:?} is not a coded passage"
        );
        selections += 1;
    }
    assert_eq!(selections, 7);

    // The CSV: pseudonymous, with code, COM-B part and valence.
    let cafe = rows
        .iter()
        .find(|r| r[column("passage")] == "Café vouchers helped once.")
        .unwrap();
    assert_eq!(cafe[column("participant_code")], fixture.people[1].code);
    assert_eq!(cafe[column("code")], "Travel costs");
    assert_eq!(
        cafe[column("com_b")],
        "Physical opportunity",
        "from the code above it"
    );
    assert_eq!(cafe[column("valence")], "mixed");
    assert_eq!(cafe[column("text")], "notes");
    assert_eq!(cafe[column("coder")], "Coder 1");
    let body = String::from_utf8(passages).unwrap();
    assert!(!body.contains("Person 1") && !body.contains("@example.org"));

    // Interviewers and co-designers cannot take the coding away.
    for (who, expected) in [
        (&fixture.team.interviewer, StatusCode::FORBIDDEN),
        (&fixture.team.co_designer, StatusCode::FORBIDDEN),
        (&fixture.team.outsider, StatusCode::NOT_FOUND),
    ] {
        let (status, _) = who
            .call(Method::GET, &fixture.api("/exports/project.qdpx"), None)
            .await;
        assert_eq!(status, expected);
    }
}
