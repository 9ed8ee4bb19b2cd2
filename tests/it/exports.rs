//! Exports, as leads and analysts download them: responses as CSV (wide and long, labels and codes)
//! and JSON, parsed back and compared with what participants answered online; the codebook as CSV
//! and REFI-QDA; a REFI-QDA project built from the answers, checked against the published schema. On
//! SQLite and PostgreSQL.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::Command;

use diesel::prelude::*;
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::{json, Value};

use voices::analysis::exports::refi;

use crate::helpers::{location, StudyTeam, TestApp};
use crate::on_both_databases;
use crate::responses::{change_study, field_of, sample_study, Participant};

on_both_databases!(
    responses_come_out_as_they_were_answered,
    the_codebook_exports_to_csv_and_refi_qda,
    closed_questions_are_counted_and_small_counts_hidden_when_shared,
    exports_of_many_responses_come_out_whole,
);

/// A participant's answers, by question id: the values given, or None when skipped.
pub type Given = BTreeMap<i64, Option<Vec<String>>>;

/// Someone who answered online, as the fixture planned it.
#[derive(Debug, Clone)]
pub struct Answered {
    pub code: String,
    pub group: String,
    pub service: String,
    pub level: String,
    pub answers: Given,
    pub submitted: bool,
}

/// What one participant does: their group, service and level, and for each question (found by the
/// start of its text in their wording) the values to give; an empty list skips it. Without `submit`
/// they answer the first page only and leave.
pub struct Plan<'a> {
    pub group: &'a str,
    pub service: &'a str,
    pub level: &'a str,
    pub answers: &'a [(&'a str, &'a [&'a str])],
    pub submit: bool,
}

/// The sample study, published, with answers online from three people who sent them (staff, service
/// user, carer) and one still in progress. Answers include formula-like text, a comma, quotes, line
/// breaks and multi-byte text. The staff member has a name and email on the roster, which no export
/// may show. Returns (study, questionnaire, version, people).
pub async fn answered_study(app: &TestApp) -> (i64, i64, i64, Vec<Answered>) {
    let (study, questionnaire, version) = sample_study(app).await;
    let plans = [
        Plan {
            group: "staff",
            service: "Community",
            level: "micro",
            answers: &[
                ("What is your role, and which team", &["=HYPERLINK(\"x\")"]),
                ("Have you taken part in an improvement project", &["Yes"]),
                ("Which service do you work in?", &["Community"]),
                (
                    "What do you know about involving",
                    &["Training, then a \"mentor\"\nand time"],
                ),
                ("I know how to involve", &["Agree"]),
                ("What gets in the way", &["+1 more meeting at 2 pm"]),
                ("How do people in your team feel", &["-Fine, mostly"]),
                ("How welcome do service users", &["7"]),
                ("What difference, if any", &[]),
                ("Which would make you more likely", &["Training", "Payment"]),
                ("If you could change one thing", &["@SUM(A1) pay people"]),
                ("May we contact you", &["Yes"]),
            ],
            submit: true,
        },
        Plan {
            group: "service_user",
            service: "Sexual health",
            level: "micro",
            answers: &[
                (
                    "Which of our services do you use?",
                    &["Sexual health clinic"],
                ),
                ("Have you taken part in an improvement project", &["No"]),
                (
                    "What would help you feel ready",
                    &["Easy read papers, café € 😀"],
                ),
                ("Is there anything practical", &["Bus fare; 病院 is far"]),
                ("What gets in the way", &["Meetings at 9 am"]),
                ("How welcome did you feel", &["3"]),
                (
                    "Which would make you more likely",
                    &["A named contact", "Online options"],
                ),
                ("May we contact you", &["Not sure"]),
            ],
            submit: true,
        },
        Plan {
            group: "carer",
            service: "Mental health",
            level: "meso",
            answers: &[
                ("Which of our services does the person", &["Mental health"]),
                (
                    "Have you taken part in an improvement project",
                    &["Not sure"],
                ),
                ("How welcome did you feel", &["5"]),
                (
                    "Which would make you more likely",
                    &["Flexible meeting times"],
                ),
                ("May we contact you", &["No"]),
            ],
            submit: true,
        },
        Plan {
            group: "carer",
            service: "Addictions",
            level: "macro",
            answers: &[
                (
                    "Which of our services does the person",
                    &["Still answering"],
                ),
                ("Have you taken part in an improvement project", &["Yes"]),
            ],
            submit: false,
        },
    ];
    let mut people = Vec::new();
    for (i, plan) in plans.iter().enumerate() {
        people.push(answer_online(app, study, questionnaire, plan, i == 0).await);
    }
    (study, questionnaire, version, people)
}

