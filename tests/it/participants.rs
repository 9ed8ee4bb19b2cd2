//! The study roster: adding and changing participants, identities only for leads, erasing an identity,
//! CSV import (preview, then one transaction), the Excel-safe export, service areas, and the API.

use diesel::prelude::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use voices::db::schema::{
    audit_events, participant_identities, participant_imports, participants, studies,
};
use voices::error::AppError;

use crate::helpers::{id_after, location, Person, StudyTeam, TestApp, Visitor};
use crate::on_both_databases;

on_both_databases!(
    a_lead_adds_a_participant_and_sees_their_identity,
    invalid_input_is_shown_beside_the_field_and_kept,
    analysts_read_the_roster_through_the_api_without_identities,
    erasing_an_identity_keeps_the_participant_and_is_audited,
    a_csv_import_is_previewed_then_confirmed,
    rows_with_problems_are_listed_and_skipped,
    broken_files_get_a_clear_message_and_nothing_is_kept,
    a_confirmation_that_clashes_imports_nothing,
    the_roster_export_neutralises_formulas,
    the_api_imports_with_a_dry_run_first,
    service_areas_in_use_cannot_be_removed,
    the_roster_filters_and_pages,
    a_csv_import_offers_to_add_the_service_areas_it_names,
    leads_find_participants_by_name_email_or_code_and_others_by_code,
    assigning_an_interview_finds_the_participant_by_name,
);

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/participants/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Sends the import form as a browser does: the CSRF token first, then the file (an empty part
/// without a name when none was chosen) and the text box.
async fn upload(
    visitor: &Visitor,
    study: i64,
    file: Option<Vec<u8>>,
    pasted: &str,
) -> reqwest::Response {
    let token = visitor.csrf().await;
    let part = match file {
        Some(bytes) => reqwest::multipart::Part::bytes(bytes).file_name("participants.csv"),
        None => reqwest::multipart::Part::bytes(Vec::new()).file_name(""),
    };
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", token)
        .part("file", part.mime_str("text/csv").unwrap())
        .text("text", pasted.to_string());
    visitor
        .client
        .post(visitor.url(&format!("/studies/{study}/participants/import")))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

/// The CSV as the API's body.
async fn api_import(
    person: &Person,
    study: i64,
    csv: Vec<u8>,
    dry_run: bool,
) -> (StatusCode, Value) {
    api_import_with(person, study, csv, &format!("dry_run={dry_run}")).await
}

async fn api_import_with(
    person: &Person,
    study: i64,
    csv: Vec<u8>,
    query: &str,
) -> (StatusCode, Value) {
    let response = person
        .visitor
        .client
        .post(person.visitor.url(&format!(
            "/api/v1/studies/{study}/participants/import?{query}"
        )))
        .bearer_auth(&person.token)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or_default())
}

async fn count(app: &TestApp, study: i64) -> i64 {
    app.db
        .read(move |conn| {
            participants::table
                .filter(participants::study_id.eq(study))
                .count()
                .get_result::<i64>(conn)
                .map_err(AppError::from)
        })
        .await
        .unwrap()
}

async fn waiting_imports(app: &TestApp) -> i64 {
    app.db
        .read(|conn| {
            participant_imports::table
                .count()
                .get_result::<i64>(conn)
                .map_err(AppError::from)
        })
        .await
        .unwrap()
}

/// Every audit event as (action, details).
async fn audit(app: &TestApp) -> Vec<(String, String)> {
    app.db
        .read(|conn| {
            audit_events::table
                .order(audit_events::id.asc())
                .select((audit_events::action, audit_events::details))
                .load::<(String, String)>(conn)
                .map_err(AppError::from)
        })
        .await
        .unwrap()
}

/// The audit log names participants by code only: none of these appear in any event.
async fn audit_has_none_of(app: &TestApp, personal: &[&str]) {
    for (action, details) in audit(app).await {
        for text in personal {
            assert!(
                !details.to_lowercase().contains(&text.to_lowercase()),
                "{action} {details} holds {text}"
            );
        }
    }
}

async fn a_lead_adds_a_participant_and_sees_their_identity(app: TestApp) {
    let team = StudyTeam::new(&app).await;
    let study = team.study;
    let (_, page) = app.get_text(&format!("/studies/{study}")).await;
    assert!(page.contains(&format!("href=\"/studies/{study}/participants\"")));
    let (status, form) = app
        .get_text(&format!("/studies/{study}/participants/new"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("Inpatient rehabilitation") && form.contains("Interpreter or BSL"));

    let added = app
        .post_form(
            &format!("/studies/{study}/participants"),
            &[
                ("name", "Zoë Adeyemi"),
                ("email", " Zoe.Adeyemi@Example.ORG "),
                ("phone", "07700 900001"),
                ("group", "service_user"),
                ("service_area", "Sexual health"),
                ("system_level", "micro"),
                ("tags", "pilot, ward 3"),
                ("easy_read", "on"),
                ("preferred_mode", "phone"),
            ],
        )
        .await;
    assert_eq!(added.status(), StatusCode::SEE_OTHER);
    let url = location(&added);
    let (status, shown) = app.get_text(&url).await;
    assert_eq!(status, StatusCode::OK);
    for expected in [
        "P-0001",
        "Zoë Adeyemi",
        "zoe.adeyemi@example.org",
        "07700 900001",
        "Service user",
        "Sexual health",
        "Micro (team or ward)",
        "ward 3",
        "Easy read",
        "P-0001 is added to the roster",
    ] {
        assert!(shown.contains(expected), "{expected} in {shown}");
    }

    // The roster lists codes and research details, never who people are.
    let (status, roster) = app
        .get_text(&format!("/studies/{study}/participants"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(roster.contains("P-0001") && roster.contains("Sexual health"));
    assert!(!roster.contains("Zoë") && !roster.contains("zoe.adeyemi"));

    let second = app
        .post_form(
            &format!("/studies/{study}/participants"),
            &[("group", "staff")],
        )
        .await;
    assert_eq!(second.status(), StatusCode::SEE_OTHER);
    let (_, shown) = app.get_text(&location(&second)).await;
    assert!(shown.contains("P-0002"));

    let events = audit(&app).await;
    let added: Vec<&String> = events
        .iter()
        .filter(|(action, _)| action == "participant_added")
        .map(|(_, details)| details)
        .collect();
    assert_eq!(added.len(), 2);
    assert!(added[0].contains("P-0001"));
    audit_has_none_of(&app, &["Zoë", "adeyemi", "07700"]).await;
}

async fn invalid_input_is_shown_beside_the_field_and_kept(app: TestApp) {
    let team = StudyTeam::new(&app).await;
    let study = team.study;
    let response = app
        .post_form(
            &format!("/studies/{study}/participants"),
            &[
                ("name", "Zoë Adeyemi"),
                ("email", "zoe@"),
                ("group", ""),
                ("tags", "pilot"),
                ("large_print", "on"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("There is a problem"));
    assert!(html.contains("<a href=\"#email\">Enter an email address in the right format"));
    assert!(html.contains("id=\"group-error\""));
    assert!(html.contains("Choose a group"));
    assert!(html.contains("value=\"Zoë Adeyemi\"") && html.contains("value=\"zoe@\""));
    assert!(html.contains("value=\"pilot\""));
    assert!(html.contains(
        "id=\"large_print\" name=\"large_print\" type=\"checkbox\" value=\"on\" checked"
    ));
    assert_eq!(count(&app, study).await, 0);

    let first = app
        .post_form(
            &format!("/studies/{study}/participants"),
            &[("email", "zoe@example.org"), ("group", "carer")],
        )
        .await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let twice = app
        .post_form(
            &format!("/studies/{study}/participants"),
            &[("email", " ZOE@example.org"), ("group", "staff")],
        )
        .await;
    assert_eq!(twice.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = twice.text().await.unwrap();
    assert!(html.contains("id=\"email-error\""));
    assert!(
        html.contains("already on the study&#x27;s roster, as P-0001")
            || html.contains("already on the study's roster, as P-0001"),
        "{html}"
    );
    assert_eq!(count(&app, study).await, 1);

    // Editing: the same checks, and the page keeps what was typed.
    let participant = id_after(&location(&first), "/participants/");
    let edit = format!("/studies/{study}/participants/{participant}/edit");
    let (status, form) = app.get_text(&edit).await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("value=\"zoe@example.org\""));
    let response = app
        .post_form(&edit, &[("email", "zoe@example.org"), ("group", "patient")])
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("This is not a group"));
}

async fn analysts_read_the_roster_through_the_api_without_identities(app: TestApp) {
    let team = StudyTeam::new(&app).await;
    let base = format!("/api/v1/studies/{}/participants", team.study);
    let (status, created) = team
        .lead
        .call(
            Method::POST,
            &base,
            Some(json!({
                "name": "Dev Patel", "email": "Dev@Example.org", "phone": "020 7946 0000",
                "group": "carer", "service_area": "community", "tags": ["pilot"],
                "communication_needs": ["large print"], "preferred_mode": "video"
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["code"], "P-0001");
    assert_eq!(created["service_area"], "Community");
    assert_eq!(created["identity"]["email"], "dev@example.org");
    assert_eq!(
        created["identity"]["communication_needs"],
        json!(["large_print"])
    );
    let id = created["id"].as_i64().unwrap();

    let (status, roster) = team.analyst.call(Method::GET, &base, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(roster["total"], 1);
    assert_eq!(roster["participants"][0]["code"], "P-0001");
    assert_eq!(roster["participants"][0]["group"], "carer");
    let (status, one) = team
        .analyst
        .call(Method::GET, &format!("{base}/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    for seen in [&roster, &one] {
        let text = seen.to_string();
        for personal in [
            "\"identity\"",
            "\"name\"",
            "\"email\"",
            "\"phone\"",
            "Dev Patel",
            "dev@example.org",
            "7946",
            "large_print",
            "video",
        ] {
            assert!(
                !text.contains(personal),
                "the analyst sees {personal}: {text}"
            );
        }
    }
    // Leads read the list without identities too; one participant with.
    let (_, roster) = team.lead.call(Method::GET, &base, None).await;
    assert!(!roster.to_string().contains("dev@example.org"));
    let (_, one) = team
        .lead
        .call(Method::GET, &format!("{base}/{id}"), None)
        .await;
    assert_eq!(one["identity"]["name"], "Dev Patel");

    let (status, changed) = team
        .lead
        .call(
            Method::PATCH,
            &format!("{base}/{id}"),
            Some(json!({ "tags": ["pilot", "wave 2"], "email": "dev.patel@example.org" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["tags"], json!(["pilot", "wave 2"]));
    assert_eq!(changed["identity"]["email"], "dev.patel@example.org");
    assert_eq!(
        changed["identity"]["name"], "Dev Patel",
        "fields left out stay"
    );
    let (status, refused) = team
        .lead
        .call(
            Method::PATCH,
            &format!("{base}/{id}"),
            Some(json!({ "group": "patient" })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused["error"]["fields"]["group"]
        .as_str()
        .unwrap()
        .contains("“Carer”"));

    // Changing is for leads; members in other roles get 403, outsiders 404.
    for (who, person) in [
        ("analyst", &team.analyst),
        ("co-designer", &team.co_designer),
        ("interviewer", &team.interviewer),
    ] {
        let (status, _) = person
            .call(
                Method::PATCH,
                &format!("{base}/{id}"),
                Some(json!({ "tags": [] })),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{who}");
    }
    let (status, _) = team.co_designer.call(Method::GET, &base, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = team.outsider.call(Method::GET, &base, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = team
        .analyst
        .visitor
        .get_text(&format!("/studies/{}/participants", team.study))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = team
        .outsider
        .visitor
        .get_text(&format!("/studies/{}/participants", team.study))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn erasing_an_identity_keeps_the_participant_and_is_audited(app: TestApp) {
    let team = StudyTeam::new(&app).await;
    let study = team.study;
    let added = app
        .post_form(
            &format!("/studies/{study}/participants"),
            &[
                ("name", "Siân Roberts"),
                ("email", "sian@example.org"),
                ("phone", "07700 900002"),
                ("group", "staff"),
                ("interpreter_bsl", "on"),
            ],
        )
        .await;
    let url = location(&added);
    let participant = id_after(&url, "/participants/");
    let (status, confirm) = app.get_text(&format!("{url}/erase-identity")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(confirm.contains("Erase the identity of P-0001?"));
    let erased = app.post_form(&format!("{url}/erase-identity"), &[]).await;
    assert_eq!(erased.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&erased), url);
    let (_, shown) = app.get_text(&url).await;
    assert!(shown.contains("Identity erased on") && shown.contains("P-0001"));
    assert!(
        !shown.contains("Siân") && !shown.contains("sian@example.org") && !shown.contains("900002")
    );

    let (identities, kept): (i64, (String, bool)) = app
        .db
        .read(move |conn| {
            Ok::<_, AppError>((
                participant_identities::table.count().get_result(conn)?,
                participants::table
                    .find(participant)
                    .select((
                        participants::code,
                        participants::identity_erased_at.is_not_null(),
                    ))
                    .first(conn)?,
            ))
        })
        .await
        .unwrap();
    assert_eq!(identities, 0);
    assert_eq!(kept, ("P-0001".to_string(), true));
    let events = audit(&app).await;
    let erasures: Vec<&(String, String)> = events
        .iter()
        .filter(|(action, _)| action == "participant_identity_erased")
        .collect();
    assert_eq!(erasures.len(), 1);
    assert!(erasures[0].1.contains("P-0001"));
    audit_has_none_of(&app, &["Siân", "sian@", "900002"]).await;

    // Research details can still change; an identity cannot come back.
    let (_, form) = app.get_text(&format!("{url}/edit")).await;
    assert!(!form.contains("name=\"email\"") && form.contains("identity was erased"));
    let saved = app
        .post_form(&format!("{url}/edit"), &[("group", "carer")])
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let api = format!("/api/v1/studies/{study}/participants/{participant}");
    let (status, _) = team
        .lead
        .call(Method::PATCH, &api, Some(json!({ "name": "Siân" })))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, again) = team
        .lead
        .call(Method::POST, &format!("{api}/erase-identity"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["group"], "carer");
    assert!(again["identity_erased_at"].is_string() && again.get("identity").is_none());
    let erasures = audit(&app)
        .await
        .into_iter()
        .filter(|(action, _)| action == "participant_identity_erased")
        .count();
    assert_eq!(erasures, 1, "erasing twice records it once");
    // The address is free again.
    let readded = app
        .post_form(
            &format!("/studies/{study}/participants"),
            &[("email", "sian@example.org"), ("group", "staff")],
        )
        .await;
    assert_eq!(readded.status(), StatusCode::SEE_OTHER);
}

/// Uploads a file and returns the preview page's address and text.
async fn preview(app: &TestApp, study: i64, file: Vec<u8>) -> (String, String) {
    let response = upload(app, study, Some(file), "").await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        response.text().await.unwrap()
    );
    let url = location(&response);
    let (status, html) = app.get_text(&url).await;
    assert_eq!(status, StatusCode::OK);
    (url, html)
}

async fn a_csv_import_is_previewed_then_confirmed(app: TestApp) {
    let team = StudyTeam::new(&app).await;
    let study = team.study;
    let mut codes = 0;
    for (file, rows, shown) in [
        ("good_bom_semicolon.csv", 3, "Zoë Adeyemi"),
        ("excel_quoting.csv", 3, "Ann &quot;Nan&quot; Lee"),
        ("windows_1252.csv", 2, "Zoë Brûlé"),
    ] {
        let (url, html) = preview(&app, study, fixture(file)).await;
        assert!(
            html.contains(&format!("Import {rows} participants")),
            "{file}: {html}"
        );
        assert!(html.contains(shown), "{file}: {shown} in the first rows");
        assert_eq!(
            html.contains("Windows-1252"),
            file == "windows_1252.csv",
            "{file}"
        );
        assert_eq!(
            count(&app, study).await,
            codes,
            "nothing is saved before confirming {file}"
        );
        let confirmed = app.post_form(&url, &[]).await;
        assert_eq!(confirmed.status(), StatusCode::SEE_OTHER, "{file}");
        assert_eq!(
            location(&confirmed),
            format!("/studies/{study}/participants")
        );
        let (_, roster) = app.get_text(&location(&confirmed)).await;
        let (first, last) = (codes + 1, codes + rows);
        assert!(
            roster.contains(&format!(
                "{rows} participants are imported (P-{first:04} to P-{last:04})"
            )),
            "{file}: {roster}"
        );
        codes += rows;
        assert_eq!(count(&app, study).await, codes);
        assert_eq!(
            waiting_imports(&app).await,
            0,
            "{file}: confirming forgets the import"
        );
        // Confirming twice imports nothing more.
        let again = app.post_form(&url, &[]).await;
        assert_eq!(again.status(), StatusCode::SEE_OTHER);
        assert_eq!(count(&app, study).await, codes);
    }

    let base = format!("/api/v1/studies/{study}/participants");
    let (_, roster) = team.lead.call(Method::GET, &base, None).await;
    let mut found = Vec::new();
    for participant in roster["participants"].as_array().unwrap() {
        let (_, detail) = team
            .lead
            .call(Method::GET, &format!("{base}/{}", participant["id"]), None)
            .await;
        found.push(detail);
    }
    assert_eq!(found.len() as i64, codes);
    let zoe = &found[0];
    assert_eq!(zoe["code"], "P-0001");
    assert_eq!(zoe["identity"]["name"], "Zoë Adeyemi");
    assert_eq!(zoe["identity"]["email"], "zoe.adeyemi@example.org");
    assert_eq!(zoe["group"], "service_user");
    assert_eq!(zoe["service_area"], "Community");
    assert_eq!(zoe["system_level"], "micro");
    assert_eq!(zoe["tags"], json!(["pilot", "ward 3"]));
    assert_eq!(zoe["identity"]["communication_needs"], json!(["easy_read"]));
    assert_eq!(zoe["identity"]["preferred_mode"], "phone");
    assert_eq!(zoe["source"], "import");
    assert_eq!(found[1]["identity"]["preferred_mode"], "in_person");
    assert_eq!(found[1]["service_area"], "Mental health");
    assert_eq!(
        found[2]["identity"]["communication_needs"],
        json!(["large_print", "interpreter_bsl"])
    );
    assert_eq!(found[3]["identity"]["name"], "Smith, Jo");
    assert_eq!(found[3]["tags"], json!(["pilot", "ward 3"]));
    assert_eq!(found[4]["identity"]["name"], "Ann \"Nan\" Lee");
    assert_eq!(found[5]["identity"]["name"], "Line one\r\nline two");
    assert_eq!(found[5]["tags"], json!(["a", "b"]));
    assert_eq!(found[6]["identity"]["name"], "Zoë Brûlé");
    assert_eq!(found[7]["identity"]["name"], "François Œuvre");

    let imports: Vec<String> = audit(&app)
        .await
        .into_iter()
        .filter(|(action, _)| action == "participants_imported")
        .map(|(_, details)| details)
        .collect();
    assert_eq!(imports.len(), 3);
    assert!(imports[0].contains("\"imported\":3") && imports[0].contains("P-0001"));
    audit_has_none_of(&app, &["Zoë", "zoe.adeyemi", "Smith", "07700", "francois"]).await;
}

async fn rows_with_problems_are_listed_and_skipped(app: TestApp) {
    let team = StudyTeam::new(&app).await;
    let study = team.study;
    let (status, _) = team
        .lead
        .call(
            Method::POST,
            &format!("/api/v1/studies/{study}/participants"),
            Some(json!({ "email": "existing@example.org", "group": "staff" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (url, html) = preview(&app, study, fixture("problems.csv")).await;
    for expected in [
        "Import participants",
        "5 rows have problems and will be skipped",
        "<td class=\"nhsuk-table__cell\">3</td><td class=\"nhsuk-table__cell\">email</td><td class=\"nhsuk-table__cell\">not-an-email</td><td class=\"nhsuk-table__cell\">Enter an email address in the right format",
        "<td class=\"nhsuk-table__cell\">4</td><td class=\"nhsuk-table__cell\">group</td><td class=\"nhsuk-table__cell\">patient</td><td class=\"nhsuk-table__cell\">This is not a group",
        "<td class=\"nhsuk-table__cell\">5</td><td class=\"nhsuk-table__cell\">email</td><td class=\"nhsuk-table__cell\">good1@example.org</td><td class=\"nhsuk-table__cell\">This email address is also on row 2",
        "<td class=\"nhsuk-table__cell\">6</td><td class=\"nhsuk-table__cell\">email</td><td class=\"nhsuk-table__cell\">existing@example.org</td><td class=\"nhsuk-table__cell\">A participant with this email address is already on the study",
        // A service area the study lacks is not a problem but a choice: add it, or leave its row out.
        "1 row names a service area",
        "<li>Dentistry (1 row)</li>",
        "Add Dentistry to the study's list of service areas",
        "<td class=\"nhsuk-table__cell\">9</td><td class=\"nhsuk-table__cell\">communication_needs</td><td class=\"nhsuk-table__cell\">telepathy</td><td class=\"nhsuk-table__cell\">“telepathy” is not a communication need",
    ] {
        assert!(html.contains(expected), "{expected} in {html}");
    }
    assert!(
        !html.contains("Far Away"),
        "a waiting row is not among those shown as ready"
    );
    let confirmed = app.post_form(&url, &[]).await;
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
    assert_eq!(count(&app, study).await, 3);
    let imported = audit(&app)
        .await
        .into_iter()
        .find(|(action, _)| action == "participants_imported")
        .unwrap()
        .1;
    assert!(
        imported.contains("\"skipped_rows\":6") && imported.contains("\"imported\":2"),
        "{imported}"
    );
}

async fn broken_files_get_a_clear_message_and_nothing_is_kept(app: TestApp) {
    let team = StudyTeam::new(&app).await;
    let study = team.study;
    let mut huge = String::from("name,email,group\r\n");
    for i in 1..=100_000 {
        huge.push_str(&format!("Person {i},p{i}@example.org,staff\r\n"));
    }
    for (name, file, message) in [
        ("empty", fixture("empty.csv"), "The file is empty"),
        (
            "missing group",
            fixture("missing_group.csv"),
            "The file has no group column",
        ),
        (
            "header only",
            b"group\r\n".to_vec(),
            "no participants below it",
        ),
        (
            "workbook",
            b"PK\x03\x04\x14\x00".to_vec(),
            "This is an Excel workbook, not a CSV file",
        ),
        (
            "100,000 rows",
            huge.into_bytes(),
            "The file has more than 100,000 rows",
        ),
    ] {
        let response = upload(&app, study, Some(file), "").await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name}"
        );
        let html = response.text().await.unwrap();
        assert!(
            html.contains("There is a problem") && html.contains(message),
            "{name}: {html}"
        );
        assert!(
            html.contains("id=\"file-error\""),
            "{name}: the message is beside the field"
        );
    }
    let response = upload(&app, study, None, "").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("Choose a CSV file, or paste the rows"));
    // A pasted file that is broken stays in the box.
    let response = upload(&app, study, None, "name\tphone\nAda\t0").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains(">name\tphone\nAda\t0</textarea>"));
    assert_eq!(count(&app, study).await, 0);
    assert_eq!(waiting_imports(&app).await, 0);

    // Cells copied from a spreadsheet (tabs between them) work, and a cancelled import leaves nothing.
    let response = upload(&app, study, None, "Group\tName\nstaff\tAda\n").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let url = location(&response);
    let (_, html) = app.get_text(&url).await;
    assert!(html.contains("Import 1 participant<"));
    assert_eq!(waiting_imports(&app).await, 1);
    let cancelled = app.post_form(&format!("{url}/cancel"), &[]).await;
    assert_eq!(cancelled.status(), StatusCode::SEE_OTHER);
    assert_eq!(waiting_imports(&app).await, 0);
    assert_eq!(count(&app, study).await, 0);
    assert_eq!(app.get(&url).await.status(), StatusCode::NOT_FOUND);
}

async fn a_confirmation_that_clashes_imports_nothing(app: TestApp) {
    let team = StudyTeam::new(&app).await;
    let study = team.study;
    let file =
        "name,email,group\nA,a@example.org,staff\nB,b@example.org,staff\nC,c@example.org,carer\n";
    let (url, html) = preview(&app, study, file.as_bytes().to_vec()).await;
    assert!(html.contains("Import 3 participants"));
    // Between the preview and the confirmation, someone adds C by hand.
    let added = app
        .post_form(
            &format!("/studies/{study}/participants"),
            &[("email", "C@example.org"), ("group", "carer")],
        )
        .await;
    assert_eq!(added.status(), StatusCode::SEE_OTHER);
    let refused = app.post_form(&url, &[]).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(
        html.contains("Nothing was imported") && html.contains("row 4"),
        "{html}"
    );
    assert_eq!(count(&app, study).await, 1, "not even A and B");
    let next: i32 = app
        .db
        .read(move |conn| {
            studies::table
                .find(study)
                .select(studies::next_participant_number)
                .first(conn)
                .map_err(AppError::from)
        })
        .await
        .unwrap();
    assert_eq!(next, 2, "no codes were used up");
    assert_eq!(
        waiting_imports(&app).await,
        1,
        "the import waits to be cancelled"
    );
    let cancelled = app.post_form(&format!("{url}/cancel"), &[]).await;
    assert_eq!(cancelled.status(), StatusCode::SEE_OTHER);
    assert_eq!(waiting_imports(&app).await, 0);
}

async fn the_roster_export_neutralises_formulas(app: TestApp) {
    let team = StudyTeam::new(&app).await;
    let study = team.study;
    let (status, result) = api_import(&team.lead, study, fixture("formulas.csv"), false).await;
    assert_eq!(status, StatusCode::OK, "{result}");
    assert_eq!(result["imported"]["imported"], 1);
    // Stored as typed.
    let (_, roster) = team
        .lead
        .call(
            Method::GET,
            &format!("/api/v1/studies/{study}/participants"),
            None,
        )
        .await;
    assert_eq!(
        roster["participants"][0]["tags"][0],
        "=HYPERLINK(\"http://evil.example\")"
    );

    let response = app.get(&format!("/studies/{study}/participants.csv")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    assert!(response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let body = response.bytes().await.unwrap();
    assert!(body.starts_with(b"\xEF\xBB\xBF"), "Excel reads it as UTF-8");
    let text = String::from_utf8(body[3..].to_vec()).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "code",
            "group",
            "service_area",
            "system_level",
            "tags",
            "source",
            "opted_out",
            "identity_erased"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(&rows[0][0], "P-0001");
    assert_eq!(
        &rows[0][4],
        "'=HYPERLINK(\"http://evil.example\")|+SUM(1)|@cmd|-2"
    );
    for row in &rows {
        for cell in row {
            assert!(!cell.starts_with(['=', '+', '-', '@']), "{cell}");
        }
    }
    assert!(
        !text.contains("formula@example.org") && !text.contains("Click"),
        "no identities: {text}"
    );

    let (status, _) = team
        .analyst
        .visitor
        .get_text(&format!("/studies/{study}/participants.csv"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn the_api_imports_with_a_dry_run_first(app: TestApp) {
    let team = StudyTeam::new(&app).await;
    let study = team.study;
    let (status, dry) = api_import(&team.lead, study, fixture("problems.csv"), true).await;
    assert_eq!(status, StatusCode::OK, "{dry}");
    assert_eq!(dry["summary"]["rows"], 8);
    assert_eq!(dry["summary"]["accepted"], 3);
    assert_eq!(dry["summary"]["rows_with_problems"], 4);
    // Row 7's service area is not on the list: it waits for the area, and is left out unless asked.
    assert_eq!(dry["summary"]["rows_needing_new_areas"], 1);
    assert_eq!(
        dry["summary"]["new_service_areas"],
        json!([{ "name": "Dentistry", "rows": 1 }])
    );
    assert_eq!(dry["summary"]["encoding"], "utf8");
    assert_eq!(dry["summary"]["problems"][0]["row"], 3);
    assert_eq!(dry["summary"]["problems"][0]["column"], "email");
    assert!(dry.get("imported").is_none());
    assert_eq!(count(&app, study).await, 0, "a dry run stores nothing");
    assert_eq!(waiting_imports(&app).await, 0);

    let (status, done) = api_import(&team.lead, study, fixture("problems.csv"), false).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(
        done["imported"],
        json!({ "imported": 3, "first_code": "P-0001", "last_code": "P-0003" })
    );
    assert_eq!(count(&app, study).await, 3);
    // The same file again: every row is now a duplicate of the roster.
    let (status, again) = api_import(&team.lead, study, fixture("problems.csv"), false).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["imported"]["imported"], 0);
    assert_eq!(count(&app, study).await, 3);

    let (status, broken) = api_import(&team.lead, study, fixture("missing_group.csv"), false).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(broken["error"]["code"], "invalid");
    assert!(broken["error"]["fields"]["file"]
        .as_str()
        .unwrap()
        .contains("no group column"));
    let (status, _) = api_import(&team.analyst, study, fixture("excel_quoting.csv"), true).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = api_import(&team.outsider, study, fixture("excel_quoting.csv"), true).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn service_areas_in_use_cannot_be_removed(app: TestApp) {
    let team = StudyTeam::new(&app).await;
    let study = team.study;
    let (status, page) = app
        .get_text(&format!("/studies/{study}/service-areas"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Community\nInpatient rehabilitation\nSexual health\nMental health\nHealth and justice\nAddictions</textarea>"));
    let saved = app
        .post_form(
            &format!("/studies/{study}/service-areas"),
            &[(
                "service_areas",
                "Community\r\nAddictions\r\n\r\nPrimary care\r\n",
            )],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let api = format!("/api/v1/studies/{study}/service-areas");
    let (status, areas) = team.analyst.call(Method::GET, &api, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        areas["service_areas"],
        json!(["Community", "Addictions", "Primary care"])
    );

    let (status, _) = team
        .lead
        .call(
            Method::POST,
            &format!("/api/v1/studies/{study}/participants"),
            Some(json!({ "group": "staff", "service_area": "Addictions" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let refused = app
        .post_form(
            &format!("/studies/{study}/service-areas"),
            &[("service_areas", "Community\nPrimary care")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(
        html.contains("“Addictions” (1 participant)")
            && html.contains("id=\"service_areas-error\""),
        "{html}"
    );
    assert!(
        html.contains("Community\nPrimary care</textarea>"),
        "what was typed is kept"
    );
    let (status, body) = team
        .lead
        .call(
            Method::PUT,
            &api,
            Some(json!({ "service_areas": ["Community"] })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["error"]["fields"]["service_areas"]
        .as_str()
        .unwrap()
        .contains("Addictions"));
    let (status, _) = team
        .analyst
        .call(
            Method::PUT,
            &api,
            Some(json!({ "service_areas": ["Addictions"] })),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = team
        .lead
        .call(
            Method::PUT,
            &api,
            Some(json!({ "service_areas": ["Addictions", "Wards"] })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["service_areas"], json!(["Addictions", "Wards"]));
    let changes = audit(&app)
        .await
        .into_iter()
        .filter(|(action, _)| action == "service_areas_changed")
        .count();
    assert_eq!(changes, 2);
}

async fn the_roster_filters_and_pages(app: TestApp) {
    let team = StudyTeam::new(&app).await;
    let study = team.study;
    let mut file = String::from("group,service,level,tags\n");
    for i in 1..=150 {
        let group = if i % 2 == 0 { "carer" } else { "staff" };
        // The same tag typed two ways is one tag.
        let tags = match i % 3 {
            0 => "Wave 1",
            1 => "wave 1|pilot",
            _ => "",
        };
        file.push_str(&format!("{group},Community,micro,{tags}\n"));
    }
    let (status, result) = api_import(&team.lead, study, file.into_bytes(), false).await;
    assert_eq!(status, StatusCode::OK, "{result}");
    assert_eq!(result["imported"]["imported"], 150);

    let roster = format!("/studies/{study}/participants");
    let (_, first) = app.get_text(&roster).await;
    assert!(first.contains("150 participants.") && first.contains("Page 1 of 2"));
    assert!(first.contains(">P-0100<") && !first.contains(">P-0101<"));
    assert!(first.contains("rel=\"next\""));
    let (_, second) = app.get_text(&format!("{roster}?page=2")).await;
    assert!(second.contains(">P-0150<") && !second.contains(">P-0100<"));

    let (_, carers) = app.get_text(&format!("{roster}?group=carer")).await;
    assert!(
        carers.contains("75 participants match")
            && carers.contains(">P-0002<")
            && !carers.contains(">P-0001<")
    );
    // "wave 1" came first, so that is the study's spelling; "Wave 1" finds the same participants.
    let (_, tagged) = app.get_text(&format!("{roster}?tag=Wave+1")).await;
    assert!(tagged.contains("100 participants match"), "{tagged}");
    assert!(tagged.contains("<option value=\"wave 1\" selected>"));
    assert!(
        !tagged.contains("value=\"Wave 1\""),
        "one tag, one spelling"
    );
    let api = format!("/api/v1/studies/{study}/participants");
    let (_, both) = team
        .analyst
        .call(
            Method::GET,
            &format!("{api}?group=carer&tag=pilot&service=Community&level=micro"),
            None,
        )
        .await;
    assert_eq!(both["total"], 25);
    let (_, none) = team
        .analyst
        .call(Method::GET, &format!("{api}?tag=wave"), None)
        .await;
    assert_eq!(none["total"], 0, "a tag matches whole tags only");
    let (_, page) = team
        .analyst
        .call(Method::GET, &format!("{api}?page=2"), None)
        .await;
    assert_eq!(page["participants"].as_array().unwrap().len(), 50);
    assert_eq!(
        (page["page"].as_i64(), page["pages"].as_i64()),
        (Some(2), Some(2))
    );

    let response = app
        .get(&format!("/studies/{study}/participants.csv?group=carer"))
        .await;
    let text = response.text().await.unwrap();
    assert_eq!(text.lines().count(), 76, "the download follows the filter");
}

/// A file naming service areas the study's list lacks (a walk saw 39 of 52 rows refused for "Community
/// mental health") offers to add them; ticked, the areas join the list and their rows are imported, in
/// one transaction, both audited; the API does the same with `add_service_areas=true`.
async fn a_csv_import_offers_to_add_the_service_areas_it_names(app: TestApp) {
    let team = StudyTeam::new(&app).await;
    let study = team.study;
    let file = "name,group,service_area\n\
        Ann,staff,Community\n\
        Bo,carer,Community mental health\n\
        Cy,staff,community  mental health\n\
        Di,service_user,Perinatal\n\
        Ed,patient,Perinatal\n";
    let (url, html) = preview(&app, study, file.as_bytes().to_vec()).await;
    for expected in [
        "3 rows name service areas",
        "<li>Community mental health (2 rows)</li>",
        "<li>Perinatal (1 row)</li>",
        "Add Community mental health, Perinatal to the study's list of service areas, and import the 3 rows",
        "This is not a group",
    ] {
        assert!(html.contains(expected), "{expected} in {html}");
    }
    let confirmed = app.post_form(&url, &[("add_service_areas", "on")]).await;
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
    assert_eq!(count(&app, study).await, 4);
    let (_, areas) = team
        .lead
        .call(
            Method::GET,
            &format!("/api/v1/studies/{study}/service-areas"),
            None,
        )
        .await;
    let areas: Vec<&str> = areas["service_areas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        areas.contains(&"Community mental health") && areas.contains(&"Perinatal"),
        "{areas:?}"
    );
    let (_, roster) = team
        .lead
        .call(
            Method::GET,
            &format!("/api/v1/studies/{study}/participants?service=Community+mental+health"),
            None,
        )
        .await;
    assert_eq!(roster["total"], 2, "both spellings are the list's one");
    let actions: Vec<String> = audit(&app).await.into_iter().map(|(a, _)| a).collect();
    assert!(actions.contains(&"service_areas_changed".to_string()));
    assert!(actions.contains(&"participants_imported".to_string()));

    // The API leaves such rows out unless asked to add the areas.
    let more = "name,group,service_area\nFay,staff,Dementia care\nGus,staff,\n".as_bytes();
    let (status, result) = api_import(&team.lead, study, more.to_vec(), false).await;
    assert_eq!(status, StatusCode::OK, "{result}");
    assert_eq!(result["imported"]["imported"], 1);
    assert_eq!(
        result["summary"]["new_service_areas"][0]["name"],
        "Dementia care"
    );
    let (status, result) = api_import_with(
        &team.lead,
        study,
        b"name,group,service_area\nFay,staff,Dementia care\n".to_vec(),
        "add_service_areas=true",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{result}");
    assert_eq!(result["imported"]["imported"], 1);
    assert_eq!(count(&app, study).await, 6);
}

/// The roster's search: a lead finds people by part of a name, an email address or a code; an analyst
/// (who never sees identities) finds by code only, so a name tells them nothing about who took part.
/// A search that looked in identities is audited with the codes found, never with what was typed.
async fn leads_find_participants_by_name_email_or_code_and_others_by_code(app: TestApp) {
    let team = StudyTeam::new(&app).await;
    let study = team.study;
    let file = "name,email,group\n\
        Priya Marchetti,priya@example.org,carer\n\
        Tom Okafor,tom.o@example.org,staff\n\
        Sam Marchetti-Lee,,service_user\n";
    let (status, result) = api_import(&team.lead, study, file.as_bytes().to_vec(), false).await;
    assert_eq!(status, StatusCode::OK, "{result}");

    let roster = format!("/studies/{study}/participants");
    let (_, by_name) = app.get_text(&format!("{roster}?q=marchetti")).await;
    assert!(by_name.contains("2 participants match"), "{by_name}");
    assert!(
        by_name.contains(">P-0001<")
            && by_name.contains(">P-0003<")
            && !by_name.contains(">P-0002<")
    );
    assert!(
        by_name.contains("value=\"marchetti\""),
        "the search is kept in its box"
    );
    let (_, by_email) = app.get_text(&format!("{roster}?q=TOM.O%40")).await;
    assert!(by_email.contains("1 participant matches") && by_email.contains(">P-0002<"));
    let (_, by_code) = app.get_text(&format!("{roster}?q=0003")).await;
    assert!(by_code.contains("1 participant matches") && by_code.contains(">P-0003<"));
    let (_, wildcard) = app.get_text(&format!("{roster}?q=%25")).await;
    assert!(
        !wildcard.contains(">P-0001<"),
        "% is a character, not a wildcard"
    );

    let api = format!("/api/v1/studies/{study}/participants");
    let (_, lead) = team
        .lead
        .call(Method::GET, &format!("{api}?q=okafor"), None)
        .await;
    assert_eq!(lead["total"], 1);
    let (_, analyst) = team
        .analyst
        .call(Method::GET, &format!("{api}?q=okafor"), None)
        .await;
    assert_eq!(analyst["total"], 0, "an analyst cannot find anyone by name");
    let (_, analyst) = team
        .analyst
        .call(Method::GET, &format!("{api}?q=P-0002"), None)
        .await;
    assert_eq!(analyst["total"], 1);

    let searches: Vec<String> = audit(&app)
        .await
        .into_iter()
        .filter(|(action, _)| action == "identity_searched")
        .map(|(_, details)| details)
        .collect();
    assert!(
        searches
            .iter()
            .any(|d| d.contains("\"purpose\":\"roster\"") && d.contains("P-0001")),
        "{searches:?}"
    );
    audit_has_none_of(&app, &["marchetti", "okafor", "TOM.O"]).await;
    let (status, csv) = app
        .get_text(&format!("/studies/{study}/participants.csv?q=marchetti"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(csv.contains("P-0001") && !csv.contains("P-0002"));
    audit_has_none_of(&app, &["marchetti"]).await;
}

/// A lead assigning an interview who knows a name, not a code, finds the code on the assign page (no
/// script needed): the search is audited as a look at identities, and choosing fills the code in.
async fn assigning_an_interview_finds_the_participant_by_name(app: TestApp) {
    let team = StudyTeam::new(&app).await;
    let study = team.study;
    let file = "name,email,group\nPriya Marchetti,priya@example.org,carer\nTom Okafor,,staff\n";
    let (status, result) = api_import(&team.lead, study, file.as_bytes().to_vec(), false).await;
    assert_eq!(status, StatusCode::OK, "{result}");
    let assign = format!("/studies/{study}/interviews/new");
    let (status, page) = app.get_text(&format!("{assign}?q=priya")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Found on the roster") && page.contains("Priya Marchetti"),
        "{page}"
    );
    assert!(!page.contains("Tom Okafor"));
    let choose = format!("/studies/{study}/interviews/new?code=P-0001");
    assert!(page.contains(&format!("href=\"{choose}\"")), "{page}");
    let (_, chosen) = app.get_text(&choose).await;
    assert!(chosen.contains(
        "id=\"participant-code-input\" name=\"participant_code\" type=\"text\" value=\"P-0001\""
    ));
    let (status, short) = app.get_text(&format!("{assign}?q=pr")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(short.contains("Type at least 3 letters") && short.contains("id=\"q-error\""));
    let (_, nobody) = app.get_text(&format!("{assign}?q=nobody")).await;
    assert!(nobody.contains("Nobody on the roster has that name"));
    let searched = audit(&app).await.into_iter().any(|(action, details)| {
        action == "identity_searched" && details.contains("assign_interview")
    });
    assert!(searched);
    audit_has_none_of(&app, &["priya", "nobody"]).await;
    // Only leads assign interviews, so only leads search here.
    let (status, _) = team
        .interviewer
        .visitor
        .get_text(&format!("{assign}?q=priya"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
