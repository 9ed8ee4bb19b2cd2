//! The audit log a reviewer can use: events belong to their study, filters narrow, pages go by id and
//! see every event once, the CSV is what the filters show (and no personal data), and a study's lead
//! reads that study's trail and no other's.

use std::collections::HashSet;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use voices::audit::{AuditEvent, Origin};
use voices::identity::Role;

use crate::helpers::{Caller, StudyTeam, TestApp};
use crate::on_both_databases;

on_both_databases!(
    events_from_a_study_route_belong_to_the_study,
    filters_narrow_and_pages_see_every_event_once,
    the_csv_is_the_filtered_events_without_personal_data,
    a_lead_reads_their_study_trail_and_no_other,
);

async fn everything(app: &TestApp) -> Vec<AuditEvent> {
    app.db
        .read(|conn| voices::audit::recent(conn, 10_000, 0).map_err(voices::error::AppError::from))
        .await
        .unwrap()
}

async fn admin(app: &TestApp) -> Caller<'_> {
    app.create_user("reviewer@example.org", Role::Admin).await;
    Caller::new(app, "reviewer@example.org").await
}

fn ids(events: &Value) -> Vec<i64> {
    events
        .as_array()
        .unwrap_or_else(|| panic!("a list: {events}"))
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect()
}

