//! One rule for shared views over HTTP: a co-designer reading the analysis, and an analyst the study
//! gives the shared view, never get a count from 1 to the threshold less one (matrix, its tables,
//! closed questions, report), a row per participant, a participant's code or a quote no lead approved;
//! the lead still sees everything. Six staff and one carer, threshold 5. On SQLite and PostgreSQL.
//! (Campaign tracking under the same rule: tests/it/distribution.rs.)

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::Person;
use crate::interviewed::{code, code_id, interviewed, Interviewed, Said};
use crate::matrix::cell;
use crate::on_both_databases;
use crate::report::coding_of;

on_both_databases!(
    shared_viewers_get_no_small_counts_participant_rows_or_unapproved_quotes,
    the_api_document_names_each_count_as_it_is_sent,
);

/// The matrix's counts and the closed questions' cells are distinct schemas, each true to what is
/// sent; every suppressible count is the one `SharedCount`.
async fn the_api_document_names_each_count_as_it_is_sent(app: crate::helpers::TestApp) {
    let doc: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    let schemas = &doc["components"]["schemas"];
    let properties = |name: &str| {
        let mut keys: Vec<String> = schemas[name]["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("no schema {name}"))
            .keys()
            .cloned()
            .collect();
        keys.sort();
        keys
    };
    assert_eq!(properties("SharedCount"), ["count", "suppressed"]);
    assert_eq!(properties("MatrixCount"), ["participants", "passages"]);
    assert_eq!(
        schemas["MatrixCount"]["properties"]["passages"]["$ref"],
        "#/components/schemas/SharedCount"
    );
    assert_eq!(
        schemas["MatrixCell"]["properties"]["barrier"]["$ref"],
        "#/components/schemas/MatrixCount"
    );
    assert_eq!(properties("Cell"), ["count", "percent", "suppressed"]);
    let matrix = &doc["paths"]["/api/v1/studies/{id}/matrix"]["get"]["responses"];
    assert!(
        matrix["422"].is_object(),
        "rows per participant refused: {matrix}"
    );
}

fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

/// What person `n` said about barriers: words unique to them, to find their quote.
fn barrier_words(n: usize) -> &'static str {
    leak(format!("Meetings run too early for person {n}."))
}

/// Six staff (one disagreeing on the Likert question) and one carer.
fn six_staff_one_carer() -> Vec<Said> {
    let staff = (0..6).map(|n| Said {
        group: "staff",
        service: "Mental health",
        level: "micro",
        quotes: true,
        notes: Box::leak(
            vec![
                ("What gets in the way", barrier_words(n), ""),
                (
                    "I know how to involve",
                    "Said so",
                    if n == 0 { "Disagree" } else { "Agree" },
                ),
            ]
            .into_boxed_slice(),
        ),
    });
    let carer = Said {
        group: "carer",
        service: "Community",
        level: "micro",
        quotes: true,
        notes: Box::leak(vec![("What gets in the way", barrier_words(6), "")].into_boxed_slice()),
    };
    staff.chain(std::iter::once(carer)).collect()
}

/// Checks every count in a shared answer: marked, and none from 1 to 4. Returns how many were hidden.
fn hidden_counts(body: &Value, what: &str) -> usize {
    match body {
        Value::Object(map) => {
            let own = match map.get("suppressed") {
                Some(Value::Bool(true)) => {
                    assert!(map["count"].is_null(), "{what}: {body}");
                    1
                }
                Some(_) => {
                    let n = map["count"].as_i64().unwrap_or(0);
                    assert!(n == 0 || n >= 5, "{what}: a count of {n} in {body}");
                    0
                }
                None => 0,
            };
            own + map.values().map(|v| hidden_counts(v, what)).sum::<usize>()
        }
        Value::Array(items) => items.iter().map(|v| hidden_counts(v, what)).sum(),
        _ => 0,
    }
}

async fn get(who: &Person, path: &str) -> (StatusCode, Value) {
    who.call(Method::GET, path, None).await
}

fn quotes_of(detail: &Value) -> Vec<(String, String)> {
    detail["quotes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| {
            (
                q["quote"].as_str().unwrap().into(),
                q["participant"].as_str().unwrap().into(),
            )
        })
        .collect()
}

/// No participant's code anywhere in a shared answer.
fn names_nobody(fixture: &Interviewed, body: &str, what: &str) {
    for person in &fixture.people {
        assert!(!body.contains(&person.code), "{what} names {}", person.code);
    }
}

