//! The framework matrix over HTTP: counts per group and per participant against COM-B split into
//! barriers and enablers (mixed on both sides, neutral on neither), filters, a cell's quotes and
//! summary, the COM-B × valence × group and co-occurrence tables, and who may read them (co-designers
//! only when a lead allows). On SQLite and PostgreSQL.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{location, TestApp};
use crate::interviewed::coded_three;
use crate::on_both_databases;

on_both_databases!(
    the_matrix_counts_barriers_and_enablers_by_group_and_participant,
    matrix_pages_work_without_javascript,
);

pub fn cell<'a>(matrix: &'a Value, row: &str, column: &str) -> &'a Value {
    let r = matrix["rows"]
        .as_array()
        .unwrap()
        .iter()
        .position(|h| h["key"] == row)
        .unwrap_or_else(|| panic!("no row {row}: {matrix}"));
    let c = matrix["columns"]
        .as_array()
        .unwrap()
        .iter()
        .position(|h| h["key"] == column)
        .unwrap();
    &matrix["cells"][r][c]
}

/// The `field` of each item of a JSON array.
fn texts<'a>(list: &'a Value, field: &str) -> Vec<&'a str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|item| item[field].as_str().unwrap())
        .collect()
}

fn counts(cell: &Value) -> [i64; 4] {
    [
        cell["barrier"]["passages"]["count"].as_i64().unwrap(),
        cell["barrier"]["participants"]["count"].as_i64().unwrap(),
        cell["enabler"]["passages"]["count"].as_i64().unwrap(),
        cell["enabler"]["participants"]["count"].as_i64().unwrap(),
    ]
}

