//! The learning report over HTTP: quotes only from participants who agreed to quotes and only once a
//! lead approved them, counts under the study's threshold hidden, involvement against the target,
//! methods from the interview records; approvals through the API and the matrix's pages. On SQLite
//! and PostgreSQL.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{location, TestApp};
use crate::interviewed::{coded_three, Interviewed};
use crate::on_both_databases;

on_both_databases!(
    the_report_shares_only_consented_approved_quotes_and_hides_small_counts,
    quotes_are_approved_from_the_matrix_pages,
    quotes_are_approved_in_one_list,
);

/// The id of the study coding whose passage is `quote`, from the coded passages export.
pub async fn coding_of(fixture: &Interviewed, quote: &str) -> i64 {
    let (_, sources) = fixture
        .team
        .analyst
        .call(
            Method::GET,
            &fixture.api(&format!(
                "/coding/questions/{}",
                fixture.question("What gets in the way")
            )),
            None,
        )
        .await;
    sources["sources"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["texts"][0]["codings"].as_array().unwrap())
        .find(|c| c["quote"] == quote)
        .unwrap_or_else(|| panic!("no coding of {quote}"))["id"]
        .as_i64()
        .unwrap()
}

fn quotes(report: &Value, comb: &str, side: &str) -> Vec<(String, String)> {
    report["comb"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["comb"]["key"] == comb)
        .unwrap()[side]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| {
            (
                q["quote"].as_str().unwrap().into(),
                q["who"].as_str().unwrap().into(),
            )
        })
        .collect()
}

