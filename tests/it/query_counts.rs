//! The editor page loads a questionnaire in a fixed number of queries whatever its size (no N+1): the
//! queries are counted with a diesel `Instrumentation` on the very connection that runs them.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use diesel::connection::{Instrumentation, InstrumentationEvent};
use diesel::Connection;
use reqwest::StatusCode;
use voices::db::DbConnection;
use voices::error::AppError;
use voices::studies::questionnaires::queries;

use crate::helpers::TestApp;
use crate::on_both_databases;
use crate::questionnaires::{add_question, id_after, location, study_with_section};

on_both_databases!(
    the_editor_needs_the_same_queries_for_3_and_60_questions,
    a_participant_page_is_read_in_one_statement
);

/// Queries the editor's data takes: the tree (sections, questions, tags), the taxonomy, the jargon, and
/// the open comment and suggestion counts.
const EDITOR_DATA_QUERIES: usize = 7;
/// The whole page: the signed-in user (session extractor), the membership (access check), the
/// questionnaire, then the editor's data.
const EDITOR_PAGE_QUERIES: usize = 3 + EDITOR_DATA_QUERIES;

/// Runs `work` on one pooled connection with a query counter installed, and returns what it counted.
/// The counter is removed again before the connection goes back to the pool.
pub async fn count_queries(
    app: &TestApp,
    work: impl FnOnce(&mut DbConnection) + Send + 'static,
) -> usize {
    let started = Arc::new(AtomicUsize::new(0));
    let counter = started.clone();
    app.db
        .read(move |conn| {
            conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
                if let InstrumentationEvent::StartQuery { .. } = event {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            });
            work(conn);
            // Pooled connections carry no instrumentation; leave this one as it was found.
            conn.set_instrumentation(None::<Box<dyn Instrumentation>>);
            Ok::<_, AppError>(())
        })
        .await
        .unwrap();
    started.load(Ordering::Relaxed)
}

/// (editor data, whole page) queries for one questionnaire, with a check that they found it all.
async fn counts(
    app: &TestApp,
    user: i64,
    study: i64,
    questionnaire: i64,
    questions: usize,
) -> (usize, usize) {
    let data = count_queries(app, move |conn| {
        let data = queries::editor_data(conn, study, questionnaire).unwrap();
        let loaded: usize = data.tree.iter().map(|s| s.questions.len()).sum();
        assert_eq!(loaded, questions);
    })
    .await;
    // The same calls, in the same order, as the editor handler and its extractors make.
    let page = count_queries(app, move |conn| {
        voices::identity::find_user(conn, user).unwrap().unwrap();
        voices::studies::queries::membership(conn, study, user)
            .unwrap()
            .unwrap();
        queries::find_questionnaire(conn, study, questionnaire)
            .unwrap()
            .unwrap();
        queries::editor_data(conn, study, questionnaire).unwrap();
    })
    .await;
    (data, page)
}

