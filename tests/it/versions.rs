//! Information and consent, sign-off and published versions: publishing needs the sign-offs, versions
//! never change (not even through the database), edits clear sign-offs, and every route checks its role.

use diesel::prelude::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use voices::db::schema::questionnaire_versions;
use voices::error::AppError;
use voices::identity::Role;

use crate::helpers::{Caller, TestApp, Visitor, PASSWORD};
use crate::on_both_databases;

on_both_databases!(
    publishing_needs_sign_off_and_freezes_each_version,
    the_information_sheet_is_edited_on_a_page_and_rendered_safely,
    every_versions_route_checks_membership_and_role,
    questions_are_numbered_and_labelled_in_words_everywhere,
);

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

/// A study led by `app`'s visitor (staff), with a service-user advisor (co-designer) and a staff analyst,
/// and a questionnaire with one section and one question. Returns (study, questionnaire, question).
async fn study_with_team(app: &TestApp) -> (i64, i64, i64) {
    app.signed_in_as("lead@example.org", Role::Member).await;
    let created = app
        .post_form("/studies", &[("title", "Involvement"), ("summary", "")])
        .await;
    let study = id_after(&location(&created), "/studies/");
    for (email, role, perspective) in [
        ("advisor@example.org", "co_designer", "service_user"),
        ("analyst@example.org", "analyst", "staff"),
    ] {
        app.create_user(email, Role::Member).await;
        let added = app
            .post_form(
                &format!("/studies/{study}/members"),
                &[
                    ("email", email),
                    ("display_name", "Test Person"),
                    (role, "on"),
                    ("perspective", perspective),
                ],
            )
            .await;
        assert_eq!(added.status(), StatusCode::SEE_OTHER, "add {email}");
        crate::helpers::accept_invitations(app, email).await;
    }
    let created = app
        .post_form(
            &format!("/studies/{study}/questionnaires"),
            &[("title", "Interview guide"), ("description", "")],
        )
        .await;
    let questionnaire = id_after(&location(&created), "/questionnaires/");
    app.post_form(
        &format!("/studies/{study}/questionnaires/{questionnaire}/sections"),
        &[("title", "Your experience"), ("introduction", "")],
    )
    .await;
    let (_, editor) = app
        .get_text(&format!("/studies/{study}/questionnaires/{questionnaire}"))
        .await;
    let section = id_after(&editor, "id=\"section-");
    let made = app
        .post_form(
            &format!("/studies/{study}/sections/{section}/questions"),
            &[
                ("kind", "long_text"),
                ("text", "What helped you take part?"),
                ("for_staff", "on"),
                ("probes", "Can you give an example?"),
                ("tags", "2"),
            ],
        )
        .await;
    assert_eq!(made.status(), StatusCode::SEE_OTHER);
    (
        study,
        questionnaire,
        id_after(&location(&made), "#question-"),
    )
}

fn complete_sheet() -> Value {
    json!({
        "summary": "We want to hear how you take part in improvement work.",
        "full_text": "## About the study\n\nIt takes about **45 minutes**.",
        "data_use": "Your name is kept apart from what you say.",
        "withdrawal_days": 14,
        "withdrawal_after": "What you said is kept, anonymised.",
        "retention": "Kept for five years, then deleted.",
        "contact": "The study team: involvement@example.org",
        "signposting": "Samaritans: 116 123, any time.",
        "consent_statements": [
            { "text": "I have read the information and I want to take part", "required": true },
            { "text": "I agree to the interview being audio recorded", "required": false }
        ]
    })
}

/// The stored row of a version, byte for byte.
async fn stored_version(app: &TestApp, id: i64) -> (String, String) {
    app.db
        .read(move |conn| {
            questionnaire_versions::table
                .find(id)
                .select((
                    questionnaire_versions::snapshot,
                    questionnaire_versions::content_hash,
                ))
                .first::<(String, String)>(conn)
                .map_err(AppError::from)
        })
        .await
        .unwrap()
}

