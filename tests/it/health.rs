//! `/healthz` makes a real round trip to the database and says 503 when it cannot.

use reqwest::StatusCode;

use crate::helpers::{Backend, TestApp};
use crate::on_both_databases;

on_both_databases!(health_reports_the_database_and_fails_when_it_is_gone);

async fn health_reports_the_database_and_fails_when_it_is_gone(app: TestApp) {
    app.signed_in_as("pat@example.org", voices::identity::Role::Member)
        .await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    let expected = match app.backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!(body["database"], expected);

    app.destroy_database();
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");

    if app.backend == Backend::Postgres {
        // Without its database every signed-in page fails: with a friendly page that leaks nothing.
        let (status, html) = app.get_text("/account").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(html.contains("Sorry, there is a problem with the service"));
        assert!(!html.to_lowercase().contains("database") && !html.contains("diesel"));
        let response = app.get("/api/v1/me").await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "internal");
    }
}
