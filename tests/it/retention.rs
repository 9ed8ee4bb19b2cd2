//! Retention schedules over HTTP: closing a study, the daily check's list (the dry run), approval and
//! the purge of exactly that list, consent records outliving answers, on both databases. Time passing
//! is the study's close date moved back in the database; the daily check is called as the schedule
//! calls it.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use voices::db::schema::{consent_records, interviews, participant_identities, responses, studies};
use voices::error::AppError;
use voices::operations::retention::actions::sweep;

use crate::helpers::{location, Person, TestApp};
use crate::interviewed::{interviewed, THREE};
use crate::on_both_databases;
use crate::responses::{answer_everything, Participant};

on_both_databases!(
    retention_dry_run_approval_and_purge,
    a_schedule_out_of_bounds_is_refused_beside_its_field,
);

async fn call(
    who: &Person,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    who.call(method, path, body).await
}

/// Moves the study's close date back, as if that many months had passed since.
async fn closed_months_ago(app: &TestApp, study: i64, months: u32) {
    let at = voices::db::now()
        .checked_sub_months(chrono::Months::new(months))
        .unwrap();
    app.db
        .write(move |conn| {
            diesel::update(studies::table.find(study))
                .set(studies::closed_at.eq(Some(at)))
                .execute(conn)
                .map_err(AppError::from)
        })
        .await
        .unwrap();
}

/// Rows still held: identities, online responses, interview responses, consent records, and
/// interviews whose field notes are still written.
async fn held(app: &TestApp, study: i64) -> [i64; 5] {
    app.db
        .read(move |conn| {
            let study_responses = || responses::table.filter(responses::study_id.eq(study));
            Ok::<_, AppError>([
                participant_identities::table
                    .filter(participant_identities::study_id.eq(study))
                    .count()
                    .get_result(conn)?,
                study_responses()
                    .filter(responses::mode.ne("interview"))
                    .count()
                    .get_result(conn)?,
                study_responses()
                    .filter(responses::mode.eq("interview"))
                    .count()
                    .get_result(conn)?,
                consent_records::table.count().get_result(conn)?,
                interviews::table
                    .filter(interviews::study_id.eq(study))
                    .filter(interviews::field_notes.ne("{}"))
                    .count()
                    .get_result(conn)?,
            ])
        })
        .await
        .unwrap()
}

fn days_on(days: i64) -> NaiveDateTime {
    voices::db::now() + Duration::days(days)
}

async fn online_participant(app: &TestApp, lead: &Person, study: i64) {
    let (_, questionnaires) = call(
        lead,
        Method::GET,
        &format!("/api/v1/studies/{study}/questionnaires"),
        None,
    )
    .await;
    let questionnaire = questionnaires[0]["id"].as_i64().unwrap();
    let person = Participant::join(app, study, questionnaire, "staff").await;
    person.consent().await;
    answer_everything(&person).await;
}

