//! Suggestion mode: co-designers propose changes to questions and sections; a lead or the author accepts
//! (a revision credits the suggester) or rejects; nothing is ever overwritten silently.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use voices::audit::Origin;
use voices::identity::Role;

use crate::helpers::{value_after, TestApp, Visitor, PASSWORD};
use crate::on_both_databases;
use crate::questionnaires::{add_question, id_after, location, study_with_section};

on_both_databases!(
    an_advisor_suggests_and_the_lead_accepts_with_credit,
    rejecting_changes_nothing_and_the_suggester_may_withdraw,
    accepting_after_a_later_edit_asks_to_confirm,
    who_may_suggest_and_decide,
    section_suggestions_and_invalid_ones,
    suggestions_through_the_api,
);

/// A member with their own name, added by the lead (`app`'s visitor) with one study role.
async fn member(app: &TestApp, study: i64, email: &str, name: &str, role: &str) -> (Visitor, i64) {
    let id = voices::accounts::actions::create_user(
        &app.db,
        &Origin::command_line(),
        email,
        name,
        Role::Member,
        PASSWORD.into(),
    )
    .await
    .unwrap();
    let added = app
        .post_form(
            &format!("/studies/{study}/members"),
            &[
                ("email", email),
                ("display_name", name),
                (role, "on"),
                ("perspective", "carer"),
            ],
        )
        .await;
    assert_eq!(added.status(), StatusCode::SEE_OTHER);
    crate::helpers::accept_invitations(app, email).await;
    let visitor = app.new_visitor();
    visitor.sign_in(email, PASSWORD).await;
    (visitor, id)
}

fn lock_version(html: &str) -> String {
    value_after(html, "name=\"lock_version\" value=\"").expect("a lock_version in the form")
}

/// A study with one question written by the lead; returns (study, questionnaire, section, question).
async fn study_with_question(app: &TestApp) -> (i64, i64, i64, i64) {
    let (study, questionnaire, section) = study_with_section(app).await;
    let made = add_question(
        app,
        study,
        section,
        &[
            ("kind", "long_text"),
            ("text", "What helped you take part?"),
            ("for_staff", "on"),
        ],
    )
    .await;
    let question = id_after(&location(&made), "#question-");
    (study, questionnaire, section, question)
}

/// Posts the question's edit form with "Suggest this change" (or "Save" when `mode` is empty).
async fn send_edit(
    visitor: &Visitor,
    study: i64,
    question: i64,
    text: &str,
    reason: &str,
    mode: &str,
) -> reqwest::Response {
    let edit = format!("/studies/{study}/questions/{question}/edit");
    let (_, form) = visitor.get_text(&edit).await;
    assert!(form.contains("name=\"mode\" value=\"suggest\">Suggest this change</button>"));
    let version = lock_version(&form);
    let mut fields = vec![
        ("kind", "long_text"),
        ("text", text),
        ("for_staff", "on"),
        ("lock_version", version.as_str()),
        ("reason", reason),
    ];
    if !mode.is_empty() {
        fields.push(("mode", mode));
    }
    visitor.post_form(&edit, &fields).await
}

async fn question_text(app: &TestApp, study: i64, question: i64) -> String {
    let response = app
        .get(&format!("/api/v1/studies/{study}/questions/{question}"))
        .await;
    let body: Value = response.json().await.unwrap();
    body["text"].as_str().unwrap().to_string()
}

/// The id of the first suggestion form on a suggestions page.
fn first_suggestion(html: &str) -> i64 {
    id_after(html, "id=\"suggestion-")
}

