//! Distribution end to end: a campaign's invitations travel by real SMTP, the link in the email opens
//! the study over HTTP, opt-out (one-click) stops emails, reminders go only to those who have not
//! finished, links can be reissued, open links make anonymous participants, and tracking counts it all.

use std::time::Duration;

use diesel::prelude::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use voices::error::AppError;
use voices::identity::Role;

pub use crate::helpers::Caller;
use crate::helpers::{new_client, spawn_postgres_app, spawn_with, value_after, Backend, TestApp};
use crate::smtp::{Received, Sink};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn campaign_emails_travel_by_smtp_and_are_tracked_sqlite() {
    campaign_emails_travel_by_smtp_and_are_tracked(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn campaign_emails_travel_by_smtp_and_are_tracked_postgres() {
    campaign_emails_travel_by_smtp_and_are_tracked(Backend::Postgres).await;
}

/// An app sending to a fresh SMTP sink, or None when PostgreSQL is asked for and not configured.
async fn app_with_smtp(
    backend: Backend,
    adjust: impl FnOnce(&mut voices::config::Settings),
) -> Option<(TestApp, Sink)> {
    let (url, sink) = Sink::start();
    let settings = move |s: &mut voices::config::Settings| {
        s.smtp_url = url;
        s.mail_from = "Involvement study <study@example.org>".into();
        s.outbox.poll_ms = 100;
        adjust(s);
    };
    let app = match backend {
        Backend::Sqlite => spawn_with(Backend::Sqlite, settings).await,
        Backend::Postgres => spawn_postgres_app(settings).await?,
    };
    Some((app, sink))
}

/// A study (led by lead@example.org) with a co-designer and an analyst, and a published questionnaire
/// with one section and one question. Returns (study, questionnaire, version id).
pub async fn published_study(app: &TestApp) -> (i64, i64, i64) {
    for (email, role) in [
        ("lead@example.org", Role::Member),
        ("designer@example.org", Role::Member),
        ("analyst@example.org", Role::Member),
    ] {
        app.create_user(email, role).await;
    }
    let lead = Caller::new(app, "lead@example.org").await;
    let (status, study) = lead
        .call(
            Method::POST,
            "/api/v1/studies",
            Some(json!({ "title": "Involvement", "summary": "" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{study}");
    let study = study["study"]["id"].as_i64().unwrap();
    for (email, role) in [
        ("designer@example.org", "co_designer"),
        ("analyst@example.org", "analyst"),
    ] {
        let (status, body) = lead
            .call(
                Method::POST,
                &format!("/api/v1/studies/{study}/members"),
                Some(
                    json!({ "email": email, "display_name": "Test Person", role: true, "perspective": "service_user" }),
                ),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        crate::helpers::accept_invitations(app, email).await;
    }
    let (questionnaire, _) = draft_questionnaire(&lead, study).await;
    let base = format!("/api/v1/studies/{study}/questionnaires/{questionnaire}");
    let (status, sheet) = lead
        .call(
            Method::PUT,
            &format!("{base}/information"),
            Some(json!({
                "summary": "We want to hear how you take part in improvement work.",
                "full_text": "", "data_use": "", "withdrawal_days": 14,
                "withdrawal_after": "What you said is kept, anonymised.", "retention": "",
                "contact": "The study team: involvement@example.org",
                "signposting": "Samaritans: 116 123, any time.",
                "consent_statements": [{ "text": "I want to take part", "required": true }]
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{sheet}");
    let version = crate::helpers::publish(&lead, study, questionnaire).await;
    (study, questionnaire, version)
}

/// A draft questionnaire with one section and one open question for everyone, written by the lead
/// through the API. Returns (questionnaire, question).
pub async fn draft_questionnaire(lead: &Caller<'_>, study: i64) -> (i64, i64) {
    let (status, questionnaire) = lead
        .call(
            Method::POST,
            &format!("/api/v1/studies/{study}/questionnaires"),
            Some(json!({ "title": "Your experience of involvement", "description": "" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{questionnaire}");
    let questionnaire = questionnaire["questionnaire"]["id"].as_i64().unwrap();
    let base = format!("/api/v1/studies/{study}/questionnaires/{questionnaire}");
    let (status, section) = lead
        .call(
            Method::POST,
            &format!("{base}/sections"),
            Some(json!({ "title": "Taking part", "introduction": "" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{section}");
    let section = section["sections"][0]["section"]["id"].as_i64().unwrap();
    let (status, question) = lead
        .call(
            Method::POST,
            &format!("/api/v1/studies/{study}/sections/{section}/questions"),
            Some(
                json!({ "kind": "long_text", "text": "What helped you take part?",
                "for_staff": true, "for_service_users": true, "for_carers": true }),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{question}");
    (questionnaire, question["id"].as_i64().unwrap())
}

pub async fn add_participant(lead: &Caller<'_>, study: i64, body: Value) -> (i64, String) {
    let (status, added) = lead
        .call(
            Method::POST,
            &format!("/api/v1/studies/{study}/participants"),
            Some(body),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    (
        added["id"].as_i64().unwrap(),
        added["code"].as_str().unwrap().to_string(),
    )
}

/// A draft campaign to staff and carers, made by the lead through the API.
pub async fn create_campaign(lead: &Caller<'_>, study: i64, version: i64) -> i64 {
    let (status, campaign) = lead
        .call(
            Method::POST,
            &format!("/api/v1/studies/{study}/campaigns"),
            Some(campaign_body(version)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{campaign}");
    campaign["id"].as_i64().unwrap()
}

pub fn campaign_body(version: i64) -> Value {
    json!({
        "name": "Spring survey",
        "version_id": version,
        "filter": { "groups": ["staff", "carer"] },
        "invitation_subject": "Your views on {{ study }}",
        "invitation_body": "Hello {{ name }},\n\nPlease tell us what you think: {{ link }}\n\nIt closes on {{ closing_date }}. Questions: {{ contact }}",
        "reminder_subject": "Reminder: {{ study }}",
        "reminder_body": "Hello {{ name }}, there is still time: {{ link }}",
        "reminder_days": [7, 14],
        "contact": "Sam, 01234 567890",
        "closes_on": (chrono::Utc::now().date_naive() + chrono::Duration::days(30)).to_string(),
    })
}

/// The decoded text part of an email (quoted-printable undone).
fn text_part(received: &Received) -> String {
    let raw = received.message.replace("=\r\n", "");
    let start = raw.find("Content-Type: text/plain").expect("a text part");
    let body_start = raw[start..].find("\r\n\r\n").unwrap() + start + 4;
    let end = raw[body_start..].find("\r\n--").unwrap() + body_start;
    let mut decoded = raw[body_start..end].replace("=3D", "=");
    // Quoted-printable for the rare non-ASCII characters of these texts.
    decoded = decoded.replace("=E2=80=99", "’");
    decoded
}

fn path_after(text: &str, marker: &str) -> String {
    format!(
        "{marker}{}",
        value_after(text, marker).unwrap_or_else(|| panic!("{marker} in {text}"))
    )
}

async fn campaign_emails_travel_by_smtp_and_are_tracked(backend: Backend) {
    let Some((app, sink)) = app_with_smtp(backend, |_| {}).await else {
        return;
    };
    let (study, _, version) = published_study(&app).await;
    let lead = Caller::new(&app, "lead@example.org").await;
    let (alex, alex_code) = add_participant(
        &lead,
        study,
        json!({ "name": "Alex Smith", "email": "alex@example.org", "group": "staff" }),
    )
    .await;
    add_participant(
        &lead,
        study,
        json!({ "name": "Bo", "email": "bo@example.org", "group": "carer" }),
    )
    .await;
    // Not in the filter's groups, and one without an email address: neither is invited.
    add_participant(
        &lead,
        study,
        json!({ "name": "Cy", "email": "cy@example.org", "group": "service_user" }),
    )
    .await;
    add_participant(&lead, study, json!({ "name": "Di", "group": "staff" })).await;

    // A template mistake is found when saving, beside the field, never at send time.
    let mut bad = campaign_body(version);
    bad["invitation_body"] = json!("Hi {{ nmae }}: {{ link }}");
    bad["reminder_body"] = json!("Hi {{ get_env(name=\"VOICES_SECRET_KEY\") }}");
    let (status, body) = lead
        .call(
            Method::POST,
            &format!("/api/v1/studies/{study}/campaigns"),
            Some(bad),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["error"]["fields"]["invitation_body"]
        .as_str()
        .unwrap()
        .contains("{{ nmae }} is not a placeholder"));
    assert!(
        body["error"]["fields"]["reminder_body"].is_string(),
        "{body}"
    );

    let campaign = create_campaign(&lead, study, version).await;
    let base = format!("/api/v1/studies/{study}/campaigns/{campaign}");

    let (status, preview) = lead
        .call(
            Method::GET,
            &format!("{base}/preview?participant={alex_code}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert!(preview["invitation"]["text"]
        .as_str()
        .unwrap()
        .starts_with("Hello Alex Smith,"));
    assert!(preview["invitation"]["html"]
        .as_str()
        .unwrap()
        .contains("<a href="));
    assert!(
        preview["plain_language"]["analysis"]["reading_age"].is_number(),
        "{preview}"
    );

    let (status, launched) = lead
        .call(Method::POST, &format!("{base}/launch"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{launched}");
    assert_eq!(launched["invited"], 2);
    // The first two are the study invitations the lead sent the co-designer and the analyst.
    let received = sink.wait_for(4, Duration::from_secs(20)).await;
    assert_eq!(received.len(), 4);
    let to_alex = received
        .iter()
        .find(|r| r.to == ["alex@example.org"])
        .expect("Alex's invitation");
    assert_eq!(
        to_alex.header("Subject").unwrap(),
        "Your views on Involvement"
    );
    assert!(to_alex
        .header("Message-ID")
        .unwrap()
        .ends_with("@127.0.0.1>"));
    assert!(
        to_alex.message.contains("Content-Type: text/html"),
        "an HTML part"
    );
    assert_eq!(
        to_alex.header("List-Unsubscribe-Post").unwrap(),
        "List-Unsubscribe=One-Click"
    );
    let unsubscribe = to_alex.header("List-Unsubscribe").unwrap();
    let text = text_part(to_alex);
    assert!(text.starts_with("Hello Alex Smith,"), "{text}");
    assert!(text.contains("Questions: Sam, 01234 567890"));
    let link = path_after(&text, "/p/");
    let opt_out = path_after(&text, "/o/");
    assert!(
        unsubscribe.contains(&opt_out),
        "{unsubscribe} carries {opt_out}"
    );
    assert_eq!(link.len(), "/p/".len() + 43, "a 256-bit token");

    // The secret is not stored anywhere: only its hash.
    let secret = link.trim_start_matches("/p/").to_string();
    let stored = app
        .db
        .read(move |conn| {
            use voices::db::schema::{link_tokens, outbox_messages};
            let hashes: Vec<String> = link_tokens::table
                .select(link_tokens::token_hash)
                .load(conn)?;
            let bodies: Vec<Option<String>> = outbox_messages::table
                .select(outbox_messages::body_text)
                .load(conn)?;
            Ok::<_, AppError>((hashes, bodies))
        })
        .await
        .unwrap();
    assert!(stored.0.contains(&voices::security::hash_token(&secret)));
    assert!(!stored.0.contains(&secret));
    assert!(stored
        .1
        .iter()
        .all(|b| b.as_deref().is_none_or(|b| !b.contains(&secret))));

    // Following the link opens the study's information, over plain HTTP, with no account.
    let participant = app.new_visitor();
    let (status, page) = participant.get_text(&link).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Your experience of involvement"));
    let response = participant.get(&link).await;
    assert_eq!(response.headers()["cache-control"], "no-store");

    // Tracking: two sent, one opened; the analyst sees counts only, and once the study gives analysts
    // the shared view, small ones hidden.
    let (_, tracking) = lead
        .call(Method::GET, &format!("{base}/tracking"), None)
        .await;
    let column = |name: &str| {
        let columns = tracking["summary"]["columns"].as_array().unwrap();
        let i = columns.iter().position(|c| c == name).unwrap();
        tracking["summary"]["overall"]["counts"][i]["count"].clone()
    };
    assert_eq!(column("sent"), 2);
    assert_eq!(column("opened"), 1);
    assert_eq!(tracking["recipients"].as_array().unwrap().len(), 2);
    let analyst = Caller::new(&app, "analyst@example.org").await;
    let (_, exact) = analyst
        .call(Method::GET, &format!("{base}/tracking"), None)
        .await;
    assert_eq!(exact["recipients"].as_array().unwrap().len(), 0);
    assert_eq!(exact["summary"]["overall"]["total"]["count"], 2);
    let (status, body) = lead
        .call(
            Method::PUT,
            &format!("/api/v1/studies/{study}"),
            Some(json!({ "title": "Involvement", "analysts_see_participants": false })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, shared) = analyst
        .call(Method::GET, &format!("{base}/tracking"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(shared["recipients"].as_array().unwrap().len(), 0);
    assert_eq!(shared["summary"]["overall"]["total"]["suppressed"], true);

    // One-click unsubscribe as a mail program does it: a POST with no cookies and no CSRF token.
    let response = new_client()
        .post(app.url(&opt_out))
        .form(&[("List-Unsubscribe", "One-Click")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("You will not get more emails"));
    let (_, timeline) = lead
        .call(
            Method::GET,
            &format!("/api/v1/studies/{study}/participants/{alex}/timeline"),
            None,
        )
        .await;
    let events: Vec<&str> = timeline["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["what"].as_str().unwrap())
        .collect();
    assert!(events.contains(&"Invitation email sent"), "{events:?}");
    assert!(events.contains(&"Opened their link"), "{events:?}");
    assert!(
        events.contains(&"Opted out of emails about this study"),
        "{events:?}"
    );

    // The statuses CSV: codes and statuses, never names or addresses.
    let lead_page = app.new_visitor();
    lead_page
        .sign_in("lead@example.org", crate::helpers::PASSWORD)
        .await;
    let (status, csv) = lead_page
        .get_text(&format!(
            "/studies/{study}/campaigns/{campaign}/tracking.csv"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(csv.starts_with("code,group,service_area,system_level,email,status,reminders_sent"));
    assert!(csv.contains(&format!("{alex_code},staff")) && csv.contains("opted_out"));
    assert!(!csv.contains("alex@example.org") && !csv.contains("Alex"));

    // Launching again invites only people added since; Alex, opted out, is never emailed again.
    add_participant(
        &lead,
        study,
        json!({ "name": "Ed", "email": "ed@example.org", "group": "carer" }),
    )
    .await;
    let (_, launched) = lead
        .call(Method::POST, &format!("{base}/launch"), None)
        .await;
    assert_eq!(launched["invited"], 1);
    let received = sink.wait_for(5, Duration::from_secs(20)).await;
    assert_eq!(
        received
            .iter()
            .filter(|r| r.to == ["alex@example.org"])
            .count(),
        1
    );
    assert_eq!(received.last().unwrap().to, ["ed@example.org"]);

    // Reminders are due after 7 days: pretend a week has passed. Alex opted out, so only Bo and Ed.
    let run = voices::distribution::campaigns::actions::run_schedule(
        &app.db,
        voices::db::now() + chrono::Duration::days(8),
        "127.0.0.1".into(),
    )
    .await
    .unwrap();
    assert_eq!(run.reminders_queued, 2);
    let again = voices::distribution::campaigns::actions::run_schedule(
        &app.db,
        voices::db::now() + chrono::Duration::days(8),
        "127.0.0.1".into(),
    )
    .await
    .unwrap();
    assert_eq!(again.reminders_queued, 0, "each reminder is queued once");
    app.wake_outbox();
    let received = sink.wait_for(7, Duration::from_secs(20)).await;
    let reminder = received
        .iter()
        .find(|r| {
            r.to == ["bo@example.org"] && r.header("Subject").unwrap() == "Reminder: Involvement"
        })
        .expect("Bo's reminder");
    let bo_invitation = received
        .iter()
        .find(|r| {
            r.to == ["bo@example.org"] && r.header("Subject").unwrap() != "Reminder: Involvement"
        })
        .unwrap();
    let (first, second) = (
        path_after(&text_part(bo_invitation), "/p/"),
        path_after(&text_part(reminder), "/p/"),
    );
    assert_ne!(first, second, "each email has links of its own");
    assert_eq!(participant.get(&first).await.status(), StatusCode::OK);
    assert_eq!(participant.get(&second).await.status(), StatusCode::OK);
    assert_ne!(reminder.message_id(), bo_invitation.message_id());

    // Closing the campaign: its links stop at once and no more reminders are queued.
    let (status, closed) = lead
        .call(Method::POST, &format!("{base}/close"), None)
        .await;
    assert_eq!(
        (status, closed["status"].as_str()),
        (StatusCode::OK, Some("closed"))
    );
    let (status, page) = participant.get_text(&second).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(page.contains("This study has closed") && page.contains("involvement@example.org"));
    let run = voices::distribution::campaigns::actions::run_schedule(
        &app.db,
        voices::db::now() + chrono::Duration::days(20),
        "127.0.0.1".into(),
    )
    .await
    .unwrap();
    assert_eq!(run.reminders_queued, 0);
}

async fn links_are_calm_reissued_closed_and_rate_limited(app: TestApp) {
    let (study, questionnaire, version) = published_study(&app).await;
    let lead = Caller::new(&app, "lead@example.org").await;
    let (pat, _) = add_participant(
        &lead,
        study,
        json!({ "name": "Pat", "email": "pat@example.org", "group": "staff" }),
    )
    .await;
    let campaign = create_campaign(&lead, study, version).await;
    lead.call(
        Method::POST,
        &format!("/api/v1/studies/{study}/campaigns/{campaign}/launch"),
        None,
    )
    .await;

    // A lead gives Pat a link by hand; then replaces it: the first stops working, calmly.
    let reissue = format!(
        "/api/v1/studies/{study}/participants/{pat}/questionnaires/{questionnaire}/reissue"
    );
    let (status, first) = lead
        .call(Method::POST, &reissue, Some(json!({ "send_email": false })))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let first = first["link"].as_str().unwrap().replace(&app.url(""), "");
    let visitor = app.new_visitor();
    assert_eq!(visitor.get(&first).await.status(), StatusCode::OK);
    let (_, second) = lead
        .call(Method::POST, &reissue, Some(json!({ "send_email": false })))
        .await;
    let second = second["link"].as_str().unwrap().replace(&app.url(""), "");
    let (status, page) = visitor.get_text(&first).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(page.contains("This link has been replaced"));
    assert_eq!(visitor.get(&second).await.status(), StatusCode::OK);

    // After the closing date, the link says the study has closed and who to contact.
    app.db
        .write(move |conn| {
            use voices::db::schema::participations;
            diesel::update(participations::table)
                .set(participations::closes_at.eq(voices::db::now() - chrono::Duration::hours(1)))
                .execute(conn)
                .map_err(AppError::from)
        })
        .await
        .unwrap();
    let (status, page) = visitor.get_text(&second).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(page.contains("This study has closed"));

    // A second campaign to the same people reuses their participation: one each, now open until the
    // new closing date, so Pat's link works again.
    let again = create_campaign(&lead, study, version).await;
    let (_, launched) = lead
        .call(
            Method::POST,
            &format!("/api/v1/studies/{study}/campaigns/{again}/launch"),
            None,
        )
        .await;
    assert_eq!(launched["invited"], 1);
    let participations = app
        .db
        .read(move |conn| {
            use voices::db::schema::participations;
            participations::table
                .filter(participations::participant_id.eq(pat))
                .select(participations::campaign_id)
                .load::<Option<i64>>(conn)
                .map_err(AppError::from)
        })
        .await
        .unwrap();
    assert_eq!(participations, vec![Some(again)]);
    assert_eq!(visitor.get(&second).await.status(), StatusCode::OK);

    // An open link makes an anonymous participant with a link of their own.
    let (status, open) = lead
        .call(
            Method::POST,
            &format!("/api/v1/studies/{study}/questionnaires/{questionnaire}/open-links"),
            Some(json!({ "group": "carer", "closes_on": (chrono::Utc::now().date_naive() + chrono::Duration::days(10)).to_string() })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{open}");
    let open = open["link"].as_str().unwrap().replace(&app.url(""), "");
    let newcomer = app.new_visitor();
    let (status, page) = newcomer.get_text(&open).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("We do not ask for your name"));
    let joined = newcomer.post_form(&open, &[]).await;
    assert_eq!(joined.status(), StatusCode::SEE_OTHER);
    let personal = joined.headers()["location"].to_str().unwrap().to_string();
    assert!(personal.starts_with("/p/"));
    assert_eq!(newcomer.get(&personal).await.status(), StatusCode::OK);
    // They become a participant (a carer, as the link says) when they consent.
    let agreed = crate::responses::agree_to_everything(&newcomer, &personal).await;
    assert_eq!(agreed.status(), StatusCode::SEE_OTHER);
    let (_, roster) = lead
        .call(
            Method::GET,
            &format!("/api/v1/studies/{study}/participants"),
            None,
        )
        .await;
    assert!(roster.to_string().contains("carer"), "{roster}");

    // Unknown links: one calm page, then after too many from one address, a wait.
    let guesser = app.new_visitor();
    let allowed = voices::config::Settings::defaults().links.unknown_per_ip;
    for _ in 0..allowed {
        let (status, page) = guesser.get_text("/p/not-a-real-link").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(page.contains("We do not recognise this link"));
    }
    let (status, page) = guesser.get_text("/o/still-guessing").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(page.contains("Please wait"));
}

async fn only_the_right_roles_reach_campaigns(app: TestApp) {
    let (study, questionnaire, version) = published_study(&app).await;
    app.create_user("outsider@example.org", Role::Admin).await;
    let lead = Caller::new(&app, "lead@example.org").await;
    let designer = Caller::new(&app, "designer@example.org").await;
    let analyst = Caller::new(&app, "analyst@example.org").await;
    let outsider = Caller::new(&app, "outsider@example.org").await;
    let (pat, _) = add_participant(
        &lead,
        study,
        json!({ "name": "Pat", "email": "pat@example.org", "group": "staff" }),
    )
    .await;
    let campaign = create_campaign(&lead, study, version).await;
    // Every route's role check is in security.rs; here, what the roles see and change.
    let c = format!("/api/v1/studies/{study}/campaigns/{campaign}");
    let (status, _) = outsider.call(Method::GET, &c, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, tracking) = analyst
        .call(Method::GET, &format!("{c}/tracking"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        tracking["recipients"].as_array().unwrap().is_empty(),
        "no codes for analysts"
    );
    let mut wording = campaign_body(version);
    wording["name"] = json!("Renamed by a co-designer");
    wording["invitation_subject"] = json!("Have your say on {{ study }}");
    let (status, saved) = designer.call(Method::PUT, &c, Some(wording)).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["invitation_subject"], "Have your say on {{ study }}");
    assert_eq!(
        saved["name"], "Spring survey",
        "only the lead renames or re-targets"
    );
    let (status, _) = designer
        .call(Method::POST, &format!("{c}/launch"), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = lead
        .call(
            Method::POST,
            &format!(
                "/api/v1/studies/{study}/participants/{pat}/questionnaires/{questionnaire}/reissue"
            ),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "no link before an invitation"
    );

    // The lead sets the study's privacy: anonymised responses and the small-count threshold.
    let (status, body) = lead
        .call(
            Method::PUT,
            &format!("/api/v1/studies/{study}"),
            Some(json!({ "title": "Involvement", "small_count_threshold": 60 })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["error"]["fields"]["small_count_threshold"].is_string(),
        "{body}"
    );
    let (status, body) = lead
        .call(
            Method::PUT,
            &format!("/api/v1/studies/{study}"),
            Some(json!({ "title": "Involvement", "small_count_threshold": 3, "anonymise_responses": true })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["study"]["small_count_threshold"], 3);
    assert_eq!(body["study"]["anonymise_responses"], true);
    let (_, body) = lead
        .call(
            Method::PUT,
            &format!("/api/v1/studies/{study}"),
            Some(json!({ "title": "Involvement" })),
        )
        .await;
    assert_eq!(
        body["study"]["anonymise_responses"], true,
        "left out: unchanged"
    );

    // The pages follow the same rules; a co-designer changes the wording only.
    let page = app.new_visitor();
    page.sign_in("designer@example.org", crate::helpers::PASSWORD)
        .await;
    let edit = format!("/studies/{study}/campaigns/{campaign}/edit");
    let (status, form) = page.get_text(&edit).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !form.contains("name=\"closes_on\""),
        "only the lead sets the dates"
    );
    assert_eq!(
        page.get(&format!("/studies/{study}/campaigns/new"))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let saved = page
        .post_form(
            &edit,
            &[
                ("invitation_subject", "Have your say"),
                ("invitation_body", "Dear {{ name }}, {{ link }}"),
                ("reminder_subject", "Still time"),
                ("reminder_body", "Dear {{ nmae }}, {{ link }}"),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let text = saved.text().await.unwrap();
    assert!(text.contains("{{ nmae }} is not a placeholder"));
    assert!(text.contains("Dear {{ name }}, {{ link }}"), "input kept");
}

crate::on_both_databases!(
    links_are_calm_reissued_closed_and_rate_limited,
    only_the_right_roles_reach_campaigns,
);
