//! Live interviews over the JSON API, on SQLite and PostgreSQL: a lead assigns them, the interviewer
//! (and note-taker) records verbal consent, takes versioned notes question by question, notes moments,
//! pauses for distress and closes with field notes; later edits keep their before and after. And who
//! may see and do what.

use diesel::prelude::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use voices::identity::Role;

use crate::helpers::{Caller, TestApp};
use crate::on_both_databases;
use crate::responses::{sample_study, Participant};

on_both_databases!(
    an_interview_runs_from_assignment_through_distress_to_field_notes_and_later_edits,
    note_saves_are_idempotent_versioned_and_never_overwrite_silently,
    declined_verbal_consent_ends_the_interview_with_only_the_decision,
    who_may_see_assign_and_take_interview_notes,
    an_online_link_and_an_interview_never_answer_for_the_same_participation,
    anonymising_studies_part_the_notes_from_the_interview_at_completion,
);

/// The sample guide published in a study led by lead@example.org, with two interviewers, a third
/// interviewer who takes notes, an analyst, a co-designer and someone who is not a member.
pub(crate) struct Team<'a> {
    pub(crate) study: i64,
    pub(crate) version: i64,
    pub(crate) lead: Caller<'a>,
    pub(crate) ivy: Caller<'a>,
    pub(crate) ivy_id: i64,
    pub(crate) nat: Caller<'a>,
    pub(crate) nat_id: i64,
    pub(crate) otto: Caller<'a>,
    pub(crate) otto_id: i64,
    pub(crate) analyst: Caller<'a>,
    pub(crate) co_designer: Caller<'a>,
    pub(crate) outsider: Caller<'a>,
}

