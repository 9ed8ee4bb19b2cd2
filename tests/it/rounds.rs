//! Double coding over HTTP: a lead starts a round, two coders code the same text blind, the lead
//! reads agreement per code and overall (NVivo's worked example: 1,000 characters, 50 coded by both
//! and 150 by one only: 85%, κ = 7/22) and the disagreements side by side, and records a consensus
//! that joins the study's coding. On SQLite and PostgreSQL.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::interviewed::{code_id, interviewed, Interviewed, Said};
use crate::on_both_databases;

on_both_databases!(
    two_coders_code_blind_and_the_lead_compares_and_agrees,
    double_coding_pages_work_without_javascript,
);

/// 1,000 characters, the first two of them multi-byte.
fn thousand() -> &'static str {
    Box::leak(format!("é€{}", "a".repeat(998)).into_boxed_str())
}

async fn one_long_note(app: &TestApp) -> (Interviewed, i64, i64) {
    let notes: &'static [(&'static str, &'static str, &'static str)] = Box::leak(Box::new([(
        "If you could change one thing",
        thousand(),
        "",
    )]));
    let people: &'static [Said] = Box::leak(Box::new([Said {
        group: "carer",
        service: "Community",
        level: "micro",
        quotes: true,
        notes,
    }]));
    let fixture = interviewed(app, people).await;
    let question = fixture.question("If you could change one thing");
    let (_, page) = fixture
        .team
        .lead
        .call(
            Method::GET,
            &fixture.api(&format!("/coding/questions/{question}")),
            None,
        )
        .await;
    let answer = page["sources"][0]["answer_id"].as_i64().unwrap();
    (fixture, question, answer)
}