async fn publishing_needs_sign_off_and_freezes_each_version(app: TestApp) {
    let (study, questionnaire, question) = study_with_team(&app).await;
    let lead = Caller::new(&app, "lead@example.org").await;
    let advisor = Caller::new(&app, "advisor@example.org").await;
    let analyst = Caller::new(&app, "analyst@example.org").await;
    let base = format!("/api/v1/studies/{study}/questionnaires/{questionnaire}");

    // A new questionnaire starts with the usual consent statements, taking part required.
    let (status, info) = lead
        .call(Method::GET, &format!("{base}/information"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let statements = info["information"]["consent_statements"]
        .as_array()
        .unwrap();
    assert_eq!(statements.len(), 4);
    assert_eq!(
        statements[0]["text"],
        "I have read the information and I want to take part"
    );
    assert_eq!(statements[0]["required"], true);
    assert!(statements[1..].iter().all(|s| s["required"] == false));

    let (status, _) = lead
        .call(Method::POST, &format!("{base}/publish"), None)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = lead
        .call(
            Method::POST,
            &format!("{base}/status"),
            Some(json!({ "status": "pilot" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, refused) = lead
        .call(Method::POST, &format!("{base}/publish"), None)
        .await;
    assert!(
        refused["error"]["fields"]["publish"]
            .as_str()
            .unwrap()
            .contains("information sheet"),
        "{refused}"
    );
    let (status, _) = advisor
        .call(
            Method::PUT,
            &format!("{base}/information"),
            Some(complete_sheet()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "co-designers edit the sheet");

    // The default rule: one service-user or carer advisor and one staff member.
    let (status, refused) = lead
        .call(Method::POST, &format!("{base}/publish"), None)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let message = refused["error"]["fields"]["publish"].as_str().unwrap();
    assert!(
        message.contains("Publishing needs sign-off")
            && message.contains("service-user or carer advisor")
            && message.contains("staff member"),
        "{message}"
    );
    let (status, _) = analyst
        .call(Method::POST, &format!("{base}/sign-offs"), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "not asked to sign off");
    let (status, _) = lead
        .call(Method::POST, &format!("{base}/sign-offs"), None)
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, signed) = advisor
        .call(Method::POST, &format!("{base}/sign-offs"), None)
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(signed["missing"], json!([]));
    let (status, _) = advisor
        .call(Method::POST, &format!("{base}/sign-offs"), None)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "once per draft");
    let (status, _) = advisor
        .call(Method::POST, &format!("{base}/publish"), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only the lead publishes");

    let (status, v1) = lead
        .call(Method::POST, &format!("{base}/publish"), None)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v1}");
    assert_eq!(v1["version_number"], 1);
    assert_eq!(v1["sign_offs"].as_array().unwrap().len(), 2);
    assert_eq!(
        v1["snapshot"]["sections"][0]["questions"][0]["tags"],
        json!(["C-PSY"])
    );
    assert_eq!(
        v1["snapshot"]["information"]["signposting"],
        "Samaritans: 116 123, any time."
    );
    let v1_id = v1["id"].as_i64().unwrap();
    let (v1_json, v1_hash) = stored_version(&app, v1_id).await;
    assert_eq!(v1_hash.len(), 64);
    assert_eq!(hex::encode(Sha256::digest(v1_json.as_bytes())), v1_hash);
    assert_eq!(v1["content_hash"], v1_hash.as_str());
    let (status, again) = lead
        .call(Method::POST, &format!("{base}/publish"), None)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(again["error"]["fields"]["publish"]
        .as_str()
        .unwrap()
        .contains("Nothing has changed"));

    // An edit after publishing goes into the draft and clears the sign-offs; v1 stays as it was.
    let (status, _) = advisor
        .call(
            Method::PUT,
            &format!("/api/v1/studies/{study}/questions/{question}"),
            Some(json!({ "kind": "long_text", "text": "What made it easier to take part?", "for_staff": true,
                         "for_service_users": true, "tags": [2], "probes": ["Can you give an example?"] })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, state) = lead
        .call(Method::GET, &format!("{base}/sign-off-rule"), None)
        .await;
    assert!(state["sign_offs"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["current"] == false));
    assert_eq!(state["missing"].as_array().unwrap().len(), 2, "{state}");
    assert_eq!(
        stored_version(&app, v1_id).await,
        (v1_json.clone(), v1_hash.clone())
    );
    let (_, v1_again) = lead
        .call(Method::GET, &format!("{base}/versions/1"), None)
        .await;
    assert_eq!(v1_again, v1, "byte-identical through the API too");

    let (status, _) = lead
        .call(Method::POST, &format!("{base}/publish"), None)
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the old sign-offs no longer count"
    );
    lead.call(Method::POST, &format!("{base}/sign-offs"), None)
        .await;
    advisor
        .call(Method::POST, &format!("{base}/sign-offs"), None)
        .await;
    let (status, v2) = lead
        .call(Method::POST, &format!("{base}/publish"), None)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v2}");
    assert_eq!(v2["version_number"], 2);
    assert_ne!(v2["id"], v1["id"]);
    assert_ne!(v2["content_hash"], v1["content_hash"]);
    assert_eq!(
        stored_version(&app, v1_id).await,
        (v1_json, v1_hash.clone())
    );

    let (_, list) = analyst
        .call(Method::GET, &format!("{base}/versions"), None)
        .await;
    let numbers: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version_number"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, vec![2, 1]);
    let (status, comparison) = analyst
        .call(Method::GET, &format!("{base}/versions/1/compare/2"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let changes = comparison["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 2, "{comparison}");
    let text = changes
        .iter()
        .find(|c| c["field"] == "text")
        .expect("the wording changed");
    assert_eq!(text["kind"], "changed");
    assert_eq!(text["before"], "What helped you take part?");
    assert_eq!(text["after"], "What made it easier to take part?");
    assert!(changes
        .iter()
        .any(|c| c["field"] == "for_service_users" && c["after"] == "yes"));
    let (_, page) = app
        .get_text(&format!(
            "/studies/{study}/questionnaires/{questionnaire}/compare?from=1&to=2"
        ))
        .await;
    assert!(
        page.contains("What made it easier to take part?")
            && page.contains("What helped you take part?")
    );

    let (status, shown) = app
        .get_text(&format!(
            "/studies/{study}/questionnaires/{questionnaire}/versions/1"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(shown.contains(&v1_hash) && shown.contains("What helped you take part?"));
    assert!(
        shown.contains("<strong>45 minutes</strong>"),
        "the frozen sheet, rendered"
    );
    let (_, index) = app
        .get_text(&format!(
            "/studies/{study}/questionnaires/{questionnaire}/versions"
        ))
        .await;
    assert!(index.contains("Version 2") && index.contains("Compare two versions"));

    // The database itself refuses to change or remove a published version.
    let tampered = app
        .db
        .read(move |conn| {
            diesel::update(questionnaire_versions::table.find(v1_id))
                .set(questionnaire_versions::snapshot.eq("{}"))
                .execute(conn)
                .map_err(AppError::from)
        })
        .await;
    assert!(tampered.is_err(), "UPDATE refused");
    let removed = app
        .db
        .read(move |conn| {
            diesel::delete(questionnaire_versions::table.find(v1_id))
                .execute(conn)
                .map_err(AppError::from)
        })
        .await;
    assert!(removed.is_err(), "DELETE refused");
}

async fn the_information_sheet_is_edited_on_a_page_and_rendered_safely(app: TestApp) {
    let (study, questionnaire, _) = study_with_team(&app).await;
    let page = format!("/studies/{study}/questionnaires/{questionnaire}/information");
    let (_, editor) = app
        .get_text(&format!("/studies/{study}/questionnaires/{questionnaire}"))
        .await;
    assert!(
        editor.contains(&format!("href=\"{page}\"")),
        "linked from the editor"
    );
    let (status, form) = app.get_text(&format!("{page}/edit")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("I agree to be contacted about future studies"));
    let lock_version =
        crate::helpers::value_after(&form, "name=\"lock_version\" value=\"").unwrap();

    let summary = "**Hello** from the study <script>alert('x')</script>";
    let long = "x".repeat(501);
    let bad = app
        .post_form(
            &format!("{page}/edit"),
            &[
                ("lock_version", &lock_version),
                ("summary", summary),
                ("withdrawal_days", "two weeks"),
                ("statement_1", "I want to take part"),
                ("statement_3", &long),
            ],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = bad.text().await.unwrap();
    assert!(html.contains("At least one consent statement must be required"));
    assert!(html.contains("Enter the number of days as a whole number from 0 to 365"));
    assert!(html.contains("Each consent statement can be up to 500 characters"));
    assert!(
        html.contains("id=\"statement_3-error\""),
        "the error is beside its row"
    );
    assert!(
        html.contains("&lt;script&gt;alert") && html.contains("value=\"two weeks\""),
        "input kept"
    );

    let saved = app
        .post_form(
            &format!("{page}/edit"),
            &[
                ("lock_version", &lock_version),
                ("summary", summary),
                ("withdrawal_days", "21"),
                ("signposting", "Call 111 <b>any time</b>"),
                ("statement_1", "I want to take part"),
                ("statement_1_required", "on"),
                ("statement_2", "I agree to audio recording"),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let (_, shown) = app.get_text(&page).await;
    assert!(shown.contains("<strong>Hello</strong> from the study"));
    assert!(
        !shown.contains("<script>alert") && !shown.contains("alert('x')"),
        "no script"
    );
    // Escaped, with the number a tap away.
    assert!(
        shown.contains("Call <a href=\"tel:111\">111</a> &lt;b&gt;any time&lt;&#x2F;b&gt;"),
        "{shown}"
    );
    assert!(shown.contains("up to 21 days") && shown.contains("I agree to audio recording"));
    assert!(!shown.contains("I agree to be contacted about future studies"));

    // A save that started from the old version is refused, with nothing overwritten.
    let stale = app
        .post_form(
            &format!("{page}/edit"),
            &[
                ("lock_version", &lock_version),
                ("summary", "Stale"),
                ("withdrawal_days", "14"),
                ("statement_1", "I want to take part"),
                ("statement_1_required", "on"),
            ],
        )
        .await;
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    let (_, shown) = app.get_text(&page).await;
    assert!(shown.contains("<strong>Hello</strong>") && !shown.contains("Stale"));
}

async fn every_versions_route_checks_membership_and_role(app: TestApp) {
    let (study, questionnaire, question) = study_with_team(&app).await;
    app.create_user("outsider@example.org", Role::Member).await;
    let analyst = app.new_visitor();
    analyst.sign_in("analyst@example.org", PASSWORD).await;
    let advisor = app.new_visitor();
    advisor.sign_in("advisor@example.org", PASSWORD).await;
    let outsider = app.new_visitor();
    outsider.sign_in("outsider@example.org", PASSWORD).await;
    let stranger = app.new_visitor();
    let base = format!("/studies/{study}/questionnaires/{questionnaire}");

    let reading = vec![
        ("GET", format!("{base}/information")),
        ("GET", format!("{base}/versions")),
    ];
    let editing = vec![
        ("GET", format!("{base}/information/edit")),
        ("POST", format!("{base}/information/edit")),
    ];
    let leading = vec![
        ("GET", format!("{base}/sign-off-rule")),
        ("POST", format!("{base}/sign-off-rule")),
        ("POST", format!("{base}/status")),
        ("POST", format!("{base}/publish")),
    ];
    let send = |visitor: &Visitor, method: &'static str, path: String| {
        let visitor = visitor.clone();
        async move {
            let mut request = visitor.client.request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                visitor.url(&path),
            );
            if method == "POST" {
                let token = visitor.csrf().await;
                request = request.form(&[("csrf_token", token.as_str()), ("status", "pilot")]);
            }
            request.send().await.unwrap()
        }
    };
    let all: Vec<_> = reading
        .iter()
        .chain(&editing)
        .chain(&leading)
        .chain([&("POST", format!("{base}/sign-off"))])
        .cloned()
        .collect();
    for (method, path) in &all {
        let response = send(&stranger, method, path.clone()).await;
        assert!(
            location(&response).starts_with("/login?next="),
            "stranger {method} {path}"
        );
        assert_eq!(
            send(&outsider, method, path.clone()).await.status(),
            StatusCode::NOT_FOUND,
            "outsider {method} {path}"
        );
    }
    for (method, path) in &reading {
        assert_eq!(
            send(&analyst, method, path.clone()).await.status(),
            StatusCode::OK,
            "analyst {method} {path}"
        );
    }
    for (method, path) in editing.iter().chain(&leading) {
        assert_eq!(
            send(&analyst, method, path.clone()).await.status(),
            StatusCode::FORBIDDEN,
            "analyst {method} {path}"
        );
    }
    for (method, path) in &leading {
        assert_eq!(
            send(&advisor, method, path.clone()).await.status(),
            StatusCode::FORBIDDEN,
            "co-designer {method} {path}"
        );
    }
    assert_eq!(
        send(&advisor, "GET", format!("{base}/information/edit"))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        send(&analyst, "POST", format!("{base}/sign-off"))
            .await
            .status(),
        StatusCode::FORBIDDEN,
        "the analyst is not asked to sign off"
    );

    // The lead names everyone on the sign-off page; then the analyst may sign off, on a page.
    let (_, rule_form) = app.get_text(&format!("{base}/sign-off-rule")).await;
    let mut fields: Vec<(String, String)> = rule_form
        .match_indices("name=\"member_")
        .map(|(i, m)| {
            (
                format!("member_{}", id_after(&rule_form[i..], m)),
                "on".to_string(),
            )
        })
        .collect();
    assert_eq!(fields.len(), 3, "every member can be named");
    fields.push(("needs_staff".into(), "on".into()));
    let borrowed: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let saved = app
        .post_form(&format!("{base}/sign-off-rule"), &borrowed)
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let signed = analyst.post_form(&format!("{base}/sign-off"), &[]).await;
    assert_eq!(signed.status(), StatusCode::SEE_OTHER);
    let (_, index) = analyst.get_text(&format!("{base}/versions")).await;
    assert!(index.contains("You have signed off"), "{index}");
    assert!(!index.contains("an earlier draft"));

    // Any edit after a sign-off means it no longer counts.
    let edited = advisor
        .post_form(
            &format!("/studies/{study}/questions/{question}/edit"),
            &[
                ("kind", "long_text"),
                ("text", "Changed after sign-off"),
                ("for_staff", "on"),
            ],
        )
        .await;
    assert_eq!(edited.status(), StatusCode::SEE_OTHER);
    let (_, index) = analyst.get_text(&format!("{base}/versions")).await;
    assert!(index.contains("an earlier draft"), "{index}");
    assert!(
        index.contains("Sign off the questionnaire as it is now"),
        "may sign again"
    );

    // The same checks on the API: outsiders 404, wrong role 403.
    let api = format!("/api/v1/studies/{study}/questionnaires/{questionnaire}");
    let analyst_api = Caller::new(&app, "analyst@example.org").await;
    let outsider_api = Caller::new(&app, "outsider@example.org").await;
    let writes = [
        (
            Method::PUT,
            format!("{api}/information"),
            Some(complete_sheet()),
        ),
        (
            Method::PUT,
            format!("{api}/sign-off-rule"),
            Some(json!({ "needs_staff": true })),
        ),
        (
            Method::POST,
            format!("{api}/status"),
            Some(json!({ "status": "pilot" })),
        ),
        (Method::POST, format!("{api}/publish"), None),
    ];
    for (method, path, body) in &writes {
        let (status, _) = outsider_api.call(method.clone(), path, body.clone()).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "outsider {method} {path}");
        let (status, _) = analyst_api.call(method.clone(), path, body.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "analyst {method} {path}");
    }
    for path in [
        format!("{api}/information"),
        format!("{api}/sign-off-rule"),
        format!("{api}/versions"),
    ] {
        let (status, _) = outsider_api.call(Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "outsider GET {path}");
        let (status, _) = analyst_api.call(Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::OK, "analyst GET {path}");
    }
    let (status, _) = analyst_api
        .call(Method::GET, &format!("{api}/versions/1"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing published yet");
}

/// The editor and a signed-off version number questions straight through the questionnaire, as
/// participants, the guide and coding do; a condition names its question by that number, never by
/// its id; kinds and tags read in words.
async fn questions_are_numbered_and_labelled_in_words_everywhere(app: TestApp) {
    let (study, _, _) = crate::responses::sample_study(&app).await;
    // A second copy of the guide, so that its questions' ids are not their numbers.
    let caller = Caller::new(&app, "lead@example.org").await;
    let (status, imported) = caller
        .call(
            Method::POST,
            &format!("/api/v1/studies/{study}/questionnaires/import"),
            Some(serde_json::from_str(include_str!("../fixtures/sample_guide.json")).unwrap()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{imported}");
    let questionnaire = imported["questionnaire"]["id"].as_i64().unwrap();
    crate::helpers::publish(&caller, study, questionnaire).await;
    let lead = app.new_visitor();
    lead.sign_in("lead@example.org", PASSWORD).await;
    let base = format!("/studies/{study}/questionnaires/{questionnaire}");
    let (status, editor) = lead.get_text(&base).await;
    assert_eq!(status, StatusCode::OK);
    let (status, version) = lead.get_text(&format!("{base}/versions/1")).await;
    assert_eq!(status, StatusCode::OK);
    for (name, page) in [("editor", &editor), ("version", &version)] {
        // Section 1 holds questions 1 to 3 ("before" is question 2), so section 2 starts at 4.
        let starts: Vec<&str> = page
            .match_indices("<ol class=\"question-list\"")
            .map(|(at, _)| &page[at..at + 50])
            .collect();
        assert!(starts[0].contains("start=\"1\""), "{name}: {starts:?}");
        assert!(starts[1].contains("start=\"4\""), "{name}: {starts:?}");
        assert!(
            page.contains("Shown only if question 2 is answered: Yes"),
            "{name}"
        );
    }
    assert!(version.contains("Yes, no or not sure"), "{version}");
    assert!(version.contains("Psychological capability"), "{version}");
    assert!(!version.contains("yes no not sure") && !version.contains("C-PSY"));
}
