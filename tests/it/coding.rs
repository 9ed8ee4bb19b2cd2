//! Coding over HTTP, as analysts do it through the API and the pages: sources by question and by
//! participant under pseudonyms, passages coded by words or by character offsets (exact in
//! multi-byte text) with a valence, suggestions from the question's COM-B tags, checks beside the
//! fields, codings following merged codes, and taking a coding back. On SQLite and PostgreSQL.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{location, TestApp};
use crate::interviewed::{code_id, interviewed, THREE};
use crate::on_both_databases;

on_both_databases!(
    analysts_code_passages_exactly_and_see_them_by_question_and_participant,
    coding_pages_work_without_javascript,
);

fn chars(text: &str, start: i64, end: i64) -> String {
    text.chars()
        .skip(start as usize)
        .take((end - start) as usize)
        .collect()
}

async fn analysts_code_passages_exactly_and_see_them_by_question_and_participant(app: TestApp) {
    let fixture = interviewed(&app, THREE).await;
    let analyst = &fixture.team.analyst;
    let barriers = fixture.question("What gets in the way");
    let likert = fixture.question("I know how to involve");

    // Where coding stands: the questions with text, and three responses under their codes only.
    let (status, overview) = analyst
        .call(Method::GET, &fixture.api("/coding"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{overview}");
    let question = overview["questions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["id"] == barriers)
        .unwrap();
    assert_eq!(
        (question["with_text"].as_i64(), question["coded"].as_i64()),
        (Some(3), Some(0))
    );
    assert_eq!(overview["responses"].as_array().unwrap().len(), 3);
    assert!(!overview.to_string().contains("Person 0"), "no names");

    // The question's sources: notes are codable, and the question's O-PHY tag suggests Physical
    // opportunity.
    let (status, page) = analyst
        .call(
            Method::GET,
            &fixture.api(&format!("/coding/questions/{barriers}")),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["total"], 3);
    let physical = code_id(&fixture, "Physical opportunity").await;
    let social = code_id(&fixture, "Social opportunity").await;
    assert_eq!(page["suggested"], json!([physical]));
    let first = &page["sources"][0];
    assert_eq!(first["participant"], fixture.people[0].code.as_str());
    assert_eq!(first["group"], "staff");
    let answer_id = first["answer_id"].as_i64().unwrap();
    let notes = first["texts"][0]["text"].as_str().unwrap().to_string();
    assert_eq!(first["texts"][0]["field"], "notes");
    assert_eq!(first["texts"][0]["codable"], true);

    // Coding by the passage's words: exact character offsets, two codes at once; again is a no-op.
    let by_words = json!({
        "answer_id": answer_id, "field": "notes", "passage": "too early 🙁",
        "code_ids": [physical, social], "valence": "barrier",
    });
    let (status, made) = analyst
        .call(
            Method::POST,
            &fixture.api("/codings"),
            Some(by_words.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(made.as_array().unwrap().len(), 2);
    let (start, end) = (
        made[0]["start"].as_i64().unwrap(),
        made[0]["end"].as_i64().unwrap(),
    );
    assert_eq!((start, end), (18, 29));
    assert_eq!(chars(&notes, start, end), "too early 🙁");
    let (_, again) = analyst
        .call(Method::POST, &fixture.api("/codings"), Some(by_words))
        .await;
    assert_eq!(
        again[0]["id"], made[0]["id"],
        "coding twice changes nothing"
    );

    // By offsets, as a selection in a browser gives them.
    let (status, late) = analyst
        .call(
            Method::POST,
            &fixture.api("/codings"),
            Some(json!({
                "answer_id": answer_id, "field": "notes", "start": 47, "end": 66,
                "code_ids": [physical], "valence": "barrier",
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{late}");
    assert_eq!(late[0]["quote"], "Papers arrive late.");

    // Checks beside the fields.
    let refusals = [
        (
            json!({ "answer_id": answer_id, "field": "notes", "passage": "parking", "code_ids": [physical], "valence": "barrier" }),
            "passage",
        ),
        (
            json!({ "answer_id": answer_id, "field": "notes", "start": 10, "end": 500, "code_ids": [physical], "valence": "barrier" }),
            "end",
        ),
        (
            json!({ "answer_id": answer_id, "field": "notes", "code_ids": [physical], "valence": "awful" }),
            "valence",
        ),
        (
            json!({ "answer_id": answer_id, "field": "notes", "code_ids": [], "valence": "barrier" }),
            "code_ids",
        ),
        (
            json!({ "answer_id": answer_id, "field": "notes", "code_ids": [999_999], "valence": "barrier" }),
            "code_ids",
        ),
        (
            json!({ "answer_id": 999_999, "field": "notes", "code_ids": [physical], "valence": "barrier" }),
            "answer_id",
        ),
    ];
    for (body, field) in refusals {
        let (status, refused) = analyst
            .call(Method::POST, &fixture.api("/codings"), Some(body.clone()))
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {refused}"
        );
        assert!(
            refused["error"]["fields"][field].is_string(),
            "{field}: {refused}"
        );
    }
    // A Likert answer is a choice, not text: only its notes can be coded.
    let (_, by_person) = analyst
        .call(
            Method::GET,
            &fixture.api(&format!(
                "/coding/responses/{}",
                fixture.people[0].response_id
            )),
            None,
        )
        .await;
    let likert_source = by_person["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["question_id"] == likert)
        .unwrap();
    let texts: Vec<(&str, bool)> = likert_source["texts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["field"].as_str().unwrap(),
                t["codable"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(texts, [("answer", false), ("notes", true)]);
    let (status, refused) = analyst
        .call(
            Method::POST,
            &fixture.api("/codings"),
            Some(json!({ "answer_id": likert_source["answer_id"], "field": "answer", "code_ids": [physical], "valence": "barrier" })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused["error"]["fields"]["field"].is_string(), "{refused}");

    // By participant: the codings are there, numbered over the text.
    let barrier_source = by_person["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["question_id"] == barriers)
        .unwrap();
    let codings = barrier_source["texts"][0]["codings"].as_array().unwrap();
    assert_eq!(codings.len(), 3);
    assert!(codings.iter().all(|c| c["placement"] == "exact"));
    let covered: Vec<String> = barrier_source["texts"][0]["stretches"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| !s["codings"].as_array().unwrap().is_empty())
        .map(|s| s["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(covered, ["too early 🙁", "Papers arrive late."]);

    // A merged code's codings count for the code it went into.
    let base = fixture.api("/codebook/codes");
    let (status, travel) = analyst
        .call(
            Method::POST,
            &base,
            Some(json!({ "name": "Travel costs", "parent_id": physical, "colour": "orange" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{travel}");
    let (status, _) = analyst
        .call(
            Method::POST,
            &fixture.api("/codings"),
            Some(json!({
                "answer_id": page["sources"][1]["answer_id"], "field": "notes",
                "passage": "Nobody pays travel.", "code_ids": [travel["id"]], "valence": "barrier",
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = analyst
        .call(
            Method::POST,
            &format!("{base}/{}/merge", travel["id"]),
            Some(json!({ "into": physical })),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, page) = analyst
        .call(
            Method::GET,
            &fixture.api(&format!("/coding/questions/{barriers}")),
            None,
        )
        .await;
    assert_eq!(
        page["sources"][1]["texts"][0]["codings"][0]["code_name"],
        "Physical opportunity"
    );

    // Taking a coding back: its coder may; interviewers and co-designers cannot code at all.
    let coding = made[1]["id"].as_i64().unwrap();
    for (who, expected) in [
        (&fixture.team.interviewer, StatusCode::FORBIDDEN),
        (&fixture.team.co_designer, StatusCode::FORBIDDEN),
        (&fixture.team.outsider, StatusCode::NOT_FOUND),
        (analyst, StatusCode::NO_CONTENT),
        (analyst, StatusCode::NOT_FOUND),
    ] {
        let (status, body) = who
            .call(
                Method::DELETE,
                &fixture.api(&format!("/codings/{coding}")),
                None,
            )
            .await;
        assert_eq!(status, expected, "{body}");
    }
    let (_, overview) = analyst
        .call(Method::GET, &fixture.api("/coding"), None)
        .await;
    let question = overview["questions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["id"] == barriers)
        .unwrap();
    assert_eq!(question["coded"], 2);
}

fn value_in(page: &str, marker: &str) -> String {
    let at = page
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} not in page"))
        + marker.len();
    page[at..at + page[at..].find('"').unwrap()].to_string()
}

async fn coding_pages_work_without_javascript(app: TestApp) {
    let fixture = interviewed(&app, THREE).await;
    let study = fixture.team.study;
    let browser = &fixture.team.analyst.visitor;
    let barriers = fixture.question("What gets in the way");

    let (status, index) = browser.get_text(&format!("/studies/{study}/coding")).await;
    assert_eq!(status, StatusCode::OK);
    let question_page = format!("/studies/{study}/coding/questions/{barriers}");
    assert!(
        index.contains(&format!("href=\"{question_page}\"")),
        "{index}"
    );
    assert!(index.contains(&fixture.people[2].code));

    let (status, page) = browser.get_text(&question_page).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Meetings at 9 € — too early 🙁 for most carers."));
    assert!(page.contains("<span class=\"nhsuk-tag\">Suggested</span>"));
    let answer = value_in(&page, &format!("action=\"/studies/{study}/coding/answers/"));
    let form = format!("/studies/{study}/coding/answers/{answer}");
    let physical = code_id(&fixture, "Physical opportunity").await.to_string();

    // Words that are not in the text: the message beside the box, what was typed kept, 422.
    let of = barriers.to_string();
    let code_with = |words: (&'static str, &'static str), to: Option<&'static str>| {
        let mut fields = vec![
            ("by", "questions"),
            ("of", of.as_str()),
            ("page", "1"),
            ("field", "notes"),
            words,
            ("code", physical.as_str()),
            ("valence", "barrier"),
        ];
        fields.extend(to.map(|to| ("to", to)));
        let form = form.clone();
        async move { browser.post_form(&form, &fields).await }
    };
    let sent = code_with(("passage", "Meetings at noon"), None).await;
    assert_eq!(sent.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = sent.text().await.unwrap();
    assert!(page.contains("There is a problem"));
    assert!(page.contains(&format!("href=\"#passage-{answer}\"")));
    assert!(page.contains("These words are not in the text"));
    assert!(page.contains(">Meetings at noon</textarea>"), "input kept");
    assert!(page.contains(&format!(
        "id=\"valence-{answer}-barrier\" name=\"valence\" value=\"barrier\" checked"
    )));

    // A range of characters, counted from 1 as people count.
    let sent = code_with(("from", "1"), Some("8")).await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&sent),
        format!("{question_page}?page=1#source-{answer}")
    );
    let (_, page) = browser.get_text(&question_page).await;
    assert!(page.contains("The passage is coded."));
    assert!(
        page.contains("\">Meetings<sup class=\"coded__refs\">[1]</sup></mark>"),
        "{page}"
    );

    // Taking it off again.
    let coding = value_in(&page, &format!("action=\"/studies/{study}/codings/"));
    let coding = coding.split('/').next().unwrap().to_string();
    let sent = browser
        .post_form(
            &format!("/studies/{study}/codings/{coding}/delete"),
            &[
                ("by", "questions"),
                ("of", &barriers.to_string()),
                ("page", "1"),
            ],
        )
        .await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let (_, page) = browser.get_text(&question_page).await;
    assert!(page.contains("The coding is taken off."));
    assert!(!page.contains("<mark class=\"coded"));

    // Interviewers do not code.
    let (status, _) = fixture
        .team
        .interviewer
        .visitor
        .get_text(&question_page)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
