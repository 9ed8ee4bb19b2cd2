//! The JSON API: personal access tokens end to end, and the OpenAPI document.

use reqwest::StatusCode;
use voices::identity::Role;

use crate::helpers::{spawn_app, value_after, Backend, TestApp};
use crate::on_both_databases;

on_both_databases!(
    tokens_made_on_the_account_page_work_until_revoked,
    administrators_invite_through_the_api
);

async fn tokens_made_on_the_account_page_work_until_revoked(app: TestApp) {
    app.signed_in_as("nia@example.org", Role::Member).await;
    let response = app
        .post_form("/account/tokens", &[("name", "analysis scripts")])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains("Copy it now"));
    let secret = value_after(&html, r#"id="new-token" type="text" readonly value=""#).unwrap();
    assert!(secret.starts_with("vt_") && secret.len() > 40);
    let (_, again) = app.get_text("/account").await;
    assert!(!again.contains(&secret), "the secret is shown only once");
    assert!(again.contains("analysis scripts"));

    let api = app.new_visitor();
    let me: serde_json::Value = api
        .client
        .get(api.url("/api/v1/me"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "nia@example.org");
    assert_eq!(me["role"], "member");

    let tokens: serde_json::Value = api
        .client
        .get(api.url("/api/v1/me/tokens"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed = &tokens.as_array().unwrap()[0];
    assert_eq!(listed["name"], "analysis scripts");
    assert!(listed["last_used_at"].is_string(), "use is recorded");
    assert!(listed.get("token_hash").is_none() && !tokens.to_string().contains(&secret));

    let id = listed["id"].as_i64().unwrap();
    let revoked = api
        .client
        .delete(api.url(&format!("/api/v1/me/tokens/{id}")))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    let after = api
        .client
        .get(api.url("/api/v1/me"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(after.headers()["www-authenticate"], "Bearer");
    let (_, page) = app.get_text("/account").await;
    assert!(page.contains("Revoked"));
}

async fn administrators_invite_through_the_api(app: TestApp) {
    let admin = app.create_user("ops@example.org", Role::Admin).await;
    let origin = voices::audit::Origin::command_line();
    let (_, secret) = voices::accounts::actions::create_api_token(&app.db, &origin, admin, "ops")
        .await
        .unwrap();
    let invite = |body: serde_json::Value| {
        app.client
            .post(app.url("/api/v1/users/invitations"))
            .bearer_auth(&secret)
            .json(&body)
            .send()
    };
    let response = invite(serde_json::json!({ "email": "new@example.org", "display_name": "New Person", "role": "member" }))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["user"]["has_password"], false);
    // Queued, but no mail server is set up in these tests: the email is only written as a file.
    assert_eq!(body["email_sent"], false);
    app.wait_for_email("new@example.org").await;

    let response =
        invite(serde_json::json!({ "email": "bad", "display_name": "", "role": "owner" }))
            .await
            .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: serde_json::Value = response.json().await.unwrap();
    for field in ["email", "display_name", "role"] {
        assert!(
            body["error"]["fields"][field].is_string(),
            "{field}: {body}"
        );
    }

    let users: serde_json::Value = app
        .client
        .get(app.url("/api/v1/users"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(users.as_array().unwrap().len(), 2);
    assert!(!users.to_string().contains("argon2"), "no password hashes");

    let events: serde_json::Value = app
        .client
        .get(app.url("/api/v1/audit-events?limit=10"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let invited = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "user_invited")
        .expect("audited");
    assert_eq!(invited["actor_user_id"], admin);
    assert!(invited["ip_address"]
        .as_str()
        .unwrap()
        .starts_with("127.0.0.1"));
}

#[tokio::test]
async fn openapi_document_lists_every_api_route() {
    let app = spawn_app(Backend::Sqlite).await;
    let response = app.get("/api/v1/openapi.json").await;
    assert_eq!(response.status(), StatusCode::OK);
    let doc: serde_json::Value = response.json().await.expect("valid JSON");
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    let mut documented: Vec<(String, String)> = paths
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |method| (method.to_uppercase(), path.clone()))
        })
        .collect();
    documented.sort();
    let mut expected: Vec<(String, String)> = crate::security::API
        .iter()
        .map(|(method, path, _)| (method.to_string(), path.to_string()))
        .collect();
    expected.sort();
    assert_eq!(
        documented, expected,
        "the role matrix and the document cover the same routes"
    );

    // Every documented operation exists: a stranger is asked to authenticate (or, on the one public
    // route, answered), never told 404.
    for &(method, path, needs) in crate::security::API {
        let url = app.url(&crate::security::concrete(path));
        let response = app
            .client
            .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url)
            .send()
            .await
            .unwrap();
        let expected = match needs {
            crate::security::Needs::Anyone => StatusCode::OK,
            _ => StatusCode::UNAUTHORIZED,
        };
        assert_eq!(response.status(), expected, "{method} {path}");
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
}

/// utoipa keeps one schema per component name: a second Rust type registered under the same name is
/// dropped without a word, and responses of that type are then described by the other. Each area's
/// routes, described alone, must agree with the served document on every schema they name; and every
/// `$ref` in the document must lead somewhere.
#[tokio::test]
async fn openapi_document_has_one_true_schema_per_name() {
    let app = spawn_app(Backend::Sqlite).await;
    let doc: serde_json::Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    let served = doc["components"]["schemas"].as_object().unwrap();

    let mut clashes = Vec::new();
    for (area, schemas) in voices::api::schemas_by_area() {
        for (name, schema) in schemas.as_object().unwrap() {
            if served.get(name) != Some(schema) {
                clashes.push(format!("{name} (as {area} describes it)"));
            }
        }
    }
    assert!(
        clashes.is_empty(),
        "two types share these schema names; give one a distinct name with #[schema(as = ...)]: {clashes:?}"
    );

    // An operation that reads a body, query or path can be sent one actix cannot read: a 400 in the
    // app's error shape, which the document says.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let takes_input = operation.get("requestBody").is_some()
                || operation["parameters"]
                    .as_array()
                    .is_some_and(|p| !p.is_empty());
            if takes_input {
                assert_eq!(
                    operation["responses"]["400"]["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorBody",
                    "{method} {path} documents its 400"
                );
            }
        }
    }

    let mut dangling = Vec::new();
    collect_dangling_refs(&doc, served, &mut dangling);
    assert!(dangling.is_empty(), "$refs to no schema: {dangling:?}");
    assert!(
        served.contains_key("CampaignPreview")
            && served["Preview"]["properties"]["audience"].is_object(),
        "the campaign preview and the questionnaire preview each have their own schema"
    );
}

fn collect_dangling_refs(
    value: &serde_json::Value,
    schemas: &serde_json::Map<String, serde_json::Value>,
    dangling: &mut Vec<String>,
) {
    match value {
        serde_json::Value::Object(map) => {
            if let Some(target) = map.get("$ref").and_then(|r| r.as_str()) {
                let name = target.trim_start_matches("#/components/schemas/");
                if !schemas.contains_key(name) {
                    dangling.push(target.to_string());
                }
            }
            map.values()
                .for_each(|v| collect_dangling_refs(v, schemas, dangling));
        }
        serde_json::Value::Array(items) => items
            .iter()
            .for_each(|v| collect_dangling_refs(v, schemas, dangling)),
        _ => {}
    }
}