async fn an_advisor_suggests_and_the_lead_accepts_with_credit(app: TestApp) {
    let (study, questionnaire, _, question) = study_with_question(&app).await;
    let (advisor, _) = member(
        &app,
        study,
        "alex@example.org",
        "Alex Advisor",
        "co_designer",
    )
    .await;

    let sent = send_edit(
        &advisor,
        study,
        question,
        "What made it easier to take part?",
        "Plainer for carers",
        "suggest",
    )
    .await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let list = format!("/studies/{study}/questions/{question}/suggestions");
    assert_eq!(location(&sent), list);
    assert_eq!(
        question_text(&app, study, question).await,
        "What helped you take part?",
        "a suggestion changes nothing"
    );

    let (_, editor) = app
        .get_text(&format!("/studies/{study}/questionnaires/{questionnaire}"))
        .await;
    assert!(editor.contains(&format!("href=\"{list}\"")) && editor.contains("(1 open)</a>"));

    let (status, page) = app.get_text(&list).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Suggested by Alex Advisor") && page.contains("Plainer for carers"));
    assert!(page.contains("<time datetime=\""), "when");
    assert!(
        page.contains(
            "<del><span class=\"nhsuk-u-visually-hidden\">removed: </span>helped you</del>"
        ) && page.contains(
            "<ins><span class=\"nhsuk-u-visually-hidden\">added: </span>made it easier to</ins>"
        ),
        "a word-level diff: {page}"
    );
    let suggestion = first_suggestion(&page);
    let accepted = app
        .post_form(
            &format!("/studies/{study}/suggestions/{suggestion}/accept"),
            &[("note", "Thank you")],
        )
        .await;
    assert_eq!(accepted.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        question_text(&app, study, question).await,
        "What made it easier to take part?"
    );
    let (_, page) = app.get_text(&list).await;
    assert!(page.contains("There are no open suggestions."));

    let (_, history) = app
        .get_text(&format!("/studies/{study}/questions/{question}/history"))
        .await;
    assert!(
        history.contains(
            "From a suggestion by Alex Advisor: Plainer for carers (accepted with the note: Thank you)"
        ),
        "{history}"
    );
    // Accepting twice does nothing more.
    let again = app
        .post_form(
            &format!("/studies/{study}/suggestions/{suggestion}/accept"),
            &[("note", "")],
        )
        .await;
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

async fn rejecting_changes_nothing_and_the_suggester_may_withdraw(app: TestApp) {
    let (study, _, _, question) = study_with_question(&app).await;
    let (advisor, _) = member(
        &app,
        study,
        "alex@example.org",
        "Alex Advisor",
        "co_designer",
    )
    .await;
    send_edit(&advisor, study, question, "Something else", "", "suggest").await;
    let list = format!("/studies/{study}/questions/{question}/suggestions");
    let suggestion = first_suggestion(&app.get_text(&list).await.1);
    let rejected = app
        .post_form(
            &format!("/studies/{study}/suggestions/{suggestion}/reject"),
            &[("note", "We keep the original")],
        )
        .await;
    assert_eq!(rejected.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        question_text(&app, study, question).await,
        "What helped you take part?"
    );

    send_edit(&advisor, study, question, "Another idea", "", "suggest").await;
    let (_, page) = advisor.get_text(&list).await;
    assert!(page.contains("Withdraw my suggestion") && !page.contains(">Accept<"));
    let second = first_suggestion(&page);
    assert_eq!(
        app.post_form(
            &format!("/studies/{study}/suggestions/{second}/withdraw"),
            &[]
        )
        .await
        .status(),
        StatusCode::FORBIDDEN,
        "only the suggester withdraws"
    );
    let withdrawn = advisor
        .post_form(
            &format!("/studies/{study}/suggestions/{second}/withdraw"),
            &[],
        )
        .await;
    assert_eq!(withdrawn.status(), StatusCode::SEE_OTHER);
    assert!(app
        .get_text(&list)
        .await
        .1
        .contains("There are no open suggestions."));
}

async fn accepting_after_a_later_edit_asks_to_confirm(app: TestApp) {
    let (study, _, _, question) = study_with_question(&app).await;
    let (advisor, _) = member(
        &app,
        study,
        "alex@example.org",
        "Alex Advisor",
        "co_designer",
    )
    .await;
    send_edit(
        &advisor,
        study,
        question,
        "Advisor wording",
        "Kinder",
        "suggest",
    )
    .await;
    let saved = send_edit(&app, study, question, "Lead's later wording", "", "").await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);

    let list = format!("/studies/{study}/questions/{question}/suggestions");
    let (_, page) = app.get_text(&list).await;
    assert!(page.contains("has been changed since this suggestion was made"));
    let suggestion = first_suggestion(&page);
    let accept = format!("/studies/{study}/suggestions/{suggestion}/accept");
    let stale = app.post_form(&accept, &[("note", "")]).await;
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    let html = stale.text().await.unwrap();
    assert!(
        html.contains("Nothing has been changed") && html.contains("Lead&#x27;s later wording")
    );
    assert!(
        html.contains("added: </span>Advisor</ins> wording"),
        "{html}"
    );
    assert_eq!(
        question_text(&app, study, question).await,
        "Lead's later wording",
        "no silent overwrite"
    );
    let confirmed = app
        .post_form(
            &accept,
            &[("note", ""), ("lock_version", &lock_version(&html))],
        )
        .await;
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        question_text(&app, study, question).await,
        "Advisor wording"
    );
}

