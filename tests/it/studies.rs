//! Studies and their members: who may do what, invitations, the last lead, and the API.

use reqwest::{Method, StatusCode};
use voices::identity::Role;

use crate::helpers::{TestApp, Visitor, PASSWORD};
use crate::on_both_databases;

on_both_databases!(
    a_lead_creates_a_study_and_builds_the_co_design_group,
    every_study_route_checks_membership_and_role,
    a_study_keeps_at_least_one_lead,
    studies_and_members_through_the_api,
);

fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_string()
}

/// Creates a study through the page as this visitor and returns its id.
async fn create_study(visitor: &Visitor, title: &str) -> i64 {
    let response = visitor
        .post_form(
            "/studies",
            &[
                ("title", title),
                ("summary", "What helps and what gets in the way."),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    location(&response)
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

async fn add_member(visitor: &Visitor, study: i64, fields: &[(&str, &str)]) -> reqwest::Response {
    visitor
        .post_form(&format!("/studies/{study}/members"), fields)
        .await
}

fn member_id_in(html: &str, name_fragment: &str) -> i64 {
    let at = html.find(name_fragment).expect("member listed");
    let rest = &html[at..];
    let marker = "/members/";
    let start = rest.find(marker).unwrap() + marker.len();
    rest[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

async fn a_lead_creates_a_study_and_builds_the_co_design_group(app: TestApp) {
    app.signed_in_as("lead@example.org", Role::Member).await;
    let (status, page) = app.get_text("/studies/new").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Create a study"));

    let empty = app
        .post_form("/studies", &[("title", ""), ("summary", "kept")])
        .await;
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = empty.text().await.unwrap();
    assert!(html.contains("Enter a title for the study") && html.contains(">kept</textarea>"));

    let study = create_study(&app, "Barriers and enablers to involvement").await;
    let (_, page) = app.get_text(&format!("/studies/{study}")).await;
    assert!(page.contains("The study is created"));
    assert!(page.contains("<strong>1</strong> staff"));

    // The form starts with nothing chosen for them: no role ticked, no perspective picked.
    let (_, form) = app.get_text(&format!("/studies/{study}/members/new")).await;
    assert!(form.contains("Whose experience do they bring?"), "{form}");
    assert!(!form.contains(" checked"), "{form}");
    let unchosen = add_member(
        &app,
        study,
        &[("email", "uma@example.org"), ("display_name", "Uma")],
    )
    .await;
    assert_eq!(unchosen.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = unchosen.text().await.unwrap();
    assert!(
        html.contains("Choose at least one role")
            && html.contains("Choose whose experience they bring")
    );

    // Someone with an account and someone without: the lead's answer is the same for both.
    app.create_user("sam@example.org", Role::Member).await;
    let added = add_member(
        &app,
        study,
        &[
            ("email", "sam@example.org"),
            ("display_name", "Sam Advisor"),
            ("co_designer", "on"),
            ("perspective", "service_user"),
        ],
    )
    .await;
    assert_eq!(added.status(), StatusCode::SEE_OTHER);
    let (_, known_page) = app.get_text(&location(&added)).await;
    assert!(known_page
        .contains("Sam Advisor is invited by email. They become a member when they accept."));

    let no_role = add_member(
        &app,
        study,
        &[("email", "tia@example.org"), ("perspective", "carer")],
    )
    .await;
    assert_eq!(no_role.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = no_role.text().await.unwrap();
    assert!(html.contains(r##"<a href="#roles">Choose at least one role</a>"##));
    assert!(html.contains(r#"value="tia@example.org""#), "input kept");

    for name in [
        "",
        "Dear colleague, visit https://evil.example",
        "see evil.example",
    ] {
        let refused = add_member(
            &app,
            study,
            &[
                ("email", "tia@example.org"),
                ("display_name", name),
                ("co_designer", "on"),
                ("perspective", "carer"),
            ],
        )
        .await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{name}");
        assert!(refused
            .text()
            .await
            .unwrap()
            .contains("Enter their name as plain words"));
    }

    let invited = add_member(
        &app,
        study,
        &[
            ("email", "tia@example.org"),
            ("display_name", "Tia Carer"),
            ("co_designer", "on"),
            ("perspective", "carer"),
        ],
    )
    .await;
    assert_eq!(invited.status(), StatusCode::SEE_OTHER);
    app.wait_for_email("tia@example.org").await;
    app.wait_for_email("sam@example.org").await;

    let (_, page) = app.get_text(&location(&invited)).await;
    assert!(page.contains("Tia Carer is invited by email. They become a member when they accept."));
    assert!(page.contains("No mail server is set up"));
    // Both wait as invited, under the names the lead typed; neither is a member yet.
    assert!(page.contains("Sam Advisor") && page.contains("Tia Carer"));
    assert!(page.contains("<strong>1</strong> staff"));
    assert!(page.contains("<strong>0</strong> service-user advisors"));
    let again = add_member(
        &app,
        study,
        &[
            ("email", "sam@example.org"),
            ("display_name", "Sam Advisor"),
            ("analyst", "on"),
            ("perspective", "staff"),
        ],
    )
    .await;
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(again.text().await.unwrap().contains("already been invited"));

    // Sam sees the invitation on the studies page and accepts it.
    let sam = app.new_visitor();
    sam.sign_in("sam@example.org", PASSWORD).await;
    let (_, list) = sam.get_text("/studies").await;
    assert!(list.contains("Barriers and enablers to involvement"));
    let accept =
        crate::helpers::value_after(&list, "action=\"/invitations/").expect("an accept button");
    let invitation: i64 = accept.split('/').next().unwrap().parse().unwrap();
    let accepted = sam
        .post_form(&format!("/invitations/{invitation}/accept"), &[])
        .await;
    assert_eq!(location(&accepted), format!("/studies/{study}"));
    let (_, list) = sam.get_text("/studies").await;
    assert!(list.contains("Co-designer"));
    let (_, page) = app.get_text(&format!("/studies/{study}")).await;
    assert!(page.contains("<strong>1</strong> service-user advisor and"));
}

async fn every_study_route_checks_membership_and_role(app: TestApp) {
    for (email, role) in [
        ("lead@example.org", Role::Member),
        ("analyst@example.org", Role::Member),
        ("outsider@example.org", Role::Admin),
        ("spare@example.org", Role::Member),
        ("spare2@example.org", Role::Member),
    ] {
        app.create_user(email, role).await;
    }
    let lead = app.new_visitor();
    lead.sign_in("lead@example.org", PASSWORD).await;
    let study = create_study(&lead, "Matrix").await;
    add_member(
        &lead,
        study,
        &[
            ("email", "analyst@example.org"),
            ("display_name", "Test Person"),
            ("analyst", "on"),
            ("perspective", "staff"),
        ],
    )
    .await;
    crate::helpers::accept_invitations(&app, "analyst@example.org").await;
    // Two members for the lead to change and remove: one through the pages, one through the API.
    for spare in ["spare@example.org", "spare2@example.org"] {
        add_member(
            &lead,
            study,
            &[
                ("email", spare),
                ("display_name", "Test Person"),
                ("interviewer", "on"),
                ("perspective", "staff"),
            ],
        )
        .await;
        crate::helpers::accept_invitations(&app, spare).await;
    }
    let members: serde_json::Value = lead
        .client
        .get(lead.url(&format!("/api/v1/studies/{study}/members")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let membership_of = |email: &str| {
        members
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["email"] == email)
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let (spare, spare2) = (
        membership_of("spare@example.org"),
        membership_of("spare2@example.org"),
    );

    let analyst = app.new_visitor();
    analyst.sign_in("analyst@example.org", PASSWORD).await;
    // An administrator of the service is still a stranger to a study they are not in.
    let outsider = app.new_visitor();
    outsider.sign_in("outsider@example.org", PASSWORD).await;
    let stranger = app.new_visitor();

    let lead_only = true;
    let pages: &[(&str, String, bool)] = &[
        ("GET", format!("/studies/{study}"), !lead_only),
        ("GET", format!("/studies/{study}/edit"), lead_only),
        ("POST", format!("/studies/{study}/edit"), lead_only),
        ("GET", format!("/studies/{study}/members/new"), lead_only),
        ("POST", format!("/studies/{study}/members"), lead_only),
        (
            "GET",
            format!("/studies/{study}/members/{spare}/edit"),
            lead_only,
        ),
        (
            "POST",
            format!("/studies/{study}/members/{spare}/edit"),
            lead_only,
        ),
        (
            "GET",
            format!("/studies/{study}/members/{spare}/remove"),
            lead_only,
        ),
        (
            "POST",
            format!("/studies/{study}/members/{spare}/remove"),
            lead_only,
        ),
    ];
    for (method, path, needs_lead) in pages {
        let send = |visitor: &Visitor| {
            let (visitor, method, path) = (visitor.clone(), *method, path.clone());
            async move {
                let mut request = visitor.client.request(
                    Method::from_bytes(method.as_bytes()).unwrap(),
                    visitor.url(&path),
                );
                if method == "POST" {
                    request = request.form(&[("csrf_token", visitor.csrf().await)]);
                }
                request.send().await.unwrap()
            }
        };
        let response = send(&stranger).await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "stranger {method} {path}"
        );
        assert!(location(&response).starts_with("/login?next="));
        assert_eq!(
            send(&outsider).await.status(),
            StatusCode::NOT_FOUND,
            "outsider {method} {path}"
        );
        let status = send(&analyst).await.status();
        if *needs_lead {
            assert_eq!(status, StatusCode::FORBIDDEN, "analyst {method} {path}");
        } else {
            assert_eq!(status, StatusCode::OK, "analyst {method} {path}");
        }
        let status = send(&lead).await.status();
        assert!(
            matches!(status.as_u16(), 200 | 303 | 422),
            "lead {method} {path} → {status}"
        );
    }

    let api: &[(&str, String, bool)] = &[
        ("GET", format!("/api/v1/studies/{study}"), !lead_only),
        (
            "GET",
            format!("/api/v1/studies/{study}/members"),
            !lead_only,
        ),
        ("PUT", format!("/api/v1/studies/{study}"), lead_only),
        (
            "POST",
            format!("/api/v1/studies/{study}/members"),
            lead_only,
        ),
        (
            "PUT",
            format!("/api/v1/studies/{study}/members/{spare2}"),
            lead_only,
        ),
        (
            "DELETE",
            format!("/api/v1/studies/{study}/members/{spare2}"),
            lead_only,
        ),
    ];
    let origin = voices::audit::Origin::command_line();
    let token = |email: &'static str| {
        let (db, origin) = (app.db.clone(), origin.clone());
        async move {
            let user = voices::accounts::actions::user_by_email(&db, email)
                .await
                .unwrap()
                .unwrap();
            voices::accounts::actions::create_api_token(&db, &origin, user.id, "t")
                .await
                .unwrap()
                .1
        }
    };
    let (analyst_token, outsider_token, lead_token) = (
        token("analyst@example.org").await,
        token("outsider@example.org").await,
        token("lead@example.org").await,
    );
    let client = crate::helpers::new_client();
    for (method, path, needs_lead) in api {
        let call = |bearer: Option<&str>| {
            let mut request = client.request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                app.url(path),
            );
            if let Some(bearer) = bearer {
                request = request.bearer_auth(bearer);
            }
            if *method == "POST" || *method == "PUT" {
                request = request.json(&serde_json::json!({ "title": "Renamed", "analyst": true, "perspective": "staff" }));
            }
            request.send()
        };
        assert_eq!(
            call(None).await.unwrap().status(),
            StatusCode::UNAUTHORIZED,
            "stranger {method} {path}"
        );
        assert_eq!(
            call(Some(&outsider_token)).await.unwrap().status(),
            StatusCode::NOT_FOUND,
            "outsider {method} {path}"
        );
        let status = call(Some(&analyst_token)).await.unwrap().status();
        assert_eq!(
            status,
            if *needs_lead {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::OK
            },
            "analyst {method} {path}"
        );
        let status = call(Some(&lead_token)).await.unwrap().status();
        assert!(
            status.is_success() || status == StatusCode::UNPROCESSABLE_ENTITY,
            "lead {method} {path} → {status}"
        );
    }
}

async fn a_study_keeps_at_least_one_lead(app: TestApp) {
    app.signed_in_as("only@example.org", Role::Member).await;
    let study = create_study(&app, "One lead").await;
    let (_, page) = app.get_text(&format!("/studies/{study}")).await;
    let me = member_id_in(&page, "<td class=\"nhsuk-table__cell\">Test Person</td>");
    let demote = app
        .post_form(
            &format!("/studies/{study}/members/{me}/edit"),
            &[
                ("email", "only@example.org"),
                ("analyst", "on"),
                ("perspective", "staff"),
            ],
        )
        .await;
    assert_eq!(demote.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(demote
        .text()
        .await
        .unwrap()
        .contains("A study needs at least one lead"));
    let remove = app
        .post_form(&format!("/studies/{study}/members/{me}/remove"), &[])
        .await;
    assert_eq!(remove.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app.get_text(&format!("/studies/{study}")).await;
    assert_eq!(status, StatusCode::OK, "still a member and lead");
}

async fn studies_and_members_through_the_api(app: TestApp) {
    let lead = app.create_user("api-lead@example.org", Role::Member).await;
    let (_, secret) = voices::accounts::actions::create_api_token(
        &app.db,
        &voices::audit::Origin::command_line(),
        lead,
        "api",
    )
    .await
    .unwrap();
    let call = |method: Method, path: &str, body: Option<serde_json::Value>| {
        let mut request = app
            .client
            .request(method, app.url(path))
            .bearer_auth(&secret);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send()
    };
    let response = call(
        Method::POST,
        "/api/v1/studies",
        Some(serde_json::json!({ "title": "" })),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let response = call(
        Method::POST,
        "/api/v1/studies",
        Some(serde_json::json!({ "title": "API study", "summary": "s" })),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: serde_json::Value = response.json().await.unwrap();
    let study = created["study"]["id"].as_i64().unwrap();
    assert_eq!(created["members"][0]["roles"]["lead"], true);
    assert_eq!(created["co_design_balance"]["staff"], 1);

    let response = call(
        Method::POST,
        &format!("/api/v1/studies/{study}/members"),
        Some(serde_json::json!({ "email": "new-advisor@example.org", "display_name": "Ned", "co_designer": true, "perspective": "service_user" })),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let added: serde_json::Value = response.json().await.unwrap();
    assert_eq!(added["invited_name"], "Ned");
    crate::helpers::accept_invitations(&app, "new-advisor@example.org").await;
    let members: serde_json::Value = call(
        Method::GET,
        &format!("/api/v1/studies/{study}/members"),
        None,
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let member = members
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == "new-advisor@example.org")
        .unwrap()["id"]
        .as_i64()
        .unwrap();

    let response = call(
        Method::PUT,
        &format!("/api/v1/studies/{study}/members/{member}"),
        Some(serde_json::json!({ "analyst": true, "co_designer": true, "perspective": "carer" })),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let changed: serde_json::Value = response.json().await.unwrap();
    assert_eq!(changed["roles"]["analyst"], true);
    assert_eq!(changed["perspective"], "carer");

    let detail: serde_json::Value = call(Method::GET, &format!("/api/v1/studies/{study}"), None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(detail["co_design_balance"]["carer_advisors"], 1);

    let response = call(
        Method::DELETE,
        &format!("/api/v1/studies/{study}/members/{member}"),
        None,
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let members: serde_json::Value = call(
        Method::GET,
        &format!("/api/v1/studies/{study}/members"),
        None,
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(members.as_array().unwrap().len(), 1);

    let events: Vec<String> = app
        .db
        .read(|conn| voices::audit::recent(conn, 20, 0).map_err(voices::error::AppError::from))
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    for action in [
        "study_created",
        "study_member_added",
        "study_member_changed",
        "study_member_removed",
    ] {
        assert!(events.contains(&action.to_string()), "{action} audited");
    }
}
