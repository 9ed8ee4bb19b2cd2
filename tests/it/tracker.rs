//! The involvement tracker over HTTP: projects and their stages through the API, the meaningful flag
//! and a hand-computed monthly series (with a service filter and a rule change), clear 422s, and the
//! pages without JavaScript. On SQLite and PostgreSQL.

use diesel::prelude::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{location, Person, StudyTeam, TestApp};
use crate::on_both_databases;

on_both_databases!(
    the_tracker_counts_meaningful_projects_month_by_month,
    tracker_pages_work_without_javascript,
);

async fn add(person: &Person, base: &str, body: Value) -> i64 {
    let (status, project) = person
        .call(Method::POST, &format!("{base}/projects"), Some(body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{project}");
    project["id"].as_i64().unwrap()
}

async fn stages(person: &Person, base: &str, project: i64, stages: Value) -> Value {
    let (status, body) = person
        .call(
            Method::PUT,
            &format!("{base}/projects/{project}/stages"),
            Some(json!({ "stages": stages })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn stage(stage: &str, on: &str, level: &str, core: i64, decisions: &str) -> Value {
    json!({
        "stage": stage, "reached_on": on, "involvement_level": level,
        "suc_core_members": core, "decisions_influenced": decisions,
    })
}

/// (month, active, meaningful, percent rounded) for each month of the series.
async fn series(person: &Person, base: &str, query: &str) -> (Vec<(String, i64, i64, i64)>, Value) {
    let (status, body) = person
        .call(
            Method::GET,
            &format!("{base}/series?to=2026-11{query}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let months = body["months"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["month"].as_str().unwrap().to_string(),
                m["active"].as_i64().unwrap(),
                m["meaningful"].as_i64().unwrap(),
                m["percent"].as_f64().map_or(-1, |p| p.round() as i64),
            )
        })
        .collect();
    (months, body)
}

fn months(expected: &[(&str, i64, i64, i64)]) -> Vec<(String, i64, i64, i64)> {
    expected
        .iter()
        .map(|(m, a, b, c)| (m.to_string(), *a, *b, *c))
        .collect()
}

async fn the_tracker_counts_meaningful_projects_month_by_month(app: TestApp) {
    let team = StudyTeam::new(&app).await;
    let base = format!("/api/v1/studies/{}/tracker", team.study);
    let (analyst, lead) = (&team.analyst, &team.lead);

    // A: meaningful from August (a core member and an influence at setting aims).
    let a = add(
        analyst,
        &base,
        json!({ "name": "Safer discharge", "service": "Community", "team": "Ward 4",
                "started_on": "2026-08-01", "stage_reached": "aims" }),
    )
    .await;
    stages(
        analyst,
        &base,
        a,
        json!([
            stage("idea", "2026-08-01", "involved", 1, "Chose the topic"),
            stage("aims", "2026-08-10", "co_produced", 1, "Aim wording"),
        ]),
    )
    .await;
    // B: consulted only, closed in September.
    let b = add(
        analyst,
        &base,
        json!({ "name": "Clinic letters", "service": "Community", "started_on": "2026-08-15",
                "closed_on": "2026-09-20", "stage_reached": "aims" }),
    )
    .await;
    stages(
        analyst,
        &base,
        b,
        json!([stage("aims", "2026-08-20", "consulted", 0, "")]),
    )
    .await;
    // C: becomes meaningful in October, when carers join the core team.
    let c = add(
        lead,
        &base,
        json!({ "name": "Evening groups", "service": "Addictions", "started_on": "2026-08-05",
                "stage_reached": "aims" }),
    )
    .await;
    let project = stages(
        lead,
        &base,
        c,
        json!([
            stage("aims", "2026-08-06", "informed", 0, ""),
            stage(
                "understanding",
                "2026-10-03",
                "involved",
                2,
                "Outcome measure\n\nMeeting times\n"
            ),
        ]),
    )
    .await;
    assert_eq!(
        project["stage_reached"], "understanding",
        "recording a later stage moves the project on"
    );
    assert_eq!(project["stages"][1]["influences"], 2);
    // D: meaningful from September.
    let d = add(
        analyst,
        &base,
        json!({ "name": "Peer mentors", "service": "Addictions", "started_on": "2026-09-01",
                "stage_reached": "aims" }),
    )
    .await;
    stages(
        analyst,
        &base,
        d,
        json!([stage(
            "aims",
            "2026-09-02",
            "involved",
            1,
            "Survey questions"
        )]),
    )
    .await;
    // E: nothing recorded yet.
    add(
        analyst,
        &base,
        json!({ "name": "Test results by text", "service": "Sexual health",
                "started_on": "2026-10-10", "stage_reached": "idea" }),
    )
    .await;

    let (status, projects) = analyst
        .call(Method::GET, &format!("{base}/projects"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let flags: Vec<(&str, bool)> = projects
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap(),
                p["meaningful"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        flags,
        [
            ("Safer discharge", true),
            ("Evening groups", true),
            ("Clinic letters", false),
            ("Peer mentors", true),
            ("Test results by text", false),
        ]
    );
    let clinic = &projects[2];
    assert_eq!(clinic["latest_level"], "consulted");
    assert_eq!(
        clinic["reasons"],
        json!([
            "No stage from setting aims on had a service user or carer in the core team",
            "0 decisions influenced recorded; the rule asks for 1"
        ])
    );

    // By hand: Aug A,B,C active, A meaningful; Sep A,B,C,D, with D; Oct B has closed, E has
    // started, C counts; Nov the same.
    let (got, body) = series(analyst, &base, "").await;
    assert_eq!(
        got,
        months(&[
            ("2026-08", 3, 1, 33),
            ("2026-09", 4, 2, 50),
            ("2026-10", 4, 3, 75),
            ("2026-11", 4, 3, 75),
        ])
    );
    assert_eq!(
        body["summary"],
        "3 of 4 active projects (75%) met the rule in November 2026; the target is 80%."
    );
    let (got, body) = series(analyst, &base, "&service=Addictions").await;
    assert_eq!(
        got,
        months(&[
            ("2026-08", 1, 0, 0),
            ("2026-09", 2, 1, 50),
            ("2026-10", 2, 2, 100),
            ("2026-11", 2, 2, 100),
        ])
    );
    assert_eq!(body["service"], "Addictions");

    // Two core members and a 90% target: only C, from October.
    let (status, rule) = lead
        .call(
            Method::PUT,
            &format!("{base}/rule"),
            Some(
                json!({ "meaningful_from": "aims", "min_core_members": 2, "min_influences": 1,
                         "target_percent": 90 }),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rule}");
    let (_, rule) = analyst
        .call(Method::GET, &format!("{base}/rule"), None)
        .await;
    assert_eq!(rule["min_core_members"], 2);
    assert_eq!(rule["min_level"], Value::Null);
    let (got, body) = series(analyst, &base, "").await;
    assert_eq!(
        got,
        months(&[
            ("2026-08", 3, 0, 0),
            ("2026-09", 4, 0, 0),
            ("2026-10", 4, 1, 25),
            ("2026-11", 4, 1, 25),
        ])
    );
    assert!(body["summary"]
        .as_str()
        .unwrap()
        .ends_with("the target is 90%."));
    // A minimum level: only the co-produced stage of A counts.
    analyst
        .call(
            Method::PUT,
            &format!("{base}/rule"),
            Some(json!({ "min_level": "co_produced" })),
        )
        .await;
    let (got, _) = series(analyst, &base, "").await;
    assert_eq!(got[3], ("2026-11".to_string(), 4, 1, 25));

    // Problems come back beside their fields.
    for (body, field, words) in [
        (
            json!({ "name": "X", "service": "Community", "started_on": "2026-13-01", "stage_reached": "idea" }),
            "started_on",
            "Enter a real date",
        ),
        (
            json!({ "name": "", "service": "Community", "started_on": "2026-01-01", "stage_reached": "idea" }),
            "name",
            "Enter the project",
        ),
        (
            json!({ "name": "X", "service": "Community", "started_on": "2026-01-01", "stage_reached": "done" }),
            "stage_reached",
            "Choose the stage",
        ),
    ] {
        let (status, error) = analyst
            .call(Method::POST, &format!("{base}/projects"), Some(body))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
        assert!(
            error["error"]["fields"][field]
                .as_str()
                .is_some_and(|m| m.contains(words)),
            "{field}: {error}"
        );
    }
    for (stages, field, words) in [
        (
            json!([stage("aims", "2026-07-31", "involved", 1, "")]),
            "aims-reached_on",
            "before the project started on 1 August 2026",
        ),
        (
            json!([stage("aims", "2026-08-10", "involved", -1, "")]),
            "aims-suc_core_members",
            "cannot be negative",
        ),
        (
            json!([stage("aims", "2026-08-10", "sometimes", 1, "")]),
            "aims-involvement_level",
            "Choose how",
        ),
    ] {
        let (status, error) = analyst
            .call(
                Method::PUT,
                &format!("{base}/projects/{a}/stages"),
                Some(json!({ "stages": stages })),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
        assert!(
            error["error"]["fields"][field]
                .as_str()
                .is_some_and(|m| m.contains(words)),
            "{field}: {error}"
        );
    }
    let (status, error) = analyst
        .call(
            Method::PUT,
            &format!("{base}/projects/{b}"),
            Some(json!({ "name": "Clinic letters", "service": "Community", "started_on": "2026-08-15",
                         "closed_on": "2026-08-19", "stage_reached": "aims" })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(error["error"]["fields"]["closed_on"]
        .as_str()
        .unwrap()
        .contains("20 August 2026"));
    let (status, error) = analyst
        .call(
            Method::PUT,
            &format!("{base}/rule"),
            Some(json!({ "target_percent": 120 })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(error["error"]["fields"]["target_percent"].is_string());
    let (status, _) = analyst
        .call(Method::GET, &format!("{base}/series?to=2026-13"), None)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // Another study's project is not found.
    let (status, _) = analyst
        .call(
            Method::PUT,
            &format!(
                "/api/v1/studies/{}/tracker/projects/{a}/stages",
                team.study + 1000
            ),
            Some(json!({ "stages": [] })),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Every change is in the audit log.
    let actions: Vec<String> = app
        .db
        .read(|conn| {
            use voices::db::schema::audit_events::dsl::*;
            audit_events
                .filter(action.like("tracker.%"))
                .select(action)
                .load::<String>(conn)
                .map_err(voices::error::AppError::from)
        })
        .await
        .unwrap();
    let count = |name: &str| actions.iter().filter(|a| *a == name).count();
    assert_eq!(count("tracker.project_created"), 5);
    assert_eq!(count("tracker.stages_recorded"), 4);
    assert_eq!(count("tracker.rule_changed"), 2);

    // Only leads and analysts.
    for who in [&team.interviewer, &team.co_designer] {
        assert_eq!(
            who.call(Method::GET, &format!("{base}/projects"), None)
                .await
                .0,
            StatusCode::FORBIDDEN
        );
    }
    assert_eq!(
        team.outsider
            .call(Method::GET, &format!("{base}/series"), None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}

async fn tracker_pages_work_without_javascript(app: TestApp) {
    let team = StudyTeam::new(&app).await;
    let lead = &team.lead.visitor;
    let base = format!("/studies/{}/tracker", team.study);

    let (status, page) = lead.get_text(&format!("/studies/{}", team.study)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(&format!("href=\"{base}\"")),
        "linked from the study"
    );
    let (status, page) = lead.get_text(&base).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("No projects are in the register yet"),
        "{page}"
    );

    let (status, page) = lead.get_text(&format!("{base}/new")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Developing change ideas"));
    let form = |started: &'static str| {
        vec![
            ("name", "Ward rounds with carers"),
            ("service", "Inpatient rehabilitation"),
            ("team", "Oak ward"),
            ("started_on", started),
            ("closed_on", ""),
            ("stage_reached", "aims"),
        ]
    };
    let response = lead.post_form(&base, &form("2026-13-01")).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("Enter a real date, for example 27 3 2026"),
        "{page}"
    );
    assert!(page.contains("There is a problem") && page.contains("href=\"#started_on\""));
    assert!(
        page.contains("value=\"Ward rounds with carers\""),
        "input kept"
    );
    assert!(page.contains("value=\"aims\" checked"));
    let response = lead.post_form(&base, &form("2026-09-01")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let stages_url = location(&response);
    assert!(stages_url.ends_with("/stages"), "{stages_url}");

    let (status, page) = lead.get_text(&stages_url).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(
        "<legend class=\"nhsuk-fieldset__legend\"><h2 class=\"legend__heading\">2. Setting aims</h2></legend>"
    ));
    let response = lead
        .post_form(
            &stages_url,
            &[
                ("aims-reached_on", "2026-08-30"),
                ("aims-involvement_level", "co_produced"),
                ("aims-suc_core_members", "2"),
                ("aims-decisions_influenced", "Visiting times"),
                ("testing-feedback_given", "We wrote to them"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(page
        .contains("This stage cannot be reached before the project started on 1 September 2026"));
    assert!(page.contains("href=\"#testing-reached_on\""));
    assert!(page.contains(">Visiting times</textarea>"), "input kept");
    let response = lead
        .post_form(
            &stages_url,
            &[
                ("aims-reached_on", "2026-09-02"),
                ("aims-involvement_level", "co_produced"),
                ("aims-suc_core_members", "2"),
                ("aims-decisions_influenced", "Visiting times"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    let (_, page) = lead.get_text(&base).await;
    assert!(page.contains("It meets the rule for meaningful involvement."));
    for part in [
        "<svg",
        "role=\"img\"",
        "Target 80%",
        "<figcaption",
        "<caption class=\"nhsuk-table__caption\" id=\"tracker-run-chart-caption\">",
        "<th class=\"nhsuk-table__header\" scope=\"row\">September 2026</th>",
        "<th class=\"nhsuk-table__header\" scope=\"row\">Ward rounds with carers</th>",
        "Co-produced",
        "<strong>Yes</strong>",
    ] {
        assert!(page.contains(part), "{part} in {page}");
    }
    let (_, page) = lead.get_text(&format!("{base}?service=Addictions")).await;
    assert!(page.contains("No projects for this service yet"));

    let (status, page) = lead.get_text(&format!("{base}/rule")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("value=\"80\""));
    let rule = |target: &'static str| {
        vec![
            ("meaningful_from", "aims"),
            ("min_core_members", "1"),
            ("min_influences", "1"),
            ("min_level", ""),
            ("target_percent", target),
        ]
    };
    let response = lead.post_form(&format!("{base}/rule"), &rule("120")).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(page.contains("Enter a number up to 100") && page.contains("value=\"120\""));
    let response = lead.post_form(&format!("{base}/rule"), &rule("90")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, page) = lead.get_text(&base).await;
    assert!(page.contains("the target is 90%") && page.contains("Target 90%"));

    assert_eq!(
        team.interviewer.visitor.get(&base).await.status(),
        StatusCode::FORBIDDEN
    );
}