/// One participant joins by an open link, is given a service and level (and, with `identity`, a
/// name and email on the roster), consents and answers as planned.
pub async fn answer_online(
    app: &TestApp,
    study: i64,
    questionnaire: i64,
    plan: &Plan<'_>,
    identity: bool,
) -> Answered {
    let person = Participant::join(app, study, questionnaire, plan.group).await;
    // Someone from an open link is a participant from the moment they consent.
    person.consent().await;
    let (service, level) = (plan.service.to_string(), plan.level.to_string());
    let code = app
        .db
        .write(move |conn| {
            use voices::db::schema::{participant_identities, participants, responses};
            let (id, code): (i64, String) = participants::table
                .filter(participants::study_id.eq(study))
                .order(participants::id.desc())
                .select((participants::id, participants::code))
                .first(conn)?;
            diesel::update(participants::table.find(id))
                .set((
                    participants::service_area.eq(&service),
                    participants::system_level.eq(&level),
                ))
                .execute(conn)?;
            // As a lead would have set them before the response began.
            diesel::update(responses::table.filter(responses::participant_id.eq(id)))
                .set((
                    responses::service_area.eq(&service),
                    responses::system_level.eq(&level),
                ))
                .execute(conn)?;
            if identity {
                diesel::insert_into(participant_identities::table)
                    .values((
                        participant_identities::participant_id.eq(id),
                        participant_identities::study_id.eq(study),
                        participant_identities::name.eq("Ada Lovelace"),
                        participant_identities::email.eq("ada.lovelace@example.net"),
                        participant_identities::phone.eq("07700 900123"),
                        participant_identities::communication_needs.eq("[]"),
                        participant_identities::preferred_mode.eq(""),
                    ))
                    .execute(conn)?;
            }
            Ok::<_, voices::error::AppError>(code)
        })
        .await
        .unwrap();
    let mut answers = Given::new();
    for number in 1..10 {
        let page_path = format!("/page/{number}");
        let (status, page) = person.get(&page_path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let mut fields: Vec<(String, String)> = Vec::new();
        for (text, values) in plan.answers {
            if !page.contains(text) {
                continue;
            }
            let field = field_of(&page, text);
            let id: i64 = field["q-".len()..].parse().unwrap();
            if values.is_empty() {
                fields.push((field.replace("q-", "skip-"), "yes".into()));
                answers.insert(id, None);
            } else {
                fields.extend(values.iter().map(|v| (field.clone(), v.to_string())));
                answers.insert(id, Some(values.iter().map(|v| v.to_string()).collect()));
            }
        }
        fields.push(("go".into(), "next".into()));
        let pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let sent = person.post(&page_path, &pairs).await;
        assert_eq!(sent.status(), StatusCode::SEE_OTHER, "page {number}");
        if !plan.submit || location(&sent).ends_with("/review") {
            break;
        }
    }
    assert_eq!(
        answers.len(),
        plan.answers.len(),
        "every planned question was found"
    );
    if plan.submit {
        let sent = person.post("/submit", &[]).await;
        assert!(location(&sent).ends_with("/done"));
    }
    Answered {
        code,
        group: plan.group.into(),
        service: plan.service.into(),
        level: plan.level.into(),
        answers,
        submitted: plan.submit,
    }
}

/// A GET with a new API token of `email`: status, headers and body.
pub async fn download(app: &TestApp, email: &str, path: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
    let user = app
        .db
        .read({
            let email = email.to_string();
            move |conn| {
                use voices::db::schema::users;
                users::table
                    .filter(users::email.eq(email))
                    .select(users::id)
                    .first::<i64>(conn)
                    .map_err(voices::error::AppError::from)
            }
        })
        .await
        .unwrap();
    let (_, token) = voices::accounts::actions::create_api_token(
        &app.db,
        &voices::audit::Origin::command_line(),
        user,
        "export test",
    )
    .await
    .unwrap();
    let response = app
        .new_visitor()
        .client
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    (status, headers, response.bytes().await.unwrap().to_vec())
}

/// A CSV export read back: it starts with a byte order mark; the header row, then the rows.
pub fn read_csv(body: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    assert!(
        body.starts_with(b"\xEF\xBB\xBF"),
        "UTF-8 with a byte order mark"
    );
    let mut reader = csv::Reader::from_reader(&body[3..]);
    let header = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

/// A cell as the export writes text: formulas neutralised with a leading `'`.
fn excel_safe(text: &str) -> String {
    voices::distribution::csv_cell(text).into_owned()
}

/// Whether validation must run: on CI (VOICES_REQUIRE_BROWSER=1 or VOICES_REQUIRE_XMLLINT=1) a
/// missing validator fails the test; elsewhere it is a note.
fn validator_required() -> bool {
    ["VOICES_REQUIRE_BROWSER", "VOICES_REQUIRE_XMLLINT"]
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|v| v == "1"))
}

