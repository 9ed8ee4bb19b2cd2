//! Personal data: who sees a participant's identity, and that every look is audited, over HTTP.

use reqwest::{Method, StatusCode};
use serde_json::json;
use voices::audit::AuditEvent;

use crate::distribution::{add_participant, create_campaign, published_study};
use crate::helpers::{Caller, TestApp, PASSWORD};
use crate::on_both_databases;

on_both_databases!(
    previews_show_names_only_to_leads_and_the_look_is_audited,
    erased_identities_leave_no_trace_and_api_answers_are_not_kept,
    every_look_at_personal_data_is_audited,
);

crate::on_both_backends!(
    identities_reach_only_leads_and_their_own_interviewers_on_every_route,
    an_open_link_makes_a_participant_only_on_consent_and_limits_joins,
    a_subject_access_request_gets_everything_held,
    erasure_on_request_removes_everything_but_the_consent_facts,
    subject_access_holds_interview_notes_and_the_codes_given_to_them,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_files_are_readable_by_the_service_alone() {
    use std::os::unix::fs::PermissionsExt;
    let app = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite).await;
    app.create_user("ann@example.org", voices::identity::Role::Member)
        .await;
    app.post_form("/forgot-password", &[("email", "ann@example.org")])
        .await;
    app.wait_for_email("ann@example.org").await;
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let dir = app.data_dir.path();
    assert_eq!(mode(dir), 0o700, "the data folder");
    for file in ["voices.db", "voices.db-wal", "voices.db-shm"] {
        assert_eq!(mode(&dir.join(file)), 0o600, "{file}");
    }
    assert_eq!(mode(&dir.join("outbox")), 0o700, "the outbox folder");
    let emails: Vec<_> = std::fs::read_dir(dir.join("outbox"))
        .unwrap()
        .flatten()
        .collect();
    assert!(!emails.is_empty());
    for email in emails {
        assert_eq!(mode(&email.path()), 0o600, "{:?}", email.path());
    }
}

async fn audit(app: &TestApp) -> Vec<AuditEvent> {
    app.db
        .read(|conn| voices::audit::recent(conn, 200, 0).map_err(voices::error::AppError::from))
        .await
        .unwrap()
}

