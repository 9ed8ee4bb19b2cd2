//! What the pages say to do next: a study's task list, step by step from an empty study to a sent
//! campaign, as each role sees it; and what waits for a person on their home page. Over HTTP, on SQLite
//! and PostgreSQL.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::distribution::{add_participant, create_campaign, draft_questionnaire, published_study};
use crate::helpers::{Caller, Person, StudyTeam, TestApp};
use crate::on_both_databases;

on_both_databases!(
    a_new_study_lists_its_steps_and_says_what_blocks_each,
    the_steps_follow_the_study_to_a_sent_campaign,
    what_waits_for_a_co_designer_comes_and_goes,
);

fn statuses(tasks: &Value) -> Vec<(String, String)> {
    tasks["tasks"]
        .as_array()
        .unwrap_or_else(|| panic!("a task list: {tasks}"))
        .iter()
        .map(|t| {
            (
                t["key"].as_str().unwrap().to_string(),
                t["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn status_of(tasks: &Value, key: &str) -> String {
    statuses(tasks)
        .into_iter()
        .find(|(k, _)| k == key)
        .unwrap_or_else(|| panic!("{key} in {tasks}"))
        .1
}

async fn tasks_of(person: &Person, study: i64) -> Value {
    let (status, tasks) = person
        .call(Method::GET, &format!("/api/v1/studies/{study}/tasks"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{tasks}");
    tasks
}

async fn study_tasks(lead: &Caller<'_>, study: i64) -> Value {
    let (status, tasks) = lead
        .call(Method::GET, &format!("/api/v1/studies/{study}/tasks"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{tasks}");
    tasks
}

async fn waiting(person: &Person) -> Value {
    let (status, waiting) = person.call(Method::GET, "/api/v1/me/waiting", None).await;
    assert_eq!(status, StatusCode::OK, "{waiting}");
    waiting
}

/// The kinds of everything waiting, study by study.
fn kinds(waiting: &Value) -> Vec<String> {
    waiting
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["items"].as_array().unwrap().iter())
        .map(|i| i["kind"].as_str().unwrap().to_string())
        .collect()
}

async fn a_new_study_lists_its_steps_and_says_what_blocks_each(app: TestApp) {
    let team = StudyTeam::new(&app).await;
    let study = team.study;
    let lead = tasks_of(&team.lead, study).await;
    assert_eq!(
        statuses(&lead),
        [
            ("co_design_group", "in_progress"),
            ("questionnaire", "not_started"),
            ("information", "cannot_start_yet"),
            ("publish", "cannot_start_yet"),
            ("participants", "not_started"),
            ("campaign", "cannot_start_yet"),
            ("interviews", "cannot_start_yet"),
            ("analysis", "cannot_start_yet"),
            ("report", "cannot_start_yet"),
        ]
        .map(|(k, s)| (k.to_string(), s.to_string()))
    );
    let campaign = &lead["tasks"][5];
    assert!(campaign["href"].is_null(), "{campaign}");
    assert!(campaign["hint"].as_str().unwrap().contains("published"));
    assert!(campaign["unblock_href"]
        .as_str()
        .unwrap()
        .ends_with("/questionnaires/new"));
    // Only staff in the group so far: it says who is missing.
    assert!(lead["tasks"][0]["hint"]
        .as_str()
        .unwrap()
        .contains("service-user or carer advisor"));

    let (status, page) = team
        .lead
        .visitor
        .get_text(&format!("/studies/{study}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Steps of the study"), "{page}");
    assert!(page.contains("Cannot start yet"));
    assert!(page.contains(&format!("href=\"/studies/{study}/questionnaires/new\"")));
    assert!(page.contains("Campaigns send a published version."));

    let keys =
        |tasks: Value| -> Vec<String> { statuses(&tasks).into_iter().map(|(k, _)| k).collect() };
    assert_eq!(
        keys(tasks_of(&team.interviewer, study).await),
        ["interviews"]
    );
    assert_eq!(
        keys(tasks_of(&team.analyst, study).await),
        ["analysis", "report"]
    );
    assert_eq!(
        keys(tasks_of(&team.co_designer, study).await),
        ["co_design_group", "questionnaire", "information", "publish"]
    );
    let (status, page) = team
        .interviewer
        .visitor
        .get_text(&format!("/studies/{study}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Your part in the study"));
    assert!(!page.contains("Co-design group</a>"), "{page}");
    let (status, _) = team
        .outsider
        .call(Method::GET, &format!("/api/v1/studies/{study}/tasks"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn the_steps_follow_the_study_to_a_sent_campaign(app: TestApp) {
    let (study, _, version) = published_study(&app).await;
    let lead = Caller::new(&app, "lead@example.org").await;
    let now = study_tasks(&lead, study).await;
    for key in ["co_design_group", "questionnaire", "information", "publish"] {
        assert_eq!(status_of(&now, key), "completed", "{key}: {now}");
    }
    assert_eq!(status_of(&now, "participants"), "not_started");
    assert_eq!(status_of(&now, "campaign"), "cannot_start_yet");
    assert_eq!(status_of(&now, "interviews"), "not_started");
    assert!(now["tasks"][5]["unblock_href"]
        .as_str()
        .unwrap()
        .ends_with("/participants"));

    add_participant(
        &lead,
        study,
        json!({ "name": "Pat", "email": "pat@example.org", "group": "carer" }),
    )
    .await;
    let now = study_tasks(&lead, study).await;
    assert_eq!(status_of(&now, "participants"), "completed");
    assert_eq!(status_of(&now, "campaign"), "not_started");

    let campaign = create_campaign(&lead, study, version).await;
    assert_eq!(
        status_of(&study_tasks(&lead, study).await, "campaign"),
        "in_progress"
    );
    let (status, launched) = lead
        .call(
            Method::POST,
            &format!("/api/v1/studies/{study}/campaigns/{campaign}/launch"),
            None,
        )
        .await;
    assert!(status.is_success(), "{launched}");
    let now = study_tasks(&lead, study).await;
    assert_eq!(status_of(&now, "campaign"), "completed");
    assert_eq!(status_of(&now, "analysis"), "cannot_start_yet");
}

async fn what_waits_for_a_co_designer_comes_and_goes(app: TestApp) {
    let team = StudyTeam::new(&app).await;
    let study = team.study;
    let lead = Caller::new(&app, "lead@example.org").await;
    let (questionnaire, question) = draft_questionnaire(&lead, study).await;
    let base = format!("/api/v1/studies/{study}/questionnaires/{questionnaire}");
    assert_eq!(waiting(&team.co_designer).await, json!([]));

    let (status, thread) = team
        .co_designer
        .call(
            Method::POST,
            &format!("/api/v1/studies/{study}/questions/{question}/comments"),
            Some(json!({ "body": "Could we say 'get involved' instead?" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{thread}");
    let thread = thread["id"].as_i64().unwrap();
    let (status, reply) = lead
        .call(
            Method::POST,
            &format!("/api/v1/studies/{study}/comments/{thread}/replies"),
            Some(json!({ "body": "Yes, that reads better." })),
        )
        .await;
    assert!(status.is_success(), "{reply}");
    let now = waiting(&team.co_designer).await;
    assert_eq!(kinds(&now), ["replies"], "{now}");
    assert_eq!(now[0]["study_id"], study);
    assert_eq!(now[0]["items"][0]["count"], 1);
    assert_eq!(
        now[0]["items"][0]["href"],
        format!("/studies/{study}/questionnaires/{questionnaire}")
    );
    // The lead wrote the reply: nothing waits for them.
    assert!(!kinds(&waiting(&team.lead).await).contains(&"replies".to_string()));

    let (status, moved) = lead
        .call(
            Method::POST,
            &format!("{base}/status"),
            Some(json!({ "status": "pilot" })),
        )
        .await;
    assert!(status.is_success(), "{moved}");
    let now = waiting(&team.co_designer).await;
    assert_eq!(kinds(&now), ["sign_off", "replies"], "{now}");
    // Where the lead publishes, the button does not look like the next step while it cannot work.
    let (_, versions) = team
        .lead
        .visitor
        .get_text(&format!(
            "/studies/{study}/questionnaires/{questionnaire}/versions"
        ))
        .await;
    assert!(versions.contains("<strong>Not yet:</strong>"), "{versions}");
    assert!(versions.contains("Sign-off still needed from"));
    assert!(versions.contains(
        "class=\"nhsuk-button nhsuk-button--secondary\" aria-describedby=\"publish-blocked\">Publish version 1"
    ));
    let (status, home) = team.co_designer.visitor.get_text("/").await;
    assert_eq!(status, StatusCode::OK);
    let home = home.replace("&#x2F;", "/");
    assert!(home.contains("waits for your sign-off"), "{home}");
    assert!(home.contains(&format!(
        "href=\"/studies/{study}/questionnaires/{questionnaire}/versions\""
    )));
    let (status, page) = team
        .co_designer
        .visitor
        .get_text(&format!("/studies/{study}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Waiting for you"), "{page}");

    let (status, signed) = team
        .co_designer
        .call(Method::POST, &format!("{base}/sign-offs"), Some(json!({})))
        .await;
    assert!(status.is_success(), "{signed}");
    let (status, _) = team
        .co_designer
        .call(
            Method::POST,
            &format!("/api/v1/studies/{study}/comments/{thread}/resolve"),
            None,
        )
        .await;
    assert!(status.is_success());
    assert_eq!(waiting(&team.co_designer).await, json!([]));
    // Someone outside the study is told of nothing in it.
    assert_eq!(waiting(&team.outsider).await, json!([]));
}