/// Checks `xml` against one of the REFI-QDA schemas in tests/fixtures/refi-qda with xmllint. Returns
/// false (after a note) when xmllint is missing and not required.
pub fn valid_against(schema: &str, xml: &str) -> Result<bool, String> {
    if Command::new("xmllint").arg("--version").output().is_err() {
        assert!(
            !validator_required(),
            "xmllint (Debian package libxml2-utils) is needed to check REFI-QDA files against the schema"
        );
        eprintln!("note: xmllint is not installed; {schema} validation skipped");
        return Ok(false);
    }
    let xsd: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests/fixtures/refi-qda",
        schema,
    ]
    .iter()
    .collect();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), xml).unwrap();
    let out = Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema"])
        .arg(&xsd)
        .arg(file.path())
        .output()
        .unwrap();
    if out.status.success() {
        Ok(true)
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

pub fn assert_valid(schema: &str, xml: &str) {
    if let Err(problems) = valid_against(schema, xml) {
        panic!("not valid against {schema}:\n{problems}\n{xml}");
    }
}

fn text(body: &[u8]) -> String {
    String::from_utf8(body.to_vec()).unwrap()
}

/// What a planned answer looks like in an export: choices joined with `;`.
fn planned(values: &[String]) -> String {
    values.join(";")
}

async fn responses_come_out_as_they_were_answered(app: TestApp) {
    let (study, questionnaire, _version, people) = answered_study(&app).await;
    let base = format!("/api/v1/studies/{study}/exports");
    let sent: Vec<&Answered> = people.iter().filter(|p| p.submitted).collect();
    let today = chrono::Utc::now().date_naive();

    // Long: one row per answer, exactly what was given, formulas neutralised.
    let (status, headers, body) = download(
        &app,
        "analyst@example.org",
        &format!("{base}/responses.csv?layout=long&questionnaire_id={questionnaire}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", text(&body));
    assert_eq!(
        headers["content-disposition"],
        format!("attachment; filename=\"involvement-responses-long-{today}.csv\"").as_str()
    );
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let (header, long) = read_csv(&body);
    assert_eq!(
        header,
        [
            "response_id",
            "participant_code",
            "group",
            "service",
            "level",
            "question_id",
            "question_number",
            "question_text",
            "value",
            "skipped",
            "status",
            "interview_notes"
        ]
    );
    let total: usize = sent.iter().map(|p| p.answers.len()).sum();
    assert_eq!(long.len(), total, "sent responses only, by default");
    for person in &sent {
        let rows: Vec<&Vec<String>> = long.iter().filter(|r| r[1] == person.code).collect();
        assert_eq!(rows.len(), person.answers.len(), "{}", person.code);
        for row in rows {
            assert_eq!(
                (&row[2], &row[3], &row[4]),
                (&person.group, &person.service, &person.level)
            );
            let given = &person.answers[&row[5].parse::<i64>().unwrap()];
            match given {
                Some(values) => {
                    assert_eq!(row[8], excel_safe(&planned(values)));
                    assert_eq!(row[9], "no");
                }
                None => assert_eq!((row[8].as_str(), row[9].as_str()), ("", "yes")),
            }
        }
    }
    let cell = |code: &str, start: &str| {
        long.iter()
            .find(|r| r[1] == code && r[8].starts_with(start))
            .map(|r| r[8].clone())
            .unwrap_or_else(|| panic!("{code} {start}"))
    };
    let (staff, service_user) = (&people[0].code, &people[1].code);
    assert_eq!(cell(staff, "'="), "'=HYPERLINK(\"x\")");
    assert_eq!(cell(staff, "'+"), "'+1 more meeting at 2 pm");
    assert_eq!(cell(staff, "'-"), "'-Fine, mostly");
    assert_eq!(cell(staff, "'@"), "'@SUM(A1) pay people");
    assert_eq!(
        cell(staff, "Training,"),
        "Training, then a \"mentor\"\nand time"
    );
    assert_eq!(cell(service_user, "Easy"), "Easy read papers, café € 😀");
    assert_eq!(cell(service_user, "Bus"), "Bus fare; 病院 is far");

    // Wide: one row per response; each question's cell is the long layout's value.
    let (status, headers, body) = download(
        &app,
        "lead@example.org",
        &format!("{base}/responses.csv?questionnaire_id={questionnaire}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers["content-disposition"],
        format!("attachment; filename=\"involvement-responses-wide-{today}.csv\"").as_str()
    );
    let (header, wide) = read_csv(&body);
    assert_eq!(
        &header[..8],
        [
            "response_id",
            "participant_code",
            "group",
            "service",
            "level",
            "mode",
            "version",
            "submitted_at"
        ]
    );
    assert_eq!(header.last().unwrap(), "skipped");
    assert_eq!(
        header.len(),
        8 + 15 + 1,
        "a column per question of the guide"
    );
    assert!(header[8].starts_with("Q1 "), "{header:?}");
    assert_eq!(wide.len(), 3);
    for row in &wide {
        assert_eq!(row[5], "online");
        assert_eq!(row[6], "1");
        assert!(!row[7].is_empty(), "sent");
        for (column, name) in header.iter().enumerate().take(header.len() - 1).skip(8) {
            let number = name[1..].split(' ').next().unwrap();
            let from_long = long
                .iter()
                .find(|r| r[0] == row[0] && r[6] == number)
                .map_or(String::new(), |r| r[8].clone());
            assert_eq!(row[column], from_long, "{name} of response {}", row[0]);
        }
    }
    let staff_row = wide.iter().find(|r| &r[1] == staff).unwrap();
    assert!(staff_row.last().unwrap().starts_with('Q'), "skips listed");

    // Codes: options by their positions.
    let (_, _, body) = download(
        &app,
        "lead@example.org",
        &format!("{base}/responses.csv?layout=long&values=codes&questionnaire_id={questionnaire}"),
    )
    .await;
    let (_, coded) = read_csv(&body);
    let coded_cell = |code: &str, text: &str| {
        coded
            .iter()
            .find(|r| r[1] == code && r[7].starts_with(text))
            .map(|r| r[8].clone())
            .unwrap_or_else(|| panic!("{code} {text}"))
    };
    assert_eq!(coded_cell(staff, "I know how to involve"), "4");
    assert_eq!(coded_cell(staff, "Which would make you more likely"), "1;2");
    assert_eq!(coded_cell(staff, "How welcome"), "7");
    assert_eq!(coded_cell(staff, "May we contact you"), "1");
    assert_eq!(
        coded_cell(service_user, "Which would make you more likely"),
        "3;5"
    );
    assert_eq!(coded_cell(service_user, "May we contact you"), "3");
    assert_eq!(
        coded_cell(staff, "What is your role"),
        "'=HYPERLINK(\"x\")",
        "text is text"
    );

    // However many responses and answers: the questionnaires, the versions, the responses, the answers.
    let queries = crate::query_counts::count_queries(&app, move |conn| {
        let options = voices::analysis::exports::actions::ExportOptions::default();
        let data =
            voices::analysis::exports::actions::load(conn, study, "S".into(), &options, true)
                .unwrap();
        assert_eq!(data.responses.len(), 4);
    })
    .await;
    assert_eq!(queries, 4, "no query per response or answer");

    // Responses not sent yet, when asked for.
    let (_, _, body) = download(
        &app,
        "lead@example.org",
        &format!("{base}/responses.csv?include=in_progress&questionnaire_id={questionnaire}"),
    )
    .await;
    let (_, with_open) = read_csv(&body);
    assert_eq!(with_open.len(), 4);
    let open = with_open.iter().find(|r| r[1] == people[3].code).unwrap();
    assert_eq!(open[7], "", "not sent");

    // JSON, labels and codes.
    let (status, headers, body) = download(
        &app,
        "analyst@example.org",
        &format!("{base}/responses.json?values=codes"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers["content-disposition"],
        format!("attachment; filename=\"involvement-responses-{today}.json\"").as_str()
    );
    let doc: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(doc["study"]["id"], study);
    assert_eq!(doc["questionnaire"]["id"], questionnaire);
    assert_eq!(doc["questions"].as_array().unwrap().len(), 15);
    assert_eq!(doc["responses"].as_array().unwrap().len(), 3);
    let kinds: HashMap<i64, String> = doc["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| {
            (
                q["id"].as_i64().unwrap(),
                q["kind"].as_str().unwrap().into(),
            )
        })
        .collect();
    for person in &sent {
        let response = doc["responses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["participant_code"] == person.code.as_str())
            .unwrap();
        assert_eq!(response["group"], person.group.as_str());
        for answer in response["answers"].as_array().unwrap() {
            let id = answer["question_id"].as_i64().unwrap();
            match &person.answers[&id] {
                None => assert_eq!(answer["value"], Value::Null),
                Some(values) if kinds[&id] == "multiple_choice" => {
                    assert_eq!(answer["value"].as_array().unwrap().len(), values.len());
                    assert!(answer["value"][0].is_i64(), "codes are numbers");
                }
                Some(values) if kinds[&id].ends_with("_text") => {
                    assert_eq!(answer["value"], values[0].as_str(), "JSON text is as given");
                }
                Some(_) => assert!(answer["value"].is_i64() || answer["value"].is_string()),
            }
        }
    }
    let (_, _, labels) =
        download(&app, "lead@example.org", &format!("{base}/responses.json")).await;
    let labels: Value = serde_json::from_slice(&labels).unwrap();
    let staff_json = labels["responses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["participant_code"] == staff.as_str())
        .unwrap();
    assert!(staff_json["answers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["value"] == json!(["Training", "Payment"])));

    // Nobody's identity in any of it; and every export is in the audit log without personal data.
    let everything = [
        download(&app, "lead@example.org", &format!("{base}/responses.csv"))
            .await
            .2,
        download(
            &app,
            "lead@example.org",
            &format!("{base}/responses.csv?layout=long"),
        )
        .await
        .2,
        download(&app, "lead@example.org", &format!("{base}/responses.json"))
            .await
            .2,
        download(&app, "lead@example.org", &format!("{base}/codebook.csv"))
            .await
            .2,
        download(&app, "lead@example.org", &format!("{base}/codebook.qdc"))
            .await
            .2,
    ];
    for body in &everything {
        let body = text(body);
        for secret in [
            "Ada",
            "Lovelace",
            "ada.lovelace",
            "example.net",
            "07700",
            "@example.org",
        ] {
            assert!(!body.contains(secret), "{secret} in an export");
        }
    }
    let audited: Vec<(String, String)> = app
        .db
        .read(|conn| {
            use voices::db::schema::audit_events;
            audit_events::table
                .filter(audit_events::action.like("export.%"))
                .select((audit_events::action, audit_events::details))
                .load(conn)
                .map_err(voices::error::AppError::from)
        })
        .await
        .unwrap();
    assert!(
        audited
            .iter()
            .filter(|(a, _)| a == "export.responses")
            .count()
            >= 8,
        "{audited:?}"
    );
    assert!(audited.iter().any(|(a, _)| a == "export.codebook"));
    for (_, details) in &audited {
        assert!(
            !details.contains('@') && !details.contains("Ada"),
            "{details}"
        );
    }

    // The page: a form per questionnaire; its downloads work without JavaScript.
    let team_page = format!("/studies/{study}/exports");
    let analyst = app.new_visitor();
    assert_eq!(
        analyst
            .sign_in("analyst@example.org", crate::helpers::PASSWORD)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let (status, page) = analyst.get_text(&team_page).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(&format!(
        "action=\"/studies/{study}/exports/responses.csv\""
    )));
    assert!(page.contains("formaction="));
    assert!(page.contains(&format!(
        "name=\"questionnaire_id\" value=\"{questionnaire}\""
    )));
    let from_page = analyst
        .get(&format!(
            "{team_page}/responses.csv?questionnaire_id={questionnaire}&version_id=&values=labels&layout=wide"
        ))
        .await;
    assert_eq!(from_page.status(), StatusCode::OK);
    assert!(from_page.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let (_, rows) = read_csv(&from_page.bytes().await.unwrap());
    assert_eq!(rows, wide, "the page and the API give the same file");
    let unknown = analyst
        .get(&format!(
            "{team_page}/responses.csv?questionnaire_id=999999"
        ))
        .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);

    // A schema-invalid file is caught: the check is real.
    if valid_against("Project.xsd", "<Project name=\"no namespace\"/>").is_ok_and(|ran| ran) {
        panic!("a Project without the namespace passed validation");
    }
}

async fn the_codebook_exports_to_csv_and_refi_qda(app: TestApp) {
    let team = StudyTeam::new(&app).await;
    let study = team.study;
    let (_, codebook) = team
        .analyst
        .call(
            reqwest::Method::GET,
            &format!("/api/v1/studies/{study}/codebook"),
            None,
        )
        .await;
    let social = codebook["codes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Social opportunity")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let (status, added) = team
        .analyst
        .call(
            reqwest::Method::POST,
            &format!("/api/v1/studies/{study}/codebook/codes"),
            Some(json!({
                "name": "Meetings <at> times & \"carers\" cannot make", "parent_id": social,
                "definition": "=cmd|' /C calc'!A0", "colour": "orange",
                "comb": "O-SOC", "tdf": ["TDF-ENV", "TDF-SOC"],
                "example": "“2 pm clashes with the school run” 😀",
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    let base = format!("/api/v1/studies/{study}/exports");
    let today = chrono::Utc::now().date_naive();

    let (status, headers, body) =
        download(&app, "analyst@example.org", &format!("{base}/codebook.csv")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers["content-disposition"],
        format!("attachment; filename=\"involvement-codebook-{today}.csv\"").as_str()
    );
    let (header, rows) = read_csv(&body);
    assert_eq!(
        header,
        [
            "code",
            "parent",
            "branch",
            "com_b",
            "tdf",
            "definition",
            "inclusion",
            "exclusion",
            "example",
            "colour"
        ]
    );
    assert_eq!(rows.len(), 7);
    let meetings = rows.iter().find(|r| r[0].starts_with("Meetings")).unwrap();
    assert_eq!(meetings[1], "Social opportunity");
    assert_eq!(meetings[2], "comb");
    assert_eq!(meetings[3], "Social opportunity");
    assert_eq!(meetings[4].split(';').count(), 2);
    assert_eq!(meetings[5], "'=cmd|' /C calc'!A0", "neutralised");
    assert_eq!(meetings[8], "“2 pm clashes with the school run” 😀");
    assert_eq!(meetings[9], "#ed8b00");

    let (status, headers, first) =
        download(&app, "lead@example.org", &format!("{base}/codebook.qdc")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers["content-disposition"],
        format!("attachment; filename=\"involvement-codebook-{today}.qdc\"").as_str()
    );
    let qdc = text(&first);
    assert_valid("Codebook.xsd", &qdc);
    assert!(qdc.contains("xmlns=\"urn:QDA-XML:codebook:1.0\""));
    assert!(qdc.contains("name=\"Meetings &lt;at&gt; times &amp; &quot;carers&quot; cannot make\""));
    let social_at = qdc.find("name=\"Social opportunity\"").unwrap();
    let meetings_at = qdc.find("name=\"Meetings").unwrap();
    let social_end = social_at + qdc[social_at..].find("</Code>").unwrap();
    assert!(
        social_at < meetings_at && meetings_at < social_end,
        "nested under its parent"
    );
    let (_, _, second) = download(&app, "lead@example.org", &format!("{base}/codebook.qdc")).await;
    assert_eq!(
        first, second,
        "GUIDs stay the same from one export to the next"
    );
    assert!(qdc.contains(&refi::guid(study, "code", social)));

    // The page lists the codebook downloads.
    let (status, page) = team
        .analyst
        .visitor
        .get_text(&format!("/studies/{study}/exports"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("There is nothing to export yet"));
    assert!(page.contains(&format!("/studies/{study}/exports/codebook.qdc")));
}

fn closed_question<'a>(summary: &'a Value, text: &str) -> &'a Value {
    summary["questions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["text"].as_str().unwrap().starts_with(text))
        .unwrap_or_else(|| panic!("{text} in {summary}"))
}

fn option_counts(row: &Value) -> Vec<Value> {
    row["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["count"].clone())
        .collect()
}

async fn closed_questions_are_counted_and_small_counts_hidden_when_shared(app: TestApp) {
    let (study, questionnaire, version, _people) = answered_study(&app).await;
    let path = format!("/api/v1/studies/{study}/closed?questionnaire_id={questionnaire}");
    let (status, _, body) = download(&app, "analyst@example.org", &path).await;
    assert_eq!(status, StatusCode::OK, "{}", text(&body));
    let summary: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(summary["responses"]["count"], 3, "sent responses only");
    assert_eq!(summary["questions"].as_array().unwrap().len(), 6);

    // By hand: staff said Yes, the service user No, the carer Not sure (the carer still answering
    // said Yes, and is not counted).
    let before = closed_question(&summary, "Have you taken part");
    assert_eq!(before["overall"]["answered"]["count"], 3);
    assert_eq!(before["overall"]["skipped"]["count"], 0);
    assert_eq!(
        option_counts(&before["overall"]),
        [json!(1), json!(1), json!(1)]
    );
    assert_eq!(before["overall"]["options"][0]["percent"], 33.3);
    let groups: Vec<&str> = before["by_group"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["label"].as_str().unwrap())
        .collect();
    assert_eq!(groups, ["Staff", "Service user", "Carer"]);
    assert_eq!(
        option_counts(&before["by_group"][0]),
        [json!(1), json!(0), json!(0)]
    );
    assert_eq!(
        option_counts(&before["by_group"][1]),
        [json!(0), json!(1), json!(0)]
    );
    assert_eq!(
        option_counts(&before["by_group"][2]),
        [json!(0), json!(0), json!(1)]
    );
    assert_eq!(before["by_group"][2]["options"][2]["percent"], 100.0);

    // Likert: staff only; sides for a diverging bar, "Not applicable" apart.
    let likert = closed_question(&summary, "I know how to involve");
    assert_eq!(likert["overall"]["answered"]["count"], 1);
    assert_eq!(likert["overall"]["options"][3]["count"], 1);
    let sides: Vec<&str> = likert["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["side"].as_str().unwrap())
        .collect();
    assert_eq!(
        sides,
        ["negative", "negative", "neutral", "positive", "positive", "apart"]
    );
    assert_eq!(likert["by_group"][1]["answered"]["count"], 0);

    // 0–10: 7, 3 and 5; "choose any": five different options, one each, a third of those answering.
    let welcome = closed_question(&summary, "How welcome");
    let counts = option_counts(&welcome["overall"]);
    assert_eq!(counts.len(), 11);
    for (score, count) in counts.iter().enumerate() {
        let expected = i64::from([3, 5, 7].contains(&score));
        assert_eq!(count, &json!(expected), "score {score}");
    }
    let likely = closed_question(&summary, "Which would make you more likely");
    assert_eq!(
        option_counts(&likely["overall"]),
        [1, 1, 1, 1, 1, 0, 0].map(|n| json!(n))
    );
    assert_eq!(likely["overall"]["answered"]["count"], 3);
    assert_eq!(likely["overall"]["options"][0]["percent"], 33.3);

    // The funnel: four joined by open links, all consented and started, three sent.
    let funnel: Vec<Value> = summary["funnel"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["count"]["count"].clone())
        .collect();
    assert_eq!(funnel, [4, 4, 4, 4, 3].map(|n| json!(n)));
    assert_eq!(summary["funnel"][4]["count"]["percent"], 75.0);

    // One version only gives the same here (there is one).
    let (_, _, one) = download(
        &app,
        "lead@example.org",
        &format!("{path}&version_id={version}"),
    )
    .await;
    let one: Value = serde_json::from_slice(&one).unwrap();
    assert_eq!(one["questions"], summary["questions"]);

    // Shared: with the default threshold of 5, every count here is small.
    let (_, _, body) = download(&app, "lead@example.org", &format!("{path}&shared=true")).await;
    let shared: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(shared["threshold"], 5);
    assert_eq!(shared["responses"]["count"], Value::Null);
    let before = closed_question(&shared, "Have you taken part");
    assert_eq!(before["overall"]["answered"]["suppressed"], true);
    assert!(before["overall"]["options"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["count"].is_null() && c["percent"].is_null()));
    assert!(shared["funnel"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["count"]["suppressed"] == true));
    let body = text(&body);
    assert!(
        !body.contains("33.3") && !body.contains("\"count\":1"),
        "{body}"
    );

    // With a threshold of 2: totals of 3 and 4 are shown, ones are not, nor the funnel step that is one
    // fewer than the step before.
    change_study(&app, study, json!({ "small_count_threshold": 2 })).await;
    let (_, _, body) = download(&app, "lead@example.org", &format!("{path}&shared=true")).await;
    let shared: Value = serde_json::from_slice(&body).unwrap();
    let before = closed_question(&shared, "Have you taken part");
    assert_eq!(before["overall"]["answered"]["count"], 3);
    assert_eq!(
        option_counts(&before["overall"]),
        [Value::Null, Value::Null, Value::Null]
    );
    assert_eq!(before["by_group"][0]["answered"]["count"], Value::Null);
    let funnel: Vec<Value> = shared["funnel"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["count"]["count"].clone())
        .collect();
    assert_eq!(
        funnel,
        [json!(4), json!(4), json!(4), json!(4), Value::Null]
    );

    // The page: a figure per question (an SVG that names itself, and the question's table with
    // caption and headers, once); the shared view says what "Hidden" means.
    let lead = app.new_visitor();
    lead.sign_in("lead@example.org", crate::helpers::PASSWORD)
        .await;
    let (status, page) = lead.get_text(&format!("/studies/{study}/closed")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Question 2: Have you taken part in an improvement project before?"));
    assert!(page.contains("<th class=\"nhsuk-table__header\" scope=\"row\">Everyone</th>"));
    assert!(page.contains("Response funnel"));
    assert!(page.contains("(33.3%)"));
    assert_eq!(page.matches("<figure class=\"chart\"").count(), 6);
    assert_eq!(page.matches("role=\"img\"").count(), 6);
    assert_eq!(
        page.matches("<caption").count(),
        7,
        "the funnel's table and one per question, none twice"
    );
    for (question, chart) in [(&before, "Bars:"), (&likert, "Diverging bars")] {
        let id = format!("closed-{}", question["id"]);
        let svg_start = page
            .find(&format!("aria-labelledby=\"{id}-title {id}-desc\""))
            .unwrap_or_else(|| panic!("{id} in {page}"));
        let svg = &page[svg_start..svg_start + page[svg_start..].find("</svg>").unwrap()];
        let title = format!("<title id=\"{id}-title\">Question {}: ", question["number"]);
        assert!(svg.contains(&title), "{svg}");
        assert!(
            svg.contains(&format!("<desc id=\"{id}-desc\">{chart}")),
            "{svg}"
        );
    }
    // Bars of everyone's answers, with counts and percentages; agreement per group, then everyone.
    assert!(page.contains(">1 (33%)</text>"));
    assert!(page.contains("Staff, Agree: 100%"), "{page}");
    let (_, shared_page) = lead
        .get_text(&format!(
            "/studies/{study}/closed?questionnaire_id={questionnaire}&version_id=&shared=true"
        ))
        .await;
    assert!(shared_page.contains("Hidden"));
    assert!(shared_page.contains(" checked"));
    // Hidden counts are hidden in the charts too: an outline reading "hidden", never a number.
    assert!(shared_page.contains(">hidden</text>"));
    assert!(!shared_page.contains("(33%)") && !shared_page.contains("Staff, Agree"));
}

/// Copies of the staff member's sent response, made straight in the database: enough responses,
/// answers and coded passages that every export is read and written in several pages. One copy far
/// down has interview notes, so the wide layout's notes column is known before its first row.
async fn many_copies(app: &TestApp, study: i64, copies: usize) {
    use diesel::sql_query;
    use voices::db::schema::{answers, codes, responses, users};
    // Opening the codebook gives the study its codes.
    let (status, _, _) = download(
        app,
        "analyst@example.org",
        &format!("/api/v1/studies/{study}/exports/codebook.csv"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    app.db
        .write(move |conn| {
            let first: i64 = responses::table
                .filter(responses::study_id.eq(study))
                .filter(responses::submitted_at.is_not_null())
                .order(responses::id)
                .select(responses::id)
                .first(conn)?;
            for copy in 0..copies {
                sql_query(format!(
                    "INSERT INTO responses (participation_id, participant_id, study_id, questionnaire_id, \
                     version_id, mode, audience, participant_group, service_area, system_level, page, \
                     started_at, updated_at, submitted_at) \
                     SELECT NULL, NULL, study_id, questionnaire_id, version_id, mode, audience, \
                     participant_group, service_area, system_level, page, started_at, updated_at, \
                     submitted_at FROM responses WHERE id = {first}"
                ))
                .execute(conn)?;
                let id: i64 = responses::table
                    .select(responses::id)
                    .order(responses::id.desc())
                    .first(conn)?;
                sql_query(format!(
                    "INSERT INTO answers (response_id, question_id, value, skipped, updated_at, notes, \
                     status, elapsed_seconds, revision) SELECT {id}, question_id, value, skipped, \
                     updated_at, notes, status, elapsed_seconds, revision FROM answers WHERE response_id = {first}"
                ))
                .execute(conn)?;
                if copy == copies - 20 {
                    diesel::update(answers::table.filter(answers::response_id.eq(id)))
                        .filter(answers::value.like("Training, then%"))
                        .set(answers::notes.eq("Nodded at “mentor”"))
                        .execute(conn)?;
                }
            }
            let code: i64 = codes::table
                .filter(codes::study_id.eq(study))
                .order(codes::id)
                .select(codes::id)
                .first(conn)?;
            let analyst: i64 = users::table
                .filter(users::email.eq("analyst@example.org"))
                .select(users::id)
                .first(conn)?;
            sql_query(format!(
                "INSERT INTO codings (study_id, answer_id, field, start_char, end_char, quote, code_id, \
                 valence, coder_id, created_at) SELECT {study}, answers.id, 'answer', 0, 5, \
                 substr(answers.value, 1, 5), {code}, 'barrier', {analyst}, answers.updated_at \
                 FROM answers JOIN responses ON responses.id = answers.response_id \
                 WHERE responses.study_id = {study} AND responses.participant_id IS NULL AND \
                 (answers.value LIKE 'Training, then%' OR answers.value LIKE '@SUM%' OR answers.value LIKE '+1 more%')"
            ))
            .execute(conn)?;
            Ok::<_, voices::error::AppError>(())
        })
        .await
        .unwrap()
}

/// Exports are written as they are sent, a page of responses at a time: a study of several hundred
/// responses (several pages of responses, of documents and of coded passages) comes out whole, every
/// response and answer once, in order, and the REFI-QDA project still meets the schema.
async fn exports_of_many_responses_come_out_whole(app: TestApp) {
    let (study, _questionnaire, _version, people) = answered_study(&app).await;
    const COPIES: usize = 447;
    many_copies(&app, study, COPIES).await;
    let base = format!("/api/v1/studies/{study}/exports");
    let staff = &people[0];
    let sent = people.iter().filter(|p| p.submitted).count() + COPIES;
    let answers_each = staff.answers.len();

    let (status, _, body) = download(
        &app,
        "analyst@example.org",
        &format!("{base}/responses.csv"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (header, rows) = read_csv(&body);
    assert_eq!(rows.len(), sent, "a row per sent response");
    let ids: Vec<i64> = rows.iter().map(|r| r[0].parse().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "in order, each once");
    let notes = header
        .iter()
        .position(|h| h.ends_with("(interview notes)"))
        .expect("a notes column, though only a late response has notes");
    assert_eq!(
        rows.iter()
            .filter(|r| r[notes] == "Nodded at “mentor”")
            .count(),
        1
    );
    let copies: Vec<&Vec<String>> = rows.iter().filter(|r| r[1].is_empty()).collect();
    assert_eq!(copies.len(), COPIES);
    assert!(copies
        .iter()
        .all(|r| r[8..] == copies[0][8..] || !r[notes].is_empty()));

    let (_, _, body) = download(
        &app,
        "analyst@example.org",
        &format!("{base}/responses.csv?layout=long"),
    )
    .await;
    let (_, long) = read_csv(&body);
    assert_eq!(
        long.iter().filter(|r| r[1].is_empty()).count(),
        COPIES * answers_each,
        "a row per answer of every copy"
    );

    let (_, _, body) = download(
        &app,
        "analyst@example.org",
        &format!("{base}/responses.json"),
    )
    .await;
    let doc: Value = serde_json::from_slice(&body).expect("whole JSON");
    let responses = doc["responses"].as_array().unwrap();
    assert_eq!(responses.len(), sent);
    assert!(responses
        .iter()
        .filter(|r| r["participant_code"].is_null())
        .all(|r| r["answers"].as_array().unwrap().len() == answers_each));

    let (_, _, passages) = download(
        &app,
        "analyst@example.org",
        &format!("{base}/coded-passages.csv"),
    )
    .await;
    let (_, passages) = read_csv(&passages);
    assert_eq!(passages.len(), COPIES * 3, "three coded answers a copy");
    let coding_ids: Vec<i64> = passages.iter().map(|r| r[0].parse().unwrap()).collect();
    let mut unique = coding_ids.clone();
    unique.dedup();
    assert_eq!(unique.len(), coding_ids.len(), "each passage once");

    let (status, _, qdpx) =
        download(&app, "analyst@example.org", &format!("{base}/project.qdpx")).await;
    assert_eq!(status, StatusCode::OK);
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(qdpx)).expect("a whole zip");
    let mut qde = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("project.qde").unwrap(), &mut qde).unwrap();
    assert_eq!(qde.matches("<Case ").count(), sent);
    assert_eq!(qde.matches("<TextSource ").count(), sent);
    assert_eq!(qde.matches("<PlainTextSelection ").count(), COPIES * 3);
    assert_eq!(zip.len(), 1 + sent, "project.qde and a text per source");
    assert_valid("Project.xsd", &qde);

    let counted: String = app
        .db
        .read(|conn| {
            use voices::db::schema::audit_events;
            audit_events::table
                .filter(audit_events::action.eq("export.responses"))
                .order(audit_events::id.desc())
                .select(audit_events::details)
                .first(conn)
                .map_err(voices::error::AppError::from)
        })
        .await
        .unwrap();
    assert!(
        counted.contains(&format!("\"responses\":{sent}")),
        "{counted}"
    );
}