async fn who_may_suggest_and_decide(app: TestApp) {
    let (study, _, section, question) = study_with_question(&app).await;
    let (advisor, _) = member(
        &app,
        study,
        "alex@example.org",
        "Alex Advisor",
        "co_designer",
    )
    .await;
    let (other, _) = member(&app, study, "sam@example.org", "Sam Staff", "co_designer").await;
    let (analyst, _) = member(&app, study, "ana@example.org", "Ana Analyst", "analyst").await;

    let edit = format!("/studies/{study}/questions/{question}/edit");
    let refused = analyst
        .post_form(
            &edit,
            &[
                ("kind", "long_text"),
                ("text", "Mine"),
                ("for_staff", "on"),
                ("mode", "suggest"),
            ],
        )
        .await;
    assert_eq!(
        refused.status(),
        StatusCode::FORBIDDEN,
        "analysts do not suggest"
    );

    send_edit(&advisor, study, question, "Advisor wording", "", "suggest").await;
    let list = format!("/studies/{study}/questions/{question}/suggestions");
    let (status, page) = analyst.get_text(&list).await;
    assert_eq!(status, StatusCode::OK, "members read suggestions");
    let suggestion = first_suggestion(&page);
    let accept = format!("/studies/{study}/suggestions/{suggestion}/accept");
    for visitor in [&other, &advisor, &analyst] {
        assert_eq!(
            visitor.post_form(&accept, &[("note", "")]).await.status(),
            StatusCode::FORBIDDEN,
            "neither the lead nor the question's author"
        );
    }

    // A co-designer who wrote a question decides on suggestions to it.
    let made = add_question(
        &other,
        study,
        section,
        &[
            ("kind", "long_text"),
            ("text", "Sam's question"),
            ("for_staff", "on"),
        ],
    )
    .await;
    let sams = id_after(&location(&made), "#question-");
    send_edit(
        &advisor,
        study,
        sams,
        "Sam's question, reworded",
        "",
        "suggest",
    )
    .await;
    let sams_list = format!("/studies/{study}/questions/{sams}/suggestions");
    let sams_suggestion = first_suggestion(&other.get_text(&sams_list).await.1);
    let accepted = other
        .post_form(
            &format!("/studies/{study}/suggestions/{sams_suggestion}/accept"),
            &[("note", "")],
        )
        .await;
    assert_eq!(accepted.status(), StatusCode::SEE_OTHER);

    let outsider = app.new_visitor();
    app.create_user("out@example.org", Role::Member).await;
    outsider.sign_in("out@example.org", PASSWORD).await;
    assert_eq!(outsider.get(&list).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        outsider.post_form(&accept, &[("note", "")]).await.status(),
        StatusCode::NOT_FOUND
    );
    let stranger = app.new_visitor();
    let response = stranger.get(&list).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with("/login?next="));
}

