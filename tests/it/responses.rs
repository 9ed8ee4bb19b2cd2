//! Taking part online, over HTTP as a participant's browser does it: information, consent statement
//! by statement, answering page by page, leaving and coming back, review, sending, withdrawing; and
//! what the team can read through the API. On SQLite and PostgreSQL.

use diesel::prelude::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use voices::identity::Role;

use crate::helpers::{location, Caller, TestApp, Visitor};
use crate::on_both_databases;

const SAMPLE: &str = include_str!("../fixtures/sample_guide.json");

crate::on_both_backends!(a_page_sent_after_its_link_closed_says_it_was_not_saved);

on_both_databases!(
    a_participant_consents_answers_comes_back_sends_and_withdraws,
    declining_stores_nothing_but_the_decision,
    newcomers_say_who_they_are_and_read_their_own_wording,
    after_the_cut_off_answers_are_kept_as_the_sheet_says,
    anonymised_answers_lose_their_link_at_sending,
    double_sends_and_two_tabs_neither_duplicate_nor_lose_answers,
    people_consenting_at_once_through_one_open_link_each_become_one_participant,
    asking_for_support_or_pausing_from_a_question_page_saves_it_first,
    closing_a_campaign_early_lets_people_part_way_through_finish,
    dates_are_typed_as_day_month_and_year,
    closed_replaced_and_unknown_links_are_calm,
    invited_people_read_easy_read_get_their_consent_by_email_and_are_tracked,
    answers_can_change_after_sending_when_the_study_allows,
);

/// The sample interview guide, published, in a study led by lead@example.org with an analyst.
/// Returns (study, questionnaire, version).
pub async fn sample_study(app: &TestApp) -> (i64, i64, i64) {
    study_with_guide(app, serde_json::from_str(SAMPLE).unwrap()).await
}