impl<'a> Team<'a> {
    pub(crate) async fn new(app: &'a TestApp) -> Team<'a> {
        let (study, _, version) = sample_study(app).await;
        let lead = Caller::new(app, "lead@example.org").await;
        let mut ids = Vec::new();
        for (email, role) in [
            ("ivy@example.org", "interviewer"),
            ("nat@example.org", "interviewer"),
            ("otto@example.org", "interviewer"),
            ("co-designer@example.org", "co_designer"),
        ] {
            ids.push(app.create_user(email, Role::Member).await);
            let (status, body) = lead
                .call(
                    Method::POST,
                    &format!("/api/v1/studies/{study}/members"),
                    Some(
                        json!({ "email": email, "display_name": "Test Person", role: true, "perspective": "staff" }),
                    ),
                )
                .await;
            assert_eq!(status, StatusCode::ACCEPTED, "add {email}: {body}");
            crate::helpers::accept_invitations(app, email).await;
        }
        app.create_user("outsider@example.org", Role::Member).await;
        Team {
            study,
            version,
            lead,
            ivy: Caller::new(app, "ivy@example.org").await,
            ivy_id: ids[0],
            nat: Caller::new(app, "nat@example.org").await,
            nat_id: ids[1],
            otto: Caller::new(app, "otto@example.org").await,
            otto_id: ids[2],
            analyst: Caller::new(app, "analyst@example.org").await,
            co_designer: Caller::new(app, "co-designer@example.org").await,
            outsider: Caller::new(app, "outsider@example.org").await,
        }
    }

    fn interviews(&self) -> String {
        format!("/api/v1/studies/{}/interviews", self.study)
    }

    fn interview(&self, id: i64) -> String {
        format!("{}/{id}", self.interviews())
    }

    /// Adds a participant to the roster (as the lead); returns their code.
    pub(crate) async fn roster(&self, participant: Value) -> String {
        let (status, added) = self
            .lead
            .call(
                Method::POST,
                &format!("/api/v1/studies/{}/participants", self.study),
                Some(participant),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{added}");
        added["code"].as_str().unwrap().to_string()
    }

    /// The assignment body for a roster participant: in person on 3 December 2026 at 14:30.
    pub(crate) fn assignment(
        &self,
        code: &str,
        interviewer: i64,
        note_taker: Option<i64>,
    ) -> Value {
        json!({
            "participant_code": code,
            "version_id": self.version.to_string(),
            "interviewer_id": interviewer.to_string(),
            "note_taker_id": note_taker.map(|id| id.to_string()).unwrap_or_default(),
            "date": "2026-12-03",
            "time": "14:30",
            "mode": "in_person",
        })
    }

    /// Assigns an interview as the lead; returns its id.
    pub(crate) async fn assign(&self, body: Value) -> i64 {
        let (status, created) = self
            .lead
            .call(Method::POST, &self.interviews(), Some(body))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        created["id"].as_i64().unwrap()
    }

    /// A roster participant in `group`, assigned to `interviewer` (and `note_taker`).
    async fn scheduled(
        &self,
        name: &str,
        group: &str,
        interviewer: i64,
        note_taker: Option<i64>,
    ) -> (i64, String) {
        let code = self
            .roster(json!({ "name": name, "phone": "07700 900001", "group": group }))
            .await;
        let id = self
            .assign(self.assignment(&code, interviewer, note_taker))
            .await;
        (id, code)
    }

    /// What the study's lead reads from `/api/v1/studies/{study}/<what>`.
    async fn lead_reads(&self, what: &str) -> Value {
        let (status, body) = self
            .lead
            .call(
                Method::GET,
                &format!("/api/v1/studies/{}/{what}", self.study),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{what}: {body}");
        body
    }
}

/// Yes to each of the sample guide's five statements, attested.
fn full_consent() -> Value {
    json!({ "answers": [true, true, true, true, true], "attested": true })
}

fn field_notes() -> Value {
    json!({
        "setting": "  Ward day room, door closed  ",
        "people_present": "None",
        "interruptions": "A fire alarm test at 14:50",
        "rapport": "At ease",
        "recording_quality": "Full notes; audio clear",
        "reflections": "Energy about peer roles",
    })
}

/// GET as `who`, expecting 200.
async fn read(who: &Caller<'_>, path: &str) -> Value {
    let (status, body) = who.call(Method::GET, path, None).await;
    assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
    body
}

/// The id of the first question in the interview's guide whose text starts with `text`.
fn question(detail: &Value, text: &str) -> i64 {
    detail["guide"]["sections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["questions"].as_array().unwrap())
        .find(|q| q["text"].as_str().unwrap().starts_with(text))
        .unwrap_or_else(|| panic!("no question starting {text:?} in {}", detail["guide"]))["id"]
        .as_i64()
        .unwrap()
}

/// The stored note of one question in an interview's detail.
fn note_of(detail: &Value, question_id: i64) -> Value {
    detail["notes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["question_id"] == question_id)
        .cloned()
        .unwrap_or(Value::Null)
}

fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect()
}

/// A note save's body.
fn save(notes: &str, answer: &str, status: &str, revision: i64) -> Value {
    json!({ "notes": notes, "answer": answer, "status": status, "revision": revision })
}

/// Who recorded each consent record of the study, read from the database (the API leaves it out).
async fn consent_recorders(app: &TestApp) -> Vec<(String, String, Option<i64>)> {
    app.db
        .read(|conn| {
            use voices::db::schema::consent_records;
            consent_records::table
                .order(consent_records::id)
                .select((
                    consent_records::decision,
                    consent_records::method,
                    consent_records::recorded_by,
                ))
                .load::<(String, String, Option<i64>)>(conn)
                .map_err(voices::error::AppError::from)
        })
        .await
        .unwrap()
}

/// (question, value, notes, status) of a response's answers, read from the database.
async fn stored_answers(app: &TestApp, response_id: i64) -> Vec<(i64, String, String, String)> {
    app.db
        .read(move |conn| {
            use voices::db::schema::answers;
            answers::table
                .filter(answers::response_id.eq(response_id))
                .order(answers::question_id)
                .select((
                    answers::question_id,
                    answers::value,
                    answers::notes,
                    answers::status,
                ))
                .load::<(i64, String, String, String)>(conn)
                .map_err(voices::error::AppError::from)
        })
        .await
        .unwrap()
}

async fn an_interview_runs_from_assignment_through_distress_to_field_notes_and_later_edits(
    app: TestApp,
) {
    let team = Team::new(&app).await;

    // The lead assigns a roster participant by code (typed in any case)...
    let ada = team
        .roster(json!({
            "name": "Ada Jones", "phone": "07700 900123", "group": "service_user",
            "communication_needs": ["large_print", "interpreter_bsl"], "preferred_mode": "in_person",
        }))
        .await;
    let first = team
        .assign(team.assignment(&ada.to_lowercase(), team.ivy_id, None))
        .await;
    // ... and someone met on the spot, added to the roster as they are assigned.
    let mut on_the_spot = team.assignment("", team.ivy_id, Some(team.nat_id));
    on_the_spot["new_participant"] = json!({
        "name": "Bea Smith", "phone": "07700 900456", "group": "carer",
        "communication_needs": ["easy_read"],
    });
    on_the_spot["mode"] = json!("phone");
    on_the_spot["time"] = json!("09:15");
    let second = team.assign(on_the_spot).await;
    let roster = team.lead_reads("participants").await;
    let bea = roster["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["source"] == "interview")
        .unwrap_or_else(|| panic!("the new participant is on the roster: {roster}"));
    assert_eq!(bea["group"], "carer");
    let bea = bea["code"].as_str().unwrap().to_string();
    assert_ne!(bea, ada);

    // An incomplete assignment names every problem; a second interview for the same questionnaire
    // is refused.
    let (status, refused) = team
        .lead
        .call(
            Method::POST,
            &team.interviews(),
            Some(json!({ "participant_code": "P-9999", "time": "25:00", "mode": "by pigeon" })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    for field in [
        "participant_code",
        "version_id",
        "interviewer_id",
        "date",
        "time",
        "mode",
    ] {
        assert!(
            refused["error"]["fields"][field].is_string(),
            "{field}: {refused}"
        );
    }
    let (status, refused) = team
        .lead
        .call(
            Method::POST,
            &team.interviews(),
            Some(team.assignment(&ada, team.otto_id, None)),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert!(refused["error"]["fields"]["participant_code"].is_string());

    // The interviewer's schedule: both interviews, in time order, with what they need to know to
    // reach each participant.
    let schedule = read(&team.ivy, &team.interviews()).await;
    assert_eq!(ids(&schedule), vec![second, first], "{schedule}");
    let mine = &schedule[1];
    assert_eq!(mine["participant_code"], ada.as_str());
    assert_eq!(mine["status"], "scheduled");
    assert_eq!(mine["mode"], "in_person");
    assert_eq!(mine["scheduled_at"], "2026-12-03T14:30:00");
    assert_eq!(mine["interviewer_id"], team.ivy_id);
    assert!(mine["note_taker_id"].is_null());
    assert_eq!(mine["version_id"], team.version);
    assert_eq!(mine["contact"]["name"], "Ada Jones");
    assert_eq!(mine["contact"]["phone"], "07700 900123");
    assert_eq!(mine["contact"]["preferred_mode"], "in_person");
    assert_eq!(
        mine["contact"]["communication_needs"],
        json!(["large_print", "interpreter_bsl"])
    );
    assert_eq!(schedule[0]["participant_code"], bea.as_str());
    assert_eq!(schedule[0]["mode"], "phone");
    assert_eq!(schedule[0]["note_taker_id"], team.nat_id);
    assert_eq!(schedule[0]["contact"]["name"], "Bea Smith");
    assert_eq!(
        schedule[0]["contact"]["communication_needs"],
        json!(["easy_read"])
    );

    // The guide is in the participant's own wording: easy read for Bea, service users' for Ada,
    // with the probes only the interviewer sees.
    let bea_detail = read(&team.ivy, &team.interview(second)).await;
    assert_eq!(bea_detail["guide"]["audience"], "easy_read");
    let detail = read(&team.ivy, &team.interview(first)).await;
    assert_eq!(detail["guide"]["audience"], "service_user");
    assert_eq!(detail["status"], "scheduled");
    assert!(detail["consent"].is_null());
    assert!(detail["response_id"].is_null());
    assert_eq!(detail["notes"], json!([]));
    assert_eq!(
        detail["guide"]["consent_statements"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    let services = question(&detail, "Which of our services do you use?");
    let before = question(&detail, "Have you taken part in an improvement project");
    let ready = question(&detail, "What would help you feel ready");
    let likely = question(&detail, "Which would make you more likely");
    let barriers = question(&detail, "What gets in the way");
    assert!(
        detail.to_string().contains("Can you give an example?"),
        "probes"
    );

    // Verbal consent: every statement's answer and the attestation are needed.
    let base = team.interview(first);
    let (status, refused) = team
        .ivy
        .call(
            Method::POST,
            &format!("{base}/consent"),
            Some(json!({ "answers": [true, true, null, true, true], "attested": false })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    let fields = refused["error"]["fields"].as_object().unwrap();
    assert!(fields.contains_key("statement_3") && fields.contains_key("attested"));
    assert_eq!(fields.len(), 2, "{refused}");
    assert_eq!(team.lead_reads("consent-records").await, json!([]));
    let consent = json!({ "answers": [true, true, false, true, false], "attested": true });
    let (status, outcome) = team
        .ivy
        .call(
            Method::POST,
            &format!("{base}/consent"),
            Some(consent.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert_eq!(outcome["outcome"], "consented");
    // A double click records once.
    let (status, again) = team
        .ivy
        .call(Method::POST, &format!("{base}/consent"), Some(consent))
        .await;
    assert_eq!(
        (status, &again["outcome"]),
        (StatusCode::OK, &json!("consented"))
    );
    let records = team.lead_reads("consent-records").await;
    assert_eq!(records.as_array().unwrap().len(), 1, "{records}");
    let record = &records[0];
    assert_eq!(record["code"], ada.as_str());
    assert_eq!(record["method"], "verbal");
    assert_eq!(record["decision"], "consented");
    assert_eq!(record["version_id"], team.version);
    let agreed: Vec<&Value> = record["statements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["agreed"])
        .collect();
    assert_eq!(agreed, [true, true, false, true, false]);
    assert_eq!(
        consent_recorders(&app).await,
        vec![("consented".into(), "verbal".into(), Some(team.ivy_id))],
        "recorded by the interviewer"
    );
    let detail = read(&team.ivy, &base).await;
    assert_eq!(detail["status"], "in_progress");
    assert!(detail["started_at"].is_string());
    assert!(detail["response_id"].is_i64());
    assert_eq!(detail["consent"]["method"], "verbal");

    // Notes question by question: a structured answer for a choice question, its status and time.
    for (question, body, revision) in [
        (
            services,
            save("Day service, twice a week", "", "asked", 0),
            1,
        ),
        (
            before,
            json!({ "notes": "Yes, the ward redesign in 2024", "answer": "Yes",
                    "status": "asked", "elapsed_seconds": 95, "revision": 0 }),
            1,
        ),
        (
            ready,
            save("Training first\nthen a mentor", "", "asked", 0),
            1,
        ),
        (
            likely,
            save("Money matters", "Payment\nTraining", "asked", 0),
            1,
        ),
        (barriers, save("", "", "skipped", 0), 1),
    ] {
        let (status, saved) = team
            .ivy
            .call(Method::PUT, &format!("{base}/notes/{question}"), Some(body))
            .await;
        assert_eq!(status, StatusCode::OK, "{question}: {saved}");
        assert_eq!(saved["revision"], revision);
        assert_eq!(saved["changed"], true);
        assert!(saved["saved_at"].is_string());
    }
    let detail = read(&team.ivy, &base).await;
    assert_eq!(detail["notes"].as_array().unwrap().len(), 5);
    let chosen = note_of(&detail, before);
    assert_eq!(chosen["answer"], "Yes");
    assert_eq!(chosen["notes"], "Yes, the ward redesign in 2024");
    assert_eq!(chosen["status"], "asked");
    assert_eq!(chosen["elapsed_seconds"], 95);
    assert_eq!(chosen["revision"], 1);
    assert_eq!(
        note_of(&detail, likely)["answer"],
        "Training\nPayment",
        "chosen labels in the question's order"
    );
    assert_eq!(note_of(&detail, barriers)["status"], "skipped");

    // A quick note and a flagged quote; resending the quote (same client key) keeps one.
    let moments = format!("{base}/moments");
    for body in [
        json!({ "kind": "note", "body": "Sighed at the word 'meetings'", "question_id": ready,
                "client_key": "tab1-1" }),
        json!({ "kind": "quote", "body": "They never asked us until it was decided",
                "question_id": barriers, "elapsed_seconds": 300, "client_key": "tab1-2" }),
        json!({ "kind": "quote", "body": "They never asked us until it was decided",
                "question_id": barriers, "elapsed_seconds": 300, "client_key": "tab1-2" }),
    ] {
        let (status, body) = team.ivy.call(Method::POST, &moments, Some(body)).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }
    let (status, refused) = team
        .ivy
        .call(
            Method::POST,
            &moments,
            Some(json!({ "kind": "distress", "body": "", "client_key": "" })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    for field in ["kind", "body", "client_key"] {
        assert!(refused["error"]["fields"][field].is_string(), "{refused}");
    }
    let detail = read(&team.ivy, &base).await;
    let kinds: Vec<&str> = detail["moments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.len(), 2, "{}", detail["moments"]);
    assert!(kinds.contains(&"note") && kinds.contains(&"quote"));
    let quote = detail["moments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["kind"] == "quote")
        .unwrap();
    assert_eq!(quote["question_id"], barriers);
    assert_eq!(quote["elapsed_seconds"], 300);

    // Distress: the interview pauses, the moment is noted, and the interviewer gets a follow-up.
    let (status, _) = team
        .ivy
        .call(Method::POST, &format!("{base}/distress"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = team
        .ivy
        .call(Method::POST, &format!("{base}/distress"), None)
        .await;
    assert_eq!(
        status,
        StatusCode::NO_CONTENT,
        "pressing again changes nothing"
    );
    let detail = read(&team.ivy, &base).await;
    assert_eq!(detail["status"], "paused");
    assert!(detail["paused_at"].is_string());
    let follow_ups = detail["follow_ups"].as_array().unwrap();
    assert_eq!(follow_ups.len(), 1, "{follow_ups:?}");
    assert_eq!(follow_ups[0]["assigned_to"], team.ivy_id);
    assert!(follow_ups[0]["done_at"].is_null());
    assert!(
        follow_ups[0]["reason"].as_str().unwrap().contains(&ada),
        "{}",
        follow_ups[0]["reason"]
    );
    let distress: Vec<&Value> = detail["moments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "distress")
        .collect();
    assert_eq!(distress.len(), 1, "{}", detail["moments"]);
    let schedule = read(&team.ivy, &team.interviews()).await;
    assert_eq!(schedule[1]["status"], "paused");

    // Going on after the pause.
    let (status, _) = team
        .ivy
        .call(Method::POST, &format!("{base}/resume"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let detail = read(&team.ivy, &base).await;
    assert_eq!(detail["status"], "in_progress");
    assert!(detail["paused_at"].is_null());
    assert!(detail["paused_seconds"].as_i64().unwrap() >= 0);

    // Field notes: every COREQ item is needed; the missing ones are named.
    let field_notes_path = format!("{base}/field-notes");
    let (status, refused) = team
        .ivy
        .call(
            Method::PUT,
            &field_notes_path,
            Some(json!({ "setting": "Ward day room", "rapport": "   " })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    let mut missing: Vec<&String> = refused["error"]["fields"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    missing.sort();
    assert_eq!(
        missing,
        [
            "interruptions",
            "people_present",
            "rapport",
            "recording_quality",
            "reflections"
        ]
    );
    assert_eq!(read(&team.ivy, &base).await["status"], "in_progress");

    // Completing: the interview ends, and the notes become the participant's sent response.
    let (status, body) = team
        .ivy
        .call(Method::PUT, &field_notes_path, Some(field_notes()))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let detail = read(&team.ivy, &base).await;
    assert_eq!(detail["status"], "completed");
    assert!(detail["ended_at"].is_string());
    assert!(detail["paused_at"].is_null());
    assert_eq!(
        detail["field_notes"]["setting"],
        "Ward day room, door closed"
    );
    assert_eq!(detail["field_notes"]["rapport"], "At ease");
    assert_eq!(detail["edits"], json!([]));
    let response_id = detail["response_id"].as_i64().unwrap();
    let responses = team.lead_reads("responses").await;
    assert_eq!(responses.as_array().unwrap().len(), 1, "{responses}");
    let response = &responses[0];
    assert_eq!(response["id"], response_id);
    assert_eq!(response["mode"], "interview");
    assert_eq!(response["code"], ada.as_str());
    assert_eq!(response["audience"], "service_user");
    assert_eq!(response["participant_group"], "service_user");
    assert!(response["submitted_at"].is_string(), "{response}");
    let (status, analysed) = team
        .analyst
        .call(
            Method::GET,
            &format!("/api/v1/studies/{}/responses/{response_id}", team.study),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{analysed}");
    let answers = analysed["answers"].as_array().unwrap();
    let answer = |id: i64| answers.iter().find(|a| a["question_id"] == id).cloned();
    assert_eq!(answer(before).expect("the choice answer")["value"], "Yes");
    assert_eq!(
        answer(likely).expect("the choices")["value"],
        "Training\nPayment"
    );
    let stored = stored_answers(&app, response_id).await;
    assert!(
        stored.contains(&(
            ready,
            String::new(),
            "Training first\nthen a mentor".into(),
            "asked".into()
        )),
        "{stored:?}"
    );
    assert!(stored.contains(&(
        before,
        "Yes".into(),
        "Yes, the ward redesign in 2024".into(),
        "asked".into()
    )));
    // The team's response API carries the interview notes: analysis reads online answers and
    // interview notes alike.
    assert!(
        answer(ready).is_some_and(|a| a["notes"] == "Training first\nthen a mentor"),
        "{}",
        answer(ready).unwrap_or_default()
    );

    // After completion, changes keep their before and after, and who made them.
    let mut changed_notes = field_notes();
    changed_notes["rapport"] = json!("At ease, then tired after the pause");
    let (status, _) = team
        .ivy
        .call(Method::PUT, &field_notes_path, Some(changed_notes.clone()))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, saved) = team
        .ivy
        .call(
            Method::PUT,
            &format!("{base}/notes/{ready}"),
            Some(save(
                "Training first\nthen a mentor, and paid time",
                "",
                "asked",
                1,
            )),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(
        (saved["revision"].as_i64(), saved["changed"].as_bool()),
        (Some(2), Some(true))
    );
    // The same field notes again change nothing and add no edit.
    let (status, _) = team
        .ivy
        .call(Method::PUT, &field_notes_path, Some(changed_notes))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let detail = read(&team.ivy, &base).await;
    assert_eq!(detail["status"], "completed");
    assert_eq!(
        detail["field_notes"]["rapport"],
        "At ease, then tired after the pause"
    );
    let edits = detail["edits"].as_array().unwrap();
    assert_eq!(edits.len(), 2, "{edits:?}");
    // Newest first: the note, then the field notes.
    assert_eq!(edits[0]["question_id"], ready);
    assert_eq!(edits[0]["field"], "notes");
    assert_eq!(edits[0]["old_text"], "Training first\nthen a mentor");
    assert_eq!(
        edits[0]["new_text"],
        "Training first\nthen a mentor, and paid time"
    );
    assert_eq!(edits[0]["edited_by"], team.ivy_id);
    assert!(edits[1]["question_id"].is_null());
    assert_eq!(edits[1]["field"], "rapport");
    assert_eq!(edits[1]["old_text"], "At ease");
    assert_eq!(edits[1]["new_text"], "At ease, then tired after the pause");
    assert_eq!(edits[1]["edited_by"], team.ivy_id);
    assert!(edits[1]["edited_at"].is_string());
    // The lead reads the same history.
    let lead_view = read(&team.lead, &base).await;
    assert_eq!(lead_view["edits"], detail["edits"]);
    // Completed interviews take no more distress pauses.
    let (status, _) = team
        .ivy
        .call(Method::POST, &format!("{base}/distress"), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The follow-up is marked done.
    let follow_up = detail["follow_ups"][0]["id"].as_i64().unwrap();
    let (status, _) = team
        .ivy
        .call(
            Method::POST,
            &format!("{base}/follow-ups/{follow_up}/done"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let detail = read(&team.ivy, &base).await;
    assert!(detail["follow_ups"][0]["done_at"].is_string());
    // A follow-up that does not exist is not found (the documented 404), rather than "done".
    let (status, _) = team
        .ivy
        .call(
            Method::POST,
            &format!("{base}/follow-ups/{}/done", follow_up + 1000),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a follow-up the interview does not have"
    );
}

async fn note_saves_are_idempotent_versioned_and_never_overwrite_silently(app: TestApp) {
    let team = Team::new(&app).await;
    let (id, _) = team
        .scheduled("Cal Evans", "staff", team.ivy_id, Some(team.nat_id))
        .await;
    let base = team.interview(id);
    let detail = read(&team.ivy, &base).await;
    assert_eq!(detail["guide"]["audience"], "staff");
    let know = question(&detail, "What do you know about involving");
    let before = question(&detail, "Have you taken part in an improvement project");
    let notes = format!("{base}/notes/{know}");

    // No notes before consent is recorded (for the interviewer or the note-taker).
    for who in [&team.ivy, &team.nat] {
        let (status, _) = who
            .call(Method::PUT, &notes, Some(save("Early", "", "", 0)))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = who
            .call(
                Method::POST,
                &format!("{base}/moments"),
                Some(json!({ "kind": "note", "body": "Early", "client_key": "k" })),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let (status, _) = team
        .ivy
        .call(Method::POST, &format!("{base}/distress"), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "not live yet");
    let (status, _) = team
        .ivy
        .call(
            Method::PUT,
            &format!("{base}/field-notes"),
            Some(field_notes()),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "cannot complete before it starts"
    );
    let (status, body) = team
        .nat
        .call(
            Method::POST,
            &format!("{base}/consent"),
            Some(full_consent()),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the note-taker may record consent: {body}"
    );
    assert_eq!(
        consent_recorders(&app).await[0].2,
        Some(team.nat_id),
        "recorded by the note-taker"
    );

    // The same save twice: both succeed, the second changes nothing.
    let first = json!({ "notes": "She said", "answer": "", "status": "asked",
                        "elapsed_seconds": 30, "revision": 0 });
    let (status, saved) = team
        .ivy
        .call(Method::PUT, &notes, Some(first.clone()))
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(
        (saved["revision"].as_i64(), saved["changed"].as_bool()),
        (Some(1), Some(true))
    );
    let (status, resent) = team.ivy.call(Method::PUT, &notes, Some(first)).await;
    assert_eq!(status, StatusCode::OK, "{resent}");
    assert_eq!(resent["changed"], false);
    assert_eq!(resent["revision"], 1);
    assert_eq!(resent["saved_at"], saved["saved_at"]);
    // A resend later on keeps the text and lets the time spent grow (never shrink).
    let (status, later) = team
        .ivy
        .call(
            Method::PUT,
            &notes,
            Some(
                json!({ "notes": "She said", "status": "asked", "elapsed_seconds": 45,
                         "revision": 0 }),
            ),
        )
        .await;
    assert_eq!((status, &later["changed"]), (StatusCode::OK, &json!(false)));
    let (status, _) = team
        .ivy
        .call(
            Method::PUT,
            &notes,
            Some(
                json!({ "notes": "She said", "status": "asked", "elapsed_seconds": 10,
                         "revision": 1 }),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let stored = note_of(&read(&team.ivy, &base).await, know);
    assert_eq!(stored["revision"], 1);
    assert_eq!(stored["elapsed_seconds"], 45);

    // Each change names the revision it saw and makes the next.
    let (status, saved) = team
        .ivy
        .call(
            Method::PUT,
            &notes,
            Some(save("She said the meetings are at 10", "", "asked", 1)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["revision"], 2);
    assert_eq!(saved["changed"], true);

    // The note-taker's device still had revision 1: its different text is a conflict with both
    // versions, and nothing is overwritten.
    let (status, conflict) = team
        .nat
        .call(
            Method::PUT,
            &notes,
            Some(save(
                "She said meetings clash with school runs",
                "",
                "asked",
                1,
            )),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{conflict}");
    assert_eq!(conflict["error"]["code"], "conflict");
    assert!(conflict["error"]["message"].is_string());
    assert_eq!(
        conflict["stored"]["notes"],
        "She said the meetings are at 10"
    );
    assert_eq!(conflict["stored"]["revision"], 2);
    assert_eq!(conflict["stored"]["question_id"], know);
    assert_eq!(
        conflict["yours"]["notes"],
        "She said meetings clash with school runs"
    );
    let stored = note_of(&read(&team.nat, &base).await, know);
    assert_eq!(stored["notes"], "She said the meetings are at 10");
    assert_eq!(stored["revision"], 2);

    // Saving again naming the stored revision (both texts kept) succeeds.
    let merged = "She said the meetings are at 10, which clash with school runs";
    let (status, saved) = team
        .nat
        .call(Method::PUT, &notes, Some(save(merged, "", "asked", 2)))
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(
        (saved["revision"].as_i64(), saved["changed"].as_bool()),
        (Some(3), Some(true))
    );
    // A first save naming a revision that was never stored conflicts too.
    let (status, conflict) = team
        .ivy
        .call(
            Method::PUT,
            &format!("{base}/notes/{before}"),
            Some(save("Yes", "Yes", "asked", 4)),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{conflict}");
    assert_eq!(conflict["stored"]["revision"], 0);
    assert_eq!(conflict["stored"]["notes"], "");

    // What cannot be stored is refused with 422 and stores nothing.
    for (question, body) in [
        (before, save("Maybe", "Perhaps", "asked", 0)),
        (know, save("Text", "Yes", "asked", 3)),
        (know, save("Text", "", "mumbled", 3)),
        (know, save(&"x".repeat(20_001), "", "asked", 3)),
        (999_999, save("Nowhere", "", "asked", 0)),
    ] {
        let (status, refused) = team
            .ivy
            .call(Method::PUT, &format!("{base}/notes/{question}"), Some(body))
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{question}: {refused}"
        );
        assert_eq!(refused["error"]["code"], "invalid");
        assert!(refused["error"]["fields"]["notes"].is_string(), "{refused}");
    }
    let detail = read(&team.ivy, &base).await;
    assert_eq!(
        detail["notes"].as_array().unwrap().len(),
        1,
        "{}",
        detail["notes"]
    );
    let stored = note_of(&detail, know);
    assert_eq!(stored["notes"], merged);
    assert_eq!(stored["revision"], 3);
    let (status, saved) = team
        .ivy
        .call(
            Method::PUT,
            &format!("{base}/notes/{before}"),
            Some(save("", "Not sure", "asked", 0)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "a valid choice: {saved}");
    assert_eq!(
        note_of(&read(&team.ivy, &base).await, before)["answer"],
        "Not sure"
    );

    // Two devices save one question at the same moment from the same revision: one is stored, the
    // other is told of the conflict, round after round.
    let barriers = question(&detail, "What gets in the way");
    let path = format!("{base}/notes/{barriers}");
    for round in 0..5 {
        let (ivy_text, nat_text) = (format!("Ivy {round}"), format!("Nat {round}"));
        let (ivy, nat) = tokio::join!(
            team.ivy.call(
                Method::PUT,
                &path,
                Some(save(&ivy_text, "", "asked", round))
            ),
            team.nat.call(
                Method::PUT,
                &path,
                Some(save(&nat_text, "", "asked", round))
            ),
        );
        let mut statuses = [ivy.0.as_u16(), nat.0.as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 409], "round {round}: {ivy:?} {nat:?}");
        let winner = if ivy.0 == StatusCode::OK {
            ivy_text
        } else {
            nat_text
        };
        let stored = note_of(&read(&team.ivy, &base).await, barriers);
        assert_eq!(stored["notes"], winner.as_str());
        assert_eq!(stored["revision"], round + 1);
    }
}

async fn declined_verbal_consent_ends_the_interview_with_only_the_decision(app: TestApp) {
    let team = Team::new(&app).await;
    let (id, code) = team.scheduled("Dee Fox", "carer", team.ivy_id, None).await;
    let base = team.interview(id);
    let know = question(
        &read(&team.ivy, &base).await,
        "What would help you feel ready",
    );

    // "No" to a required statement ("I agree to take part"), the rest yes.
    let (status, outcome) = team
        .ivy
        .call(
            Method::POST,
            &format!("{base}/consent"),
            Some(json!({ "answers": [true, false, true, true, true], "attested": true })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert_eq!(outcome["outcome"], "declined");
    let detail = read(&team.ivy, &base).await;
    assert_eq!(detail["status"], "declined");
    assert!(detail["response_id"].is_null(), "no response is started");
    assert!(detail["started_at"].is_null());
    assert_eq!(detail["consent"]["decision"], "declined");
    assert_eq!(team.lead_reads("responses").await, json!([]));
    let records = team.lead_reads("consent-records").await;
    assert_eq!(records.as_array().unwrap().len(), 1, "{records}");
    assert_eq!(records[0]["code"], code.as_str());
    assert_eq!(records[0]["decision"], "declined");
    assert_eq!(records[0]["method"], "verbal");
    assert_eq!(
        consent_recorders(&app).await,
        vec![("declined".into(), "verbal".into(), Some(team.ivy_id))]
    );

    // Nothing more can be recorded for this interview.
    let (status, _) = team
        .ivy
        .call(
            Method::PUT,
            &format!("{base}/notes/{know}"),
            Some(save("Should not be kept", "", "asked", 0)),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = team
        .ivy
        .call(
            Method::POST,
            &format!("{base}/moments"),
            Some(json!({ "kind": "quote", "body": "No", "client_key": "k1" })),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for action in ["distress", "resume"] {
        let (status, _) = team
            .ivy
            .call(Method::POST, &format!("{base}/{action}"), None)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{action}");
    }
    let (status, _) = team
        .ivy
        .call(
            Method::PUT,
            &format!("{base}/field-notes"),
            Some(field_notes()),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Recording consent again does not turn the decision round.
    let (status, outcome) = team
        .ivy
        .call(
            Method::POST,
            &format!("{base}/consent"),
            Some(full_consent()),
        )
        .await;
    assert_eq!(
        (status, &outcome["outcome"]),
        (StatusCode::OK, &json!("declined"))
    );
    let detail = read(&team.ivy, &base).await;
    assert_eq!(detail["status"], "declined");
    assert_eq!(detail["notes"], json!([]));
    assert_eq!(detail["moments"], json!([]));
    assert_eq!(team.lead_reads("responses").await, json!([]));
    assert_eq!(
        team.lead_reads("consent-records")
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

async fn who_may_see_assign_and_take_interview_notes(app: TestApp) {
    let team = Team::new(&app).await;
    let (mine, _) = team
        .scheduled("Eve Green", "staff", team.ivy_id, Some(team.nat_id))
        .await;
    let (others, _) = team
        .scheduled("Finn Hale", "service_user", team.otto_id, None)
        .await;

    // Interviewers see their own interviews (as interviewer or note-taker), and nobody else's.
    assert_eq!(ids(&read(&team.ivy, &team.interviews()).await), vec![mine]);
    assert_eq!(ids(&read(&team.nat, &team.interviews()).await), vec![mine]);
    assert_eq!(
        ids(&read(&team.otto, &team.interviews()).await),
        vec![others]
    );
    let (status, _) = team
        .ivy
        .call(Method::GET, &team.interview(others), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = team
        .otto
        .call(Method::GET, &team.interview(mine), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = team
        .otto
        .call(
            Method::POST,
            &format!("{}/consent", team.interview(mine)),
            Some(full_consent()),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let detail = read(&team.nat, &team.interview(mine)).await;
    assert_eq!(detail["contact"]["name"], "Eve Green", "the note-taker too");

    // Leads see them all, with the participants' contact details.
    let all = read(&team.lead, &team.interviews()).await;
    let mut all = ids(&all);
    all.sort_unstable();
    assert_eq!(all, vec![mine, others]);
    let theirs = read(&team.lead, &team.interview(others)).await;
    assert_eq!(theirs["contact"]["name"], "Finn Hale");

    // The interviewer records consent; the note-taker takes notes; a lead who is neither cannot.
    let base = team.interview(mine);
    let (status, _) = team
        .ivy
        .call(
            Method::POST,
            &format!("{base}/consent"),
            Some(full_consent()),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let know = question(&detail, "What do you know about involving");
    let notes = format!("{base}/notes/{know}");
    let (status, saved) = team
        .nat
        .call(
            Method::PUT,
            &notes,
            Some(save("Written by the note-taker", "", "asked", 0)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let (status, _) = team
        .nat
        .call(
            Method::POST,
            &format!("{base}/moments"),
            Some(json!({ "kind": "quote", "body": "Nobody asked", "client_key": "nat-1" })),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = team
        .lead
        .call(
            Method::PUT,
            &notes,
            Some(save("The lead's words", "", "asked", 1)),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for (method, path, body) in [
        (
            Method::POST,
            format!("{base}/moments"),
            Some(json!({ "kind": "note", "body": "Lead", "client_key": "lead-1" })),
        ),
        (Method::POST, format!("{base}/distress"), None),
        (
            Method::PUT,
            format!("{base}/field-notes"),
            Some(field_notes()),
        ),
        (
            Method::POST,
            format!("{base}/consent"),
            Some(full_consent()),
        ),
    ] {
        let (status, _) = team.lead.call(method.clone(), &path, body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "lead {method} {path}");
    }
    let detail = read(&team.lead, &base).await;
    assert_eq!(note_of(&detail, know)["notes"], "Written by the note-taker");
    assert_eq!(
        detail["status"], "in_progress",
        "the lead's distress press did nothing"
    );

    // Analysts and co-designers have no part in interviews; non-members learn nothing; callers
    // without a token are asked who they are.
    for (who, name) in [
        (&team.analyst, "analyst"),
        (&team.co_designer, "co-designer"),
    ] {
        for path in [team.interviews(), base.clone()] {
            let (status, _) = who.call(Method::GET, &path, None).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{name} GET {path}");
        }
        let (status, _) = who
            .call(Method::PUT, &notes, Some(save("No", "", "", 1)))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{name} PUT notes");
    }
    for path in [team.interviews(), base.clone()] {
        let (status, _) = team.outsider.call(Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "outsider GET {path}");
    }
    let (status, _) = team
        .outsider
        .call(Method::PUT, &notes, Some(save("No", "", "", 1)))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for (method, path) in [
        (Method::GET, team.interviews()),
        (Method::PUT, notes.clone()),
    ] {
        let response = app
            .client
            .request(method.clone(), app.url(&path))
            .json(&save("No", "", "", 1))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "{method} {path}"
        );
    }
    assert_eq!(
        note_of(&read(&team.ivy, &base).await, know)["notes"],
        "Written by the note-taker",
        "nobody else changed it"
    );

    // Only leads assign, change and cancel; interviewers and note-takers must hold the role.
    let code = team
        .roster(json!({ "name": "Gus", "group": "staff" }))
        .await;
    let body = team.assignment(&code, team.ivy_id, None);
    let (status, _) = team
        .ivy
        .call(Method::POST, &team.interviews(), Some(body.clone()))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = team
        .analyst
        .call(Method::POST, &team.interviews(), Some(body))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let analyst_id = app
        .db
        .read(|conn| {
            use voices::db::schema::users;
            users::table
                .filter(users::email.eq("analyst@example.org"))
                .select(users::id)
                .first::<i64>(conn)
                .map_err(voices::error::AppError::from)
        })
        .await
        .unwrap();
    let (status, refused) = team
        .lead
        .call(
            Method::POST,
            &team.interviews(),
            Some(team.assignment(&code, analyst_id, Some(analyst_id))),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert!(refused["error"]["fields"]["interviewer_id"].is_string());
    assert!(refused["error"]["fields"]["note_taker_id"].is_string());
    let (status, refused) = team
        .lead
        .call(
            Method::POST,
            &team.interviews(),
            Some(team.assignment(&code, team.ivy_id, Some(team.ivy_id))),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert!(refused["error"]["fields"]["note_taker_id"].is_string());

    // The lead hands Otto's interview to Ivy, with Nat taking notes.
    let mut change = team.assignment("", team.ivy_id, Some(team.nat_id));
    change["mode"] = json!("video");
    let (status, _) = team
        .ivy
        .call(Method::PATCH, &team.interview(others), Some(change.clone()))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = team
        .lead
        .call(Method::PATCH, &team.interview(others), Some(change))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(read(&team.otto, &team.interviews()).await, json!([]));
    let (status, _) = team
        .otto
        .call(Method::GET, &team.interview(others), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let moved = read(&team.ivy, &team.interview(others)).await;
    assert_eq!(moved["interviewer_id"], team.ivy_id);
    assert_eq!(moved["note_taker_id"], team.nat_id);
    assert_eq!(moved["mode"], "video");
    assert_eq!(moved["participant_code"], theirs["participant_code"]);
    let mut schedule = ids(&read(&team.nat, &team.interviews()).await);
    schedule.sort_unstable();
    assert_eq!(schedule, vec![mine, others]);

    // Cancelling: only a lead, only before it starts; a cancelled interview takes no consent.
    let cancel = format!("{}/cancel", team.interview(others));
    let (status, _) = team.ivy.call(Method::POST, &cancel, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = team.lead.call(Method::POST, &cancel, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        read(&team.ivy, &team.interview(others)).await["status"],
        "cancelled"
    );
    let (status, _) = team
        .ivy
        .call(
            Method::POST,
            &format!("{}/consent", team.interview(others)),
            Some(full_consent()),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = team
        .lead
        .call(Method::POST, &format!("{base}/cancel"), None)
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "an interview under way is not cancelled"
    );
    assert_eq!(read(&team.ivy, &base).await["status"], "in_progress");
}

async fn an_online_link_and_an_interview_never_answer_for_the_same_participation(app: TestApp) {
    let team = Team::new(&app).await;
    // Two people invited by email. The first has not consented yet and is assigned an interview
    // (allowed: they have not started); their link no longer lets them consent or answer online.
    let mut links = Vec::new();
    let mut roster_codes = Vec::new();
    for (name, email) in [
        ("Gil First", "gil.first@example.org"),
        ("Hal Later", "hal.later@example.org"),
    ] {
        roster_codes.push(
            team.roster(json!({ "name": name, "email": email, "group": "staff" }))
                .await,
        );
    }
    let campaign = crate::distribution::create_campaign(&team.lead, team.study, team.version).await;
    let (status, _) = team
        .lead
        .call(
            Method::POST,
            &format!("/api/v1/studies/{}/campaigns/{campaign}/launch", team.study),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    app.wake_outbox();
    for email in ["gil.first@example.org", "hal.later@example.org"] {
        let invitation = app
            .wait_for_email(email)
            .await
            .replace("=\r\n", "")
            .replace("=\n", "")
            .replace("=3D", "=");
        let secret = crate::helpers::value_after(&invitation, "/p/").expect("a link");
        links.push(Participant {
            visitor: app.new_visitor(),
            home: format!("/p/{secret}"),
        });
    }
    let online_later = links.pop().unwrap();
    let online_first = links.pop().unwrap();
    let (status, _) = online_first.get("").await;
    assert_eq!(status, StatusCode::OK);
    let first_code = roster_codes[0].clone();
    let first = team
        .assign(team.assignment(&first_code, team.ivy_id, None))
        .await;
    // (Posted by hand: a link replaced by an interview may refuse in more than one way.)
    let posted = online_first
        .post(
            "/consent",
            &[
                ("statement_1", "yes"),
                ("statement_2", "yes"),
                ("decision", "agree"),
            ],
        )
        .await;
    assert!(
        !posted.status().is_server_error(),
        "online consent: {}",
        posted.status()
    );
    assert_eq!(
        team.lead_reads("consent-records").await,
        json!([]),
        "no online consent through a link an interview replaced"
    );
    let (status, page) = online_first.get("/page/1").await;
    assert_ne!(status, StatusCode::OK, "{page}");
    let (status, body) = team
        .ivy
        .call(
            Method::POST,
            &format!("{}/consent", team.interview(first)),
            Some(full_consent()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["outcome"], "consented");
    let responses = team.lead_reads("responses").await;
    assert_eq!(responses.as_array().unwrap().len(), 1, "{responses}");
    assert_eq!(responses[0]["mode"], "interview");

    // The other way round: verbal consent first, then the participant's old link is opened.
    let (status, _) = online_later.get("").await;
    assert_eq!(status, StatusCode::OK);
    let second_code = roster_codes[1].clone();
    let second = team
        .assign(team.assignment(&second_code, team.ivy_id, None))
        .await;
    let (status, body) = team
        .ivy
        .call(
            Method::POST,
            &format!("{}/consent", team.interview(second)),
            Some(full_consent()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, page) = online_later.get("/page/1").await;
    assert_ne!(status, StatusCode::OK, "{page}");
    assert!(!page.contains("Have you taken part"), "{page}");
    let before = question(
        &read(&team.ivy, &team.interview(second)).await,
        "Have you taken part",
    );
    let posted = online_later
        .post("/page/1", &[(&format!("q-{before}"), "No"), ("go", "next")])
        .await;
    assert!(!posted.status().is_server_error());
    let detail = read(&team.ivy, &team.interview(second)).await;
    assert_eq!(
        detail["notes"],
        json!([]),
        "the online link wrote into the interview's notes"
    );
    assert_eq!(
        team.lead_reads("responses").await.as_array().unwrap().len(),
        2
    );
}

async fn anonymising_studies_part_the_notes_from_the_interview_at_completion(app: TestApp) {
    let team = Team::new(&app).await;
    crate::responses::change_study(&app, team.study, json!({ "anonymise_responses": true })).await;
    let (id, code) = team
        .scheduled("Kit Brown", "staff", team.ivy_id, None)
        .await;
    let base = team.interview(id);
    let (status, _) = team
        .ivy
        .call(
            Method::POST,
            &format!("{base}/consent"),
            Some(full_consent()),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let detail = read(&team.ivy, &base).await;
    let first = detail["guide"]["sections"][1]["questions"][0]["id"]
        .as_i64()
        .unwrap();
    let (status, _) = team
        .ivy
        .call(
            Method::PUT,
            &format!("{base}/notes/{first}"),
            Some(save("Spoke about the steering group", "", "asked", 0)),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = team
        .ivy
        .call(
            Method::PUT,
            &format!("{base}/field-notes"),
            Some(field_notes()),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // The response keeps the notes but no code, and only the day; the interview no longer leads to it.
    let responses = team.lead_reads("responses").await;
    let response = &responses.as_array().unwrap()[0];
    assert_eq!(response["mode"], "interview");
    assert!(response["code"].is_null(), "{response}");
    assert!(
        response["submitted_at"]
            .as_str()
            .unwrap()
            .ends_with("T00:00:00Z"),
        "{response}"
    );
    assert!(!responses.to_string().contains(&code));
    let detail = read(&team.ivy, &base).await;
    assert!(detail["response_id"].is_null(), "{detail}");
    assert_eq!(detail["notes"], json!([]));
    let (status, _) = team
        .ivy
        .call(
            Method::PUT,
            &format!("{base}/notes/{first}"),
            Some(save("A correction", "", "asked", 1)),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "notes cannot be reached any more"
    );
    let stored = stored_answers(&app, response["id"].as_i64().unwrap()).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].2, "Spoke about the steering group");
}
