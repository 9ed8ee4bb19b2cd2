//! Previews per audience, the interviewer's guide, and the questionnaire file: export as a download,
//! import checked in full (nothing stored on any problem), round trips, and who may do what.

use diesel::prelude::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use voices::error::AppError;
use voices::identity::Role;

use crate::helpers::{TestApp, PASSWORD};
use crate::on_both_databases;

on_both_databases!(
    each_audience_sees_its_questions_in_its_wording,
    export_is_a_download_and_import_round_trips,
    an_import_with_problems_reports_each_and_creates_nothing,
    preview_export_and_import_check_membership_and_role,
);

const SAMPLE: &str = include_str!("../fixtures/sample_guide.json");

fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_string()
}

fn id_after(text: &str, marker: &str) -> i64 {
    let start = text
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} in {text}"))
        + marker.len();
    text[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

/// A study led by `app`'s visitor, with an analyst; returns the study id.
async fn study(app: &TestApp) -> i64 {
    app.signed_in_as("lead@example.org", Role::Member).await;
    let created = app
        .post_form("/studies", &[("title", "Involvement"), ("summary", "")])
        .await;
    let study = id_after(&location(&created), "/studies/");
    app.create_user("analyst@example.org", Role::Member).await;
    let added = app
        .post_form(
            &format!("/studies/{study}/members"),
            &[
                ("email", "analyst@example.org"),
                ("display_name", "Test Person"),
                ("analyst", "on"),
                ("perspective", "staff"),
            ],
        )
        .await;
    assert_eq!(added.status(), StatusCode::SEE_OTHER);
    crate::helpers::accept_invitations(app, "analyst@example.org").await;
    study
}

/// Imports the sample guide through the page, as a co-designer would; returns the new questionnaire id.
async fn import_sample(app: &TestApp, study: i64) -> i64 {
    let imported = app
        .post_form(
            &format!("/studies/{study}/questionnaires/import"),
            &[("file", SAMPLE)],
        )
        .await;
    assert_eq!(
        imported.status(),
        StatusCode::SEE_OTHER,
        "the sample imports"
    );
    id_after(&location(&imported), "/questionnaires/")
}

async fn token_for(app: &TestApp, email: &str) -> String {
    let email = email.to_string();
    let user = app
        .db
        .read(move |conn| {
            use voices::db::schema::users;
            users::table
                .filter(users::email.eq(email))
                .select(users::id)
                .first::<i64>(conn)
                .map_err(AppError::from)
        })
        .await
        .unwrap();
    voices::accounts::actions::create_api_token(
        &app.db,
        &voices::audit::Origin::command_line(),
        user,
        "test",
    )
    .await
    .unwrap()
    .1
}

async fn api(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<&str>,
) -> (StatusCode, Value) {
    let mut request = app.client.request(method, app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn questionnaire_count(app: &TestApp) -> i64 {
    app.db
        .read(|conn| {
            use voices::db::schema::{questionnaires, questions, sections};
            let counts: (i64, i64, i64) = (
                questionnaires::table.count().get_result(conn)?,
                sections::table.count().get_result(conn)?,
                questions::table.count().get_result(conn)?,
            );
            Ok::<_, AppError>(counts.0 * 1_000_000 + counts.1 * 1000 + counts.2)
        })
        .await
        .unwrap()
}

async fn each_audience_sees_its_questions_in_its_wording(app: TestApp) {
    let study = study(&app).await;
    let questionnaire = import_sample(&app, study).await;
    let base = format!("/studies/{study}/questionnaires/{questionnaire}/preview");

    let (status, staff) = app.get_text(&format!("{base}?as=staff")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(staff.contains("What is your role, and which team do you work in?"));
    assert!(
        staff.contains("Which service do you work in?"),
        "staff only"
    );
    assert!(staff.contains("Strongly agree") && staff.contains("Not applicable"));
    assert!(
        !staff.contains("Is there anything practical"),
        "not for staff"
    );
    assert!(!staff.contains("Which of our services do you use?"));
    assert!(!staff.contains("Where did you learn that?"), "no probes");
    assert!(staff.contains("aria-current=\"page\">A staff member"));

    let (_, user) = app.get_text(&format!("{base}?as=service_user")).await;
    assert!(user.contains("Which of our services do you use?"));
    assert!(user.contains("Is there anything practical"));
    assert!(!user.contains("Which service do you work in?"));
    assert!(user.contains("Only asked if"), "the condition is shown");
    assert!(user.contains("How welcome did you feel in improvement meetings?"));

    let (_, carer) = app.get_text(&format!("{base}?as=carer")).await;
    assert!(carer.contains("Which of our services does the person you care for use?"));
    assert!(carer.contains("where you are the only carer"));

    let (_, easy) = app.get_text(&format!("{base}?as=easy_read")).await;
    assert!(easy.contains("What would help you to take part?"));
    assert!(
        easy.contains("Is there anything practical"),
        "falls back to the main wording"
    );
    assert!(!easy.contains("Which service do you work in?"));

    let (_, guide) = app.get_text(&format!("{base}?as=interviewer")).await;
    for expected in [
        "Where did you learn that?",
        "What is your role, and which team do you work in?",
        "Which of our services do you use?",
        "Which of our services does the person you care for use?",
        "What would help you to take part?",
        "I agree to take part.",
        "Which service do you work in?",
        "notes-space",
        "About capability: what people know and can do.",
    ] {
        assert!(guide.contains(expected), "guide: {expected}");
    }
    let (_, default) = app.get_text(&base).await;
    assert!(default.contains("Interviewer's guide"));
    let (status, _) = app.get_text(&format!("{base}?as=visitor")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // The same as JSON.
    let token = token_for(&app, "lead@example.org").await;
    let path = format!("/api/v1{base}?as=staff");
    let (status, body) = api(&app, &token, Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK);
    let texts: Vec<&str> = body["sections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["questions"].as_array().unwrap())
        .map(|q| q["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts.len(), 14, "all but one are asked of staff: {texts:?}");
    assert_eq!(
        texts[0],
        "What is your role, and which team do you work in?"
    );
    let first = &body["sections"][0]["questions"][0];
    assert_eq!(first["probes"], json!([]));
    let (status, _) = api(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/studies/{study}/questionnaires/{questionnaire}/versions/1/preview"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing published yet");
}

async fn export_is_a_download_and_import_round_trips(app: TestApp) {
    let study = study(&app).await;
    let questionnaire = import_sample(&app, study).await;
    let exported = app
        .get(&format!(
            "/studies/{study}/questionnaires/{questionnaire}/export.json"
        ))
        .await;
    assert_eq!(exported.status(), StatusCode::OK);
    assert!(exported.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    assert!(exported.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let first_text = exported.text().await.unwrap();
    let first: Value = serde_json::from_str(&first_text).unwrap();
    assert_eq!(first["format"], "voices.questionnaire");
    assert_eq!(first["format_version"], 1);
    let treated = &first["sections"][2]["questions"][1];
    assert_eq!(
        treated["show_if"],
        json!({ "question": "q2", "answers": ["Yes"] })
    );
    assert_eq!(treated["tags"], json!(["O-SOC", "TDF-SOC"]));
    let sample: Value = serde_json::from_str(SAMPLE).unwrap();
    assert_eq!(first["information"], sample["information"]);
    assert_eq!(first["title"], sample["title"]);

    // Import the export through the API, export again: the same content.
    let token = token_for(&app, "lead@example.org").await;
    let (status, body) = api(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/studies/{study}/questionnaires/import"),
        Some(&first_text),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["questionnaire"]["status"], "draft");
    let copy = body["questionnaire"]["id"].as_i64().unwrap();
    assert_ne!(copy, questionnaire);
    let (status, second) = api(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/studies/{study}/questionnaires/{copy}/export"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first, second);
}

async fn an_import_with_problems_reports_each_and_creates_nothing(app: TestApp) {
    let study = study(&app).await;
    let token = token_for(&app, "lead@example.org").await;
    let before = questionnaire_count(&app).await;
    let mut file: Value = serde_json::from_str(SAMPLE).unwrap();
    file["sections"][1]["questions"][1]["options"] = json!(["Agree", "Disagree"]);
    file["sections"][0]["questions"][0]["tags"] = json!(["C-NOPE"]);
    file["sections"][2]["questions"][1]["show_if"] =
        json!({ "question": "likely", "answers": ["Training"] });
    file["sections"][3]["title"] = json!("");
    file["information"]["consent_statements"][1]["text"] = json!("x".repeat(501));
    let path = format!("/api/v1/studies/{study}/questionnaires/import");
    let (status, body) = api(&app, &token, Method::POST, &path, Some(&file.to_string())).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = &body["error"]["fields"];
    for (at, says) in [
        (
            "sections[1].questions[1].options",
            "A Likert scale needs 5 or 7 labels",
        ),
        ("sections[0].questions[0].tags", "C-NOPE"),
        ("sections[2].questions[1].show_if.question", "earlier"),
        ("sections[3].title", "title"),
        ("information.consent_statements[1]", "500"),
    ] {
        assert!(
            fields[at].as_str().unwrap_or_default().contains(says),
            "{at}: {fields}"
        );
    }
    assert_eq!(fields.as_object().unwrap().len(), 5, "{fields}");
    assert_eq!(
        questionnaire_count(&app).await,
        before,
        "nothing was created"
    );

    let (status, body) = api(&app, &token, Method::POST, &path, Some("{\"format\": ")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["error"]["fields"]["$"]
        .as_str()
        .unwrap()
        .contains("line 1"));

    // On the page: each problem with its path, the pasted text kept, nothing created.
    let page = app
        .post_form(
            &format!("/studies/{study}/questionnaires/import"),
            &[("file", &file.to_string())],
        )
        .await;
    assert_eq!(page.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = page.text().await.unwrap();
    assert!(html.contains(
        "<code>sections[1].questions[1].options</code>: A Likert scale needs 5 or 7 labels"
    ));
    assert!(html.contains("5 problems"));
    assert!(html.contains("C-NOPE"), "the pasted file is kept");
    assert_eq!(
        questionnaire_count(&app).await,
        before,
        "nothing was created"
    );
}

async fn preview_export_and_import_check_membership_and_role(app: TestApp) {
    let study = study(&app).await;
    let questionnaire = import_sample(&app, study).await;
    app.create_user("outsider@example.org", Role::Member).await;
    let analyst = app.new_visitor();
    analyst.sign_in("analyst@example.org", PASSWORD).await;
    let outsider = app.new_visitor();
    outsider.sign_in("outsider@example.org", PASSWORD).await;
    let stranger = app.new_visitor();
    let base = format!("/studies/{study}/questionnaires/{questionnaire}");
    let reading = [
        format!("{base}/preview?as=staff"),
        format!("{base}/preview?as=interviewer"),
        format!("{base}/export.json"),
    ];
    for path in &reading {
        assert_eq!(
            analyst.get(path).await.status(),
            StatusCode::OK,
            "analyst {path}"
        );
        assert_eq!(
            outsider.get(path).await.status(),
            StatusCode::NOT_FOUND,
            "outsider {path}"
        );
        assert!(
            location(&stranger.get(path).await).starts_with("/login?next="),
            "stranger {path}"
        );
    }
    let import = format!("/studies/{study}/questionnaires/import");
    assert_eq!(analyst.get(&import).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        analyst
            .post_form(&import, &[("file", SAMPLE)])
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(outsider.get(&import).await.status(), StatusCode::NOT_FOUND);
    assert!(location(&stranger.get(&import).await).starts_with("/login?next="));

    let before = questionnaire_count(&app).await;
    let path = format!("/api/v1/studies/{study}/questionnaires/import");
    let analyst_token = token_for(&app, "analyst@example.org").await;
    let (status, _) = api(&app, &analyst_token, Method::POST, &path, Some(SAMPLE)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let outsider_token = token_for(&app, "outsider@example.org").await;
    let (status, _) = api(&app, &outsider_token, Method::POST, &path, Some(SAMPLE)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for path in [
        format!("/api/v1{base}/export"),
        format!("/api/v1{base}/preview?as=carer"),
    ] {
        let (status, _) = api(&app, &outsider_token, Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "outsider {path}");
        let (status, _) = api(&app, &analyst_token, Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::OK, "analyst {path}");
    }
    assert_eq!(questionnaire_count(&app).await, before);
}