async fn the_report_shares_only_consented_approved_quotes_and_hides_small_counts(app: TestApp) {
    let fixture = coded_three(&app).await;
    let lead = &fixture.team.lead;
    let approve = |coding: i64, approved: bool| {
        let path = fixture.api(&format!("/codings/{coding}/approval"));
        async move {
            lead.call(Method::PUT, &path, Some(json!({ "approved": approved })))
                .await
        }
    };
    let early = coding_of(&fixture, "too early 🙁").await;
    let travel = coding_of(&fixture, "Nobody pays travel.").await;
    let evening = coding_of(&fixture, "evening options helped").await;

    // The service user did not agree to quotes: their words cannot be approved.
    let (status, refused) = approve(travel, true).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert!(refused["error"]["fields"]["approved"]
        .as_str()
        .unwrap()
        .contains("did not agree to be quoted"));
    let (status, _) = fixture
        .team
        .analyst
        .call(
            Method::PUT,
            &fixture.api(&format!("/codings/{early}/approval")),
            Some(json!({ "approved": true })),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "leads approve quotes");
    assert_eq!(approve(early, true).await.0, StatusCode::NO_CONTENT);

    let read = || async {
        let (status, report) = fixture
            .team
            .analyst
            .call(Method::GET, &fixture.api("/report"), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{report}");
        report
    };
    let report = read().await;
    // Only the approved quote of someone who agreed; "Papers arrive late." is not approved yet.
    assert_eq!(
        quotes(&report, "O-PHY", "barriers"),
        [("too early 🙁".to_string(), "Staff".to_string())]
    );
    assert_eq!(quotes(&report, "O-PHY", "enablers"), []);
    // Every answer here is an interviewer's notes, and the report says so beside the quote.
    let physical = |report: &Value| {
        report["comb"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["comb"]["key"] == "O-PHY")
            .unwrap()
            .clone()
    };
    assert_eq!(physical(&report)["barriers"][0]["from_interview"], true);
    let study = fixture.team.study;
    let (_, page) = lead
        .visitor
        .get_text(&format!("/studies/{study}/report"))
        .await;
    assert!(
        page.contains("<figcaption>Staff, from interview notes</figcaption>"),
        "{page}"
    );
    // Every count is under 5 here, so every count is hidden; zeros are not.
    assert_eq!(
        report["total"],
        json!({ "count": null, "suppressed": true })
    );
    assert_eq!(
        report["participation"][2]["interviews"],
        json!({ "count": null, "suppressed": true })
    );
    assert_eq!(report["participation"][0]["online"]["count"], 0);
    assert_eq!(
        physical(&report)["counts"][0],
        json!([{ "count": null, "suppressed": true }, { "count": 0, "suppressed": false }])
    );
    assert_eq!(report["methods"]["settings"], json!(["Community hall"]));
    assert_eq!(report["methods"]["coded_passages"], 7);
    assert!(report["involvement"].is_null(), "no projects tracked yet");
    // The closed questions as charts with their tables, small counts hidden.
    let closed = report["closed"].as_array().unwrap();
    assert!(!closed.is_empty());
    assert!(closed
        .iter()
        .all(|f| f["svg"].as_str().unwrap().contains("role=\"img\"")));
    assert!(closed.iter().any(|f| f["title"]
        .as_str()
        .unwrap()
        .contains("I know how to involve")));
    let text = report.to_string();
    for name in ["Person 0", "Person 1", "Person 2", "@example.org"] {
        assert!(!text.contains(name), "{name} in the report");
    }

    // With a threshold of 2, the totals show; a carer's enabler appears once approved.
    let (status, body) = lead
        .call(
            Method::PUT,
            &fixture.api(""),
            Some(json!({ "title": "Involvement", "summary": "", "small_count_threshold": 2 })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(approve(evening, true).await.0, StatusCode::NO_CONTENT);
    let report = read().await;
    assert_eq!(report["total"]["count"], 3);
    assert_eq!(report["methods"]["interviews"]["count"], 3);
    assert_eq!(
        quotes(&report, "O-PHY", "enablers"),
        [("evening options helped".to_string(), "Carer".to_string())]
    );
    // Withdrawn approval takes the quote out again.
    assert_eq!(approve(early, false).await.0, StatusCode::NO_CONTENT);
    assert_eq!(quotes(&read().await, "O-PHY", "barriers"), []);

    let (status, _) = fixture
        .team
        .interviewer
        .call(Method::GET, &fixture.api("/report"), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn quotes_are_approved_from_the_matrix_pages(app: TestApp) {
    let fixture = coded_three(&app).await;
    let study = fixture.team.study;
    let lead = &fixture.team.lead.visitor;
    let cell = format!("/studies/{study}/matrix/cell?rows=group&columns=comb&version_id=&group=&service=&level=&row=service_user&column=O-PHY");
    let (status, page) = lead.get_text(&cell).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("the participant did not agree to quotes"),
        "{page}"
    );
    assert!(
        !page.contains("Approve for shared reports"),
        "nothing to approve"
    );

    let staff_cell = cell.replace("row=service_user", "row=staff");
    let (_, page) = lead.get_text(&staff_cell).await;
    assert!(page.contains("Approve for shared reports"), "{page}");
    let early = coding_of(&fixture, "too early 🙁").await;
    let sent = lead
        .post_form(
            &format!("/studies/{study}/codings/{early}/approval"),
            &[("approved", "yes"), ("back", &staff_cell)],
        )
        .await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&sent), staff_cell);
    let (_, page) = lead.get_text(&staff_cell).await;
    assert!(page.contains("The quote is approved for shared reports."));
    assert!(page.contains("Withdraw approval"));

    let (status, page) = lead.get_text(&format!("/studies/{study}/report")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("What we learned: Involvement"));
    assert!(page.contains("“too early 🙁”"));
    assert!(page.contains("fewer than 5"));
    assert!(page.contains("media=\"print\""), "print styles");
    assert!(page.contains("Answers to the closed questions"));
    assert!(page.contains("<svg"), "charts drawn on the server");
    let (status, _) = fixture
        .team
        .analyst
        .visitor
        .get_text(&format!("/studies/{study}/report"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = fixture
        .team
        .co_designer
        .visitor
        .get_text(&format!("/studies/{study}/report"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// Approving quotes is one list and one button, not cell by cell: only passages from people who agreed
/// to quotes are offered; what is ticked is approved and what is unticked withdrawn, each change
/// audited; the API does the same, all or none.
async fn quotes_are_approved_in_one_list(app: TestApp) {
    let fixture = coded_three(&app).await;
    let study = fixture.team.study;
    let lead = &fixture.team.lead.visitor;
    let list = format!("/studies/{study}/quotes");
    let (status, page) = lead.get_text(&list).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("“too early 🙁”") && page.contains("“evening options helped”"));
    assert!(
        !page.contains("Nobody pays travel."),
        "the service user did not agree to quotes"
    );
    assert!(page.contains("from people who did not agree"), "{page}");
    assert!(page.contains("Carer, from interview notes."));

    let early = coding_of(&fixture, "too early 🙁").await;
    let evening = coding_of(&fixture, "evening options helped").await;
    let (early_id, evening_id) = (early.to_string(), evening.to_string());
    let sent = lead
        .post_form(
            &list,
            &[
                ("shown", &early_id),
                ("shown", &evening_id),
                ("approved", &early_id),
            ],
        )
        .await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let (_, page) = lead.get_text(&list).await;
    assert!(page.contains("One quote is changed."), "{page}");
    assert!(page.contains(&format!("value=\"{early}\" checked")));
    assert!(!page.contains(&format!("value=\"{evening}\" checked")));
    let (_, report) = lead.get_text(&format!("/studies/{study}/report")).await;
    assert!(report.contains("“too early 🙁”") && report.contains("Choose the quotes it shows"));

    // Unticked is withdrawn, ticked approved: two changes in one press.
    lead.post_form(
        &list,
        &[
            ("shown", &early_id),
            ("shown", &evening_id),
            ("approved", &evening_id),
        ],
    )
    .await;
    let (_, page) = lead.get_text(&list).await;
    assert!(page.contains("2 quotes are changed."), "{page}");

    let api = fixture.api("/quotes");
    let (status, _) = fixture.team.analyst.call(Method::GET, &api, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "leads approve quotes");
    let refused = coding_of(&fixture, "Nobody pays travel.").await;
    let (status, body) = fixture
        .team
        .lead
        .call(
            Method::PUT,
            &api,
            Some(json!({ "approve": [early, refused], "withdraw": [evening] })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (_, now) = fixture.team.lead.call(Method::GET, &api, None).await;
    let approved: Vec<i64> = now["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["approved"] == true)
        .map(|c| c["coding_id"].as_i64().unwrap())
        .collect();
    assert_eq!(approved, [evening], "all or none");
    assert!(now["not_agreed"].as_u64().unwrap() >= 1);
    let (status, body) = fixture
        .team
        .lead
        .call(Method::PUT, &api, Some(json!({ "approve": [early] })))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let audited = app
        .db
        .read(|conn| {
            use diesel::prelude::*;
            use voices::db::schema::audit_events;
            audit_events::table
                .filter(audit_events::action.eq("quote.approved"))
                .count()
                .get_result::<i64>(conn)
                .map_err(voices::error::AppError::from)
        })
        .await
        .unwrap();
    assert_eq!(audited, 3);
}