async fn shared_viewers_get_no_small_counts_participant_rows_or_unapproved_quotes(
    app: crate::helpers::TestApp,
) {
    let fixture = interviewed(&app, &six_staff_one_carer()).await;
    let physical = code_id(&fixture, "Physical opportunity").await;
    for n in 0..7 {
        code(&fixture, n, barrier_words(n), &[physical], "barrier").await;
    }
    let team = &fixture.team;
    let (lead, analyst, designer) = (&team.lead, &team.analyst, &team.co_designer);
    let approved = coding_of(&fixture, barrier_words(0)).await;
    let (status, body) = lead
        .call(
            Method::PUT,
            &fixture.api(&format!("/codings/{approved}/approval")),
            Some(json!({ "approved": true })),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    // Analysts see everything by default; co-designers nothing until a lead shares the analysis.
    let (_, matrix) = get(analyst, &fixture.api("/matrix")).await;
    assert_eq!(
        cell(&matrix, "carer", "O-PHY")["barrier"]["participants"],
        json!({ "count": 1, "suppressed": false })
    );
    assert_eq!(
        get(designer, &fixture.api("/matrix")).await.0,
        StatusCode::FORBIDDEN
    );
    let (status, body) = lead
        .call(
            Method::PUT,
            &fixture.api(""),
            Some(json!({ "title": "Involvement", "summary": "",
                         "co_designers_read_analysis": true, "analysts_see_participants": false })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, settings) = lead
        .visitor
        .get_text(&format!("/studies/{}/edit", team.study))
        .await;
    assert!(
        settings.contains("name=\"analysts_see_participants\" type=\"radio\" value=\"no\" checked")
    );

    let carer_code = fixture.people[6].code.clone();
    for (who, name) in [(designer, "co-designer"), (analyst, "restricted analyst")] {
        // The matrix and its tables: the carer's cell says "suppressed", the staff's six are shown.
        let (status, matrix) = get(who, &fixture.api("/matrix")).await;
        assert_eq!(status, StatusCode::OK, "{name}: {matrix}");
        assert!(hidden_counts(&matrix, name) > 0, "{name}: {matrix}");
        let carer = &cell(&matrix, "carer", "O-PHY")["barrier"];
        assert_eq!(
            carer["participants"],
            json!({ "count": null, "suppressed": true })
        );
        assert_eq!(
            cell(&matrix, "staff", "O-PHY")["barrier"]["participants"]["count"],
            6
        );
        names_nobody(&fixture, &matrix.to_string(), name);
        let (status, tables) = get(who, &fixture.api("/matrix/tables")).await;
        assert_eq!(status, StatusCode::OK, "{name}: {tables}");
        assert!(hidden_counts(&tables, name) > 0, "{name}: {tables}");

        // No rows per participant, not even one cell of them (the tester's request).
        for path in [
            "/matrix?rows=participant".to_string(),
            format!("/matrix/cell?rows=participant&row={carer_code}&column=O-PHY"),
            format!(
                "/matrix/cell?rows=participant&row={carer_code}&column={physical}&columns=codes"
            ),
        ] {
            let (status, body) = get(who, &fixture.api(&path)).await;
            assert_eq!(
                status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{name} {path}: {body}"
            );
            assert!(body["error"]["fields"]["rows"].is_string(), "{body}");
        }
        // Quotes: only the one a lead approved, by group, not by participant.
        let (status, detail) = get(who, &fixture.api("/matrix/cell?row=staff&column=O-PHY")).await;
        assert_eq!(status, StatusCode::OK, "{name}: {detail}");
        assert_eq!(
            quotes_of(&detail),
            [(barrier_words(0).to_string(), String::new())],
            "{name}"
        );
        let (_, carer_cell) = get(who, &fixture.api("/matrix/cell?row=carer&column=O-PHY")).await;
        assert_eq!(quotes_of(&carer_cell), [], "{name}: not approved");

        // Pages say plainly what is hidden and offer no participant rows.
        let visitor = &who.visitor;
        let study = team.study;
        for page in ["matrix", "matrix/tables"] {
            let (status, html) = visitor.get_text(&format!("/studies/{study}/{page}")).await;
            assert_eq!(status, StatusCode::OK, "{name} {page}");
            assert!(html.contains("fewer than 5"), "{name} {page}: {html}");
            assert!(!html.contains("value=\"participant\""), "{name} {page}");
            names_nobody(&fixture, &html, name);
        }
        let (status, _) = visitor
            .get_text(&format!("/studies/{study}/matrix?rows=participant"))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{name}");
    }

    // Closed questions and the report: the restricted analyst gets only the shared counts; both stay
    // with leads and analysts.
    for path in ["/closed", "/report"] {
        let (status, body) = get(analyst, &fixture.api(path)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert!(hidden_counts(&body, path) > 0, "{path}: {body}");
        names_nobody(&fixture, &body.to_string(), path);
        assert_eq!(
            get(designer, &fixture.api(path)).await.0,
            StatusCode::FORBIDDEN
        );
    }
    let (_, closed) = get(analyst, &fixture.api("/closed?shared=false")).await;
    assert_eq!(closed["shared"], true, "no way round the study's rule");
    let (_, page) = analyst
        .visitor
        .get_text(&format!("/studies/{}/closed", team.study))
        .await;
    assert!(page.contains("fewer than 5"), "{page}");

    // The lead still sees every row, count and quote.
    let (status, by_person) = get(lead, &fixture.api("/matrix?rows=participant")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(by_person["rows"].as_array().unwrap().len(), 7);
    let (_, detail) = get(
        lead,
        &fixture.api(&format!(
            "/matrix/cell?rows=participant&row={carer_code}&column=O-PHY"
        )),
    )
    .await;
    assert_eq!(
        quotes_of(&detail),
        [(barrier_words(6).to_string(), carer_code.clone())]
    );
    let (_, matrix) = get(lead, &fixture.api("/matrix")).await;
    assert_eq!(hidden_counts_of_lead(&matrix), 0);
    let (_, closed) = get(lead, &fixture.api("/closed")).await;
    assert_eq!(closed["shared"], false);
    assert_eq!(hidden_counts_of_lead(&closed), 0);
}

/// How many counts a lead's answer hides (none, whatever their size).
fn hidden_counts_of_lead(body: &Value) -> usize {
    match body {
        Value::Object(map) => {
            usize::from(map.get("suppressed") == Some(&Value::Bool(true)))
                + map.values().map(hidden_counts_of_lead).sum::<usize>()
        }
        Value::Array(items) => items.iter().map(hidden_counts_of_lead).sum(),
        _ => 0,
    }
}