async fn two_coders_code_blind_and_the_lead_compares_and_agrees(app: TestApp) {
    let (fixture, question, answer) = one_long_note(&app).await;
    let team = &fixture.team;
    let analyst_id = team.user_id("analyst@example.org").await;
    let lead_id = team.user_id("lead@example.org").await;
    let social = code_id(&fixture, "Social opportunity").await;

    // Starting a round: errors beside the fields first.
    let (status, refused) = team
        .lead
        .call(
            Method::POST,
            &fixture.api("/rounds"),
            Some(
                json!({ "name": " ", "unit": "word", "first_coder_id": analyst_id,
                         "second_coder_id": analyst_id, "question_ids": [] }),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let mut fields: Vec<&String> = refused["error"]["fields"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    fields.sort();
    assert_eq!(fields, ["name", "question_ids", "second_coder_id", "unit"]);
    let interviewer_id = team.user_id("interviewer@example.org").await;
    let (status, refused) = team
        .lead
        .call(
            Method::POST,
            &fixture.api("/rounds"),
            Some(json!({ "name": "x", "first_coder_id": interviewer_id,
                         "second_coder_id": lead_id, "question_ids": [question] })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused["error"]["fields"]["first_coder_id"].is_string(),
        "only leads and analysts code"
    );
    let (status, round) = team
        .lead
        .call(
            Method::POST,
            &fixture.api("/rounds"),
            Some(
                json!({ "name": "One thing", "unit": "character", "first_coder_id": analyst_id,
                         "second_coder_id": lead_id, "question_ids": [question] }),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{round}");
    let round = round["id"].as_i64().unwrap();
    let (status, _) = team
        .analyst
        .call(
            Method::POST,
            &fixture.api("/rounds"),
            Some(json!({ "name": "Mine" })),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only leads start rounds");

    // Each codes blind: the first 0..100, the second 50..200, with the same code.
    let code_in_round = |start: u32, end: u32| {
        json!({ "answer_id": answer, "field": "notes", "start": start, "end": end,
                "code_ids": [social], "valence": "barrier", "round_id": round })
    };
    let (status, body) = team
        .analyst
        .call(
            Method::POST,
            &fixture.api("/codings"),
            Some(code_in_round(0, 100)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = team
        .lead
        .call(
            Method::POST,
            &fixture.api("/codings"),
            Some(code_in_round(50, 200)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    for (who, expected) in [
        (&team.interviewer, StatusCode::FORBIDDEN),
        (&team.co_designer, StatusCode::FORBIDDEN),
        (&team.outsider, StatusCode::NOT_FOUND),
    ] {
        let (status, _) = who
            .call(
                Method::POST,
                &fixture.api("/codings"),
                Some(code_in_round(0, 10)),
            )
            .await;
        assert_eq!(status, expected);
    }

    // Neither sees the other's work, and the study's coding has none of it.
    let (status, mine) = team
        .analyst
        .call(
            Method::GET,
            &fixture.api(&format!("/rounds/{round}/sources")),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    let codings = mine["sources"][0]["texts"][0]["codings"]
        .as_array()
        .unwrap();
    assert_eq!(codings.len(), 1);
    assert_eq!(
        (codings[0]["start"].as_i64(), codings[0]["end"].as_i64()),
        (Some(0), Some(100))
    );
    let (_, study_coding) = team
        .analyst
        .call(
            Method::GET,
            &fixture.api(&format!("/coding/questions/{question}")),
            None,
        )
        .await;
    assert_eq!(study_coding["sources"][0]["texts"][0]["codings"], json!([]));
    let (status, _) = team
        .analyst
        .call(
            Method::GET,
            &fixture.api(&format!("/rounds/{round}/agreement")),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "coders do not compare");

    // NVivo's worked example: 85% agreement, κ = 7/22.
    let (status, report) = team
        .lead
        .call(
            Method::GET,
            &fixture.api(&format!("/rounds/{round}/agreement")),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let overall = &report["overall"];
    assert_eq!(
        [
            &overall["units"],
            &overall["both"],
            &overall["first_only"],
            &overall["second_only"]
        ],
        [&json!(1000), &json!(50), &json!(50), &json!(100)]
    );
    assert!((overall["percent"].as_f64().unwrap() - 85.0).abs() < 1e-9);
    assert!((overall["kappa"].as_f64().unwrap() - 7.0 / 22.0).abs() < 1e-9);
    assert_eq!(report["codes"][0]["code_name"], "Social opportunity");
    let disagreement = &report["disagreements"][0];
    let differences: Vec<(i64, i64, &str)> = disagreement["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["start"].as_i64().unwrap(),
                d["end"].as_i64().unwrap(),
                d["coder"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(differences, [(0, 50, "first"), (100, 200, "second")]);
    assert!(disagreement["differences"][0]["text"]
        .as_str()
        .unwrap()
        .starts_with("é€a"));

    // A consensus: the second coder's passage joins the study's coding, under its coder.
    let decision = json!({ "answer_id": answer, "field": "notes", "code_id": social,
                           "decision": "second", "note": "The wider passage carries the meaning" });
    let consensus = fixture.api(&format!("/rounds/{round}/consensus"));
    let (status, body) = team
        .lead
        .call(Method::POST, &consensus, Some(json!({ "answer_id": answer, "field": "notes", "code_id": social, "decision": "mine" })))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = team
        .lead
        .call(Method::POST, &consensus, Some(decision.clone()))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = team
        .lead
        .call(Method::POST, &consensus, Some(decision))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "final: {body}");
    let (_, study_coding) = team
        .analyst
        .call(
            Method::GET,
            &fixture.api(&format!("/coding/questions/{question}")),
            None,
        )
        .await;
    let kept: Vec<&Value> = study_coding["sources"][0]["texts"][0]["codings"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(kept.len(), 1);
    assert_eq!(
        (kept[0]["start"].as_i64(), kept[0]["end"].as_i64()),
        (Some(50), Some(200))
    );
    assert_eq!(kept[0]["coder_id"], lead_id);
    let (_, report) = team
        .lead
        .call(
            Method::GET,
            &fixture.api(&format!("/rounds/{round}/agreement")),
            None,
        )
        .await;
    assert_eq!(
        report["disagreements"][0]["consensus"]["decision"],
        "second"
    );
}

async fn double_coding_pages_work_without_javascript(app: TestApp) {
    let (fixture, question, _) = one_long_note(&app).await;
    let team = &fixture.team;
    let study = team.study;
    let analyst_id = team.user_id("analyst@example.org").await.to_string();
    let lead_id = team.user_id("lead@example.org").await.to_string();
    let lead = &team.lead.visitor;
    let rounds = format!("/studies/{study}/rounds");
    let (status, page) = lead.get_text(&rounds).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Start a round"));

    let question = question.to_string();
    let sent = lead
        .post_form(
            &rounds,
            &[
                ("name", "Round one"),
                ("first_coder_id", &analyst_id),
                ("second_coder_id", &analyst_id),
                ("question", &question),
            ],
        )
        .await;
    assert_eq!(sent.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = sent.text().await.unwrap();
    assert!(page.contains("Choose two different people"));
    assert!(page.contains("value=\"Round one\""), "input kept");
    let sent = lead
        .post_form(
            &rounds,
            &[
                ("name", "Round one"),
                ("unit", "answer"),
                ("first_coder_id", &analyst_id),
                ("second_coder_id", &lead_id),
                ("question", &question),
            ],
        )
        .await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let (_, page) = team.analyst.visitor.get_text(&rounds).await;
    let link = format!("href=\"/studies/{study}/rounds/");
    let at = page.find(&link).expect("the coder's link") + link.len();
    let round: String = page[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    assert!(!page.contains("/agreement\""), "no comparing for coders");

    // The coder's page: blind, with the coding form posting back to the round.
    let (status, page) = team
        .analyst
        .visitor
        .get_text(&format!("{rounds}/{round}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("You are coding these 1 text"), "{page}");
    assert!(page.contains("name=\"by\" value=\"rounds\""));
    let answer = {
        let marker = format!("action=\"/studies/{study}/coding/answers/");
        let at = page.find(&marker).unwrap() + marker.len();
        page[at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
    };
    let social = code_id(&fixture, "Social opportunity").await.to_string();
    let sent = team
        .analyst
        .visitor
        .post_form(
            &format!("/studies/{study}/coding/answers/{answer}"),
            &[
                ("by", "rounds"),
                ("of", &round),
                ("page", "1"),
                ("field", "notes"),
                ("code", &social),
                ("valence", "barrier"),
            ],
        )
        .await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let (status, _) = team
        .interviewer
        .visitor
        .get_text(&format!("{rounds}/{round}"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The lead compares: by whole answer, the analyst coded it and the lead did not.
    let agreement = format!("{rounds}/{round}/agreement");
    let (status, page) = lead.get_text(&agreement).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("<td class=\"nhsuk-table__cell\">0%</td>"),
        "{page}"
    );
    let form = format!("{rounds}/{round}/consensus");
    let fields = |decision: &'static str| {
        [
            ("answer_id", answer.as_str()),
            ("field", "notes"),
            ("code_id", social.as_str()),
            ("decision", decision),
        ]
    };
    let sent = lead.post_form(&form, &fields("")).await;
    assert_eq!(sent.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(sent
        .text()
        .await
        .unwrap()
        .contains("Choose whose passages to keep"));
    let sent = lead.post_form(&form, &fields("first")).await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let (_, page) = lead.get_text(&agreement).await;
    assert!(
        page.contains("the first coder&#x27;s passages kept")
            || page.contains("the first coder's passages kept"),
        "{page}"
    );
}
