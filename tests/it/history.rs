//! History: every change to a question or section is kept with who, when and why, shown as a word-level
//! diff, and an earlier version can be restored by the people who edit.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use voices::audit::Origin;
use voices::identity::Role;

use crate::helpers::{value_after, TestApp, Visitor, PASSWORD};
use crate::on_both_databases;
use crate::questionnaires::{add_question, id_after, location, study_with_section};

on_both_databases!(
    history_shows_who_when_why_and_the_changed_words_and_restores,
    members_read_history_but_only_editors_restore,
    history_through_the_api,
);

/// A member with their own display name, added to the study by its lead (`app`'s visitor).
async fn member(app: &TestApp, study: i64, email: &str, name: &str, role: &str) -> Visitor {
    voices::accounts::actions::create_user(
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
    visitor
}

fn lock_version(html: &str) -> String {
    value_after(html, "name=\"lock_version\" value=\"").expect("a lock_version in the form")
}

/// The restore links on a history page, newest first.
fn restore_links(html: &str) -> Vec<String> {
    html.match_indices("/restore\"")
        .map(|(end, _)| {
            let start = html[..end].rfind("href=\"").unwrap() + "href=\"".len();
            format!("{}/restore", &html[start..end])
        })
        .collect()
}

async fn edit_question(visitor: &Visitor, study: i64, question: i64, text: &str, reason: &str) {
    let edit = format!("/studies/{study}/questions/{question}/edit");
    let (_, form) = visitor.get_text(&edit).await;
    let saved = visitor
        .post_form(
            &edit,
            &[
                ("kind", "long_text"),
                ("text", text),
                ("for_staff", "on"),
                ("lock_version", &lock_version(&form)),
                ("reason", reason),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER, "{text}");
}

async fn history_shows_who_when_why_and_the_changed_words_and_restores(app: TestApp) {
    let (study, questionnaire, section) = study_with_section(&app).await;
    let made = add_question(
        &app,
        study,
        section,
        &[
            ("kind", "long_text"),
            ("text", "What helped you take part?"),
            ("for_staff", "on"),
            ("reason", "A first go"),
        ],
    )
    .await;
    let question = id_after(&location(&made), "#question-");
    let advisor = member(
        &app,
        study,
        "alex@example.org",
        "Alex Advisor",
        "co_designer",
    )
    .await;

    let (_, editor) = app
        .get_text(&format!("/studies/{study}/questionnaires/{questionnaire}"))
        .await;
    let history = format!("/studies/{study}/questions/{question}/history");
    assert!(
        editor.contains(&format!("href=\"{history}\"")),
        "linked from the editor"
    );

    // A note that is too long is shown beside its field, and nothing is saved.
    let edit = format!("/studies/{study}/questions/{question}/edit");
    let (_, form) = app.get_text(&edit).await;
    assert!(form.contains("Why we changed it (optional)"));
    let long = "why ".repeat(300);
    let refused = app
        .post_form(
            &edit,
            &[
                ("kind", "long_text"),
                ("text", "Changed"),
                ("for_staff", "on"),
                ("lock_version", &lock_version(&form)),
                ("reason", &long),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(html.contains("id=\"reason-error\"") && html.contains("up to 1,000 characters"));

    edit_question(
        &advisor,
        study,
        question,
        "What made it easier to take part?",
        "Plainer words for carers",
    )
    .await;
    edit_question(
        &app,
        study,
        question,
        "What made it <easier> to join in?",
        "Shorter",
    )
    .await;

    let (status, page) = advisor.get_text(&history).await;
    assert_eq!(status, StatusCode::OK);
    let newest = page.find("Shorter").expect("the second reason");
    let older = page
        .find("Plainer words for carers")
        .expect("the first reason");
    let oldest = page.find("A first go").expect("the note made when adding");
    assert!(newest < older && older < oldest, "newest first");
    assert!(
        page.contains("by Alex Advisor") && page.contains("by Test Person"),
        "who"
    );
    assert!(page.contains("<time datetime=\""), "when");
    assert!(
        page.contains(
            "<del><span class=\"nhsuk-u-visually-hidden\">removed: </span>helped you</del>"
        ) && page.contains(
            "<ins><span class=\"nhsuk-u-visually-hidden\">added: </span>made it easier to</ins>"
        ),
        "the changed words are marked: {page}"
    );
    assert!(
        page.contains("added: </span>&lt;easier&gt;") && !page.contains("<easier>"),
        "text is escaped"
    );

    // Restore the first version: the links run newest first, and the newest (current) has none.
    let links = restore_links(&page);
    assert_eq!(links.len(), 2, "{links:?}");
    assert!(restore_links(&advisor.get_text(&history).await.1).len() == 2);
    let first_version = links.last().unwrap().clone();
    let (status, confirm) = app.get_text(&first_version).await;
    assert_eq!(status, StatusCode::OK);
    assert!(confirm.contains("What restoring changes") && confirm.contains("removed: </span>"));
    let version = lock_version(&confirm);

    // Someone saves in between: the restore is refused with 409 and nothing changes.
    edit_question(&advisor, study, question, "Advisor's latest words", "").await;
    let stale = app
        .post_form(
            &first_version,
            &[("lock_version", &version), ("reason", "Back to the start")],
        )
        .await;
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    let html = stale.text().await.unwrap();
    assert!(html.contains("Someone else changed this question"));
    let (_, view) = app.get_text(&edit).await;
    assert!(
        view.contains("Advisor&#x27;s latest words"),
        "nothing overwritten"
    );

    let restored = app
        .post_form(
            &first_version,
            &[
                ("lock_version", &lock_version(&html)),
                ("reason", "Back to the start"),
            ],
        )
        .await;
    assert_eq!(restored.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&restored), history);
    let (_, page) = app.get_text(&history).await;
    assert!(page.contains("The earlier version is restored."));
    let (_, view) = app.get_text(&edit).await;
    assert!(
        view.contains(">What helped you take part?</textarea>"),
        "the text is back"
    );
    let restored_at = page
        .find("Restored an earlier version")
        .expect("a restored entry");
    assert!(restored_at < page.find("Back to the start").unwrap());
    assert!(restored_at < page.find("Shorter").unwrap(), "newest first");

    // Sections keep a history too.
    let section_edit = format!("/studies/{study}/sections/{section}/edit");
    let (_, form) = app.get_text(&section_edit).await;
    let saved = app
        .post_form(
            &section_edit,
            &[
                ("title", "Your own experience"),
                ("introduction", "We start with you."),
                ("lock_version", &lock_version(&form)),
                ("reason", "Warmer"),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let section_history = format!("/studies/{study}/sections/{section}/history");
    let (status, page) = app.get_text(&section_history).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Warmer") && page.contains("added: </span>own "),
        "{page}"
    );
    let links = restore_links(&page);
    let (_, confirm) = app.get_text(&links[0]).await;
    let back = app
        .post_form(
            &links[0],
            &[("lock_version", &lock_version(&confirm)), ("reason", "")],
        )
        .await;
    assert_eq!(back.status(), StatusCode::SEE_OTHER);
    let (_, form) = app.get_text(&section_edit).await;
    assert!(
        form.contains("value=\"Your experience\""),
        "the title is back"
    );
    let (_, page) = app.get_text(&section_history).await;
    assert!(
        page.contains("Restored the version of"),
        "a restore without a note says which"
    );
}

async fn members_read_history_but_only_editors_restore(app: TestApp) {
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
    edit_question(&app, study, question, "Your team or service?", "Wider").await;
    let (_, page) = app
        .get_text(&format!("/studies/{study}/questions/{question}/history"))
        .await;
    let question_restore = restore_links(&page)
        .pop()
        .expect("a restore link for the lead");
    let revision = id_after(&question_restore, "/history/");
    let section_revision = {
        let (_, page) = app
            .get_text(&format!("/studies/{study}/sections/{section}/history"))
            .await;
        id_after(&page, "id=\"revision-")
    };

    let analyst = member(&app, study, "ana@example.org", "Ana Analyst", "analyst").await;
    voices::accounts::actions::create_user(
        &app.db,
        &Origin::command_line(),
        "out@example.org",
        "Outsider",
        Role::Member,
        PASSWORD.into(),
    )
    .await
    .unwrap();
    let outsider = app.new_visitor();
    outsider.sign_in("out@example.org", PASSWORD).await;
    let stranger = app.new_visitor();

    let reading = [
        format!("/studies/{study}/questions/{question}/history"),
        format!("/studies/{study}/sections/{section}/history"),
    ];
    let restoring = [
        format!("/studies/{study}/questions/{question}/history/{revision}/restore"),
        format!("/studies/{study}/sections/{section}/history/{section_revision}/restore"),
    ];
    for path in &reading {
        let (status, page) = analyst.get_text(path).await;
        assert_eq!(status, StatusCode::OK, "analyst reads {path}");
        assert!(restore_links(&page).is_empty(), "but is offered no restore");
    }
    for path in &restoring {
        assert_eq!(
            analyst.get(path).await.status(),
            StatusCode::FORBIDDEN,
            "{path}"
        );
        let posted = analyst.post_form(path, &[("reason", "x")]).await;
        assert_eq!(
            posted.status(),
            StatusCode::FORBIDDEN,
            "analyst POST {path}"
        );
    }
    for path in reading.iter().chain(&restoring) {
        assert_eq!(
            outsider.get(path).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
        assert!(
            location(&stranger.get(path).await).starts_with("/login?next="),
            "{path}"
        );
    }
    for path in &restoring {
        let posted = outsider.post_form(path, &[("reason", "x")]).await;
        assert_eq!(
            posted.status(),
            StatusCode::NOT_FOUND,
            "outsider POST {path}"
        );
    }
    // A revision of another object is not found through this one.
    let wrong = format!("/studies/{study}/sections/{section}/history/{revision}/restore");
    assert_eq!(app.get(&wrong).await.status(), StatusCode::NOT_FOUND);
    let (_, editor) = analyst
        .get_text(&format!("/studies/{study}/questionnaires/{questionnaire}"))
        .await;
    assert!(
        editor.contains("/history\">History"),
        "the editor links history for readers too"
    );
}

async fn history_through_the_api(app: TestApp) {
    let lead = app.create_user("api@example.org", Role::Member).await;
    let origin = Origin::command_line();
    let (_, secret) = voices::accounts::actions::create_api_token(&app.db, &origin, lead, "api")
        .await
        .unwrap();
    let outsider = app.create_user("other@example.org", Role::Member).await;
    let (_, other_secret) =
        voices::accounts::actions::create_api_token(&app.db, &origin, outsider, "api")
            .await
            .unwrap();
    let call = |token: &str, method: Method, path: String, body: Option<Value>| {
        let mut request = app
            .client
            .request(method, app.url(&path))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send()
    };
    let json = |response: reqwest::Response| async move { response.json::<Value>().await.unwrap() };

    let study = json(
        call(
            &secret,
            Method::POST,
            "/api/v1/studies".into(),
            Some(json!({ "title": "API" })),
        )
        .await
        .unwrap(),
    )
    .await["study"]["id"]
        .as_i64()
        .unwrap();
    let questionnaire = json(
        call(
            &secret,
            Method::POST,
            format!("/api/v1/studies/{study}/questionnaires"),
            Some(json!({ "title": "Guide" })),
        )
        .await
        .unwrap(),
    )
    .await["questionnaire"]["id"]
        .as_i64()
        .unwrap();
    let tree = json(
        call(
            &secret,
            Method::POST,
            format!("/api/v1/studies/{study}/questionnaires/{questionnaire}/sections"),
            Some(json!({ "title": "Background", "reason": "We need a start" })),
        )
        .await
        .unwrap(),
    )
    .await;
    let section = tree["sections"][0]["section"]["id"].as_i64().unwrap();
    let add = |body: Value| {
        call(
            &secret,
            Method::POST,
            format!("/api/v1/studies/{study}/sections/{section}/questions"),
            Some(body),
        )
    };
    let first = json(
        add(json!({ "kind": "yes_no_not_sure", "text": "Were you involved?", "for_staff": true }))
            .await
            .unwrap(),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let question = add(
        json!({ "kind": "long_text", "text": "What helped you?", "for_staff": true,
                               "show_if_question_id": first, "show_if_answers": ["Yes"] }),
    )
    .await
    .unwrap();
    assert_eq!(question.status(), StatusCode::CREATED);
    let id = json(question).await["id"].as_i64().unwrap();

    let revisions_of = format!("/api/v1/studies/{study}/questions/{id}/revisions");
    let too_long = call(
        &secret,
        Method::PUT,
        format!("/api/v1/studies/{study}/questions/{id}"),
        Some(json!({ "kind": "long_text", "text": "x", "for_staff": true, "lock_version": 0,
                     "show_if_question_id": first, "show_if_answers": ["Yes"], "reason": "é".repeat(1001) })),
    )
    .await
    .unwrap();
    assert_eq!(too_long.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(json(too_long).await["error"]["fields"]["reason"].is_string());
    let saved = call(
        &secret,
        Method::PUT,
        format!("/api/v1/studies/{study}/questions/{id}"),
        Some(json!({ "kind": "long_text", "text": "What helped you most?", "for_staff": true, "lock_version": 0,
                     "show_if_question_id": first, "show_if_answers": ["Yes"], "reason": "Sharper" })),
    )
    .await
    .unwrap();
    assert_eq!(saved.status(), StatusCode::OK);

    let revisions = json(
        call(&secret, Method::GET, revisions_of.clone(), None)
            .await
            .unwrap(),
    )
    .await;
    let revisions = revisions.as_array().unwrap();
    assert_eq!(revisions.len(), 2);
    assert_eq!(revisions[0]["action"], "changed");
    assert_eq!(revisions[0]["reason"], "Sharper");
    assert_eq!(revisions[0]["author_user_id"], lead);
    assert_eq!(revisions[0]["author_name"], "Test Person");
    assert_eq!(revisions[0]["before"]["text"], "What helped you?");
    assert_eq!(revisions[0]["after"]["text"], "What helped you most?");
    assert_eq!(
        revisions[0]["changes"],
        json!([{ "field": "text", "label": "Question", "segments": [
            { "op": "equal", "text": "What helped " },
            { "op": "delete", "text": "you?" },
            { "op": "insert", "text": "you most?" }
        ] }])
    );
    assert_eq!(revisions[1]["action"], "created");
    assert!(revisions[1]["before"].is_null());
    let created = revisions[1]["id"].as_i64().unwrap();

    let restore = |revision: i64, version: i64| {
        call(
            &secret,
            Method::POST,
            format!("/api/v1/studies/{study}/questions/{id}/revisions/{revision}/restore"),
            Some(json!({ "lock_version": version, "reason": "The first was fine" })),
        )
    };
    let stale = restore(created, 0).await.unwrap();
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    let stale = json(stale).await;
    assert_eq!(stale["error"]["code"], "conflict");
    assert_eq!(stale["current"]["text"], "What helped you most?");

    let done = restore(created, 1).await.unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    let done = json(done).await;
    assert_eq!(done["text"], "What helped you?");
    assert_eq!(done["lock_version"], 2);
    let revisions = json(
        call(&secret, Method::GET, revisions_of.clone(), None)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(revisions[0]["action"], "restored");
    assert_eq!(revisions[0]["reason"], "The first was fine");
    assert_eq!(revisions.as_array().unwrap().len(), 3);

    // The question its condition pointed at is deleted: the history records the condition going, and
    // restoring the version with the condition is refused with the reason.
    let deleted = call(
        &secret,
        Method::DELETE,
        format!("/api/v1/studies/{study}/questions/{first}"),
        None,
    )
    .await
    .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let revisions = json(
        call(&secret, Method::GET, revisions_of.clone(), None)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(revisions[0]["action"], "changed");
    assert!(revisions[0]["reason"]
        .as_str()
        .unwrap()
        .contains("was deleted"));
    assert!(revisions[0]["after"]["show_if_question_id"].is_null());
    let broken = restore(created, 2).await.unwrap();
    assert_eq!(broken.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let broken = json(broken).await;
    assert!(broken["error"]["fields"]["show_if_question_id"]
        .as_str()
        .unwrap()
        .contains("earlier question"));

    // Sections: list and restore.
    let section_revisions = format!("/api/v1/studies/{study}/sections/{section}/revisions");
    let changed = call(
        &secret,
        Method::PUT,
        format!("/api/v1/studies/{study}/sections/{section}"),
        Some(
            json!({ "title": "Background and context", "lock_version": 0, "reason": "Friendlier" }),
        ),
    )
    .await
    .unwrap();
    assert_eq!(changed.status(), StatusCode::NO_CONTENT);
    let revisions = json(
        call(&secret, Method::GET, section_revisions.clone(), None)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(revisions[0]["reason"], "Friendlier");
    assert_eq!(revisions[1]["reason"], "We need a start");
    assert_eq!(
        revisions[0]["changes"][0]["segments"],
        json!([{ "op": "equal", "text": "Background" }, { "op": "insert", "text": " and context" }])
    );
    let first_section = revisions[1]["id"].as_i64().unwrap();
    let back = call(
        &secret,
        Method::POST,
        format!("/api/v1/studies/{study}/sections/{section}/revisions/{first_section}/restore"),
        Some(json!({ "lock_version": 1 })),
    )
    .await
    .unwrap();
    assert_eq!(back.status(), StatusCode::OK);
    assert_eq!(json(back).await["title"], "Background");

    // Not a member: the study does not exist for them.
    let hidden = call(&other_secret, Method::GET, revisions_of, None)
        .await
        .unwrap();
    assert_eq!(hidden.status(), StatusCode::NOT_FOUND);
    let hidden = call(
        &other_secret,
        Method::POST,
        format!("/api/v1/studies/{study}/sections/{section}/revisions/{first_section}/restore"),
        Some(json!({})),
    )
    .await
    .unwrap();
    assert_eq!(hidden.status(), StatusCode::NOT_FOUND);
}
