//! Comment threads on questions and sections: the whole co-design group discusses, replies, resolves
//! and reopens, on pages without JavaScript and through the API; outsiders see nothing.

use reqwest::{Method, StatusCode};
use voices::identity::Role;

use crate::helpers::{TestApp, Visitor, PASSWORD};
use crate::on_both_databases;

on_both_databases!(
    the_co_design_group_discusses_a_question_until_it_is_resolved,
    analysts_comment_but_resolve_only_their_own_threads,
    outsiders_get_404_and_strangers_are_asked_to_sign_in,
    bad_comments_are_explained_beside_the_field_with_the_input_kept,
    comments_through_the_api,
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

#[derive(Clone, Copy)]
struct Study {
    id: i64,
    questionnaire: i64,
    section: i64,
    question: i64,
}

impl Study {
    fn editor(&self) -> String {
        format!("/studies/{}/questionnaires/{}", self.id, self.questionnaire)
    }

    fn question_comments(&self) -> String {
        format!("/studies/{}/questions/{}/comments", self.id, self.question)
    }

    fn section_comments(&self) -> String {
        format!("/studies/{}/sections/{}/comments", self.id, self.section)
    }

    fn thread(&self, thread: i64, what: &str) -> String {
        format!("/studies/{}/comments/{thread}/{what}", self.id)
    }
}

/// A study led by `lead` with one questionnaire, section and question.
/// How many of the editor's comment links show this count (its suggestion links show counts too).
fn comment_counts(editor: &str, count: &str) -> usize {
    editor
        .match_indices(count)
        .filter(|(at, _)| {
            let before = &editor[..*at];
            before.rfind("Comments<span") > before.rfind("Suggestions<span")
        })
        .count()
}

async fn study_led_by(lead: &Visitor, title: &str) -> Study {
    let created = lead
        .post_form("/studies", &[("title", title), ("summary", "")])
        .await;
    let id = id_after(&location(&created), "/studies/");
    let created = lead
        .post_form(
            &format!("/studies/{id}/questionnaires"),
            &[("title", "Interview guide"), ("description", "")],
        )
        .await;
    let questionnaire = id_after(&location(&created), "/questionnaires/");
    lead.post_form(
        &format!("/studies/{id}/questionnaires/{questionnaire}/sections"),
        &[("title", "Your experience"), ("introduction", "")],
    )
    .await;
    let (_, editor) = lead
        .get_text(&format!("/studies/{id}/questionnaires/{questionnaire}"))
        .await;
    let section = id_after(&editor, "id=\"section-");
    let added = lead
        .post_form(
            &format!("/studies/{id}/sections/{section}/questions"),
            &[
                ("kind", "long_text"),
                ("text", "What helped you take part?"),
                ("for_service_users", "on"),
            ],
        )
        .await;
    let question = id_after(&location(&added), "#question-");
    Study {
        id,
        questionnaire,
        section,
        question,
    }
}

/// Adds an account to the study with one role and signs it in on a new visitor.
async fn member(
    app: &TestApp,
    study: &Study,
    email: &str,
    role: &str,
    perspective: &str,
) -> Visitor {
    app.create_user(email, Role::Member).await;
    let added = app
        .post_form(
            &format!("/studies/{}/members", study.id),
            &[
                ("email", email),
                ("display_name", "Test Person"),
                (role, "on"),
                ("perspective", perspective),
            ],
        )
        .await;
    assert_eq!(
        added.status(),
        StatusCode::SEE_OTHER,
        "member {email} added"
    );
    crate::helpers::accept_invitations(app, email).await;
    let visitor = app.new_visitor();
    visitor.sign_in(email, PASSWORD).await;
    visitor
}

async fn the_co_design_group_discusses_a_question_until_it_is_resolved(app: TestApp) {
    app.signed_in_as("lead@example.org", Role::Member).await;
    let study = study_led_by(&app, "Involvement").await;
    let designer = member(&app, &study, "designer@example.org", "co_designer", "staff").await;
    let advisor = member(
        &app,
        &study,
        "advisor@example.org",
        "co_designer",
        "service_user",
    )
    .await;

    let (status, editor) = designer.get_text(&study.editor()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        comment_counts(&editor, "(0 open)"),
        2,
        "the section and the question"
    );

    let started = designer
        .post_form(
            &study.question_comments(),
            &[(
                "body",
                "Is \"take part\" clear?\r\nMaybe <b>join in</b> instead.",
            )],
        )
        .await;
    assert_eq!(started.status(), StatusCode::SEE_OTHER);
    let thread = id_after(&location(&started), "#thread-");

    let (status, page) = advisor.get_text(&study.question_comments()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("What helped you take part?"),
        "the question is shown"
    );
    assert!(
        page.contains(
            "Is &quot;take part&quot; clear?\nMaybe &lt;b&gt;join in&lt;&#x2F;b&gt; instead."
        ),
        "plain text, escaped, line breaks kept: {page}"
    );
    assert!(page.contains("Open discussions (1)") && !page.contains("Resolved discussions"));
    let replied = advisor
        .post_form(
            &study.thread(thread, "replies"),
            &[(
                &format!("reply-{thread}"),
                "Yes, \"join in\" is easier to read.",
            )],
        )
        .await;
    assert_eq!(replied.status(), StatusCode::SEE_OTHER);
    assert!(location(&replied).starts_with(&study.question_comments()));
    let (_, page) = designer.get_text(&study.question_comments()).await;
    assert!(page.contains("is easier to read."));

    let (_, editor) = app.get_text(&study.editor()).await;
    assert!(editor.contains(&format!(
        "href=\"/studies/{}/questions/{}/comments\"",
        study.id, study.question
    )));
    assert_eq!(
        comment_counts(&editor, "(1 open)"),
        1,
        "the question has one open thread"
    );
    assert_eq!(
        comment_counts(&editor, "(0 open)"),
        1,
        "the section has none"
    );

    // A section thread counts for the section only.
    let on_section = advisor
        .post_form(
            &study.section_comments(),
            &[("body", "Should this section come first?")],
        )
        .await;
    assert_eq!(on_section.status(), StatusCode::SEE_OTHER);
    let (_, editor) = app.get_text(&study.editor()).await;
    assert_eq!(comment_counts(&editor, "(1 open)"), 2);

    let resolved = designer
        .post_form(&study.thread(thread, "resolve"), &[])
        .await;
    assert_eq!(resolved.status(), StatusCode::SEE_OTHER);
    let (_, page) = designer.get_text(&study.question_comments()).await;
    assert!(page.contains("The discussion is resolved"));
    assert!(page.contains("Open discussions (0)") && page.contains("Resolved discussions (1)"));
    let details = &page[page.find("<details").unwrap()..];
    assert!(details.contains("is easier to read.") && details.contains("Resolved by Test Person"));
    assert!(details.contains("Reopen"), "the author may reopen");
    let (_, editor) = app.get_text(&study.editor()).await;
    assert_eq!(
        comment_counts(&editor, "(1 open)"),
        1,
        "only the section's thread is open"
    );
    assert_eq!(comment_counts(&editor, "(0 open)"), 1);

    let again = designer
        .post_form(&study.thread(thread, "resolve"), &[])
        .await;
    assert_eq!(
        again.status(),
        StatusCode::SEE_OTHER,
        "a double click is harmless"
    );

    // The lead did not start the thread but leads the study: they may reopen it.
    let reopened = app.post_form(&study.thread(thread, "reopen"), &[]).await;
    assert_eq!(reopened.status(), StatusCode::SEE_OTHER);
    let (_, page) = app.get_text(&study.question_comments()).await;
    assert!(page.contains("Open discussions (1)") && !page.contains("Resolved discussions"));
    let (_, editor) = app.get_text(&study.editor()).await;
    assert_eq!(comment_counts(&editor, "(1 open)"), 2);

    let actions: Vec<String> = app
        .db
        .read(|conn| voices::audit::recent(conn, 100, 0).map_err(voices::error::AppError::from))
        .await
        .unwrap()
        .into_iter()
        .map(|event| event.action)
        .filter(|action| action.starts_with("comment_"))
        .collect();
    assert_eq!(
        actions,
        [
            "comment_thread_reopened",
            "comment_thread_resolved",
            "comment_thread_started",
            "comment_replied",
            "comment_thread_started",
        ],
        "one event per change, none for the double click"
    );

    // Deleting a question or a section takes its discussion with it, also when a section's deletion
    // takes its questions.
    let second = app
        .post_form(
            &format!("/studies/{}/sections/{}/questions", study.id, study.section),
            &[
                ("kind", "short_text"),
                ("text", "Your team?"),
                ("for_staff", "on"),
            ],
        )
        .await;
    let second = id_after(&location(&second), "#question-");
    app.post_form(
        &format!("/studies/{}/questions/{second}/comments", study.id),
        &[("body", "Which teams?")],
    )
    .await;
    let count = || {
        app.db.read(|conn| {
            use diesel::{QueryDsl, RunQueryDsl};
            voices::db::schema::comments::table
                .count()
                .get_result::<i64>(conn)
                .map_err(voices::error::AppError::from)
        })
    };
    assert_eq!(count().await.unwrap(), 4);
    app.post_form(
        &format!("/studies/{}/questions/{}/delete", study.id, study.question),
        &[],
    )
    .await;
    assert_eq!(count().await.unwrap(), 2, "the thread and its reply went");
    app.post_form(
        &format!("/studies/{}/sections/{}/delete", study.id, study.section),
        &[],
    )
    .await;
    assert_eq!(count().await.unwrap(), 0);
}

async fn analysts_comment_but_resolve_only_their_own_threads(app: TestApp) {
    app.signed_in_as("lead@example.org", Role::Member).await;
    let study = study_led_by(&app, "Involvement").await;
    let designer = member(&app, &study, "designer@example.org", "co_designer", "carer").await;
    let analyst = member(&app, &study, "analyst@example.org", "analyst", "staff").await;

    let theirs = designer
        .post_form(&study.question_comments(), &[("body", "Too long?")])
        .await;
    let theirs = id_after(&location(&theirs), "#thread-");
    let (status, page) = analyst.get_text(&study.question_comments()).await;
    assert_eq!(status, StatusCode::OK, "analysts read the discussion");
    assert!(
        !page.contains(&format!("/comments/{theirs}/resolve")),
        "and are not offered to resolve someone else's thread"
    );
    let replied = analyst
        .post_form(
            &study.thread(theirs, "replies"),
            &[(&format!("reply-{theirs}"), "It reads fine to me.")],
        )
        .await;
    assert_eq!(replied.status(), StatusCode::SEE_OTHER, "analysts reply");
    assert_eq!(
        analyst
            .post_form(&study.thread(theirs, "resolve"), &[])
            .await
            .status(),
        StatusCode::FORBIDDEN
    );

    let mine = analyst
        .post_form(
            &study.section_comments(),
            &[("body", "Can we code this by COM-B?")],
        )
        .await;
    assert_eq!(
        mine.status(),
        StatusCode::SEE_OTHER,
        "analysts start threads"
    );
    let mine = id_after(&location(&mine), "#thread-");
    assert_eq!(
        analyst
            .post_form(&study.thread(mine, "resolve"), &[])
            .await
            .status(),
        StatusCode::SEE_OTHER,
        "their own thread"
    );
    assert_eq!(
        analyst
            .post_form(&study.thread(mine, "reopen"), &[])
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        designer
            .post_form(&study.thread(mine, "resolve"), &[])
            .await
            .status(),
        StatusCode::SEE_OTHER,
        "co-designers resolve anyone's thread"
    );
    assert_eq!(
        analyst
            .post_form(&study.thread(theirs, "reopen"), &[])
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
}

async fn outsiders_get_404_and_strangers_are_asked_to_sign_in(app: TestApp) {
    app.signed_in_as("lead@example.org", Role::Member).await;
    let study = study_led_by(&app, "Involvement").await;
    let started = app
        .post_form(&study.question_comments(), &[("body", "A first thought")])
        .await;
    let thread = id_after(&location(&started), "#thread-");

    let outsider = app.new_visitor();
    app.create_user("outsider@example.org", Role::Member).await;
    outsider.sign_in("outsider@example.org", PASSWORD).await;
    let stranger = app.new_visitor();
    let reply_field = format!("reply-{thread}");
    let pages: Vec<(&str, String)> = vec![
        ("GET", study.question_comments()),
        ("POST", study.question_comments()),
        ("GET", study.section_comments()),
        ("POST", study.section_comments()),
        ("POST", study.thread(thread, "replies")),
        ("POST", study.thread(thread, "resolve")),
        ("POST", study.thread(thread, "reopen")),
    ];
    let send = |visitor: &Visitor, method: &'static str, path: String| {
        let visitor = visitor.clone();
        let reply_field = reply_field.clone();
        async move {
            let mut request = visitor.client.request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                visitor.url(&path),
            );
            if method == "POST" {
                let token = visitor.csrf().await;
                request = request.form(&[
                    ("csrf_token", token.as_str()),
                    ("body", "Let me in"),
                    (reply_field.as_str(), "Let me in"),
                ]);
            }
            request.send().await.unwrap()
        }
    };
    for (method, path) in &pages {
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

    // The outsider leads a study of their own: ids from the first study are not found through it.
    let theirs = study_led_by(&outsider, "Another study").await;
    let borrowed = Study {
        id: theirs.id,
        ..study
    };
    for (method, path) in [
        ("GET", borrowed.question_comments()),
        ("POST", borrowed.question_comments()),
        ("GET", borrowed.section_comments()),
        ("POST", borrowed.thread(thread, "replies")),
        ("POST", borrowed.thread(thread, "resolve")),
    ] {
        assert_eq!(
            send(&outsider, method, path.clone()).await.status(),
            StatusCode::NOT_FOUND,
            "borrowed id {method} {path}"
        );
    }
    let (_, page) = app.get_text(&study.question_comments()).await;
    assert!(!page.contains("Let me in"), "nothing was written");
}

async fn bad_comments_are_explained_beside_the_field_with_the_input_kept(app: TestApp) {
    app.signed_in_as("lead@example.org", Role::Member).await;
    let study = study_led_by(&app, "Involvement").await;

    let empty = app
        .post_form(&study.question_comments(), &[("body", "  \r\n ")])
        .await;
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = empty.text().await.unwrap();
    assert!(html.contains("There is a problem") && html.contains("href=\"#body\""));
    assert!(html.contains("id=\"body-error\"") && html.contains("Enter your comment"));

    let long = format!("Start {}", "x".repeat(4000));
    let too_long = app
        .post_form(&study.section_comments(), &[("body", &long)])
        .await;
    assert_eq!(too_long.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = too_long.text().await.unwrap();
    assert!(html.contains("4000 characters or fewer. It has 4006 characters."));
    assert!(html.contains(&format!(">{long}</textarea>")), "input kept");
    let exactly = "y".repeat(4000);
    assert_eq!(
        app.post_form(&study.section_comments(), &[("body", &exactly)])
            .await
            .status(),
        StatusCode::SEE_OTHER,
        "4000 characters fit"
    );

    let started = app
        .post_form(&study.question_comments(), &[("body", "First")])
        .await;
    let thread = id_after(&location(&started), "#thread-");
    let field = format!("reply-{thread}");
    let empty_reply = app
        .post_form(&study.thread(thread, "replies"), &[(&field, "")])
        .await;
    assert_eq!(empty_reply.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = empty_reply.text().await.unwrap();
    assert!(
        html.contains(&format!("href=\"#{field}\""))
            && html.contains(&format!("id=\"{field}-error\""))
    );
    let long_reply = "z".repeat(4001);
    let html = app
        .post_form(&study.thread(thread, "replies"), &[(&field, &long_reply)])
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains(&format!("id=\"{field}-error\"")));
    assert!(
        html.contains(&format!(">{long_reply}</textarea>")),
        "reply kept in its box"
    );

    app.post_form(&study.thread(thread, "resolve"), &[]).await;
    let late = app
        .post_form(
            &study.thread(thread, "replies"),
            &[(&field, "One more thing")],
        )
        .await;
    assert_eq!(late.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(late.text().await.unwrap().contains("Reopen it to reply"));
}

async fn comments_through_the_api(app: TestApp) {
    let lead_id = app.signed_in_as("lead@example.org", Role::Member).await;
    let study = study_led_by(&app, "Involvement").await;
    let analyst_id = app.create_user("analyst@example.org", Role::Member).await;
    let outsider_id = app.create_user("outsider@example.org", Role::Member).await;
    app.post_form(
        &format!("/studies/{}/members", study.id),
        &[
            ("email", "analyst@example.org"),
            ("display_name", "Test Person"),
            ("analyst", "on"),
            ("perspective", "staff"),
        ],
    )
    .await;
    crate::helpers::accept_invitations(&app, "analyst@example.org").await;
    let origin = voices::audit::Origin::command_line();
    let token = |user| {
        let (db, origin) = (app.db.clone(), origin.clone());
        async move {
            voices::accounts::actions::create_api_token(&db, &origin, user, "api")
                .await
                .unwrap()
                .1
        }
    };
    let lead = token(lead_id).await;
    let analyst = token(analyst_id).await;
    let outsider = token(outsider_id).await;
    let call = |secret: &str, method: Method, path: String, body: Option<serde_json::Value>| {
        let mut request = app
            .client
            .request(method, app.url(&format!("/api/v1{path}")))
            .bearer_auth(secret);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send()
    };
    let json = |response: reqwest::Response| async move {
        response.json::<serde_json::Value>().await.unwrap()
    };

    let started = call(
        &analyst,
        Method::POST,
        study.question_comments(),
        Some(serde_json::json!({ "body": "Line one\nLine two" })),
    )
    .await
    .unwrap();
    assert_eq!(started.status(), StatusCode::CREATED);
    let thread = json(started).await;
    let id = thread["id"].as_i64().unwrap();
    assert_eq!(thread["object_type"], "question");
    assert_eq!(thread["object_id"], study.question);
    assert_eq!(thread["opening"]["body"], "Line one\nLine two");
    assert!(thread["resolved_at"].is_null());

    let replied = call(
        &analyst,
        Method::POST,
        study.thread(id, "replies"),
        Some(serde_json::json!({ "body": "And a reply" })),
    )
    .await
    .unwrap();
    assert_eq!(replied.status(), StatusCode::CREATED);
    assert_eq!(json(replied).await["replies"][0]["body"], "And a reply");

    let invalid = call(
        &analyst,
        Method::POST,
        study.section_comments(),
        Some(serde_json::json!({ "body": "" })),
    )
    .await
    .unwrap();
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        json(invalid).await["error"]["fields"]["body"],
        "Enter your comment"
    );

    let resolved = call(&analyst, Method::POST, study.thread(id, "resolve"), None)
        .await
        .unwrap();
    assert_eq!(resolved.status(), StatusCode::OK, "the author resolves");
    let resolved = json(resolved).await;
    assert_eq!(resolved["resolved_by"], analyst_id);
    assert!(resolved["resolved_at"].is_string());

    let on_section = call(
        &lead,
        Method::POST,
        study.section_comments(),
        Some(serde_json::json!({ "body": "From the lead" })),
    )
    .await
    .unwrap();
    assert_eq!(on_section.status(), StatusCode::CREATED);
    let leads = json(on_section).await["id"].as_i64().unwrap();
    assert_eq!(
        call(&analyst, Method::POST, study.thread(leads, "resolve"), None)
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    let sections = json(
        call(&analyst, Method::GET, study.section_comments(), None)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(sections.as_array().unwrap().len(), 1);
    assert!(sections[0]["resolved_at"].is_null());

    let reopened = call(&analyst, Method::POST, study.thread(id, "reopen"), None)
        .await
        .unwrap();
    assert_eq!(reopened.status(), StatusCode::OK);
    assert!(json(reopened).await["resolved_at"].is_null());
    let questions = json(
        call(&analyst, Method::GET, study.question_comments(), None)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(questions[0]["replies"].as_array().unwrap().len(), 1);

    for (method, path, body) in [
        (Method::GET, study.question_comments(), None),
        (Method::GET, study.section_comments(), None),
        (
            Method::POST,
            study.question_comments(),
            Some(serde_json::json!({ "body": "Hi" })),
        ),
        (
            Method::POST,
            study.section_comments(),
            Some(serde_json::json!({ "body": "Hi" })),
        ),
        (
            Method::POST,
            study.thread(id, "replies"),
            Some(serde_json::json!({ "body": "Hi" })),
        ),
        (Method::POST, study.thread(id, "resolve"), None),
        (Method::POST, study.thread(id, "reopen"), None),
    ] {
        assert_eq!(
            call(&outsider, method.clone(), path.clone(), body)
                .await
                .unwrap()
                .status(),
            StatusCode::NOT_FOUND,
            "outsider {method} {path}"
        );
    }
}