async fn previews_show_names_only_to_leads_and_the_look_is_audited(app: TestApp) {
    let (study, _, version) = published_study(&app).await;
    let lead = Caller::new(&app, "lead@example.org").await;
    let designer = Caller::new(&app, "designer@example.org").await;
    let (_, code) = add_participant(
        &lead,
        study,
        json!({ "name": "Zelda Quintrell", "email": "zelda@example.org", "group": "staff" }),
    )
    .await;
    let campaign = create_campaign(&lead, study, version).await;

    // A co-designer writes the emails with the lead, but every preview is the made-up sample person,
    // whatever code they ask for: stepping through codes gives no names.
    let api = format!("/api/v1/studies/{study}/campaigns/{campaign}/preview?participant={code}");
    let (status, preview) = designer.call(Method::GET, &api, None).await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(preview["participant_code"], "P-0000");
    assert!(preview["invitation"]["text"]
        .as_str()
        .unwrap()
        .starts_with("Hello Alex Sample,"));
    assert!(!preview.to_string().contains("Zelda"));
    let designer_page = app.new_visitor();
    designer_page
        .sign_in("designer@example.org", PASSWORD)
        .await;
    let (status, html) = designer_page
        .get_text(&format!(
            "/studies/{study}/campaigns/{campaign}/preview?participant={code}"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Alex Sample") && !html.contains("Zelda") && !html.contains("Quintrell"));
    assert!(
        !audit(&app)
            .await
            .iter()
            .any(|e| e.action == "identity_viewed"),
        "nobody has seen a name yet"
    );

    // The lead previews the real person, and that look is recorded: who, which study, which code,
    // never the name.
    let (status, preview) = lead.call(Method::GET, &api, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(preview["invitation"]["text"]
        .as_str()
        .unwrap()
        .starts_with("Hello Zelda Quintrell,"));
    let looks: Vec<AuditEvent> = audit(&app)
        .await
        .into_iter()
        .filter(|e| e.action == "identity_viewed")
        .collect();
    assert_eq!(looks.len(), 1);
    let look = &looks[0];
    assert_eq!(look.object_type, "study");
    assert_eq!(look.object_id.as_deref(), Some(&*study.to_string()));
    assert!(look.actor_user_id.is_some() && look.ip_address.is_some());
    let details: serde_json::Value = serde_json::from_str(&look.details).unwrap();
    assert_eq!(details["participants"], json!([code]));
    assert!(!look.details.contains("Zelda"));
}

async fn erased_identities_leave_no_trace_and_api_answers_are_not_kept(app: TestApp) {
    let (study, _, version) = published_study(&app).await;
    let lead = Caller::new(&app, "lead@example.org").await;
    let (participant, _) = add_participant(
        &lead,
        study,
        json!({ "name": "Quentin Blackwood-Erasure", "email": "quentin.erasure@example.org",
                "phone": "07700 900123", "group": "carer" }),
    )
    .await;
    let one = format!("/api/v1/studies/{study}/participants/{participant}");
    let response = app
        .client
        .get(app.url(&one))
        .bearer_auth(lead_token(&app).await)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let missing = app
        .client
        .get(app.url("/api/v1/studies/999999"))
        .bearer_auth(lead_token(&app).await)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(missing.headers()["cache-control"], "no-store", "errors too");

    // They were emailed: once erased, the sent email keeps when it went, not where or what it said.
    let campaign = create_campaign(&lead, study, version).await;
    let (status, _) = lead
        .call(
            Method::POST,
            &format!("/api/v1/studies/{study}/campaigns/{campaign}/launch"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    app.wake_outbox();
    app.wait_for_email("quentin.erasure@example.org").await;

    let (status, erased) = lead
        .call(Method::POST, &format!("{one}/erase-identity"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{erased}");
    if app.backend == crate::helpers::Backend::Sqlite {
        let file = std::fs::read(app.data_dir.path().join("voices.db")).unwrap();
        let wal = std::fs::read(app.data_dir.path().join("voices.db-wal")).unwrap_or_default();
        for trace in [
            "Blackwood-Erasure",
            "quentin.erasure@example.org",
            "07700 900123",
        ] {
            for (name, bytes) in [("voices.db", &file), ("voices.db-wal", &wal)] {
                assert!(
                    !bytes.windows(trace.len()).any(|w| w == trace.as_bytes()),
                    "{trace} is still in {name}"
                );
            }
        }
    }
}

async fn lead_token(app: &TestApp) -> String {
    let user = app
        .db
        .read(|conn| {
            use diesel::prelude::*;
            use voices::db::schema::users;
            users::table
                .filter(users::email.eq("lead@example.org"))
                .select(users::id)
                .first::<i64>(conn)
                .map_err(voices::error::AppError::from)
        })
        .await
        .unwrap();
    voices::accounts::actions::create_api_token(
        &app.db,
        &voices::audit::Origin::command_line(),
        user,
        "privacy",
    )
    .await
    .unwrap()
    .1
}

async fn every_look_at_personal_data_is_audited(app: TestApp) {
    let (study, questionnaire, version) = published_study(&app).await;
    let lead = Caller::new(&app, "lead@example.org").await;
    let (participant, code) = add_participant(
        &lead,
        study,
        json!({ "name": "Yara Looked-At", "email": "yara@example.org", "group": "staff" }),
    )
    .await;
    let campaign = create_campaign(&lead, study, version).await;
    let page = app.new_visitor();
    page.sign_in("lead@example.org", PASSWORD).await;
    for path in [
        format!("/studies/{study}/participants/{participant}"),
        format!("/studies/{study}/participants.csv"),
        format!("/studies/{study}/campaigns/{campaign}/tracking.csv"),
        format!("/studies/{study}/participants/{participant}/timeline"),
        format!("/studies/{study}/report"),
    ] {
        assert_eq!(page.get(&path).await.status(), StatusCode::OK, "{path}");
    }
    for path in [
        format!("/api/v1/studies/{study}/participants/{participant}"),
        format!("/api/v1/studies/{study}/responses"),
        format!("/api/v1/studies/{study}/consent-records"),
        format!("/api/v1/studies/{study}/participants/{participant}/timeline"),
        format!("/api/v1/studies/{study}/report"),
        format!("/api/v1/studies/{study}/questionnaires/{questionnaire}/export"),
    ] {
        let (status, body) = lead.call(Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
    app.create_user("admin@example.org", voices::identity::Role::Admin)
        .await;
    let admin = Caller::new(&app, "admin@example.org").await;
    for path in ["/api/v1/audit-events", "/api/v1/admin/outbox"] {
        assert_eq!(admin.call(Method::GET, path, None).await.0, StatusCode::OK);
    }
    // Tries with addresses that have no account are recorded too, without the address.
    let stranger = app.new_visitor();
    stranger.sign_in("nobody-here@example.org", "guess").await;
    stranger
        .post_form("/forgot-password", &[("email", "nobody-here@example.org")])
        .await;

    let events = audit(&app).await;
    let study_id = study.to_string();
    let about_study = |action: &str| -> Vec<&AuditEvent> {
        events
            .iter()
            .filter(|e| e.action == action && e.object_id.as_deref() == Some(&*study_id))
            .collect()
    };
    let seen = about_study("identity_viewed");
    assert_eq!(seen.len(), 2, "the participant page and the API");
    for event in &seen {
        assert!(event.actor_user_id.is_some() && event.ip_address.is_some());
        assert!(event.details.contains(&code) && !event.details.contains("Yara"));
    }
    for action in [
        "export.participants",
        "export.tracking",
        "export.questionnaire",
        "responses_viewed",
        "consent_records_viewed",
        "report_viewed",
    ] {
        assert!(!about_study(action).is_empty(), "{action} is audited");
    }
    let timelines = about_study("timeline_viewed");
    assert_eq!(timelines.len(), 2);
    assert!(timelines.iter().all(|e| e.details.contains(&code)));
    for action in ["audit_log_viewed", "outbox_viewed"] {
        assert!(
            events
                .iter()
                .any(|e| e.action == action && e.actor_user_id.is_some()),
            "{action} is audited"
        );
    }
    for action in ["sign_in_failed", "password_reset_requested"] {
        let unknown: Vec<_> = events
            .iter()
            .filter(|e| e.action == action && e.object_id.is_none())
            .collect();
        assert_eq!(unknown.len(), 1, "{action} for an unknown address");
        assert!(!unknown[0].details.contains("nobody-here"));
    }
    assert!(
        !events
            .iter()
            .any(|e| e.details.contains("Yara") || e.details.contains("yara@")),
        "no personal data in the audit log"
    );
}

async fn an_open_link_makes_a_participant_only_on_consent_and_limits_joins(
    backend: crate::helpers::Backend,
) {
    let Some(app) = crate::helpers::spawn_on(backend, |s| s.links.joins_per_ip = 3).await else {
        return;
    };
    let (study, questionnaire, _) = crate::responses::sample_study(&app).await;
    let lead = Caller::new(&app, "lead@example.org").await;
    let closes = chrono::Utc::now().date_naive() + chrono::Duration::days(10);
    let (status, open) = lead
        .call(
            Method::POST,
            &format!("/api/v1/studies/{study}/questionnaires/{questionnaire}/open-links"),
            Some(json!({ "group": "staff", "closes_on": closes.to_string() })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{open}");
    let link = open["link"].as_str().unwrap().replace(&app.url(""), "");
    let count = |app: &TestApp| {
        let db = app.db.clone();
        async move {
            db.read(|conn| {
                use diesel::prelude::*;
                voices::db::schema::participants::table
                    .count()
                    .get_result::<i64>(conn)
                    .map_err(voices::error::AppError::from)
            })
            .await
            .unwrap()
        }
    };
    let before = count(&app).await;

    // Pressing Start makes nobody: forty presses from one address, forty links, no participants.
    let mut held = Vec::new();
    for _ in 0..40 {
        let visitor = app.new_visitor();
        let joined = visitor.post_form(&link, &[]).await;
        assert_eq!(joined.status(), StatusCode::SEE_OTHER);
        let home = crate::helpers::location(&joined);
        assert!(home.starts_with("/p/"), "{home}");
        held.push((visitor, home));
    }
    assert_eq!(
        count(&app).await,
        before,
        "nobody is made before consenting"
    );
    let (status, sheet) = held[0].0.get_text(&held[0].1).await;
    assert_eq!(status, StatusCode::OK);
    assert!(sheet.contains("nothing is kept until you agree"), "{sheet}");

    // Declining keeps nothing at all; a made-up or altered link is not recognised.
    let (decliner, home) = &held[0];
    let declined = decliner
        .post_form(&format!("{home}/consent"), &[("decision", "decline")])
        .await;
    assert_eq!(declined.status(), StatusCode::OK);
    assert!(declined
        .text()
        .await
        .unwrap()
        .contains("We have not kept anything"));
    assert_eq!(count(&app).await, before);
    let forged = home.replacen("join-", "join-9", 1);
    let (status, _) = decliner.get_text(&forged).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Consenting admits them, once even for two presses at once; the link they hold stays theirs.
    let (ann, ann_home) = &held[1];
    let (first, second) = tokio::join!(
        crate::responses::agree_to_everything(ann, ann_home),
        crate::responses::agree_to_everything(ann, ann_home)
    );
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    assert_eq!(second.status(), StatusCode::SEE_OTHER);
    assert_eq!(count(&app).await, before + 1);
    let (status, _) = ann.get_text(&format!("{ann_home}/page/1")).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "answering goes on under the same link"
    );

    // Each consent through the open link counts against the address: the fourth waits, makes nobody.
    for (visitor, home) in &held[2..4] {
        let agreed = crate::responses::agree_to_everything(visitor, home).await;
        assert_eq!(agreed.status(), StatusCode::SEE_OTHER);
    }
    let (visitor, home) = &held[4];
    let flood = crate::responses::agree_to_everything(visitor, home).await;
    assert_eq!(flood.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(flood.text().await.unwrap().contains("Please wait"));
    assert_eq!(
        count(&app).await,
        before + 3,
        "the refused join made nobody"
    );
}

async fn a_subject_access_request_gets_everything_held(backend: crate::helpers::Backend) {
    let Some(app) = crate::helpers::spawn_on(backend, |_| {}).await else {
        return;
    };
    let (study, questionnaire, _) = crate::responses::sample_study(&app).await;
    let person = crate::responses::Participant::join(&app, study, questionnaire, "staff").await;
    person.consent().await;
    crate::responses::answer_everything(&person).await;
    let participant: (i64, String) = app
        .db
        .read(|conn| {
            use diesel::prelude::*;
            use voices::db::schema::participants;
            participants::table
                .filter(participants::source.eq("open_link"))
                .select((participants::id, participants::code))
                .first(conn)
                .map_err(voices::error::AppError::from)
        })
        .await
        .unwrap();
    let (id, code) = participant;
    let lead = Caller::new(&app, "lead@example.org").await;
    let api = format!("/api/v1/studies/{study}/participants/{id}/subject-access");
    let (status, record) = lead.call(Method::GET, &api, None).await;
    assert_eq!(status, StatusCode::OK, "{record}");
    assert_eq!(record["participant"]["code"], code.as_str());
    let consent = &record["consent"][0];
    assert_eq!(consent["decision"], "consented");
    assert!(consent["statements"][0]["text"]
        .as_str()
        .is_some_and(|t| !t.is_empty()));
    let answers = record["answers"].as_array().unwrap();
    assert!(answers.iter().any(|a| a["value"] == "No"
        && a["question"]
            .as_str()
            .is_some_and(|q| q.contains("improvement project"))));
    assert!(!record["timeline"].as_array().unwrap().is_empty());
    assert!(record["kept_after_erasure"]
        .as_str()
        .unwrap()
        .contains("consent"));

    // An analyst reads answers under codes but is not given the person's whole record.
    let analyst = Caller::new(&app, "analyst@example.org").await;
    assert_eq!(
        analyst.call(Method::GET, &api, None).await.0,
        StatusCode::FORBIDDEN
    );

    // The page to print and the file to download; both looks are audited.
    let page = app.new_visitor();
    page.sign_in("lead@example.org", PASSWORD).await;
    let (status, html) = page
        .get_text(&format!(
            "/studies/{study}/participants/{id}/subject-access"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!("Everything we hold about {code}")) && html.contains("agreed"));
    let file = page
        .get(&format!(
            "/studies/{study}/participants/{id}/subject-access.json"
        ))
        .await;
    assert_eq!(file.status(), StatusCode::OK);
    assert!(file.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains(&format!("{code}-subject-access.json")));
    let looks = audit(&app)
        .await
        .into_iter()
        .filter(|e| e.action == "subject_access_viewed" && e.details.contains(&code))
        .count();
    assert_eq!(looks, 3);
}

/// Someone invited by email, who answered online and whose words were coded, asks a lead who finds
/// them by name to erase everything: afterwards only their code, group and consent decisions remain,
/// and (SQLite) neither their name nor their answers can be read in the database file.
async fn erasure_on_request_removes_everything_but_the_consent_facts(
    backend: crate::helpers::Backend,
) {
    let Some(app) = crate::helpers::spawn_on(backend, |_| {}).await else {
        return;
    };
    let (study, _, version) = crate::responses::sample_study(&app).await;
    let lead = Caller::new(&app, "lead@example.org").await;
    let (odessa, _) = crate::responses::invited(
        &app,
        study,
        version,
        json!({ "name": "Odessa Fairweather-Erase", "email": "odessa.erase@example.org",
                "phone": "07700 900456", "group": "staff" }),
    )
    .await;
    let (participant, code): (i64, String) = app
        .db
        .read(|conn| {
            use diesel::prelude::*;
            use voices::db::schema::participants;
            participants::table
                .filter(participants::source.eq("roster"))
                .select((participants::id, participants::code))
                .first(conn)
                .map_err(voices::error::AppError::from)
        })
        .await
        .unwrap();
    odessa.consent().await;
    let (_, first) = odessa.get("/page/1").await;
    let before_field =
        crate::responses::field_of(&first, "Have you taken part in an improvement project");
    odessa
        .post("/page/1", &[(&before_field, "No"), ("go", "next")])
        .await;
    let (_, second) = odessa.get("/page/2").await;
    let know = crate::responses::field_of(&second, "What do you know about involving");
    odessa
        .post(
            "/page/2",
            &[(&know, "Ravenstone words to erase"), ("go", "next")],
        )
        .await;
    crate::responses::answer_everything(&odessa).await;

    // The lead finds them by part of their name; the search is audited without what was typed.
    let (status, found) = lead
        .call(
            Method::GET,
            &format!("/api/v1/studies/{study}/subject-access/search?q=fairweather"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found[0]["code"], code.as_str(), "{found}");
    let (status, short) = lead
        .call(
            Method::GET,
            &format!("/api/v1/studies/{study}/subject-access/search?q=fa"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{short}");
    let searches: Vec<AuditEvent> = audit(&app)
        .await
        .into_iter()
        .filter(|e| e.action == "identity_searched")
        .collect();
    assert_eq!(searches.len(), 1);
    assert!(searches[0].details.contains(&code) && !searches[0].details.contains("fairweather"));
    let page = app.new_visitor();
    page.sign_in("lead@example.org", PASSWORD).await;
    let (status, html) = page
        .get_text(&format!("/studies/{study}/subject-access?q=odessa.erase"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("1 person found") && html.contains(&code),
        "{html}"
    );

    let held = format!("/api/v1/studies/{study}/participants/{participant}/subject-access");
    let (_, before) = lead.call(Method::GET, &held, None).await;
    assert!(!before["answers"].as_array().unwrap().is_empty());

    // An analyst cannot erase; the lead can, and a second time changes nothing.
    let erase = format!("/api/v1/studies/{study}/participants/{participant}/erase-everything");
    let analyst = Caller::new(&app, "analyst@example.org").await;
    assert_eq!(
        analyst.call(Method::POST, &erase, None).await.0,
        StatusCode::FORBIDDEN
    );
    let (status, erased) = lead.call(Method::POST, &erase, None).await;
    assert_eq!(status, StatusCode::OK, "{erased}");
    assert_eq!(erased["responses"], 1, "{erased}");
    assert!(erased["emails"].as_u64().unwrap() >= 1, "{erased}");
    let (_, again) = lead.call(Method::POST, &erase, None).await;
    assert_eq!(again["responses"], 0);

    let (status, after) = lead.call(Method::GET, &held, None).await;
    assert_eq!(status, StatusCode::OK, "{after}");
    assert!(after["participant"]["identity"].is_null(), "{after}");
    assert!(
        after["participant"]["record_erased_at"].is_string(),
        "{after}"
    );
    assert_eq!(after["answers"], json!([]));
    assert_eq!(after["codings"], json!([]));
    let consent = after["consent"].as_array().unwrap();
    assert_eq!(consent.len(), 1, "the consent decision is kept: {after}");
    let text = after.to_string();
    for trace in ["Fairweather", "odessa.erase@example.org", "07700 900456"] {
        assert!(!text.contains(trace), "{trace} in {text}");
    }
    let events = audit(&app).await;
    let erasure = events
        .iter()
        .find(|e| e.action == "participant_record_erased")
        .expect("the erasure is audited");
    assert!(erasure.details.contains(&code) && !erasure.details.contains("Fairweather"));

    if backend == crate::helpers::Backend::Sqlite {
        let file = std::fs::read(app.data_dir.path().join("voices.db")).unwrap();
        let wal = std::fs::read(app.data_dir.path().join("voices.db-wal")).unwrap_or_default();
        for trace in [
            "Fairweather-Erase",
            "odessa.erase@example.org",
            "Ravenstone words",
        ] {
            for (name, bytes) in [("voices.db", &file), ("voices.db-wal", &wal)] {
                assert!(
                    !bytes.windows(trace.len()).any(|w| w == trace.as_bytes()),
                    "{trace} is still in {name}"
                );
            }
        }
    }
}

/// The identity rule as a matrix: every GET page, API route and export in the security matrices, as
/// every study role, with real ids, searched for two seeded people's names, email addresses and phone
/// numbers. Only leads may meet them, and an interviewer only their own interviewee.
async fn identities_reach_only_leads_and_their_own_interviewers_on_every_route(
    backend: crate::helpers::Backend,
) {
    use crate::security::{Needs, API, PAGES, STUDY_ROUTES};
    let Some(app) = crate::helpers::spawn_on(backend, |_| {}).await else {
        return;
    };
    let team = crate::interviews::Team::new(&app).await;
    let people = [
        (
            "Rhiannon Quillfeather",
            "rhiannon.quill@example.org",
            "07700 900771",
        ),
        (
            "Barnaby Thistlewood",
            "barnaby.thistle@example.org",
            "07700 900772",
        ),
    ];
    let mut codes = Vec::new();
    for (name, email, phone) in people {
        codes.push(
            team.roster(json!({ "name": name, "email": email, "phone": phone, "group": "staff" }))
                .await,
        );
    }
    let rhiannon_interview = team
        .assign(team.assignment(&codes[0], team.ivy_id, None))
        .await;
    team.assign(team.assignment(&codes[1], team.nat_id, None))
        .await;
    let campaign = create_campaign(&team.lead, team.study, team.version).await;
    let study = team.study;
    let (participant, questionnaire): (i64, i64) = app
        .db
        .read(move |conn| {
            use diesel::prelude::*;
            use voices::db::schema::{participants, questionnaires};
            let participant = participants::table
                .filter(participants::study_id.eq(study))
                .order(participants::id)
                .select(participants::id)
                .first(conn)?;
            let questionnaire = questionnaires::table
                .filter(questionnaires::study_id.eq(study))
                .select(questionnaires::id)
                .first(conn)?;
            Ok::<_, voices::error::AppError>((participant, questionnaire))
        })
        .await
        .unwrap();
    let concrete = |template: &str| -> String {
        let mut path = template.to_string();
        for (names, value) in [
            (&["{id}"][..], study),
            (&["{pid}", "{participant_id}"][..], participant),
            (&["{q}", "{questionnaire_id}"][..], questionnaire),
            (&["{interview_id}", "{iid}"][..], rhiannon_interview),
            (&["{cid}", "{campaign_id}"][..], campaign),
        ] {
            for name in names {
                path = path.replace(name, &value.to_string());
            }
        }
        crate::security::concrete(&path)
    };
    let mut routes: Vec<String> = PAGES
        .iter()
        .chain(API.iter())
        .filter(|(method, _, needs)| *method == "GET" && *needs != Needs::Anyone)
        .map(|(_, path, _)| concrete(path))
        .chain(
            STUDY_ROUTES
                .iter()
                .filter(|(method, ..)| *method == "GET")
                .map(|(_, path, ..)| concrete(path)),
        )
        .collect();
    // Previews asked for a real participant by code, the way the tester found names.
    for code in &codes {
        routes.push(format!(
            "/api/v1/studies/{study}/campaigns/{campaign}/preview?participant={code}"
        ));
        routes.push(format!(
            "/studies/{study}/campaigns/{campaign}/preview?participant={code}"
        ));
    }
    routes.sort();
    routes.dedup();
    assert!(routes.len() > 150, "every GET route: {}", routes.len());

    // Who may meet whom: (email, may see Rhiannon, may see Barnaby).
    let roles = [
        ("lead@example.org", true, true),
        ("ivy@example.org", true, false),
        ("nat@example.org", false, true),
        ("otto@example.org", false, false),
        ("analyst@example.org", false, false),
        ("co-designer@example.org", false, false),
        ("outsider@example.org", false, false),
    ];
    let mut leaks = Vec::new();
    let mut seen_by = std::collections::BTreeSet::new();
    for (email, may_rhiannon, may_barnaby) in roles {
        let caller = Caller::new(&app, email).await;
        let visitor = app.new_visitor();
        visitor.sign_in(email, PASSWORD).await;
        for route in &routes {
            let (status, body) = if route.starts_with("/api/") {
                caller.get_text(route).await
            } else {
                visitor.get_text(route).await
            };
            for (person, may) in [(&people[0], may_rhiannon), (&people[1], may_barnaby)] {
                let (name, address, phone) = person;
                let shown = [*name, *address, *phone]
                    .iter()
                    .any(|trace| body.contains(trace));
                if shown {
                    seen_by.insert((email, *name));
                    if !may {
                        leaks.push(format!("{email} sees {name} at {route} ({status})"));
                    }
                }
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "identities shown to the wrong people:\n{}",
        leaks.join("\n")
    );
    // The search finds what it looks for: each allowed look happens somewhere.
    for expected in [
        ("lead@example.org", people[0].0),
        ("lead@example.org", people[1].0),
        ("ivy@example.org", people[0].0),
        ("nat@example.org", people[1].0),
    ] {
        assert!(
            seen_by.contains(&expected),
            "{expected:?} never met: {seen_by:?}"
        );
    }
}

/// Someone interviewed whose words were coded: their copy holds the interviewer's notes under the
/// question as worded, and each code given to a passage of them with the passage itself.
async fn subject_access_holds_interview_notes_and_the_codes_given_to_them(
    backend: crate::helpers::Backend,
) {
    let Some(app) = crate::helpers::spawn_on(backend, |_| {}).await else {
        return;
    };
    let fixture = crate::interviewed::coded_three(&app).await;
    let code = fixture.people[0].code.clone();
    let study = fixture.team.study;
    let participant: i64 = app
        .db
        .read(move |conn| {
            use diesel::prelude::*;
            use voices::db::schema::participants;
            participants::table
                .filter(participants::study_id.eq(study))
                .filter(participants::code.eq(code))
                .select(participants::id)
                .first(conn)
                .map_err(voices::error::AppError::from)
        })
        .await
        .unwrap();
    let (status, record) = fixture
        .team
        .lead
        .call(
            Method::GET,
            &fixture.api(&format!("/participants/{participant}/subject-access")),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{record}");
    let notes = record["answers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| {
            a["mode"] == "interview"
                && a["question"]
                    .as_str()
                    .is_some_and(|q| q.starts_with("What gets in the way"))
        })
        .unwrap_or_else(|| panic!("the interview notes: {record}"));
    assert!(
        notes["notes"].as_str().unwrap().contains("too early"),
        "{notes}"
    );
    let codings = record["codings"].as_array().unwrap();
    assert!(
        codings.iter().any(|c| c["code"] == "Physical opportunity"
            && c["quote"] == "Papers arrive late."
            && c["valence"] == "barrier"),
        "{codings:?}"
    );
    assert!(
        codings.iter().any(|c| c["quote"] == "too early 🙁"),
        "{codings:?}"
    );
    assert_eq!(record["consent"][0]["decision"], "consented", "{record}");
}
