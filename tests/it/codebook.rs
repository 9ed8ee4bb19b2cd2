//! The codebook over HTTP, as analysts and leads use it through the API and the pages: seeded with
//! COM-B, codes added under it and emergent ones beside it, checks beside the fields, changes and
//! merges numbered in the history. On SQLite and PostgreSQL.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{location, StudyTeam, TestApp};
use crate::on_both_databases;

on_both_databases!(
    the_codebook_starts_with_com_b_and_keeps_every_change,
    codebook_pages_work_without_javascript,
);

fn code_named<'a>(codebook: &'a Value, name: &str) -> &'a Value {
    codebook["codes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no code {name} in {codebook}"))
}

async fn the_codebook_starts_with_com_b_and_keeps_every_change(app: TestApp) {
    let team = StudyTeam::new(&app).await;
    let base = format!("/api/v1/studies/{}/codebook", team.study);
    let analyst = &team.analyst;

    let (status, codebook) = analyst.call(Method::GET, &base, None).await;
    assert_eq!(status, StatusCode::OK, "{codebook}");
    let names: Vec<&str> = codebook["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "Physical capability",
            "Psychological capability",
            "Physical opportunity",
            "Social opportunity",
            "Reflective motivation",
            "Automatic motivation"
        ]
    );
    assert_eq!(codebook["version"], 6);
    let (_, again) = team.lead.call(Method::GET, &base, None).await;
    assert_eq!(again["version"], 6, "seeded once");
    let social = code_named(&codebook, "Social opportunity")["id"]
        .as_i64()
        .unwrap();

    // A deductive code under COM-B, mapped to TDF; an emergent one at the top.
    let (status, meetings) = analyst
        .call(
            Method::POST,
            &format!("{base}/codes"),
            Some(json!({
                "name": "Meetings at times carers cannot make", "parent_id": social,
                "definition": "Timing shuts carers out", "colour": "orange",
                "comb": "O-SOC", "tdf": ["TDF-ENV", "TDF-SOC"],
                "example": "“2 pm clashes with the school run”",
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{meetings}");
    assert_eq!(meetings["branch"], "comb");
    let meetings = meetings["id"].as_i64().unwrap();
    let (status, paid) = analyst
        .call(
            Method::POST,
            &format!("{base}/codes"),
            Some(json!({ "name": "Being paid for time", "colour": "teal" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{paid}");
    assert_eq!(paid["branch"], "emergent");
    let paid = paid["id"].as_i64().unwrap();

    // Problems come back beside their fields.
    for (body, field) in [
        (
            json!({ "name": "being PAID for time", "colour": "teal" }),
            "name",
        ),
        (json!({ "name": "Other", "colour": "beige" }), "colour"),
        (
            json!({ "name": "Other", "colour": "teal", "parent_id": 999_999 }),
            "parent_id",
        ),
        (
            json!({ "name": "Other", "colour": "teal", "tdf": ["TDF-NOPE"] }),
            "tdf",
        ),
        (json!({ "name": "", "colour": "teal" }), "name"),
    ] {
        let (status, error) = analyst
            .call(Method::POST, &format!("{base}/codes"), Some(body))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
        assert!(
            error["error"]["fields"][field].is_string(),
            "{field}: {error}"
        );
    }
    let (status, error) = analyst
        .call(
            Method::PUT,
            &format!("{base}/codes/{social}"),
            Some(json!({ "name": "Social opportunity", "colour": "green", "parent_id": meetings })),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a code cannot sit under its own: {error}"
    );

    // A rename is a new version with before and after; the same again records nothing.
    let renamed = json!({ "name": "Payment for involvement", "colour": "teal", "definition": "Money for time given" });
    let (status, code) = analyst
        .call(
            Method::PUT,
            &format!("{base}/codes/{paid}"),
            Some(renamed.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{code}");
    assert_eq!(code["name"], "Payment for involvement");
    let (_, _) = analyst
        .call(Method::PUT, &format!("{base}/codes/{paid}"), Some(renamed))
        .await;
    let (_, history) = analyst
        .call(Method::GET, &format!("{base}/history"), None)
        .await;
    assert_eq!(history[0]["version"], 9, "{history}");
    assert_eq!(history[0]["action"], "changed");
    let before: Value = serde_json::from_str(history[0]["old_fields"].as_str().unwrap()).unwrap();
    let after: Value = serde_json::from_str(history[0]["new_fields"].as_str().unwrap()).unwrap();
    assert_eq!(before["name"], "Being paid for time");
    assert_eq!(after["name"], "Payment for involvement");

    // Merging: into its own child is refused; otherwise it leaves the live codebook.
    let (status, child) = analyst
        .call(
            Method::POST,
            &format!("{base}/codes"),
            Some(json!({ "name": "Expenses", "colour": "teal", "parent_id": paid })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let child = child["id"].as_i64().unwrap();
    let (status, _) = analyst
        .call(
            Method::POST,
            &format!("{base}/codes/{paid}/merge"),
            Some(json!({ "into": child })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = analyst
        .call(
            Method::POST,
            &format!("{base}/codes/{paid}/merge"),
            Some(json!({ "into": meetings })),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, codebook) = analyst.call(Method::GET, &base, None).await;
    assert!(codebook["codes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["id"] != paid));
    assert_eq!(codebook["merged"][0]["merged_into"], meetings);
    assert_eq!(
        code_named(&codebook, "Expenses")["parent_id"],
        meetings,
        "its codes move"
    );
    assert_eq!(codebook["version"], 11);

    // Only leads and analysts.
    for who in [&team.interviewer, &team.co_designer] {
        assert_eq!(
            who.call(Method::GET, &base, None).await.0,
            StatusCode::FORBIDDEN
        );
    }
    assert_eq!(
        team.outsider.call(Method::GET, &base, None).await.0,
        StatusCode::NOT_FOUND
    );
}

async fn codebook_pages_work_without_javascript(app: TestApp) {
    let team = StudyTeam::new(&app).await;
    let analyst = &team.analyst.visitor;
    let base = format!("/studies/{}/codebook", team.study);
    let (status, page) = analyst.get_text(&base).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Reflective motivation") && page.contains("version 6"),
        "{page}"
    );

    let (status, page) = analyst.get_text(&format!("{base}/new")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Theoretical Domains Framework"));
    let response = analyst
        .post_form(
            &base,
            &[
                ("name", ""),
                ("definition", "Kept when the name is missing"),
                ("colour", "red"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(page.contains("Enter a name for the code"));
    assert!(page.contains("Kept when the name is missing"));
    let response = analyst
        .post_form(
            &base,
            &[
                ("name", "Jargon in papers"),
                ("colour", "red"),
                ("comb", "C-PSY"),
                ("tdf", "TDF-KNO"),
                ("tdf", "TDF-SKI"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let to = location(&response);
    let id: i64 = to.rsplit("#code-").next().unwrap().parse().unwrap();

    let (status, page) = analyst.get_text(&format!("{base}/{id}/edit")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("value=\"TDF-SKI\" checked"),
        "the domains chosen are ticked"
    );
    let response = analyst
        .post_form(
            &format!("{base}/{id}/edit"),
            &[("name", "Jargon in meeting papers"), ("colour", "red")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, page) = analyst.get_text(&format!("{base}/{id}/merge")).await;
    assert!(page.contains("Merge Jargon in meeting papers into another code"));
    let response = analyst
        .post_form(&format!("{base}/{id}/merge"), &[("into", "")])
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("Choose the code to merge into"));
    let (_, page) = analyst.get_text(&format!("{base}/history")).await;
    assert!(
        page.contains("Changed: name, COM-B, TDF") && page.contains("(was Jargon in papers)"),
        "{page}"
    );
    assert_eq!(
        team.interviewer.visitor.get(&base).await.status(),
        StatusCode::FORBIDDEN
    );
}