async fn section_suggestions_and_invalid_ones(app: TestApp) {
    let (study, questionnaire, section, question) = study_with_question(&app).await;
    let (advisor, _) = member(
        &app,
        study,
        "alex@example.org",
        "Alex Advisor",
        "co_designer",
    )
    .await;

    // An invalid suggestion: the error beside the field, the input kept, nothing stored.
    let edit = format!("/studies/{study}/questions/{question}/edit");
    let (_, form) = advisor.get_text(&edit).await;
    let refused = advisor
        .post_form(
            &edit,
            &[
                ("kind", "likert"),
                ("text", "I feel listened to"),
                ("options", "Agree\nDisagree"),
                ("for_staff", "on"),
                ("lock_version", &lock_version(&form)),
                ("mode", "suggest"),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(
        html.contains("id=\"options-error\"")
            && html.contains("A Likert scale needs 5 or 7 labels")
    );
    assert!(
        html.contains(">I feel listened to</textarea>"),
        "input kept"
    );
    let (_, editor) = app
        .get_text(&format!("/studies/{study}/questionnaires/{questionnaire}"))
        .await;
    assert!(!editor.contains("(1 open)</a>"), "nothing stored");

    let section_edit = format!("/studies/{study}/sections/{section}/edit");
    let (_, form) = advisor.get_text(&section_edit).await;
    let sent = advisor
        .post_form(
            &section_edit,
            &[
                ("title", "Your experience of taking part"),
                ("introduction", "We start with you."),
                ("lock_version", &lock_version(&form)),
                ("reason", "Says what it is about"),
                ("mode", "suggest"),
            ],
        )
        .await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let list = format!("/studies/{study}/sections/{section}/suggestions");
    assert_eq!(location(&sent), list);
    let (_, page) = app.get_text(&list).await;
    assert!(page.contains("added: </span> of taking part"), "{page}");
    let suggestion = first_suggestion(&page);
    let accepted = app
        .post_form(
            &format!("/studies/{study}/suggestions/{suggestion}/accept"),
            &[("note", "")],
        )
        .await;
    assert_eq!(accepted.status(), StatusCode::SEE_OTHER);
    let (_, editor) = app
        .get_text(&format!("/studies/{study}/questionnaires/{questionnaire}"))
        .await;
    assert!(editor.contains("Your experience of taking part"));
    let (_, history) = app
        .get_text(&format!("/studies/{study}/sections/{section}/history"))
        .await;
    assert!(history.contains("From a suggestion by Alex Advisor: Says what it is about"));
}

async fn suggestions_through_the_api(app: TestApp) {
    let (study, _, section, question) = study_with_question(&app).await;
    let (_, advisor_id) = member(
        &app,
        study,
        "alex@example.org",
        "Alex Advisor",
        "co_designer",
    )
    .await;
    let (_, analyst_id) = member(&app, study, "ana@example.org", "Ana Analyst", "analyst").await;
    let me: Value = app.get("/api/v1/me").await.json().await.unwrap();
    let origin = Origin::command_line();
    let token = |id: i64| {
        let db = app.db.clone();
        let origin = origin.clone();
        async move {
            voices::accounts::actions::create_api_token(&db, &origin, id, "api")
                .await
                .unwrap()
                .1
        }
    };
    let lead = token(me["id"].as_i64().unwrap()).await;
    let advisor = token(advisor_id).await;
    let analyst = token(analyst_id).await;
    let call = |token: &str, method: Method, path: String, body: Value| {
        app.client
            .request(method, app.url(&path))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    let list = format!("/api/v1/studies/{study}/questions/{question}/suggestions");
    let edit = json!({ "kind": "long_text", "text": "What made it easier?", "for_staff": true,
                       "lock_version": 0, "reason": "Plainer" });

    let refused = call(&analyst, Method::POST, list.clone(), edit.clone())
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let invalid = call(
        &advisor,
        Method::POST,
        list.clone(),
        json!({ "kind": "long_text", "for_staff": true }),
    )
    .await
    .unwrap();
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = invalid.json().await.unwrap();
    assert!(body["error"]["fields"]["text"].is_string());

    let made = call(&advisor, Method::POST, list.clone(), edit.clone())
        .await
        .unwrap();
    assert_eq!(made.status(), StatusCode::CREATED);
    let made: Value = made.json().await.unwrap();
    assert_eq!(made["status"], "open");
    assert_eq!(made["author_name"], "Alex Advisor");
    assert_eq!(made["changes"][0]["field"], "text");
    let id = made["id"].as_i64().unwrap();

    let listed: Value = call(&analyst, Method::GET, list.clone(), Value::Null)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);

    let accept = format!("/api/v1/studies/{study}/suggestions/{id}/accept");
    let forbidden = call(&advisor, Method::POST, accept.clone(), json!({}))
        .await
        .unwrap();
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);

    // The lead changes the question first: accepting is refused with the current version.
    let changed = call(
        &lead,
        Method::PUT,
        format!("/api/v1/studies/{study}/questions/{question}"),
        json!({ "kind": "long_text", "text": "Lead's words", "for_staff": true, "lock_version": 0 }),
    )
    .await
    .unwrap();
    assert_eq!(changed.status(), StatusCode::OK);
    let stale = call(&lead, Method::POST, accept.clone(), json!({}))
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    let stale: Value = stale.json().await.unwrap();
    assert_eq!(stale["current"]["text"], "Lead's words");
    let version = stale["current"]["lock_version"].clone();
    let accepted = call(
        &lead,
        Method::POST,
        accept.clone(),
        json!({ "lock_version": version, "note": "Yes" }),
    )
    .await
    .unwrap();
    assert_eq!(accepted.status(), StatusCode::OK);
    assert_eq!(
        accepted.json::<Value>().await.unwrap()["status"],
        "accepted"
    );
    let revisions: Value = call(
        &lead,
        Method::GET,
        format!("/api/v1/studies/{study}/questions/{question}/revisions"),
        Value::Null,
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert!(revisions[0]["reason"]
        .as_str()
        .unwrap()
        .starts_with("From a suggestion by Alex Advisor: Plainer"));

    // Sections: suggest, reject; and withdraw by the suggester only.
    let section_list = format!("/api/v1/studies/{study}/sections/{section}/suggestions");
    let body = json!({ "title": "A new title", "lock_version": 0 });
    let first: Value = call(&advisor, Method::POST, section_list.clone(), body.clone())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rejected = call(
        &lead,
        Method::POST,
        format!("/api/v1/studies/{study}/suggestions/{}/reject", first["id"]),
        json!({ "note": "No" }),
    )
    .await
    .unwrap();
    assert_eq!(
        rejected.json::<Value>().await.unwrap()["status"],
        "rejected"
    );
    let second: Value = call(&advisor, Method::POST, section_list.clone(), body)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let withdraw = format!(
        "/api/v1/studies/{study}/suggestions/{}/withdraw",
        second["id"]
    );
    assert_eq!(
        call(&lead, Method::POST, withdraw.clone(), json!({}))
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    let withdrawn = call(&advisor, Method::POST, withdraw, json!({}))
        .await
        .unwrap();
    assert_eq!(
        withdrawn.json::<Value>().await.unwrap()["status"],
        "withdrawn"
    );
    let sections: Value = call(&lead, Method::GET, section_list, Value::Null)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sections.as_array().unwrap().len(), 2);
    let title: Value = call(
        &lead,
        Method::GET,
        format!(
            "/api/v1/studies/{study}/questionnaires/{}",
            stale["current"]["questionnaire_id"]
        ),
        Value::Null,
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(title["sections"][0]["section"]["title"], "Your experience");
}
