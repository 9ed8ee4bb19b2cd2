//! Memos and belief statements over HTTP, as leads and analysts write them through the API and the
//! pages without JavaScript: subjects checked against the study (never a double-coding round's
//! codings), errors beside the fields with input kept, only the author or a lead changing one,
//! belief passages of the belief's code followed through merges. On SQLite and PostgreSQL.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{location, TestApp};
use crate::interviewed::{code_id, coded_three, Interviewed};
use crate::on_both_databases;

on_both_databases!(
    memos_through_the_api,
    memo_pages_work_without_javascript,
    beliefs_through_the_api,
    belief_pages_work_without_javascript,
);

/// The study's coding of the barriers question: (coding id, quote, code id) for each passage.
async fn codings(fixture: &Interviewed) -> Vec<(i64, String, i64)> {
    let barriers = fixture.question("What gets in the way");
    let (status, page) = fixture
        .team
        .analyst
        .call(
            Method::GET,
            &fixture.api(&format!("/coding/questions/{barriers}")),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    page["sources"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["texts"].as_array().unwrap().clone())
        .flat_map(|t| t["codings"].as_array().unwrap().clone())
        .map(|c| {
            (
                c["id"].as_i64().unwrap(),
                c["quote"].as_str().unwrap().to_string(),
                c["code_id"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn coding(all: &[(i64, String, i64)], quote: &str, code: i64) -> i64 {
    all.iter()
        .find(|(_, q, c)| q == quote && *c == code)
        .unwrap_or_else(|| panic!("no coding {quote:?} with {code}"))
        .0
}

/// A double-coding round's coding (blind work): the analyst codes the first person's notes in it.
async fn round_coding(fixture: &Interviewed, code: i64) -> i64 {
    let team = &fixture.team;
    let barriers = fixture.question("What gets in the way");
    let analyst_id = team.user_id("analyst@example.org").await;
    let lead_id = team.user_id("lead@example.org").await;
    let (status, round) = team
        .lead
        .call(
            Method::POST,
            &fixture.api("/rounds"),
            Some(
                json!({ "name": "Blind", "unit": "character", "first_coder_id": analyst_id,
                         "second_coder_id": lead_id, "question_ids": [barriers] }),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{round}");
    let (_, page) = team
        .analyst
        .call(
            Method::GET,
            &fixture.api(&format!("/coding/questions/{barriers}")),
            None,
        )
        .await;
    let (status, made) = team
        .analyst
        .call(
            Method::POST,
            &fixture.api("/codings"),
            Some(
                json!({ "answer_id": page["sources"][0]["answer_id"], "field": "notes",
                         "passage": "Papers arrive late.", "code_ids": [code],
                         "valence": "barrier", "round_id": round["id"] }),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    made[0]["id"].as_i64().unwrap()
}

async fn refused(fixture: &Interviewed, method: Method, path: &str, body: Value, field: &str) {
    let (status, reply) = fixture
        .team
        .analyst
        .call(method, &fixture.api(path), Some(body.clone()))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {reply}");
    assert!(
        reply["error"]["fields"][field].is_string(),
        "{field}: {reply}"
    );
}

async fn memos_through_the_api(app: TestApp) {
    let fixture = coded_three(&app).await;
    let team = &fixture.team;
    let analyst = &team.analyst;
    let physical = code_id(&fixture, "Physical opportunity").await;
    let all = codings(&fixture).await;
    let early = coding(&all, "too early 🙁", physical);
    let first = fixture.people[0].response_id;

    let mut made = Vec::new();
    for body in [
        json!({ "subject": "study", "body": "  Carers keep naming time.  " }),
        json!({ "subject": "code", "subject_id": physical, "body": "Time and money, mostly." }),
        json!({ "subject": "coding", "subject_id": early, "body": "Early for whom?" }),
        json!({ "subject": "response", "subject_id": first, "body": "Spoke for the team." }),
    ] {
        let (status, memo) = analyst
            .call(Method::POST, &fixture.api("/memos"), Some(body.clone()))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}: {memo}");
        made.push(memo["id"].as_i64().unwrap());
    }

    // Subjects must be the study's; round codings are blind work, never a memo's subject.
    let blind = round_coding(&fixture, physical).await;
    for (body, field) in [
        (json!({ "subject": "study", "body": " " }), "body"),
        (
            json!({ "subject": "study", "body": "x".repeat(10_001) }),
            "body",
        ),
        (json!({ "subject": "diary", "body": "x" }), "subject"),
        (json!({ "subject": "coding", "body": "x" }), "subject_id"),
        (
            json!({ "subject": "code", "subject_id": 999_999, "body": "x" }),
            "subject_id",
        ),
        (
            json!({ "subject": "coding", "subject_id": blind, "body": "x" }),
            "subject_id",
        ),
        (
            json!({ "subject": "response", "subject_id": 999_999, "body": "x" }),
            "subject_id",
        ),
    ] {
        refused(&fixture, Method::POST, "/memos", body, field).await;
    }

    // Everyone analysing reads them all, each with what it is about, under pseudonyms.
    let (status, memos) = team
        .lead
        .call(Method::GET, &fixture.api("/memos"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{memos}");
    let memos = memos.as_array().unwrap();
    assert_eq!(memos.len(), 4);
    assert_eq!(memos[0]["body"], "Carers keep naming time.");
    assert_eq!(memos[1]["about"]["label"], "Physical opportunity");
    assert_eq!(memos[2]["about"]["quote"], "too early 🙁");
    assert_eq!(
        memos[2]["about"]["participant"],
        fixture.people[0].code.as_str()
    );
    assert_eq!(memos[3]["about"]["label"], fixture.people[0].code.as_str());
    assert!(memos.iter().all(|m| m["may_change"] == true), "a lead");
    let (_, about_code) = analyst
        .call(
            Method::GET,
            &fixture.api(&format!("/memos?subject=code&subject_id={physical}")),
            None,
        )
        .await;
    assert_eq!(about_code.as_array().unwrap().len(), 1, "{about_code}");
    let (status, _) = analyst
        .call(Method::GET, &fixture.api("/memos?subject=diary"), None)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    for (who, expected) in [
        (&team.co_designer, StatusCode::FORBIDDEN),
        (&team.interviewer, StatusCode::FORBIDDEN),
        (&team.outsider, StatusCode::NOT_FOUND),
    ] {
        let (status, _) = who.call(Method::GET, &fixture.api("/memos"), None).await;
        assert_eq!(status, expected);
    }

    // The author or a lead changes a memo; another analyst's would be refused, as the lead's is.
    let (status, leads) = team
        .lead
        .call(
            Method::POST,
            &fixture.api("/memos"),
            Some(json!({ "subject": "study", "body": "Lead's view." })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let leads = leads["id"].as_i64().unwrap();
    let path = |id: i64| fixture.api(&format!("/memos/{id}"));
    let (status, _) = analyst
        .call(
            Method::PUT,
            &path(leads),
            Some(json!({ "body": "Mine now" })),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = analyst.call(Method::DELETE, &path(leads), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, changed) = team
        .lead
        .call(
            Method::PUT,
            &path(made[0]),
            Some(json!({ "body": "Carers name time, and money." })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["body"], "Carers name time, and money.");
    refused(
        &fixture,
        Method::PUT,
        &format!("/memos/{}", made[0]),
        json!({ "body": "" }),
        "body",
    )
    .await;
    let (status, _) = team
        .co_designer
        .call(Method::DELETE, &path(made[1]), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for expected in [StatusCode::NO_CONTENT, StatusCode::NOT_FOUND] {
        let (status, _) = analyst.call(Method::DELETE, &path(made[1]), None).await;
        assert_eq!(status, expected);
    }

    // A passage taken off keeps its memos, which say so.
    let (status, _) = analyst
        .call(
            Method::DELETE,
            &fixture.api(&format!("/codings/{early}")),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, memos) = analyst
        .call(Method::GET, &fixture.api("/memos?subject=coding"), None)
        .await;
    assert_eq!(memos[0]["body"], "Early for whom?");
    assert_eq!(memos[0]["about"]["label"], "no longer in the study");
    let (status, page) = analyst
        .visitor
        .get_text(&format!("/studies/{}/memos", team.study))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("About a coded passage: no longer in the study"));
}

fn value_in(page: &str, marker: &str) -> String {
    let at = page
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} not in page"))
        + marker.len();
    page[at..at + page[at..].find(|c: char| !c.is_ascii_digit()).unwrap()].to_string()
}

async fn memo_pages_work_without_javascript(app: TestApp) {
    let fixture = coded_three(&app).await;
    let study = fixture.team.study;
    let browser = &fixture.team.analyst.visitor;
    let memos = format!("/studies/{study}/memos");
    let physical = code_id(&fixture, "Physical opportunity").await;
    let early = coding(&codings(&fixture).await, "too early 🙁", physical);

    let (status, page) = browser.get_text(&memos).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("There are no memos yet."));

    // Errors beside the field, what was typed kept.
    let sent = browser
        .post_form(&memos, &[("subject", "study"), ("body", "  ")])
        .await;
    assert_eq!(sent.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = sent.text().await.unwrap();
    assert!(page.contains("href=\"#body\""), "{page}");
    assert!(page.contains("Write the memo"));
    let long = "é".repeat(10_001);
    let sent = browser
        .post_form(&memos, &[("subject", "study"), ("body", &long)])
        .await;
    assert_eq!(sent.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = sent.text().await.unwrap();
    assert!(page.contains(&format!(">{long}</textarea>")), "input kept");

    let sent = browser
        .post_form(&memos, &[("subject", "study"), ("body", "Time, again.")])
        .await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    assert!(location(&sent).starts_with(&format!("{memos}#memo-")));

    // From a coded passage: the page says what it is about.
    let (_, sources) = browser
        .get_text(&format!(
            "/studies/{study}/coding/responses/{}",
            fixture.people[0].response_id
        ))
        .await;
    let new = format!("{memos}/new?subject=coding&amp;subject_id={early}");
    assert!(sources.contains(&new), "{sources}");
    assert!(sources.contains(&format!(
        "{memos}/new?subject=response&amp;subject_id={}",
        fixture.people[0].response_id
    )));
    let (status, page) = browser.get_text(&new.replace("&amp;", "&")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("“too early 🙁”"));
    assert!(page.contains(&fixture.people[0].code));
    let early_text = early.to_string();
    let fields = [
        ("subject", "coding"),
        ("subject_id", early_text.as_str()),
        ("body", "Early for whom?"),
    ];
    let sent = browser.post_form(&memos, &fields).await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let (_, page) = browser.get_text(&memos).await;
    assert!(page.contains("The memo is saved."));
    assert!(page.contains("Early for whom?"));
    assert!(page.contains("About coded passages"));
    let memo = value_in(&page, &format!("action=\"{memos}/"));
    let (_, sources) = browser
        .get_text(&format!(
            "/studies/{study}/coding/responses/{}",
            fixture.people[0].response_id
        ))
        .await;
    assert!(sources.contains("#memos-coding\">1 memo</a>"), "{sources}");
    let (_, codebook) = browser
        .get_text(&format!("/studies/{study}/codebook"))
        .await;
    assert!(codebook.contains(&format!(
        "{memos}/new?subject=code&amp;subject_id={physical}"
    )));
    let (status, _) = browser
        .get_text(&format!("{memos}/new?subject=code&subject_id=999999"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Changing it: errors beside the field, then saved; then removed.
    let edit = format!("{memos}/{memo}/edit");
    let (status, page) = browser.get_text(&edit).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(">Time, again.</textarea>"));
    let sent = browser.post_form(&edit, &[("body", "")]).await;
    assert_eq!(sent.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let sent = browser.post_form(&edit, &[("body", "Time, always.")]).await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let (_, page) = browser.get_text(&memos).await;
    assert!(page.contains("Time, always."));
    let sent = browser
        .post_form(&format!("{memos}/{memo}/delete"), &[])
        .await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let (_, page) = browser.get_text(&memos).await;
    assert!(!page.contains("Time, always."));

    // Co-designers and interviewers do not read memos.
    for who in [&fixture.team.interviewer, &fixture.team.co_designer] {
        let (status, _) = who.visitor.get_text(&memos).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
}

async fn beliefs_through_the_api(app: TestApp) {
    let fixture = coded_three(&app).await;
    let team = &fixture.team;
    let analyst = &team.analyst;
    let physical = code_id(&fixture, "Physical opportunity").await;
    let social = code_id(&fixture, "Social opportunity").await;
    let travel = code_id(&fixture, "Travel costs").await;
    let all = codings(&fixture).await;
    let early = coding(&all, "too early 🙁", physical);
    let late = coding(&all, "Papers arrive late.", physical);
    let early_social = coding(&all, "too early 🙁", social);
    let pays = coding(&all, "Nobody pays travel.", travel);
    let blind = round_coding(&fixture, physical).await;

    let (status, made) = analyst
        .call(
            Method::POST,
            &fixture.api("/beliefs"),
            Some(
                json!({ "code_id": physical, "statement": " Meetings are not set for us ",
                         "coding_ids": [early, late, early] }),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(made["statement"], "Meetings are not set for us");
    let quotes: Vec<&str> = made["passages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["quote"].as_str().unwrap())
        .collect();
    assert_eq!(quotes, ["too early 🙁", "Papers arrive late."]);
    assert_eq!(
        made["passages"][0]["participant"],
        fixture.people[0].code.as_str()
    );
    let belief = made["id"].as_i64().unwrap();

    // Passages of another code, of a round, or of nothing: refused beside coding_ids.
    for (body, field) in [
        (
            json!({ "code_id": physical, "statement": "x", "coding_ids": [early_social] }),
            "coding_ids",
        ),
        (
            json!({ "code_id": physical, "statement": "x", "coding_ids": [blind] }),
            "coding_ids",
        ),
        (
            json!({ "code_id": physical, "statement": "x", "coding_ids": [999_999] }),
            "coding_ids",
        ),
        (
            json!({ "code_id": physical, "statement": "x".repeat(1_001), "coding_ids": [] }),
            "statement",
        ),
        (
            json!({ "code_id": 999_999, "statement": "x", "coding_ids": [] }),
            "code_id",
        ),
    ] {
        refused(&fixture, Method::POST, "/beliefs", body, field).await;
    }

    // A belief about Travel costs; once merged into Physical opportunity, its passages are that
    // code's too, and the belief is listed under it.
    let (status, about_travel) = team
        .lead
        .call(
            Method::POST,
            &fixture.api("/beliefs"),
            Some(
                json!({ "code_id": travel, "statement": "Travel costs me", "coding_ids": [pays] }),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{about_travel}");
    let (status, _) = analyst
        .call(
            Method::POST,
            &fixture.api(&format!("/codebook/codes/{travel}/merge")),
            Some(json!({ "into": physical })),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, changed) = analyst
        .call(
            Method::PUT,
            &fixture.api(&format!("/beliefs/{belief}")),
            Some(
                json!({ "statement": "Meetings and travel are not set for us",
                         "coding_ids": [late, pays] }),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["passages"].as_array().unwrap().len(), 2);

    let (status, grouped) = team
        .lead
        .call(Method::GET, &fixture.api("/beliefs"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{grouped}");
    let grouped = grouped.as_array().unwrap();
    assert_eq!(grouped.len(), 1, "{grouped:?}");
    assert_eq!(grouped[0]["code_name"], "Physical opportunity");
    let statements: Vec<&str> = grouped[0]["beliefs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["statement"].as_str().unwrap())
        .collect();
    assert_eq!(
        statements,
        ["Meetings and travel are not set for us", "Travel costs me"]
    );
    assert_eq!(
        grouped[0]["beliefs"][1]["passages"][0]["participant"],
        fixture.people[1].code.as_str()
    );

    // Roles: leads and analysts; the author or a lead changes one.
    for (who, expected) in [
        (&team.co_designer, StatusCode::FORBIDDEN),
        (&team.interviewer, StatusCode::FORBIDDEN),
        (&team.outsider, StatusCode::NOT_FOUND),
    ] {
        let (status, _) = who.call(Method::GET, &fixture.api("/beliefs"), None).await;
        assert_eq!(status, expected);
    }
    let leads = fixture.api(&format!("/beliefs/{}", about_travel["id"]));
    let (status, _) = analyst
        .call(
            Method::PUT,
            &leads,
            Some(json!({ "statement": "Mine", "coding_ids": [] })),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = analyst.call(Method::DELETE, &leads, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let mine = fixture.api(&format!("/beliefs/{belief}"));
    for expected in [StatusCode::NO_CONTENT, StatusCode::NOT_FOUND] {
        let (status, _) = team.lead.call(Method::DELETE, &mine, None).await;
        assert_eq!(status, expected);
    }
}

async fn belief_pages_work_without_javascript(app: TestApp) {
    let fixture = coded_three(&app).await;
    let study = fixture.team.study;
    let browser = &fixture.team.analyst.visitor;
    let beliefs = format!("/studies/{study}/beliefs");
    let physical = code_id(&fixture, "Physical opportunity").await;
    let social = code_id(&fixture, "Social opportunity").await;
    let all = codings(&fixture).await;
    let late = coding(&all, "Papers arrive late.", physical).to_string();
    let early_social = coding(&all, "too early 🙁", social).to_string();

    let (_, study_page) = browser.get_text(&format!("/studies/{study}")).await;
    assert!(study_page.contains(&format!("href=\"{beliefs}\"")));
    let (status, page) = browser.get_text(&beliefs).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("There are no belief statements yet."));

    // Choose the code first (a GET form), then the statement and passages.
    let (status, page) = browser.get_text(&format!("{beliefs}/new")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("method=\"get\""));
    assert!(page.contains(&format!("name=\"code\" value=\"{physical}\"")));
    let (status, page) = browser
        .get_text(&format!("{beliefs}/new?code={physical}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("“Papers arrive late.”"));
    assert!(!page.contains("“Caring duties”"), "another code's passage");

    let physical_text = physical.to_string();
    let sent = browser
        .post_form(
            &beliefs,
            &[
                ("code_id", physical_text.as_str()),
                ("statement", " "),
                ("coding_ids", late.as_str()),
            ],
        )
        .await;
    assert_eq!(sent.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = sent.text().await.unwrap();
    assert!(page.contains("href=\"#statement\""));
    assert!(
        page.contains(&format!("value=\"{late}\" checked")),
        "ticks kept"
    );
    let sent = browser
        .post_form(
            &beliefs,
            &[
                ("code_id", physical_text.as_str()),
                ("statement", "Papers come too late to read"),
                ("coding_ids", early_social.as_str()),
            ],
        )
        .await;
    assert_eq!(sent.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = sent.text().await.unwrap();
    assert!(page.contains("href=\"#coding_ids\""));
    assert!(page.contains(">Papers come too late to read</textarea>"));
    let sent = browser
        .post_form(
            &beliefs,
            &[
                ("code_id", physical_text.as_str()),
                ("statement", "Papers come too late to read"),
                ("coding_ids", late.as_str()),
            ],
        )
        .await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    assert!(location(&sent).starts_with(&format!("{beliefs}#belief-")));
    let (_, page) = browser.get_text(&beliefs).await;
    assert!(page.contains("The belief statement is saved."));
    assert!(page.contains("Papers come too late to read"));
    assert!(page.contains("“Papers arrive late.”"));
    let belief = value_in(&page, &format!("action=\"{beliefs}/"));

    let edit = format!("{beliefs}/{belief}/edit");
    let (status, page) = browser.get_text(&edit).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(&format!("value=\"{late}\" checked")));
    let sent = browser
        .post_form(&edit, &[("statement", "Papers come late")])
        .await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let (_, page) = browser.get_text(&beliefs).await;
    assert!(page.contains("Papers come late"));
    assert!(page.contains("No supporting passages linked yet."));
    let sent = browser
        .post_form(&format!("{beliefs}/{belief}/delete"), &[])
        .await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);

    for who in [&fixture.team.interviewer, &fixture.team.co_designer] {
        let (status, _) = who.visitor.get_text(&beliefs).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
}
