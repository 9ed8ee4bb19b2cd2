//! Questionnaires: building one through the pages, every route's role check, conflicts, and the API.

use reqwest::{Method, StatusCode};
use voices::identity::Role;

use crate::helpers::{TestApp, Visitor, PASSWORD};
use crate::on_both_databases;

on_both_databases!(
    a_co_designer_builds_a_questionnaire_without_javascript,
    every_questionnaire_route_checks_membership_and_role,
    two_people_saving_the_same_question_never_overwrite_each_other,
    duplicating_a_section_copies_its_questions_and_their_conditions,
    questionnaires_through_the_api,
    each_section_has_a_page_and_each_item_three_actions,
);

pub(crate) fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_string()
}

pub(crate) fn id_after(text: &str, marker: &str) -> i64 {
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

/// A study led by `app`'s visitor, with a questionnaire and one section; returns (study, questionnaire, section).
pub(crate) async fn study_with_section(app: &TestApp) -> (i64, i64, i64) {
    app.signed_in_as("lead@example.org", Role::Member).await;
    let created = app
        .post_form("/studies", &[("title", "Involvement"), ("summary", "")])
        .await;
    let study = id_after(&location(&created), "/studies/");
    let created = app
        .post_form(
            &format!("/studies/{study}/questionnaires"),
            &[
                ("title", "Interview guide"),
                ("description", "For everyone"),
            ],
        )
        .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let questionnaire = id_after(&location(&created), "/questionnaires/");
    let added = app
        .post_form(
            &format!("/studies/{study}/questionnaires/{questionnaire}/sections"),
            &[
                ("title", "Your experience"),
                ("introduction", "We start with you."),
            ],
        )
        .await;
    assert_eq!(added.status(), StatusCode::SEE_OTHER);
    let (_, editor) = app
        .get_text(&format!("/studies/{study}/questionnaires/{questionnaire}"))
        .await;
    let section = id_after(&editor, "id=\"section-");
    (study, questionnaire, section)
}

pub(crate) async fn add_question(
    visitor: &Visitor,
    study: i64,
    section: i64,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    visitor
        .post_form(
            &format!("/studies/{study}/sections/{section}/questions"),
            fields,
        )
        .await
}

async fn a_co_designer_builds_a_questionnaire_without_javascript(app: TestApp) {
    let (study, questionnaire, section) = study_with_section(&app).await;
    let editor_url = format!("/studies/{study}/questionnaires/{questionnaire}");

    let (status, form) = app
        .get_text(&format!(
            "/studies/{study}/sections/{section}/questions/new"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        form.contains("Physical capability") && form.contains("Behavioural regulation"),
        "the seeded taxonomy"
    );

    let bad = add_question(
        &app,
        study,
        section,
        &[
            ("kind", "likert"),
            ("text", "I feel listened to"),
            ("options", "Agree\nDisagree"),
            ("for_staff", "on"),
        ],
    )
    .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = bad.text().await.unwrap();
    assert!(html.contains("A Likert scale needs 5 or 7 labels"));
    assert!(
        html.contains(">I feel listened to</textarea>"),
        "input kept"
    );

    let first = add_question(
        &app,
        study,
        section,
        &[
            ("kind", "single_choice"),
            ("text", "Have you been involved in an improvement project?"),
            ("options", "Yes\nNo"),
            ("for_staff", "on"),
            ("for_service_users", "on"),
            ("for_carers", "on"),
            ("required", "on"),
            ("tags", "2"),
        ],
    )
    .await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let first_id = id_after(&location(&first), "#question-");
    let second = add_question(
        &app,
        study,
        section,
        &[
            ("kind", "long_text"),
            ("text", "What helped you take part?"),
            ("for_service_users", "on"),
            ("wording_easy_read", "What made it easy to join in?"),
            ("probes", "Can you give an example?\nWho helped?"),
            ("system_level", "micro"),
            ("show_if_question_id", &first_id.to_string()),
            ("show_if_answers", "Yes"),
        ],
    )
    .await;
    assert_eq!(second.status(), StatusCode::SEE_OTHER);
    let second_id = id_after(&location(&second), "#question-");

    let (_, editor) = app.get_text(&editor_url).await;
    let first_at = editor.find("Have you been involved").unwrap();
    let second_at = editor.find("What helped you take part?").unwrap();
    assert!(first_at < second_at);
    assert!(
        editor.contains("Can you give an example?") && editor.contains("Psychological capability")
    );

    // Moving the dependent question above the one it depends on is refused, with a reason.
    let refused = app
        .post_form(
            &format!("/studies/{study}/questions/{second_id}/move"),
            &[("direction", "up")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::SEE_OTHER);
    let (_, editor) = app.get_text(&editor_url).await;
    assert!(editor.contains("depends on"));
    assert!(
        editor.find("Have you been involved").unwrap()
            < editor.find("What helped you take part?").unwrap()
    );

    let copied = app
        .post_form(
            &format!("/studies/{study}/questions/{first_id}/duplicate"),
            &[],
        )
        .await;
    let copy_id = id_after(&location(&copied), "#question-");
    let moved = app
        .post_form(
            &format!("/studies/{study}/questions/{copy_id}/move"),
            &[("direction", "down")],
        )
        .await;
    assert_eq!(moved.status(), StatusCode::SEE_OTHER);
    let (_, editor) = app.get_text(&editor_url).await;
    assert_eq!(
        editor
            .matches("question-card__text\">Have you been involved")
            .count(),
        2
    );
    assert!(
        editor.rfind("Have you been involved").unwrap()
            > editor.find("What helped you take part?").unwrap(),
        "the copy moved below"
    );

    let (status, confirm) = app
        .get_text(&format!("/studies/{study}/questions/{first_id}/delete"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(confirm.contains("One question is") && confirm.contains("condition will be removed"));
    let deleted = app
        .post_form(
            &format!("/studies/{study}/questions/{first_id}/delete"),
            &[],
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    let (_, editor) = app.get_text(&editor_url).await;
    assert_eq!(
        editor
            .matches("question-card__text\">Have you been involved")
            .count(),
        1
    );
    assert!(
        !editor.contains("Shown only if"),
        "the dependant's condition went with it"
    );

    let second_section = app
        .post_form(
            &format!("/studies/{study}/questionnaires/{questionnaire}/sections"),
            &[("title", "Ideas for change"), ("introduction", "")],
        )
        .await;
    assert_eq!(second_section.status(), StatusCode::SEE_OTHER);
    let (_, editor) = app.get_text(&editor_url).await;
    let heading = editor.find("2. Ideas for change</h2>").unwrap();
    let ideas = id_after(
        &editor[editor[..heading].rfind("<section ").unwrap()..],
        "id=\"section-",
    );
    app.post_form(
        &format!("/studies/{study}/sections/{ideas}/move"),
        &[("direction", "up")],
    )
    .await;
    let (_, editor) = app.get_text(&editor_url).await;
    assert!(
        editor.contains("1. Ideas for change</h2>") && editor.contains("2. Your experience</h2>")
    );
    let (_, confirm) = app
        .get_text(&format!("/studies/{study}/sections/{section}/delete"))
        .await;
    assert!(confirm.contains("Its 2 questions will be deleted too"));
    app.post_form(&format!("/studies/{study}/sections/{section}/delete"), &[])
        .await;
    let (_, editor) = app.get_text(&editor_url).await;
    assert!(editor.contains("and its questions are deleted"));
    assert!(!editor.contains("Your experience</h2>") && !editor.contains("What helped you"));
}

async fn every_questionnaire_route_checks_membership_and_role(app: TestApp) {
    let (study, questionnaire, section) = study_with_section(&app).await;
    let made = add_question(
        &app,
        study,
        section,
        &[
            ("kind", "short_text"),
            ("text", "Your team?"),
            ("for_staff", "on"),
        ],
    )
    .await;
    let question = id_after(&location(&made), "#question-");
    app.create_user("analyst@example.org", Role::Member).await;
    app.create_user("outsider@example.org", Role::Member).await;
    app.post_form(
        &format!("/studies/{study}/members"),
        &[
            ("email", "analyst@example.org"),
            ("display_name", "Test Person"),
            ("analyst", "on"),
            ("perspective", "staff"),
        ],
    )
    .await;
    crate::helpers::accept_invitations(&app, "analyst@example.org").await;
    let analyst = app.new_visitor();
    analyst.sign_in("analyst@example.org", PASSWORD).await;
    let outsider = app.new_visitor();
    outsider.sign_in("outsider@example.org", PASSWORD).await;
    let stranger = app.new_visitor();

    let (status, view) = analyst
        .get_text(&format!("/studies/{study}/questionnaires/{questionnaire}"))
        .await;
    assert_eq!(status, StatusCode::OK, "members read the questionnaire");
    assert!(
        view.contains("Your team?") && !view.contains("/edit\">Edit"),
        "but see no editing controls"
    );

    let editing: Vec<(&str, String)> = vec![
        ("GET", format!("/studies/{study}/questionnaires/new")),
        ("POST", format!("/studies/{study}/questionnaires")),
        (
            "GET",
            format!("/studies/{study}/questionnaires/{questionnaire}/sections/new"),
        ),
        (
            "POST",
            format!("/studies/{study}/questionnaires/{questionnaire}/sections"),
        ),
        ("GET", format!("/studies/{study}/sections/{section}/edit")),
        ("POST", format!("/studies/{study}/sections/{section}/edit")),
        ("POST", format!("/studies/{study}/sections/{section}/move")),
        (
            "POST",
            format!("/studies/{study}/sections/{section}/duplicate"),
        ),
        ("GET", format!("/studies/{study}/sections/{section}/delete")),
        (
            "GET",
            format!("/studies/{study}/sections/{section}/questions/new"),
        ),
        (
            "POST",
            format!("/studies/{study}/sections/{section}/questions"),
        ),
        ("GET", format!("/studies/{study}/questions/{question}/edit")),
        (
            "POST",
            format!("/studies/{study}/questions/{question}/edit"),
        ),
        (
            "POST",
            format!("/studies/{study}/questions/{question}/move"),
        ),
        (
            "POST",
            format!("/studies/{study}/questions/{question}/duplicate"),
        ),
        (
            "GET",
            format!("/studies/{study}/questions/{question}/delete"),
        ),
        (
            "POST",
            format!("/studies/{study}/questions/{question}/delete"),
        ),
        (
            "POST",
            format!("/studies/{study}/sections/{section}/delete"),
        ),
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
                request = request.form(&[("csrf_token", token.as_str()), ("direction", "down")]);
            }
            request.send().await.unwrap()
        }
    };
    let mut all = editing.clone();
    all.push((
        "GET",
        format!("/studies/{study}/questionnaires/{questionnaire}"),
    ));
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
    for (method, path) in &editing {
        assert_eq!(
            send(&analyst, method, path.clone()).await.status(),
            StatusCode::FORBIDDEN,
            "analyst {method} {path}"
        );
    }
    for (method, path) in &editing {
        let status = send(&app, method, path.clone()).await.status();
        assert!(
            matches!(status.as_u16(), 200 | 303 | 422),
            "lead {method} {path} → {status}"
        );
    }
}

async fn two_people_saving_the_same_question_never_overwrite_each_other(app: TestApp) {
    let (study, _, section) = study_with_section(&app).await;
    let made = add_question(
        &app,
        study,
        section,
        &[
            ("kind", "long_text"),
            ("text", "Original wording"),
            ("for_staff", "on"),
        ],
    )
    .await;
    let question = id_after(&location(&made), "#question-");
    app.create_user("advisor@example.org", Role::Member).await;
    app.post_form(
        &format!("/studies/{study}/members"),
        &[
            ("email", "advisor@example.org"),
            ("display_name", "Test Person"),
            ("co_designer", "on"),
            ("perspective", "carer"),
        ],
    )
    .await;
    crate::helpers::accept_invitations(&app, "advisor@example.org").await;
    let advisor = app.new_visitor();
    advisor.sign_in("advisor@example.org", PASSWORD).await;

    let edit = format!("/studies/{study}/questions/{question}/edit");
    let (_, lead_form) = app.get_text(&edit).await;
    let (_, advisor_form) = advisor.get_text(&edit).await;
    let version =
        |html: &str| crate::helpers::value_after(html, "name=\"lock_version\" value=\"").unwrap();
    assert_eq!(version(&lead_form), version(&advisor_form));
    let started_from = version(&lead_form);

    let saved = app
        .post_form(
            &edit,
            &[
                ("kind", "long_text"),
                ("text", "The lead's wording"),
                ("for_staff", "on"),
                ("lock_version", &started_from),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let stale = advisor
        .post_form(
            &edit,
            &[
                ("kind", "long_text"),
                ("text", "The advisor's wording"),
                ("for_staff", "on"),
                ("lock_version", &started_from),
            ],
        )
        .await;
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    let html = stale.text().await.unwrap();
    assert!(html.contains("Someone else saved this question"));
    assert!(
        html.contains("The lead&#x27;s wording") && html.contains("The advisor&#x27;s wording"),
        "both texts shown"
    );
    let (_, editor) = app
        .get_text(&format!(
            "/studies/{study}/questionnaires/{}",
            id_after(&html, "/questionnaires/")
        ))
        .await;
    assert!(
        editor.contains("The lead&#x27;s wording") && !editor.contains("advisor&#x27;s"),
        "nothing overwritten"
    );

    // Saving again from the conflict page is a deliberate choice, and works.
    let again = advisor
        .post_form(
            &edit,
            &[
                ("kind", "long_text"),
                ("text", "The advisor's wording"),
                ("for_staff", "on"),
                ("lock_version", &version(&html)),
            ],
        )
        .await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
}

async fn questionnaires_through_the_api(app: TestApp) {
    let lead = app.create_user("api@example.org", Role::Member).await;
    let origin = voices::audit::Origin::command_line();
    let (_, secret) = voices::accounts::actions::create_api_token(&app.db, &origin, lead, "api")
        .await
        .unwrap();
    let call = |method: Method, path: String, body: Option<serde_json::Value>| {
        let mut request = app
            .client
            .request(method, app.url(&path))
            .bearer_auth(&secret);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send()
    };
    let json = |response: reqwest::Response| async move {
        response.json::<serde_json::Value>().await.unwrap()
    };

    let taxonomy = json(
        call(Method::GET, "/api/v1/taxonomy".into(), None)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(taxonomy["terms"].as_array().unwrap().len(), 20);
    assert_eq!(taxonomy["links"].as_array().unwrap().len(), 17);

    let study = json(
        call(
            Method::POST,
            "/api/v1/studies".into(),
            Some(serde_json::json!({ "title": "API" })),
        )
        .await
        .unwrap(),
    )
    .await;
    let study = study["study"]["id"].as_i64().unwrap();
    let created = call(
        Method::POST,
        format!("/api/v1/studies/{study}/questionnaires"),
        Some(serde_json::json!({ "title": "Guide" })),
    )
    .await
    .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let questionnaire = json(created).await["questionnaire"]["id"].as_i64().unwrap();
    let tree = json(
        call(
            Method::POST,
            format!("/api/v1/studies/{study}/questionnaires/{questionnaire}/sections"),
            Some(serde_json::json!({ "title": "Background" })),
        )
        .await
        .unwrap(),
    )
    .await;
    let section = tree["sections"][0]["section"]["id"].as_i64().unwrap();

    let invalid = call(
        Method::POST,
        format!("/api/v1/studies/{study}/sections/{section}/questions"),
        Some(serde_json::json!({ "kind": "likert", "text": "", "options": ["a"] })),
    )
    .await
    .unwrap();
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let errors = json(invalid).await;
    for field in ["text", "options", "audiences"] {
        assert!(errors["error"]["fields"][field].is_string(), "{field}");
    }

    let likert: Vec<&str> = vec![
        "Strongly disagree",
        "Disagree",
        "Neither",
        "Agree",
        "Strongly agree",
    ];
    let question = call(
        Method::POST,
        format!("/api/v1/studies/{study}/sections/{section}/questions"),
        Some(serde_json::json!({ "kind": "likert", "text": "I am listened to", "options": likert, "likert_not_applicable": true,
                                  "for_carers": true, "tags": [5], "probes": ["Why?"] })),
    )
    .await
    .unwrap();
    assert_eq!(question.status(), StatusCode::CREATED);
    let question = json(question).await;
    let id = question["id"].as_i64().unwrap();
    assert_eq!(question["tags"], serde_json::json!([5]));
    assert_eq!(question["lock_version"], 0);

    let change = |text: &str, version: i64| serde_json::json!({ "kind": "likert", "text": text, "options": likert, "for_carers": true, "lock_version": version });
    let saved = call(
        Method::PUT,
        format!("/api/v1/studies/{study}/questions/{id}"),
        Some(change("I feel listened to", 0)),
    )
    .await
    .unwrap();
    assert_eq!(saved.status(), StatusCode::OK);
    assert_eq!(json(saved).await["lock_version"], 1);
    let stale = call(
        Method::PUT,
        format!("/api/v1/studies/{study}/questions/{id}"),
        Some(change("Stale edit", 0)),
    )
    .await
    .unwrap();
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    let stale = json(stale).await;
    assert_eq!(stale["error"]["code"], "conflict");
    assert_eq!(stale["current"]["text"], "I feel listened to");

    let copy = call(
        Method::POST,
        format!("/api/v1/studies/{study}/questions/{id}/duplicate"),
        None,
    )
    .await
    .unwrap();
    assert_eq!(copy.status(), StatusCode::CREATED);
    let copy = json(copy).await["id"].as_i64().unwrap();
    let moved = call(
        Method::POST,
        format!("/api/v1/studies/{study}/questions/{copy}/move"),
        Some(serde_json::json!({ "direction": "up" })),
    )
    .await
    .unwrap();
    assert_eq!(moved.status(), StatusCode::NO_CONTENT);
    let tree = json(
        call(
            Method::GET,
            format!("/api/v1/studies/{study}/questionnaires/{questionnaire}"),
            None,
        )
        .await
        .unwrap(),
    )
    .await;
    let order: Vec<i64> = tree["sections"][0]["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["id"].as_i64().unwrap())
        .collect();
    assert_eq!(order, vec![copy, id]);

    let section_stale = call(
        Method::PUT,
        format!("/api/v1/studies/{study}/sections/{section}"),
        Some(serde_json::json!({ "title": "New", "lock_version": 7 })),
    )
    .await
    .unwrap();
    assert_eq!(section_stale.status(), StatusCode::CONFLICT);
    let deleted = call(
        Method::DELETE,
        format!("/api/v1/studies/{study}/questions/{id}"),
        None,
    )
    .await
    .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = call(
        Method::GET,
        format!("/api/v1/studies/{study}/questions/{id}"),
        None,
    )
    .await
    .unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
}

async fn duplicating_a_section_copies_its_questions_and_their_conditions(app: TestApp) {
    let (study, questionnaire, section) = study_with_section(&app).await;
    let first = add_question(
        &app,
        study,
        section,
        &[
            ("kind", "yes_no_not_sure"),
            ("text", "Were you involved?"),
            ("for_carers", "on"),
            ("tags", "3"),
        ],
    )
    .await;
    let first = id_after(&location(&first), "#question-");
    let first_id = first.to_string();
    let second = add_question(
        &app,
        study,
        section,
        &[
            ("kind", "long_text"),
            ("text", "What was it like?"),
            ("for_carers", "on"),
            ("show_if_question_id", first_id.as_str()),
            ("show_if_answers", "Yes"),
        ],
    )
    .await;
    assert_eq!(second.status(), StatusCode::SEE_OTHER);

    let copied = app
        .post_form(
            &format!("/studies/{study}/sections/{section}/duplicate"),
            &[],
        )
        .await;
    assert_eq!(copied.status(), StatusCode::SEE_OTHER);
    let (_, editor) = app
        .get_text(&format!("/studies/{study}/questionnaires/{questionnaire}"))
        .await;
    assert!(editor.contains("is copied, with its questions"));
    assert!(
        editor.contains("1. Your experience</h2>") && editor.contains("2. Your experience</h2>")
    );

    let tree: serde_json::Value = app
        .client
        .get(app.url(&format!(
            "/api/v1/studies/{study}/questionnaires/{questionnaire}"
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let copy = &tree["sections"][1]["questions"];
    assert_eq!(copy.as_array().unwrap().len(), 2);
    let copied_first = copy[0]["id"].as_i64().unwrap();
    assert_ne!(copied_first, first);
    assert_eq!(copy[0]["tags"], serde_json::json!([3]));
    assert_eq!(
        copy[1]["show_if_question_id"], copied_first,
        "the copy's condition points at the copy"
    );
    assert_eq!(copy[1]["show_if_answers"], serde_json::json!(["Yes"]));
    assert_eq!(
        tree["sections"][0]["questions"][1]["show_if_question_id"], first,
        "the original is untouched"
    );
}

/// The editor fits the task: a contents list with a page per section (previous and next between them),
/// "Add a section" before any question, at most three actions on each question (the rest behind
/// "More"), alternative wordings shown beside the main one, and a Likert scale left without labels
/// saved with the standard ones.
async fn each_section_has_a_page_and_each_item_three_actions(app: TestApp) {
    let (study, questionnaire, first) = study_with_section(&app).await;
    let editor = format!("/studies/{study}/questionnaires/{questionnaire}");
    let added = app
        .post_form(
            &format!("{editor}/sections"),
            &[("title", "Having the chance"), ("introduction", "")],
        )
        .await;
    assert_eq!(added.status(), StatusCode::SEE_OTHER);
    let (_, page) = app.get_text(&editor).await;
    let link = &page[..page.find("\">Having the chance</a>").unwrap()];
    let second = id_after(&link[link.rfind("?section=").unwrap()..], "?section=");
    let likert = add_question(
        &app,
        study,
        second,
        &[
            ("kind", "likert"),
            ("text", "I feel listened to"),
            ("options", ""),
            ("for_staff", "on"),
            ("wording_easy_read", "People listen to me"),
        ],
    )
    .await;
    assert_eq!(likert.status(), StatusCode::SEE_OTHER, "standard labels");

    let (_, page) = app.get_text(&editor).await;
    let add_section = page.find(">Add a section</a>").unwrap();
    assert!(
        add_section < page.find("question-card").unwrap(),
        "Add a section comes before the questions"
    );
    assert!(
        page.contains("<li>Strongly agree</li>") && page.contains("<li>Strongly disagree</li>")
    );
    assert!(page.contains("<dt>Easy read</dt><dd>People listen to me</dd>"));

    let (status, one) = app.get_text(&format!("{editor}?section={second}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(one.contains("<strong aria-current=\"page\">Having the chance</strong>"));
    assert!(one.contains("I feel listened to") && !one.contains("2. Your experience"));
    assert!(one.contains(&format!("href=\"{editor}?section={first}\" rel=\"prev\"")));
    assert!(!one.contains("rel=\"next\""), "the last section");
    assert!(one.contains("All sections on one page"));
    // The question's own actions: Edit and Comments, then More for the rest.
    let card = &one[one.find("class=\"question-card\"").unwrap()..];
    let card = &card[..card.find("</details>").unwrap()];
    let before_more = &card[..card.find("<details").unwrap()];
    assert_eq!(before_more.matches("<a href").count(), 2, "{before_more}");
    for inside in ["Suggestions", "History", "Duplicate", "Delete"] {
        assert!(card.contains(inside), "{inside} behind More");
    }
    let (status, _) = app.get_text(&format!("{editor}?section=999999")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