/// A study led by lead@example.org with an analyst, with `guide` imported and published. Returns
/// (study, questionnaire, version).
pub async fn study_with_guide(app: &TestApp, guide: Value) -> (i64, i64, i64) {
    for email in ["lead@example.org", "analyst@example.org"] {
        app.create_user(email, Role::Member).await;
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
    let (status, body) = lead
        .call(
            Method::POST,
            &format!("/api/v1/studies/{study}/members"),
            Some(
                json!({ "email": "analyst@example.org", "display_name": "Test Person", "analyst": true, "perspective": "staff" }),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    crate::helpers::accept_invitations(app, "analyst@example.org").await;
    let (status, imported) = lead
        .call(
            Method::POST,
            &format!("/api/v1/studies/{study}/questionnaires/import"),
            Some(guide),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{imported}");
    let questionnaire = imported["questionnaire"]["id"].as_i64().unwrap();
    let version = crate::helpers::publish(&lead, study, questionnaire).await;
    (study, questionnaire, version)
}

/// A participant's browser with their own link.
pub struct Participant {
    pub visitor: Visitor,
    /// `/p/<token>`
    pub home: String,
}

impl Participant {
    /// Someone who joins through a new open link for `group` ("" lets them say).
    pub async fn join(app: &TestApp, study: i64, questionnaire: i64, group: &str) -> Participant {
        let open = open_link(app, study, questionnaire, group).await;
        Participant::join_by(app, &open).await
    }

    /// Someone who joins through the open link at `open` (its path).
    pub async fn join_by(app: &TestApp, open: &str) -> Participant {
        let visitor = app.new_visitor();
        let joined = visitor.post_form(open, &[]).await;
        assert_eq!(joined.status(), StatusCode::SEE_OTHER);
        Participant {
            home: location(&joined),
            visitor,
        }
    }

    pub async fn get(&self, step: &str) -> (StatusCode, String) {
        self.visitor.get_text(&format!("{}{step}", self.home)).await
    }

    /// Where a GET of this step sends them: the step redirected to ("/" for the link itself), or
    /// "page" when it is a page.
    pub async fn lands_on(&self, step: &str) -> String {
        let response = self.visitor.get(&format!("{}{step}", self.home)).await;
        if response.status() != StatusCode::SEE_OTHER {
            return "page".into();
        }
        match location(&response).replace(&self.home, "").as_str() {
            "" => "/".into(),
            other => other.into(),
        }
    }

    pub async fn post(&self, step: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.visitor
            .post_form(&format!("{}{step}", self.home), fields)
            .await
    }

    pub async fn consent(&self) {
        let agreed = self
            .post(
                "/consent",
                &[
                    ("statement_1", "yes"),
                    ("statement_2", "yes"),
                    ("decision", "agree"),
                ],
            )
            .await;
        assert_eq!(agreed.status(), StatusCode::SEE_OTHER);
    }
}

/// Someone added to the roster (`person`: name, email, group...) and invited by a new campaign: their
/// link from the invitation email, and the campaign's id.
pub async fn invited(app: &TestApp, study: i64, version: i64, person: Value) -> (Participant, i64) {
    let email = person["email"]
        .as_str()
        .expect("an email address")
        .to_string();
    let lead = Caller::new(app, "lead@example.org").await;
    crate::distribution::add_participant(&lead, study, person).await;
    let campaign = crate::distribution::create_campaign(&lead, study, version).await;
    let (status, launched) = lead
        .call(
            Method::POST,
            &format!("/api/v1/studies/{study}/campaigns/{campaign}/launch"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{launched}");
    app.wake_outbox();
    let invitation = app
        .wait_for_email(&email)
        .await
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    let secret = crate::helpers::value_after(&invitation, "/p/").expect("a link to take part");
    let participant = Participant {
        visitor: app.new_visitor(),
        home: format!("/p/{secret}"),
    };
    (participant, campaign)
}

/// Agrees to every consent statement on the consent form behind `home` (a participant's link).
pub async fn agree_to_everything(
    visitor: &crate::helpers::Visitor,
    home: &str,
) -> reqwest::Response {
    let (_, form) = visitor.get_text(&format!("{home}/consent")).await;
    let mut fields: Vec<(String, String)> = form
        .match_indices("name=\"statement_")
        .map(|(at, _)| {
            let name: String = form[at + "name=\"".len()..]
                .chars()
                .take_while(|c| *c != '"')
                .collect();
            (name, "yes".to_string())
        })
        .collect();
    fields.push(("decision".into(), "agree".into()));
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    visitor.post_form(&format!("{home}/consent"), &fields).await
}

/// The field name of the question whose text (in the page's wording) starts with `text`.
pub fn field_of(page: &str, text: &str) -> String {
    let at = page
        .find(text)
        .unwrap_or_else(|| panic!("{text:?} is not on the page:\n{page}"));
    let before = &page[..at];
    let id_at = before.rfind("id=\"question-").expect("a question block") + "id=\"question-".len();
    let id: String = before[id_at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    format!("q-{id}")
}

/// What the study's lead reads from `/api/v1/studies/{study}/<what>`.
/// A new open link for `group` ("" lets joiners say), made by the lead: its path.
async fn open_link(app: &TestApp, study: i64, questionnaire: i64, group: &str) -> String {
    let lead = Caller::new(app, "lead@example.org").await;
    let closes = chrono::Utc::now().date_naive() + chrono::Duration::days(10);
    let (status, open) = lead
        .call(
            Method::POST,
            &format!("/api/v1/studies/{study}/questionnaires/{questionnaire}/open-links"),
            Some(json!({
                "group": (!group.is_empty()).then_some(group),
                "closes_on": closes.to_string(),
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{open}");
    open["link"].as_str().unwrap().replace(&app.url(""), "")
}

async fn lead_reads(app: &TestApp, study: i64, what: &str) -> Value {
    let (status, body) = api(
        app,
        "lead@example.org",
        &format!("/api/v1/studies/{study}/{what}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{what}: {body}");
    body
}

/// The lead changes the study's settings (title and summary kept as `sample_study` made them).
pub async fn change_study(app: &TestApp, study: i64, settings: Value) {
    let mut body = json!({ "title": "Involvement", "summary": "" });
    body.as_object_mut()
        .unwrap()
        .extend(settings.as_object().unwrap().clone());
    let (status, answer) = Caller::new(app, "lead@example.org")
        .await
        .call(Method::PUT, &format!("/api/v1/studies/{study}"), Some(body))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}

async fn api(app: &TestApp, email: &str, path: &str) -> (StatusCode, Value) {
    Caller::new(app, email)
        .await
        .call(Method::GET, path, None)
        .await
}

async fn a_participant_consents_answers_comes_back_sends_and_withdraws(app: TestApp) {
    let (study, questionnaire, _) = sample_study(&app).await;
    let alex = Participant::join(&app, study, questionnaire, "staff").await;

    // The link opens the information sheet, then the consent form with every box unticked.
    let (status, info) = alex.get("").await;
    assert_eq!(status, StatusCode::OK);
    assert!(info.contains("We want to learn what helps"), "{info}");
    assert!(info.contains("Need support?"));
    let (_, form) = alex.get("/consent").await;
    assert_eq!(form.matches("type=\"checkbox\"").count(), 5);
    assert!(!form.contains("checked"), "never pre-ticked");

    // Leaving a required statement unticked says so beside it, keeps the ticks, and stores nothing.
    let refused = alex
        .post(
            "/consent",
            &[
                ("statement_2", "yes"),
                ("statement_4", "yes"),
                ("decision", "agree"),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = refused.text().await.unwrap();
    assert!(page.contains("There is a problem"));
    assert!(page.contains("href=\"#statement_1\""));
    assert_eq!(page.matches(" checked").count(), 2, "ticks kept");
    let records = lead_reads(&app, study, "consent-records").await;
    assert_eq!(records, json!([]));

    let agreed = alex
        .post(
            "/consent",
            &[
                ("statement_1", "yes"),
                ("statement_2", "yes"),
                ("statement_4", "yes"),
                ("decision", "agree"),
            ],
        )
        .await;
    assert_eq!(agreed.status(), StatusCode::SEE_OTHER);
    assert_eq!(alex.lands_on("").await, "/page/1");

    // Page 1 in staff wording; a wrong choice and a missing required answer are reported in page
    // order, and what was right is kept.
    let (status, first) = alex.get("/page/1").await;
    assert_eq!(status, StatusCode::OK);
    assert!(first.contains("Page 1 of 5"), "{first}");
    assert!(first.contains("minutes left"));
    let role = field_of(&first, "What is your role, and which team do you work in?");
    let before = field_of(&first, "Have you taken part in an improvement project");
    let service = field_of(&first, "Which service do you work in?");
    let sent = alex
        .post(
            "/page/1",
            &[
                (&role, "Ward manager"),
                (&service, "Nowhere"),
                ("go", "next"),
            ],
        )
        .await;
    assert_eq!(sent.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = sent.text().await.unwrap();
    let missing = page
        .find(&format!("href=\"#{before}\""))
        .expect("the missing answer");
    let wrong = page
        .find(&format!("href=\"#{service}\""))
        .expect("the wrong choice");
    assert!(missing < wrong, "problems in page order");
    assert!(page.contains("Choose one of the answers shown"));
    assert!(page.contains("value=\"Ward manager\""), "input kept");

    // An answer over 20,000 characters is refused beside its field and shown again whole.
    let long = "a".repeat(20_001);
    let sent = alex
        .post(
            "/page/1",
            &[(&role, &long), (&before, "Yes"), ("go", "next")],
        )
        .await;
    assert_eq!(sent.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = sent.text().await.unwrap();
    assert!(
        page.contains("can be up to 1,000 characters"),
        "short answers are short"
    );
    assert!(page.contains(&long));

    let sent = alex
        .post(
            "/page/1",
            &[
                (&role, "Ward manager"),
                (&before, "Yes"),
                (&service, "Community"),
                ("go", "next"),
            ],
        )
        .await;
    assert_eq!(location(&sent), format!("{}/page/2", alex.home));

    // Page 2: a partial answer, then "come back later".
    let (_, second) = alex.get("/page/2").await;
    assert!(second.contains("Page 2 of 5"));
    let know = field_of(&second, "What do you know about involving");
    let paused = alex
        .post(
            "/page/2",
            &[(&know, "Training first\r\nthen a mentor"), ("go", "pause")],
        )
        .await;
    assert_eq!(location(&paused), format!("{}/pause", alex.home));
    let (_, pause) = alex.get("/pause").await;
    assert!(pause.contains("Your answers are saved"));

    // The same link on another device continues where they left off, with the answer kept.
    let other_device = Participant {
        visitor: app.new_visitor(),
        home: alex.home.clone(),
    };
    assert_eq!(other_device.lands_on("").await, "/page/2");
    let (_, second) = other_device.get("/page/2").await;
    assert!(second.contains("Training first\nthen a mentor"), "{second}");
    let confident = field_of(&second, "I know how to involve");
    assert!(
        second.contains("<legend"),
        "a Likert scale is a radio group with a legend"
    );
    let sent = other_device
        .post(
            "/page/2",
            &[
                (&know, "Training first\nthen a mentor"),
                (&confident, "Agree"),
                ("go", "next"),
            ],
        )
        .await;
    assert_eq!(location(&sent), format!("{}/page/3", alex.home));

    // "Treated" is asked because they have taken part before; skipping an optional question is kept
    // as a skip.
    let (_, third) = other_device.get("/page/3").await;
    let treated = field_of(&third, "How do people in your team feel about working");
    let barriers = field_of(&third, "What gets in the way");
    let skip_barriers = barriers.replace("q-", "skip-");
    let sent = other_device
        .post(
            "/page/3",
            &[
                (&treated, "Well, mostly"),
                (&skip_barriers, "yes"),
                ("go", "next"),
            ],
        )
        .await;
    assert_eq!(location(&sent), format!("{}/page/4", alex.home));
    for page in ["/page/4", "/page/5"] {
        let sent = other_device.post(page, &[("go", "next")]).await;
        assert_eq!(sent.status(), StatusCode::SEE_OTHER, "{page}");
    }
    assert_eq!(other_device.lands_on("").await, "/review");

    // Review: every answer with a link to change it; changing one comes back to the review.
    let (_, review) = other_device.get("/review").await;
    assert!(review.contains("Ward manager"));
    assert!(review.contains("Training first<br>then a mentor"));
    assert!(review.contains("Skipped"));
    assert!(review.contains("/page/1?return=review"));
    let (_, change) = other_device.get("/page/1?return=review").await;
    assert!(change.contains("name=\"return\" value=\"review\""));
    let changed = other_device
        .post(
            "/page/1",
            &[
                (&role, "Matron"),
                (&before, "Yes"),
                (&service, "Community"),
                ("return", "review"),
                ("go", "next"),
            ],
        )
        .await;
    assert_eq!(location(&changed), format!("{}/review", alex.home));

    let submitted = other_device.post("/submit", &[]).await;
    assert_eq!(location(&submitted), format!("{}/done", alex.home));
    let (_, done) = other_device.get("/done").await;
    assert!(done.contains("Thank you: your answers are sent"));
    assert!(done.contains("Matron"));
    // Sent answers are read-only (this study does not allow changes).
    assert_eq!(alex.lands_on("/page/1").await, "/");
    assert_eq!(alex.lands_on("").await, "/done");
    let late = alex
        .post("/page/1", &[(&role, "Changed"), ("go", "next")])
        .await;
    assert_eq!(location(&late), alex.home);

    // The team reads codes and answers, never identities; analysts too, co-designers not.
    let (status, responses) = api(
        &app,
        "analyst@example.org",
        &format!("/api/v1/studies/{study}/responses"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{responses}");
    let response = &responses[0];
    assert!(response["code"].as_str().unwrap().starts_with("P-"));
    assert_eq!(response["audience"], "staff");
    assert_eq!(response["mode"], "online");
    assert!(response["submitted_at"].is_string());
    assert_eq!(response["answered"], 6);
    let id = response["id"].as_i64().unwrap();
    let detail = lead_reads(&app, study, &format!("responses/{id}")).await;
    let answers = detail["answers"].as_array().unwrap();
    assert!(answers.iter().any(|a| a["value"] == "Matron"));
    assert!(answers
        .iter()
        .any(|a| a["skipped"] == true && a["value"] == ""));
    let (_, records) = api(
        &app,
        "analyst@example.org",
        &format!("/api/v1/studies/{study}/consent-records"),
    )
    .await;
    let record = &records[0];
    assert_eq!(record["decision"], "consented");
    assert_eq!(record["method"], "online");
    assert_eq!(record["information_hash"].as_str().unwrap().len(), 64);
    let agreed: Vec<bool> = record["statements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["agreed"].as_bool().unwrap())
        .collect();
    assert_eq!(agreed, vec![true, true, false, true, false]);

    // Their copy of what they agreed to.
    let (_, copy) = alex.get("/my-consent").await;
    assert!(copy.contains("Yes, I agree:</strong> I agree to take part."));
    assert!(copy
        .contains("No, I did not agree:</strong> I agree to my interview being audio recorded."));

    // Withdrawing before the cut-off deletes the answers; the team sees only that it happened.
    let (_, explained) = alex.get("/withdraw").await;
    assert!(explained.contains("We will delete all your answers"));
    let (status, withdrawn) = {
        let response = alex.post("/withdraw", &[]).await;
        (response.status(), response.text().await.unwrap())
    };
    assert_eq!(status, StatusCode::OK);
    assert!(withdrawn.contains("Your answers are deleted"));
    let responses = lead_reads(&app, study, "responses").await;
    assert_eq!(responses, json!([]));
    let records = lead_reads(&app, study, "consent-records").await;
    assert!(records[0]["withdrawn_at"].is_string());
    let audit = app
        .db
        .read(|conn| {
            use voices::db::schema::audit_events;
            audit_events::table
                .select((
                    audit_events::action,
                    audit_events::details,
                    audit_events::ip_address,
                ))
                .load::<(String, String, Option<String>)>(conn)
                .map_err(voices::error::AppError::from)
        })
        .await
        .unwrap();
    let withdrew = audit
        .iter()
        .find(|(action, _, _)| action == "participant.withdrew")
        .expect("the withdrawal is audited");
    assert!(
        withdrew.1.contains("\"answers_deleted\":true"),
        "{withdrew:?}"
    );
    assert!(withdrew.2.is_none(), "no participant's address is kept");
    assert!(
        !format!("{audit:?}").contains("Matron"),
        "the audit log never holds answers"
    );
    let (status, gone) = alex.get("").await;
    assert_eq!(status, StatusCode::GONE);
    assert!(gone.contains("You have withdrawn"));
    assert!(
        gone.contains("involvement@example.org"),
        "the study contact"
    );
}

async fn declining_stores_nothing_but_the_decision(app: TestApp) {
    let (study, questionnaire, version) = sample_study(&app).await;
    // Someone from an open link is nobody yet: declining keeps nothing at all.
    let passer_by = Participant::join(&app, study, questionnaire, "carer").await;
    let declined = passer_by.post("/consent", &[("decision", "decline")]).await;
    assert!(declined
        .text()
        .await
        .unwrap()
        .contains("We have not kept anything about you"));
    assert_eq!(lead_reads(&app, study, "consent-records").await, json!([]));

    let (bo, _) = invited(
        &app,
        study,
        version,
        json!({ "name": "Bo", "email": "bo.declines@example.org", "group": "carer" }),
    )
    .await;
    let declined = bo
        .post(
            "/consent",
            &[("statement_1", "yes"), ("decision", "decline")],
        )
        .await;
    assert_eq!(declined.status(), StatusCode::OK);
    assert!(declined
        .text()
        .await
        .unwrap()
        .contains("We have kept only that decision"));
    let records = lead_reads(&app, study, "consent-records").await;
    assert_eq!(records.as_array().unwrap().len(), 1);
    assert_eq!(records[0]["decision"], "declined");
    assert!(records[0]["statements"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["agreed"] == false));
    let responses = lead_reads(&app, study, "responses").await;
    assert_eq!(responses, json!([]), "no response is started");
    // Answering is not possible without consent.
    assert_eq!(bo.lands_on("/page/1").await, "/");
    let answered = bo.post("/page/1", &[("go", "next")]).await;
    assert_eq!(location(&answered), bo.home);

    // Changing their mind later is a new revision of the record.
    let (_, info) = bo.get("").await;
    assert!(info.contains("You said you do not want to take part"));
    bo.consent().await;
    let records = lead_reads(&app, study, "consent-records").await;
    assert_eq!(records[0]["revision"], 2);
    assert_eq!(records[0]["decision"], "consented");
    assert_eq!(records[1]["decision"], "declined");
}

async fn newcomers_say_who_they_are_and_read_their_own_wording(app: TestApp) {
    let (study, questionnaire, _) = sample_study(&app).await;
    let someone = Participant::join(&app, study, questionnaire, "").await;
    someone.consent().await;
    assert_eq!(someone.lands_on("").await, "/about");
    let unsure = someone.post("/about", &[]).await;
    assert_eq!(unsure.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unsure
        .text()
        .await
        .unwrap()
        .contains("Choose the answer that describes you best"));
    let chosen = someone.post("/about", &[("group", "carer")]).await;
    assert_eq!(chosen.status(), StatusCode::SEE_OTHER);
    let (_, first) = someone.get("/page/1").await;
    assert!(first.contains("Which of our services does the person you care for use?"));
    assert!(
        !first.contains("Which service do you work in?"),
        "a staff-only question"
    );

    let easy = Participant::join(&app, study, questionnaire, "").await;
    easy.consent().await;
    easy.post("/about", &[("group", "service_user"), ("easy_read", "yes")])
        .await;
    let (_, first) = easy.get("/page/1").await;
    assert!(
        first.contains("Which of our services do you know?"),
        "easy read"
    );
    let roster = lead_reads(&app, study, "participants").await;
    assert!(roster.to_string().contains("service_user"), "{roster}");
}

/// Moves a participant's sending time back by `days`.
async fn sent_days_ago(app: &TestApp, days: i64) {
    app.db
        .write(move |conn| {
            use voices::db::schema::responses;
            let then = voices::db::now() - chrono::Duration::days(days);
            diesel::update(responses::table)
                .set(responses::submitted_at.eq(then))
                .execute(conn)
                .map_err(voices::error::AppError::from)
        })
        .await
        .unwrap();
}

pub async fn answer_everything(person: &Participant) {
    let (_, first) = person.get("/page/1").await;
    let before = field_of(&first, "Have you taken part in an improvement project");
    let sent = person
        .post("/page/1", &[(&before, "No"), ("go", "next")])
        .await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    loop {
        let step = person.lands_on("").await;
        if step == "/review" {
            break;
        }
        let sent = person.post(&step, &[("go", "next")]).await;
        assert_eq!(sent.status(), StatusCode::SEE_OTHER, "{step}");
    }
    let sent = person.post("/submit", &[]).await;
    assert_eq!(location(&sent), format!("{}/done", person.home));
}

async fn after_the_cut_off_answers_are_kept_as_the_sheet_says(app: TestApp) {
    let (study, questionnaire, _) = sample_study(&app).await;
    let cy = Participant::join(&app, study, questionnaire, "service_user").await;
    cy.consent().await;
    answer_everything(&cy).await;
    sent_days_ago(&app, 15).await;
    let (_, explained) = cy.get("/withdraw").await;
    assert!(explained.contains("The time to have your answers deleted ended"));
    assert!(explained.contains("kept in anonymised form"), "{explained}");
    let withdrawn = cy.post("/withdraw", &[]).await;
    assert_eq!(withdrawn.status(), StatusCode::OK);
    let responses = lead_reads(&app, study, "responses").await;
    assert_eq!(responses.as_array().unwrap().len(), 1, "kept");
    let records = lead_reads(&app, study, "consent-records").await;
    assert!(records[0]["withdrawn_at"].is_string());
}

async fn anonymised_answers_lose_their_link_at_sending(app: TestApp) {
    let (study, questionnaire, _) = sample_study(&app).await;
    change_study(&app, study, json!({ "anonymise_responses": true })).await;
    let di = Participant::join(&app, study, questionnaire, "staff").await;
    di.consent().await;
    answer_everything(&di).await;
    let responses = lead_reads(&app, study, "responses").await;
    let response = &responses[0];
    assert!(response["code"].is_null(), "{response}");
    assert!(
        response["submitted_at"]
            .as_str()
            .unwrap()
            .ends_with("T00:00:00Z"),
        "only the day"
    );
    let (_, done) = di.get("/done").await;
    assert!(done.contains("kept without your name"));
    let (_, explained) = di.get("/withdraw").await;
    assert!(explained.contains("we cannot find them to delete them"));
}

async fn double_sends_and_two_tabs_neither_duplicate_nor_lose_answers(app: TestApp) {
    let (study, questionnaire, _) = sample_study(&app).await;
    let ed = Participant::join(&app, study, questionnaire, "staff").await;
    // Two consents at once (a double click) make one record.
    tokio::join!(ed.consent(), ed.consent());
    let records = lead_reads(&app, study, "consent-records").await;
    assert_eq!(records.as_array().unwrap().len(), 1);

    // Two tabs save two pages at the same time: both kept, once each.
    let (_, first) = ed.get("/page/1").await;
    let (_, second) = ed.get("/page/2").await;
    let role = field_of(&first, "What is your role");
    let before = field_of(&first, "Have you taken part");
    let know = field_of(&second, "What do you know about involving");
    let page_one = [
        (role.as_str(), "Porter"),
        (before.as_str(), "No"),
        ("go", "next"),
    ];
    let page_two = [(know.as_str(), "Time"), ("go", "next")];
    let tab_one = ed.post("/page/1", &page_one);
    let tab_two = ed.post("/page/2", &page_two);
    let again = ed.post("/page/1", &page_one);
    let (a, b, c) = tokio::join!(tab_one, tab_two, again);
    for sent in [a, b, c] {
        assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    }
    let responses = lead_reads(&app, study, "responses").await;
    assert_eq!(responses.as_array().unwrap().len(), 1);
    assert_eq!(responses[0]["answered"], 3);

    for page in ["/page/3", "/page/4", "/page/5"] {
        let sent = ed.post(page, &[("go", "next")]).await;
        assert_eq!(sent.status(), StatusCode::SEE_OTHER, "{page}");
    }
    let (a, b) = tokio::join!(ed.post("/submit", &[]), ed.post("/submit", &[]));
    assert_eq!(a.status(), StatusCode::SEE_OTHER);
    assert_eq!(b.status(), StatusCode::SEE_OTHER);
    let responses = lead_reads(&app, study, "responses").await;
    assert_eq!(responses.as_array().unwrap().len(), 1);
    assert_eq!(responses[0]["answered"], 3);
    assert!(responses[0]["submitted_at"].is_string());
}

/// Consents through one open link do not wait for each other (only two presses of one joining link
/// do), and each makes one participant with a code of their own.
async fn people_consenting_at_once_through_one_open_link_each_become_one_participant(app: TestApp) {
    let (study, questionnaire, _) = sample_study(&app).await;
    let open = open_link(&app, study, questionnaire, "staff").await;
    let people =
        futures_util::future::join_all((0..12).map(|_| Participant::join_by(&app, &open))).await;
    // Each presses "I agree" twice at once, and all at the same time.
    futures_util::future::join_all(
        people
            .iter()
            .flat_map(|person| [person.consent(), person.consent()]),
    )
    .await;
    let records = lead_reads(&app, study, "consent-records").await;
    assert_eq!(records.as_array().unwrap().len(), 12, "{records}");
    let responses = lead_reads(&app, study, "responses").await;
    let mut codes: Vec<&str> = responses
        .as_array()
        .unwrap()
        .iter()
        .map(|response| response["code"].as_str().unwrap())
        .collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), 12, "{responses}");
}

/// "Need support?" and "Pause and come back later" on a question page send the page's form: what was
/// typed is saved before the support or pause page says it is kept, with no required answer asked
/// for; an answer that cannot be taken does not keep someone from support, and the support page says
/// which it was.
async fn asking_for_support_or_pausing_from_a_question_page_saves_it_first(app: TestApp) {
    let (study, questionnaire, _) = sample_study(&app).await;
    let gil = Participant::join(&app, study, questionnaire, "staff").await;
    gil.consent().await;
    let (_, page) = gil.get("/page/1").await;
    assert!(
        page.contains("form=\"answers\" name=\"go\" value=\"support\""),
        "{page}"
    );
    let role = field_of(&page, "What is your role");
    let before = field_of(&page, "Have you taken part");

    let sent = gil
        .post("/page/1", &[(role.as_str(), "Porter"), ("go", "support")])
        .await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&sent), format!("{}/support", gil.home));
    let (_, again) = gil.get("/page/1").await;
    assert!(again.contains("value=\"Porter\""), "{again}");

    let sent = gil
        .post(
            "/page/1",
            &[
                (role.as_str(), "Ward manager"),
                (before.as_str(), "Perhaps"),
                ("go", "support"),
            ],
        )
        .await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let support = location(&sent);
    assert_eq!(support, format!("{}/support?unsaved=2", gil.home));
    let (status, shown) = gil.visitor.get_text(&support).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        shown.contains("What you typed for question 2 could not be saved"),
        "{shown}"
    );
    // Help is a tap away: national lines and the study's own contact.
    for link in [
        "href=\"tel:999\"",
        "href=\"tel:111\"",
        "href=\"tel:116123\"",
        "href=\"mailto:involvement@example.org\"",
    ] {
        assert!(shown.contains(link), "{link} in {shown}");
    }
    let (_, again) = gil.get("/page/1").await;
    assert!(again.contains("value=\"Ward manager\""), "{again}");

    let sent = gil
        .post(
            "/page/1",
            &[
                (role.as_str(), "Cleaner"),
                (before.as_str(), "No"),
                ("go", "pause"),
            ],
        )
        .await;
    assert_eq!(location(&sent), format!("{}/pause", gil.home));
    let (_, again) = gil.get("/page/1").await;
    assert!(again.contains("value=\"Cleaner\""), "{again}");
    let responses = lead_reads(&app, study, "responses").await;
    assert_eq!(responses[0]["answered"], 2, "{responses}");
}

/// Two people invited by one campaign: Ann has started answering, Ben has not opened his link.
async fn ann_started_and_ben_invited(app: &TestApp) -> (i64, i64, Participant, Participant) {
    let (study, _, version) = sample_study(app).await;
    let (ann, campaign) = invited(
        app,
        study,
        version,
        json!({ "name": "Ann", "email": "ann@example.org", "group": "staff" }),
    )
    .await;
    let lead = Caller::new(app, "lead@example.org").await;
    crate::distribution::add_participant(
        &lead,
        study,
        json!({ "name": "Ben", "email": "ben@example.org", "group": "staff" }),
    )
    .await;
    let (status, launched) = lead
        .call(
            Method::POST,
            &format!("/api/v1/studies/{study}/campaigns/{campaign}/launch"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{launched}");
    app.wake_outbox();
    let invitation = app
        .wait_for_email("ben@example.org")
        .await
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    let ben = Participant {
        visitor: app.new_visitor(),
        home: format!(
            "/p/{}",
            crate::helpers::value_after(&invitation, "/p/").expect("Ben's link")
        ),
    };
    let agreed = agree_to_everything(&ann.visitor, &ann.home).await;
    assert_eq!(agreed.status(), StatusCode::SEE_OTHER);
    (study, campaign, ann, ben)
}

/// Closing a campaign before its date asks first, saying what will happen to whom; then links
/// nobody has started with stop, and whoever has started can still finish within the grace period.
async fn closing_a_campaign_early_lets_people_part_way_through_finish(app: TestApp) {
    let (study, campaign, ann, ben) = ann_started_and_ben_invited(&app).await;
    let base = format!("/studies/{study}/campaigns/{campaign}");

    let lead = app.new_visitor();
    let signed_in = lead
        .sign_in("lead@example.org", crate::helpers::PASSWORD)
        .await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let (_, show) = lead.get_text(&base).await;
    assert!(show.contains(&format!("href=\"{base}/close\"")), "{show}");
    let (status, confirm) = lead.get_text(&format!("{base}/close")).await;
    assert_eq!(status, StatusCode::OK, "{confirm}");
    assert!(
        confirm.contains("1 person has started answering"),
        "{confirm}"
    );
    assert!(
        confirm.contains("1 person has a link but not started"),
        "{confirm}"
    );
    let (status, closing) = api(&app, "lead@example.org", &format!("/api/v1{base}/closing")).await;
    assert_eq!(status, StatusCode::OK, "{closing}");
    assert_eq!(
        (closing["mid_way"].as_i64(), closing["not_started"].as_i64()),
        (Some(1), Some(1))
    );
    let finish_by = chrono::DateTime::parse_from_rfc3339(closing["finish_by"].as_str().unwrap())
        .unwrap()
        .with_timezone(&chrono::Utc);
    let week = chrono::Utc::now() + chrono::Duration::days(7);
    assert!((week - finish_by).num_minutes().abs() < 5, "{closing}");

    let closed = lead.post_form(&format!("{base}/close"), &[]).await;
    assert_eq!(closed.status(), StatusCode::SEE_OTHER);
    let (status, _) = ben.get("").await;
    assert_eq!(status, StatusCode::GONE);
    answer_everything(&ann).await;
    let responses = lead_reads(&app, study, "responses").await;
    assert!(responses[0]["submitted_at"].is_string(), "{responses}");
}

/// With no grace period, a page sent after the campaign closed is answered with the closed page,
/// which says that what was typed on it was not saved and what was kept.
async fn a_page_sent_after_its_link_closed_says_it_was_not_saved(backend: crate::helpers::Backend) {
    let Some(app) = crate::helpers::spawn_on(backend, |s| s.campaigns.close_grace_days = 0).await
    else {
        return;
    };
    let (study, campaign, ann, _) = ann_started_and_ben_invited(&app).await;
    let (_, page) = ann.get("/page/1").await;
    let role = field_of(&page, "What is your role");
    let lead = Caller::new(&app, "lead@example.org").await;
    let (status, _) = lead
        .call(
            Method::POST,
            &format!("/api/v1/studies/{study}/campaigns/{campaign}/close"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let late = ann
        .post("/page/1", &[(role.as_str(), "Porter"), ("go", "next")])
        .await;
    assert_eq!(late.status(), StatusCode::GONE);
    let shown = late.text().await.unwrap();
    assert!(shown.contains("This study has closed"), "{shown}");
    assert!(
        shown.contains("arrived after the study closed, so it was not saved"),
        "{shown}"
    );
}

/// A date question asks for day, month and year in three boxes (the GOV.UK pattern); what is missing
/// or impossible is said in words beside them, with what was typed kept; a date stored shows again
/// in its boxes.
async fn dates_are_typed_as_day_month_and_year(app: TestApp) {
    let mut guide: Value = serde_json::from_str(SAMPLE).unwrap();
    guide["sections"][0]["questions"]
        .as_array_mut()
        .unwrap()
        .push(json!({
            "key": "joined", "kind": "date", "text": "When did you start in your role?",
            "audiences": ["staff", "service_users", "carers"]
        }));
    let (study, questionnaire, _) = study_with_guide(&app, guide).await;
    let hana = Participant::join(&app, study, questionnaire, "staff").await;
    hana.consent().await;
    let (_, page) = hana.get("/page/1").await;
    let joined = field_of(&page, "When did you start in your role?");
    let (month, year) = (format!("{joined}-month"), format!("{joined}-year"));
    for (name, label) in [(&joined, "Day"), (&month, "Month"), (&year, "Year")] {
        assert!(
            page.contains(&format!(
                "<label class=\"nhsuk-label\" for=\"{name}\">{label}</label>"
            )),
            "{page}"
        );
    }
    assert!(page.contains("For example, 27 3 2026") && !page.contains("year-month-day"));
    let role = field_of(&page, "What is your role");
    let before = field_of(&page, "Have you taken part");

    let sent = hana
        .post(
            "/page/1",
            &[
                (role.as_str(), "Porter"),
                (before.as_str(), "No"),
                (joined.as_str(), "27"),
                (month.as_str(), "3"),
                (year.as_str(), ""),
                ("go", "next"),
            ],
        )
        .await;
    assert_eq!(sent.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let shown = sent.text().await.unwrap();
    assert!(shown.contains("The date must include a year"), "{shown}");
    assert!(
        shown.contains(&format!(
            "id=\"{joined}\" name=\"{joined}\" type=\"text\" inputmode=\"numeric\" value=\"27\""
        )),
        "{shown}"
    );

    let sent = hana
        .post(
            "/page/1",
            &[
                (role.as_str(), "Porter"),
                (before.as_str(), "No"),
                (joined.as_str(), "27"),
                (month.as_str(), "3"),
                (year.as_str(), "2026"),
                ("go", "next"),
            ],
        )
        .await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let (_, again) = hana.get("/page/1").await;
    for value in ["value=\"27\"", "value=\"3\"", "value=\"2026\""] {
        assert!(again.contains(value), "{value} in {again}");
    }
}

async fn closed_replaced_and_unknown_links_are_calm(app: TestApp) {
    let (study, questionnaire, _) = sample_study(&app).await;
    let fay = Participant::join(&app, study, questionnaire, "staff").await;
    // Every participant post carries the session's CSRF token: a forged consent is refused.
    let forged = fay
        .visitor
        .client
        .post(fay.visitor.url(&format!("{}/consent", fay.home)))
        .form(&[
            ("statement_1", "yes"),
            ("statement_2", "yes"),
            ("decision", "agree"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(lead_reads(&app, study, "consent-records").await, json!([]));
    fay.consent().await;
    app.db
        .write(|conn| {
            use voices::db::schema::participations;
            diesel::update(participations::table)
                .set(participations::closes_at.eq(voices::db::now() - chrono::Duration::hours(1)))
                .execute(conn)
                .map_err(voices::error::AppError::from)
        })
        .await
        .unwrap();
    for step in ["", "/page/1", "/review", "/consent"] {
        let (status, page) = fay.get(step).await;
        assert_eq!(status, StatusCode::GONE, "{step}");
        assert!(page.contains("This study has closed"));
        assert!(page.contains("involvement@example.org"));
    }
    // A page sent after closing is not taken, and the answer says so.
    let late = fay.post("/page/1", &[("go", "next")]).await;
    assert_eq!(late.status(), StatusCode::GONE);
    assert!(late.text().await.unwrap().contains("so it was not saved"));
    // Withdrawing still works after closing.
    let (status, _) = fay.get("/withdraw").await;
    assert_eq!(status, StatusCode::OK);

    let stranger = app.new_visitor();
    let (status, page) = stranger.get_text("/p/not-a-link/page/1").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(page.contains("We do not recognise this link"));
    let posted = stranger.post_form("/p/not-a-link/submit", &[]).await;
    assert_ne!(posted.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

async fn invited_people_read_easy_read_get_their_consent_by_email_and_are_tracked(app: TestApp) {
    let (study, _, version) = sample_study(&app).await;
    let lead = Caller::new(&app, "lead@example.org").await;
    let (status, bo) = lead
        .call(
            Method::POST,
            &format!("/api/v1/studies/{study}/participants"),
            Some(
                json!({ "name": "Bo", "email": "bo@example.org", "group": "carer",
                         "communication_needs": ["easy_read"] }),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{bo}");
    let (status, campaign) = lead
        .call(
            Method::POST,
            &format!("/api/v1/studies/{study}/campaigns"),
            Some(crate::distribution::campaign_body(version)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{campaign}");
    let campaign = campaign["id"].as_i64().unwrap();
    let base = format!("/api/v1/studies/{study}/campaigns/{campaign}");
    let (status, _) = lead
        .call(Method::POST, &format!("{base}/launch"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    app.wake_outbox();
    let invitation = app
        .wait_for_email("bo@example.org")
        .await
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    let secret = crate::helpers::value_after(&invitation, "/p/").expect("a link to take part");
    let bo = Participant {
        visitor: app.new_visitor(),
        home: format!("/p/{secret}"),
    };
    let progress = || async {
        let (_, tracking) = lead
            .call(Method::GET, &format!("{base}/tracking"), None)
            .await;
        tracking["recipients"][0]["progress"]
            .as_str()
            .unwrap()
            .to_string()
    };

    bo.consent().await;
    assert_eq!(bo.lands_on("").await, "/page/1", "their group is known");
    let (_, first) = bo.get("/page/1").await;
    assert!(
        first.contains("Which of our services do you know?"),
        "easy read, as their communication needs say"
    );
    answer_everything(&bo).await;
    assert_eq!(progress().await, "completed");

    // A copy of what they agreed to, by email to the address the study holds.
    let asked = bo.post("/my-consent/email", &[]).await;
    assert_eq!(location(&asked), format!("{}/my-consent", bo.home));
    let (_, page) = bo.get("/my-consent").await;
    assert!(page.contains("We are sending a copy"));
    app.wake_outbox();
    let mut copy = None;
    for _ in 0..100 {
        copy = app
            .emails()
            .into_iter()
            .find(|m| m.contains("Your consent: Involvement"));
        if copy.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let copy = copy
        .expect("the copy of their consent arrives")
        .replace("=\r\n", "")
        .replace("=\n", "");
    assert!(copy.contains("To: bo@example.org"));
    assert!(copy.contains("Yes: I agree to take part."), "{copy}");
    assert!(copy.contains("No: I agree to my interview being audio recorded."));

    // Withdrawing stops their reminders; the counts keep them as far as they got, and withdrawal is
    // a column of its own.
    bo.post("/withdraw", &[]).await;
    assert_eq!(progress().await, "withdrawn");
    let (_, tracking) = lead
        .call(Method::GET, &format!("{base}/tracking"), None)
        .await;
    assert_eq!(tracking["recipients"][0]["furthest"], "completed");
    let all = &tracking["summary"]["overall"];
    let columns: Vec<&str> = voices::distribution::tracking::rules::COLUMNS.to_vec();
    for column in ["consented", "in_progress", "completed", "withdrawn"] {
        let at = columns.iter().position(|c| *c == column).unwrap();
        assert_eq!(all["counts"][at]["count"], 1, "{column}: {tracking}");
    }
}

async fn answers_can_change_after_sending_when_the_study_allows(app: TestApp) {
    let (study, questionnaire, _) = sample_study(&app).await;
    change_study(&app, study, json!({ "changes_after_submit": true })).await;
    let gil = Participant::join(&app, study, questionnaire, "staff").await;
    gil.consent().await;
    answer_everything(&gil).await;
    let (_, done) = gil.get("/done").await;
    assert!(done.contains("You can still change your answers"));
    let (status, first) = gil.get("/page/1").await;
    assert_eq!(status, StatusCode::OK);
    let before = field_of(&first, "Have you taken part");
    let changed = gil
        .post("/page/1", &[(&before, "Not sure"), ("go", "next")])
        .await;
    assert_eq!(location(&changed), format!("{}/review", gil.home));
    let (_, review) = gil.get("/review").await;
    assert!(review.contains("You have already sent your answers"));
    assert!(!review.contains("Send my answers"));
    let responses = lead_reads(&app, study, "responses").await;
    let id = responses[0]["id"].as_i64().unwrap();
    let detail = lead_reads(&app, study, &format!("responses/{id}")).await;
    assert!(detail["answers"].to_string().contains("Not sure"));
}