async fn the_matrix_counts_barriers_and_enablers_by_group_and_participant(app: TestApp) {
    let fixture = coded_three(&app).await;
    let analyst = &fixture.team.analyst;
    let (status, matrix) = analyst
        .call(Method::GET, &fixture.api("/matrix"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{matrix}");
    let keys = texts(&matrix["rows"], "key");
    assert_eq!(keys, ["staff", "service_user", "carer"]);
    assert_eq!(matrix["columns"].as_array().unwrap().len(), 6);
    assert_eq!(counts(cell(&matrix, "staff", "O-PHY")), [2, 1, 0, 0]);
    assert_eq!(counts(cell(&matrix, "staff", "O-SOC")), [1, 1, 0, 0]);
    assert_eq!(
        counts(cell(&matrix, "service_user", "O-PHY")),
        [2, 1, 1, 1],
        "mixed on both"
    );
    assert_eq!(counts(cell(&matrix, "carer", "O-PHY")), [0, 0, 1, 1]);
    assert_eq!(
        counts(cell(&matrix, "carer", "O-SOC")),
        [0, 0, 0, 0],
        "neutral on neither"
    );
    assert_eq!(matrix["passages"]["count"], 7);

    // By participant and by code; filtered to a service.
    let (_, by_code) = analyst
        .call(
            Method::GET,
            &fixture.api("/matrix?rows=participant&columns=codes&service=Community"),
            None,
        )
        .await;
    let people = texts(&by_code["rows"], "label");
    assert_eq!(
        people,
        [
            fixture.people[1].code.as_str(),
            fixture.people[2].code.as_str()
        ]
    );
    let columns = texts(&by_code["columns"], "label");
    assert_eq!(
        columns,
        ["Physical opportunity", "Travel costs", "Social opportunity"]
    );

    // A cell's quotes, and its summary written and read back.
    let (status, detail) = analyst
        .call(
            Method::GET,
            &fixture.api("/matrix/cell?row=service_user&column=O-PHY"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    let quotes = texts(&detail["quotes"], "quote");
    assert_eq!(
        quotes,
        ["Nobody pays travel.", "Café vouchers helped once."]
    );
    assert_eq!(
        detail["quotes"][0]["participant"],
        fixture.people[1].code.as_str()
    );
    let summary = json!({ "rows": "group", "columns": "comb", "row": "service_user",
                          "column": "O-PHY", "summary": "Money for travel decides who comes." });
    let (status, _) = analyst
        .call(
            Method::PUT,
            &fixture.api("/matrix/summaries"),
            Some(summary),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, matrix) = analyst
        .call(Method::GET, &fixture.api("/matrix"), None)
        .await;
    assert_eq!(
        cell(&matrix, "service_user", "O-PHY")["summary"],
        "Money for travel decides who comes."
    );
    let (status, refused) = analyst
        .call(
            Method::PUT,
            &fixture.api("/matrix/summaries"),
            Some(
                json!({ "rows": "group", "columns": "comb", "row": "carer", "column": "O-PHY",
                         "summary": "x".repeat(5_001) }),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused["error"]["fields"]["summary"].is_string());

    // The tables: participants per COM-B part, group and side; codes used together.
    let (status, tables) = analyst
        .call(Method::GET, &fixture.api("/matrix/tables"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{tables}");
    let physical_line = tables["comb"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["comb"]["key"] == "O-PHY")
        .unwrap();
    let participants: Vec<[i64; 2]> = physical_line["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| {
            [
                pair[0]["participants"]["count"].as_i64().unwrap(),
                pair[1]["participants"]["count"].as_i64().unwrap(),
            ]
        })
        .collect();
    assert_eq!(participants, [[1, 0], [1, 1], [0, 1]]);
    let co = &tables["co_occurrence"];
    let names = texts(&co["codes"], "label");
    assert_eq!(
        names,
        ["Physical opportunity", "Travel costs", "Social opportunity"]
    );
    // Physical and Social together in the staff member's and the carer's answers.
    let together: Vec<Vec<i64>> = co["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| {
            line.as_array()
                .unwrap()
                .iter()
                .map(|n| n["count"].as_i64().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(together, [[2, 0, 2], [0, 1, 0], [2, 0, 2]]);

    // Co-designers read the analysis only once a lead allows it; they never write summaries.
    let co_designer = &fixture.team.co_designer;
    let (status, _) = co_designer
        .call(Method::GET, &fixture.api("/matrix"), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = fixture
        .team
        .lead
        .call(
            Method::PUT,
            &fixture.api(""),
            Some(json!({ "title": "Involvement", "summary": "", "co_designers_read_analysis": true })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for path in [
        "/matrix",
        "/matrix/tables",
        "/matrix/cell?row=carer&column=O-PHY",
    ] {
        let (status, body) = co_designer
            .call(Method::GET, &fixture.api(path), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
    let (status, _) = co_designer
        .call(
            Method::PUT,
            &fixture.api("/matrix/summaries"),
            Some(json!({ "rows": "group", "columns": "comb", "row": "carer", "column": "O-PHY", "summary": "x" })),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = fixture
        .team
        .interviewer
        .call(Method::GET, &fixture.api("/matrix"), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn matrix_pages_work_without_javascript(app: TestApp) {
    let fixture = coded_three(&app).await;
    let study = fixture.team.study;
    let browser = &fixture.team.analyst.visitor;
    let (status, page) = browser
        .get_text(&format!(
            "/studies/{study}/matrix?rows=group&columns=comb&group=carer"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("<th class=\"nhsuk-table__header\" scope=\"row\">Carer</th>"),
        "{page}"
    );
    assert!(
        !page.contains("<th class=\"nhsuk-table__header\" scope=\"row\">Staff</th>"),
        "filtered"
    );
    let link = "row=carer&amp;column=O-PHY";
    assert!(page.contains(link), "{page}");
    let cell = format!("/studies/{study}/matrix/cell?rows=group&columns=comb&version_id=&group=carer&service=&level=&row=carer&column=O-PHY");
    let (status, page) = browser.get_text(&cell).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("“evening options helped”"));

    let summary_form = |summary: &'static str| {
        vec![
            ("rows", "group"),
            ("columns", "comb"),
            ("version_id", ""),
            ("group", "carer"),
            ("service", ""),
            ("level", ""),
            ("row", "carer"),
            ("column", "O-PHY"),
            ("summary", summary),
        ]
    };
    let too_long: &'static str = Box::leak("y".repeat(5_001).into_boxed_str());
    let sent = browser
        .post_form(
            &format!("/studies/{study}/matrix/cell"),
            &summary_form(too_long),
        )
        .await;
    assert_eq!(sent.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = sent.text().await.unwrap();
    assert!(page.contains("Keep the summary to 5,000 characters or fewer"));
    assert!(page.contains(too_long), "input kept");
    let sent = browser
        .post_form(
            &format!("/studies/{study}/matrix/cell"),
            &summary_form("Evening meetings help carers."),
        )
        .await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let back = location(&sent);
    assert!(back.contains("group=carer"), "{back}");
    let (_, page) = browser.get_text(&back).await;
    assert!(page.contains("Evening meetings help carers."));

    let (status, page) = browser
        .get_text(&format!("/studies/{study}/matrix/tables"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("COM-B by group: barriers and enablers"));
    assert!(
        page.contains("<th class=\"nhsuk-table__header\" scope=\"row\">Physical opportunity</th>")
    );
}