/// Adds a questionnaire to the study through the API, as its lead: a change recorded against the
/// questionnaire, not the study, so only the route says which study it belongs to.
async fn add_questionnaire(team: &StudyTeam) -> i64 {
    let (status, body) = team
        .lead
        .call(
            Method::POST,
            &format!("/api/v1/studies/{}/questionnaires", team.study),
            Some(json!({ "title": "Your experience", "description": "" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["questionnaire"]["id"].as_i64().unwrap()
}

async fn events_from_a_study_route_belong_to_the_study(app: TestApp) {
    let team = StudyTeam::new(&app).await;
    let questionnaire = add_questionnaire(&team).await;
    // And through a page, whose route names the study `{id}`.
    let page = team
        .lead
        .visitor
        .post_form(
            &format!("/studies/{}/questionnaires", team.study),
            &[("title", "Second questionnaire"), ("description", "")],
        )
        .await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER);

    let events = everything(&app).await;
    let created: Vec<_> = events
        .iter()
        .filter(|e| e.object_type == "questionnaire")
        .collect();
    assert_eq!(created.len(), 2, "{created:?}");
    assert!(created
        .iter()
        .any(|e| e.object_id == Some(questionnaire.to_string())));
    for event in &created {
        assert_eq!(event.study_id, Some(team.study), "{event:?}");
    }
    let study_created = events
        .iter()
        .find(|e| e.object_type == "study" && e.action.contains("created"))
        .expect("the study's creation is recorded");
    assert_eq!(study_created.study_id, Some(team.study));
    // Signing in belongs to no study.
    let signed_in = events.iter().find(|e| e.action == "signed_in").unwrap();
    assert_eq!(signed_in.study_id, None);
}

async fn filters_narrow_and_pages_see_every_event_once(app: TestApp) {
    let team = StudyTeam::new(&app).await;
    add_questionnaire(&team).await;
    let reviewer = admin(&app).await;
    let lead_id = team.user_id("lead@example.org").await;
    let study = team.study;
    let list = |query: String| {
        let reviewer = &reviewer;
        async move {
            let (status, body) = reviewer
                .call(Method::GET, &format!("/api/v1/audit-events?{query}"), None)
                .await;
            assert_eq!(status, StatusCode::OK, "{query}: {body}");
            body.as_array().unwrap().clone()
        }
    };
    let all = list("limit=500".into()).await;
    let total = all.len();
    assert!(total > 10, "enough events to filter: {total}");

    let by_lead = list(format!("person={lead_id}&limit=500")).await;
    assert!(!by_lead.is_empty() && by_lead.len() < total);
    assert!(by_lead.iter().all(|e| e["actor_user_id"] == lead_id));
    let in_study = list(format!("study={study}&limit=500")).await;
    assert!(!in_study.is_empty() && in_study.len() < total);
    assert!(in_study.iter().all(|e| e["study_id"] == study));
    let signed_in = list("action=signed_in&limit=500".into()).await;
    assert!(!signed_in.is_empty());
    assert!(signed_in.iter().all(|e| e["action"] == "signed_in"));
    let both = list(format!(
        "person={lead_id}&study={study}&action=questionnaire_created&limit=500"
    ))
    .await;
    assert!(both.iter().all(|e| e["actor_user_id"] == lead_id
        && e["study_id"] == study
        && e["action"] == "questionnaire_created"));

    let today = voices::db::now().date();
    let day = |offset: i64| (today + chrono::Duration::days(offset)).to_string();
    let from_today = list(format!("from={}&to={}&limit=500", day(0), day(0))).await;
    assert!(from_today.len() >= total, "today's events are all here");
    assert!(list(format!("from={}&limit=500", day(1))).await.is_empty());
    assert!(list(format!("to={}&limit=500", day(-1))).await.is_empty());

    // A wrong filter is a clear 422 naming the field.
    let (status, body) = reviewer
        .call(Method::GET, "/api/v1/audit-events?from=31/13/2026", None)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.to_string().contains("from"), "{body}");

    // Pages of three, older each time by the last id seen: every event up to the first page's newest
    // once, in order, though each page's look is itself recorded (as newer events).
    let newest = ids(&json!(list("limit=3".into()).await))[0];
    let mut seen = vec![newest + 1];
    loop {
        let last = *seen.last().unwrap();
        let page = ids(&json!(list(format!("limit=3&before={last}")).await));
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 3);
        seen.extend(page);
    }
    seen.remove(0);
    let expected: Vec<i64> = everything(&app)
        .await
        .into_iter()
        .map(|e| e.id)
        .filter(|id| *id <= newest)
        .collect();
    assert_eq!(seen, expected, "every event once, newest first");
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), seen.len());

    // Newer pages go back the same way.
    let older = ids(&json!(list(format!("limit=3&before={}", seen[5])).await));
    let back = ids(&json!(list(format!("limit=3&after={}", older[0])).await));
    assert_eq!(back, seen[3..6].to_vec());

    // The page: filters kept in the form and the links, keyset links, a bad date beside its field.
    app.signed_in_as("pages@example.org", Role::Admin).await;
    let (status, html) = app
        .get_text(&format!("/admin/audit?study={study}&action=signed_in"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!("<option value=\"{study}\" selected>")));
    assert!(
        html.contains("Nothing recorded matches these filters"),
        "no sign-in belongs to a study"
    );
    let (status, html) = app.get_text("/admin/audit").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("before="), "a link to older entries");
    assert!(
        !html.contains("after="),
        "the newest page has nothing newer"
    );
    let (status, html) = app
        .get_text("/admin/audit?from=yesterday&to=2026-12-01")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Enter the first day as a date"));
    assert!(
        html.contains("value=\"yesterday\""),
        "what was typed is kept"
    );
}

async fn the_csv_is_the_filtered_events_without_personal_data(app: TestApp) {
    let team = StudyTeam::new(&app).await;
    add_questionnaire(&team).await;
    // An event whose text a spreadsheet would run as a formula.
    app.db
        .write(|conn| {
            voices::audit::record(
                conn,
                &Origin::command_line(),
                "=HYPERLINK(\"https://evil.example\")",
                "test",
                None,
                json!({}),
            )
            .map_err(voices::error::AppError::from)
        })
        .await
        .unwrap();
    let reviewer = admin(&app).await;
    let study = team.study;
    let filters = format!("study={study}");
    let (_, rows) = reviewer
        .call(
            Method::GET,
            &format!("/api/v1/audit-events?{filters}&limit=500"),
            None,
        )
        .await;
    let csv = app
        .new_visitor()
        .client
        .get(app.url(&format!("/api/v1/audit-events.csv?{filters}")))
        .bearer_auth(reviewer_token(&app).await)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let csv_ids: Vec<i64> = reader
        .records()
        .map(|r| r.unwrap()[0].parse().unwrap())
        .collect();
    // The JSON read came first and is itself recorded, but in no study: the two lists are the same.
    assert_eq!(csv_ids, ids(&rows));
    assert!(!text.contains("@example.org"), "no email addresses");
    assert!(!text.contains("Test Person"), "no names");

    // Everything, newest first, with formulas made harmless.
    let whole = reviewer_csv(&app, "").await;
    assert!(whole.contains("'=HYPERLINK"), "{whole}");
    assert!(!whole.contains(",=HYPERLINK"));
    let exported = everything(&app)
        .await
        .into_iter()
        .filter(|e| e.action == "audit_log_exported")
        .count();
    assert_eq!(exported, 2, "each export is recorded");
}