async fn the_editor_needs_the_same_queries_for_3_and_60_questions(app: TestApp) {
    let (study, small, section) = study_with_section(&app).await;
    let user = voices::accounts::actions::user_by_email(&app.db, "lead@example.org")
        .await
        .unwrap()
        .unwrap()
        .id;
    for n in 1..=3 {
        let text = format!("Small question {n}?");
        let added = add_question(
            &app,
            study,
            section,
            &[("kind", "long_text"), ("text", &text), ("for_staff", "on")],
        )
        .await;
        assert_eq!(added.status(), StatusCode::SEE_OTHER);
    }

    // A second questionnaire of 60 questions over 3 sections, each question tagged, edited twice (so
    // with history) and commented on, with one comment resolved in every five.
    let created = app
        .post_form(
            &format!("/studies/{study}/questionnaires"),
            &[("title", "Long guide"), ("description", "")],
        )
        .await;
    let large = id_after(&location(&created), "/questionnaires/");
    let mut sections = Vec::new();
    for title in ["Before", "During", "After"] {
        let added = app
            .post_form(
                &format!("/studies/{study}/questionnaires/{large}/sections"),
                &[("title", title), ("introduction", "")],
            )
            .await;
        assert_eq!(added.status(), StatusCode::SEE_OTHER);
    }
    let (_, editor) = app
        .get_text(&format!("/studies/{study}/questionnaires/{large}"))
        .await;
    let mut rest = editor.as_str();
    while let Some(at) = rest.find("id=\"section-") {
        sections.push(id_after(rest, "id=\"section-"));
        rest = &rest[at + 1..];
    }
    // Each section's heading has an id of its own after the section's (section-N-title).
    sections.dedup();
    assert_eq!(sections.len(), 3);
    for n in 0..60 {
        let section = sections[n % 3];
        let text = format!("Large question {n}?");
        let added = add_question(
            &app,
            study,
            section,
            &[
                ("kind", "long_text"),
                ("text", &text),
                ("for_staff", "on"),
                ("tags", "2"),
            ],
        )
        .await;
        let question = id_after(&location(&added), "#question-");
        for (lock_version, reason) in [("0", "Plainer"), ("1", "Shorter")] {
            let text = format!("{text} ({reason})");
            let saved = app
                .post_form(
                    &format!("/studies/{study}/questions/{question}/edit"),
                    &[
                        ("kind", "long_text"),
                        ("text", &text),
                        ("for_staff", "on"),
                        ("tags", "2"),
                        ("lock_version", lock_version),
                        ("reason", reason),
                    ],
                )
                .await;
            assert_eq!(saved.status(), StatusCode::SEE_OTHER);
        }
        let commented = app
            .post_form(
                &format!("/studies/{study}/questions/{question}/comments"),
                &[("body", "Could this be shorter?")],
            )
            .await;
        assert_eq!(commented.status(), StatusCode::SEE_OTHER);
        if n % 5 == 0 {
            let thread = id_after(&location(&commented), "#thread-");
            let resolved = app
                .post_form(&format!("/studies/{study}/comments/{thread}/resolve"), &[])
                .await;
            assert_eq!(resolved.status(), StatusCode::SEE_OTHER);
        }
    }

    let small_counts = counts(&app, user, study, small, 3).await;
    let large_counts = counts(&app, user, study, large, 60).await;
    assert_eq!(
        small_counts,
        (EDITOR_DATA_QUERIES, EDITOR_PAGE_QUERIES),
        "3 questions"
    );
    assert_eq!(
        large_counts,
        (EDITOR_DATA_QUERIES, EDITOR_PAGE_QUERIES),
        "60 questions"
    );

    // And the page itself renders all of it.
    let (status, html) = app
        .get_text(&format!("/studies/{study}/questionnaires/{large}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    for n in 0..60 {
        assert!(html.contains(&format!("Large question {n}? (Shorter)")));
    }
    assert_eq!(html.matches("(1 open)").count(), 48);
}

/// On PostgreSQL each statement is a round trip: a participant's page reads their link, study, consent,
/// response and answers in one, however many answers there are.
async fn a_participant_page_is_read_in_one_statement(app: TestApp) {
    let (study, questionnaire, _) = crate::responses::sample_study(&app).await;
    let person = crate::responses::Participant::join(&app, study, questionnaire, "staff").await;
    let agreed = crate::responses::agree_to_everything(&person.visitor, &person.home).await;
    assert_eq!(agreed.status(), StatusCode::SEE_OTHER);
    let (_, first) = person.get("/page/1").await;
    let before =
        crate::responses::field_of(&first, "Have you taken part in an improvement project");
    let saved = person
        .post("/page/1", &[(&before, "No"), ("go", "pause")])
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);

    let secret = person.home.trim_start_matches("/p/").to_string();
    let snapshots = Arc::new(voices::studies::versions::cache::Snapshots::default());
    let settings = app.settings.clone();
    let mut counts = Vec::new();
    // The first read also parses the published version into the cache; every later one does not.
    for _ in 0..2 {
        let (snapshots, settings, secret) = (snapshots.clone(), settings.clone(), secret.clone());
        counts.push(
            count_queries(&app, move |conn| {
                let visit =
                    voices::responses::actions::load(conn, &snapshots, &settings, &secret).unwrap();
                assert!(visit.consented());
                assert!(visit.response.is_some());
                assert_eq!(
                    visit
                        .answers
                        .values()
                        .map(|a| a.value.as_str())
                        .collect::<Vec<_>>(),
                    ["No"]
                );
            })
            .await,
        );
    }
    assert_eq!(counts, [2, 1]);
}
