//! A study whose participants have been interviewed, for the analysis tests: the sample guide
//! published, people added to the roster with their group, service and level, each interviewed
//! through the API (verbal consent, notes and structured answers question by question, field notes),
//! so their responses are sent and ready to code.

use std::collections::HashMap;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{publish, Caller, Person, StudyTeam, TestApp};

const SAMPLE: &str = include_str!("../fixtures/sample_guide.json");

/// What one person said: their group, service and level, and per question (by the first words of
/// its text) the interviewer's notes and any structured answer.
pub struct Said {
    pub group: &'static str,
    pub service: &'static str,
    pub level: &'static str,
    /// Whether they agreed to anonymised quotes from what they say (the guide's fourth statement).
    pub quotes: bool,
    pub notes: &'static [(&'static str, &'static str, &'static str)],
}

pub struct Interviewee {
    pub code: String,
    pub response_id: i64,
}

pub struct Interviewed {
    pub team: StudyTeam,
    pub version: i64,
    /// Question ids by the question's text.
    pub questions: HashMap<String, i64>,
    pub people: Vec<Interviewee>,
}

impl Interviewed {
    /// The id of the question whose text starts with `words`.
    pub fn question(&self, words: &str) -> i64 {
        self.questions
            .iter()
            .find(|(text, _)| text.starts_with(words))
            .map(|(_, id)| *id)
            .unwrap_or_else(|| panic!("no question starting {words:?}"))
    }

    pub fn api(&self, rest: &str) -> String {
        format!("/api/v1/studies/{}{rest}", self.team.study)
    }
}

async fn ok(who: &Person, method: Method, path: &str, body: Option<Value>) -> Value {
    let (status, reply) = who.call(method.clone(), path, body).await;
    assert!(status.is_success(), "{method} {path}: {status} {reply}");
    reply
}