async fn reviewer_token(app: &TestApp) -> String {
    let id = app
        .db
        .read(|conn| {
            use diesel::prelude::*;
            use voices::db::schema::users;
            users::table
                .filter(users::email.eq("reviewer@example.org"))
                .select(users::id)
                .first::<i64>(conn)
                .map_err(voices::error::AppError::from)
        })
        .await
        .unwrap();
    voices::accounts::actions::create_api_token(&app.db, &Origin::command_line(), id, "csv")
        .await
        .unwrap()
        .1
}

async fn reviewer_csv(app: &TestApp, query: &str) -> String {
    app.new_visitor()
        .client
        .get(app.url(&format!("/api/v1/audit-events.csv?{query}")))
        .bearer_auth(reviewer_token(app).await)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn a_lead_reads_their_study_trail_and_no_other(app: TestApp) {
    let team = StudyTeam::new(&app).await;
    add_questionnaire(&team).await;
    // Another study, led by someone else, with its own events.
    app.create_user("other.lead@example.org", Role::Member)
        .await;
    let other_lead = Caller::new(&app, "other.lead@example.org").await;
    let (status, other) = other_lead
        .call(
            Method::POST,
            "/api/v1/studies",
            Some(json!({ "title": "Another study", "summary": "" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{other}");
    let other = other["study"]["id"].as_i64().unwrap();
    let study = team.study;

    let trail = |query: String| {
        let lead = &team.lead;
        async move {
            lead.call(
                Method::GET,
                &format!("/api/v1/studies/{study}/audit-events?{query}"),
                None,
            )
            .await
        }
    };
    let (status, events) = trail(String::new()).await;
    assert_eq!(status, StatusCode::OK, "{events}");
    let events = events.as_array().unwrap().clone();
    assert!(events.iter().any(|e| e["object_type"] == "questionnaire"));
    assert!(events.iter().all(|e| e["study_id"] == study), "{events:?}");
    // Asking for another study's events from this trail still gives this study's.
    let (_, widened) = trail(format!("study={other}")).await;
    assert!(widened
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["study_id"] == study));

    // The page, and the look recorded with the study.
    let (status, html) = team
        .lead
        .visitor
        .get_text(&format!("/studies/{study}/audit"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Audit trail") && html.contains("questionnaire"));
    assert!(!html.contains("Another study"), "no other study is offered");
    let viewed = everything(&app)
        .await
        .into_iter()
        .filter(|e| e.action == "audit_log_viewed")
        .collect::<Vec<_>>();
    assert!(viewed.len() >= 3);
    assert!(viewed.iter().all(|e| e.study_id == Some(study)));
    let csv = team
        .lead
        .visitor
        .client
        .get(
            team.lead
                .visitor
                .url(&format!("/studies/{study}/audit.csv")),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(csv
        .text()
        .await
        .unwrap()
        .starts_with("\u{feff}id,occurred_at_utc"));

    // Not another study's trail, and not for a co-designer of this one.
    let (status, _) = team
        .lead
        .call(
            Method::GET,
            &format!("/api/v1/studies/{other}/audit-events"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = team
        .co_designer
        .call(
            Method::GET,
            &format!("/api/v1/studies/{study}/audit-events"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let page = team
        .co_designer
        .visitor
        .get(&format!("/studies/{study}/audit"))
        .await;
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    // And not the whole site's log.
    let (status, _) = team
        .lead
        .call(Method::GET, "/api/v1/audit-events", None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