async fn retention_dry_run_approval_and_purge(app: TestApp) {
    let fixture = interviewed(&app, &THREE[..1]).await;
    let (study, lead) = (fixture.team.study, &fixture.team.lead);
    let code = fixture.people[0].code.clone();
    online_participant(&app, lead, study).await;
    let api = format!("/api/v1/studies/{study}/retention");
    // One identity (the interviewee; the open-link participant has none), one online response, one
    // interview, two consent records.
    assert_eq!(held(&app, study).await, [1, 1, 1, 2, 1]);

    let (status, retention) = call(lead, Method::GET, &api, None).await;
    assert_eq!(status, StatusCode::OK, "{retention}");
    assert!(retention["closed_at"].is_null());
    assert_eq!(retention["schedule"]["identities_months"], 12);
    assert_eq!(retention["schedule"]["consent_months"], 72);

    // Closing needs the lead's confirmation; then periods count from now and nothing is due yet.
    let close = format!("/api/v1/studies/{study}/close");
    let (status, body) = call(
        lead,
        Method::POST,
        &close,
        Some(json!({ "confirm": false })),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = call(lead, Method::POST, &close, Some(json!({ "confirm": true }))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["closed_at"].is_string());
    let (_, checked) = call(lead, Method::POST, &format!("{api}/check"), None).await;
    assert!(checked["review"].is_null(), "{checked}");

    // 13 months on: contact details fall due. The check lists them once a day and deletes nothing.
    closed_months_ago(&app, study, 13).await;
    assert_eq!(sweep(&app.db, days_on(0)).await.unwrap(), 1);
    assert_eq!(
        sweep(&app.db, days_on(0)).await.unwrap(),
        0,
        "one list a day"
    );
    let (_, retention) = call(lead, Method::GET, &api, None).await;
    let first = &retention["review"];
    assert_eq!(first["items"]["identities"]["codes"], json!([code]));
    assert_eq!(first["items"]["responses"]["ids"], json!([]));
    assert_eq!(
        held(&app, study).await,
        [1, 1, 1, 2, 1],
        "a dry run deletes nothing"
    );
    let first_id = first["id"].as_i64().unwrap();

    // The study's page tells the lead; the retention page is the dry run.
    let (_, study_page) = app.get_text(&format!("/studies/{study}")).await;
    assert!(study_page.contains("Review what falls due for deletion"));
    let (status, page) = app.get_text(&format!("/studies/{study}/retention")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(&code) && page.contains("Approve and delete"));
    assert!(
        !page.contains("Person 0"),
        "the list names participants by code only"
    );

    // 62 months on: answers and interview notes too, but consent records outlive them. The next
    // day's list replaces the first, which can no longer be approved.
    closed_months_ago(&app, study, 62).await;
    assert_eq!(sweep(&app.db, days_on(1)).await.unwrap(), 1);
    let (_, retention) = call(lead, Method::GET, &api, None).await;
    let second = &retention["review"];
    assert_eq!(
        second["items"]["responses"]["ids"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(second["items"]["interview_notes"]["codes"], json!([code]));
    assert_eq!(second["items"]["consent_records"]["ids"], json!([]));
    let second_id = second["id"].as_i64().unwrap();
    let (status, body) = call(
        lead,
        Method::POST,
        &format!("{api}/reviews/{first_id}/approve"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    // Someone answers after the list was made: approving deletes the list, not what is due now.
    online_participant(&app, lead, study).await;
    assert_eq!(held(&app, study).await, [1, 2, 1, 3, 1]);
    let approved = app
        .post_form(
            &format!("/studies/{study}/retention"),
            &[("review_id", &second_id.to_string())],
        )
        .await;
    assert_eq!(approved.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&approved), format!("/studies/{study}/retention"));
    assert_eq!(held(&app, study).await, [0, 1, 0, 3, 0]);
    let again = app
        .post_form(
            &format!("/studies/{study}/retention"),
            &[("review_id", &second_id.to_string())],
        )
        .await;
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(again.text().await.unwrap().contains("no longer waiting"));

    // 73 months on: consent records fall due with the late answer; approved through the API.
    closed_months_ago(&app, study, 73).await;
    assert_eq!(sweep(&app.db, days_on(2)).await.unwrap(), 1);
    let (_, retention) = call(lead, Method::GET, &api, None).await;
    let third = &retention["review"];
    assert_eq!(
        third["items"]["consent_records"]["ids"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let third_id = third["id"].as_i64().unwrap();
    let (status, purged) = call(
        lead,
        Method::POST,
        &format!("{api}/reviews/{third_id}/approve"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{purged}");
    assert_eq!(
        purged,
        json!({ "identities": 0, "responses": 1, "interview_notes": 0, "consent_records": 3 })
    );
    assert_eq!(held(&app, study).await, [0, 0, 0, 0, 0]);
    assert_eq!(sweep(&app.db, days_on(3)).await.unwrap(), 0, "nothing left");

    // Each purge is audited with counts and codes, never names.
    let events = app
        .db
        .read(|conn| voices::audit::recent(conn, 500, 0).map_err(AppError::from))
        .await
        .unwrap();
    let purges: Vec<_> = events
        .iter()
        .filter(|e| e.action == "retention_purged")
        .collect();
    assert_eq!(purges.len(), 2);
    assert!(purges.iter().any(|e| e.details.contains(&code)));
    assert!(events.iter().all(|e| !e.details.contains("Person 0")));
    assert_eq!(
        events
            .iter()
            .filter(|e| e.action == "retention_due")
            .count(),
        3
    );
}

async fn a_schedule_out_of_bounds_is_refused_beside_its_field(app: TestApp) {
    let fixture = crate::helpers::StudyTeam::new(&app).await;
    let study = fixture.study;
    let api = format!("/api/v1/studies/{study}/retention/schedule");
    let schedule = |consent: u32| {
        json!({
            "identities_months": 6, "responses_months": 120, "interview_notes_months": 60,
            "consent_months": consent, "audit_months": 72,
        })
    };
    let (status, body) = call(&fixture.lead, Method::PUT, &api, Some(schedule(100))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.to_string().contains("consent_months"), "{body}");
    let (status, body) = call(&fixture.lead, Method::PUT, &api, Some(schedule(120))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["schedule"]["identities_months"], 6);
    let (status, _) = call(&fixture.analyst, Method::PUT, &api, Some(schedule(120))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The page keeps what was typed and says what is wrong beside the field.
    let form = app
        .post_form(
            &format!("/studies/{study}/retention/schedule"),
            &[
                ("identities_months", "0"),
                ("responses_months", "60"),
                ("interview_notes_months", "60"),
                ("consent_months", "72"),
                ("audit_months", "abc"),
            ],
        )
        .await;
    assert_eq!(form.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = form.text().await.unwrap();
    assert!(html.contains("id=\"identities_months-error\""));
    assert!(html.contains("at least 1 month"));
    assert!(html.contains("value=\"abc\""));
    let (_, page) = app.get_text(&format!("/studies/{study}/retention")).await;
    assert!(page.contains("120 months") && page.contains("The study is still running"));
}