/// Interviews everyone in `people`, in order, as the team's interviewer.
pub async fn interviewed(app: &TestApp, people: &[Said]) -> Interviewed {
    let team = StudyTeam::new(app).await;
    let study = team.study;
    let imported = ok(
        &team.lead,
        Method::POST,
        &format!("/api/v1/studies/{study}/questionnaires/import"),
        Some(serde_json::from_str(SAMPLE).unwrap()),
    )
    .await;
    let questionnaire = imported["questionnaire"]["id"].as_i64().unwrap();
    let lead = Caller::new(app, "lead@example.org").await;
    let version = publish(&lead, study, questionnaire).await;
    let tree = ok(
        &team.lead,
        Method::GET,
        &format!("/api/v1/studies/{study}/questionnaires/{questionnaire}"),
        None,
    )
    .await;
    let questions: HashMap<String, i64> = tree["sections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["questions"].as_array().unwrap())
        .map(|q| {
            let q = if q["question"].is_object() {
                &q["question"]
            } else {
                q
            };
            (
                q["text"].as_str().unwrap().to_string(),
                q["id"].as_i64().unwrap(),
            )
        })
        .collect();
    let interviewer_id = team.user_id("interviewer@example.org").await;
    let mut fixture = Interviewed {
        team,
        version,
        questions,
        people: Vec::new(),
    };
    for (n, said) in people.iter().enumerate() {
        let code = interview(&fixture, interviewer_id, n, said).await;
        fixture.people.push(Interviewee {
            code,
            response_id: 0,
        });
    }
    let overview = ok(
        &fixture.team.lead,
        Method::GET,
        &fixture.api("/coding"),
        None,
    )
    .await;
    for person in &mut fixture.people {
        person.response_id = overview["responses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["participant_code"] == person.code.as_str())
            .unwrap_or_else(|| panic!("{} has no sent response: {overview}", person.code))
            ["response_id"]
            .as_i64()
            .unwrap();
    }
    fixture
}

async fn interview(fixture: &Interviewed, interviewer_id: i64, n: usize, said: &Said) -> String {
    let team = &fixture.team;
    let added = ok(
        &team.lead,
        Method::POST,
        &fixture.api("/participants"),
        Some(json!({
            "name": format!("Person {n}"), "phone": "07700 900001", "group": said.group,
            "service_area": said.service, "system_level": said.level,
        })),
    )
    .await;
    let code = added["code"].as_str().unwrap().to_string();
    let assigned = ok(
        &team.lead,
        Method::POST,
        &fixture.api("/interviews"),
        Some(json!({
            "participant_code": code, "version_id": fixture.version.to_string(),
            "interviewer_id": interviewer_id.to_string(), "note_taker_id": "",
            "date": "2026-12-03", "time": "14:30", "mode": "in_person",
        })),
    )
    .await;
    let base = fixture.api(&format!("/interviews/{}", assigned["id"].as_i64().unwrap()));
    let interviewer = &team.interviewer;
    ok(
        interviewer,
        Method::POST,
        &format!("{base}/consent"),
        Some(json!({ "answers": [true, true, true, said.quotes, false], "attested": true })),
    )
    .await;
    for (words, notes, answer) in said.notes {
        let question = fixture.question(words);
        ok(
            interviewer,
            Method::PUT,
            &format!("{base}/notes/{question}"),
            Some(json!({ "notes": notes, "answer": answer, "status": "asked", "revision": 0 })),
        )
        .await;
    }
    ok(
        interviewer,
        Method::PUT,
        &format!("{base}/field-notes"),
        Some(json!({
            "setting": "Community hall", "people_present": "None", "interruptions": "None",
            "rapport": "Good", "recording_quality": "Full notes", "reflections": "Thoughtful",
        })),
    )
    .await;
    code
}

/// Three people: a staff member, a service user and a carer, each with notes on the barriers
/// question (multi-byte text included) and an answer to the Likert question.
pub const THREE: &[Said] = &[
    Said {
        group: "staff",
        service: "Mental health",
        level: "micro",
        quotes: true,
        notes: &[
            (
                "What gets in the way",
                "Meetings at 9 € — too early 🙁 for most carers. Papers arrive late.",
                "",
            ),
            ("I know how to involve", "Unsure who to ask", "Disagree"),
        ],
    },
    Said {
        group: "service_user",
        service: "Community",
        level: "meso",
        quotes: false,
        notes: &[
            (
                "What gets in the way",
                "Nobody pays travel. Café vouchers helped once.",
                "",
            ),
            ("How were you treated", "Listened to, at last", ""),
        ],
    },
    Said {
        group: "carer",
        service: "Community",
        level: "micro",
        quotes: true,
        notes: &[(
            "What gets in the way",
            "Caring duties clash with meetings; evening options helped.",
            "",
        )],
    },
];

/// The id of the live code named `name` in the study's codebook (read as the analyst).
pub async fn code_id(fixture: &Interviewed, name: &str) -> i64 {
    let (status, codebook) = fixture
        .team
        .analyst
        .call(Method::GET, &fixture.api("/codebook"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    codebook["codes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no code {name}"))["id"]
        .as_i64()
        .unwrap()
}

/// Codes words of a person's notes on the barriers question, as the analyst.
pub async fn code(fixture: &Interviewed, person: usize, words: &str, codes: &[i64], valence: &str) {
    let barriers = fixture.question("What gets in the way");
    let (_, page) = fixture
        .team
        .analyst
        .call(
            Method::GET,
            &fixture.api(&format!(
                "/coding/responses/{}",
                fixture.people[person].response_id
            )),
            None,
        )
        .await;
    let answer = page["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["question_id"] == barriers)
        .unwrap()["answer_id"]
        .clone();
    let (status, made) = fixture
        .team
        .analyst
        .call(
            Method::POST,
            &fixture.api("/codings"),
            Some(
                json!({ "answer_id": answer, "field": "notes", "passage": words,
                         "code_ids": codes, "valence": valence }),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
}

/// `THREE` interviewed and coded: barriers, enablers, a mixed and a neutral passage, a code under
/// Physical opportunity.
pub async fn coded_three(app: &TestApp) -> Interviewed {
    let fixture = interviewed(app, THREE).await;
    let physical = code_id(&fixture, "Physical opportunity").await;
    let social = code_id(&fixture, "Social opportunity").await;
    // A code under Physical opportunity counts in its column.
    let (_, travel) = fixture
        .team
        .analyst
        .call(
            Method::POST,
            &fixture.api("/codebook/codes"),
            Some(json!({ "name": "Travel costs", "parent_id": physical, "colour": "orange" })),
        )
        .await;
    let travel = travel["id"].as_i64().unwrap();
    code(&fixture, 0, "too early 🙁", &[physical, social], "barrier").await;
    code(&fixture, 0, "Papers arrive late.", &[physical], "barrier").await;
    code(&fixture, 1, "Nobody pays travel.", &[travel], "barrier").await;
    code(
        &fixture,
        1,
        "Café vouchers helped once.",
        &[travel],
        "mixed",
    )
    .await;
    code(
        &fixture,
        2,
        "evening options helped",
        &[physical],
        "enabler",
    )
    .await;
    code(&fixture, 2, "Caring duties", &[social], "neutral").await;
    fixture
}
