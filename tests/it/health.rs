//! `/healthz` makes a real round trip to the database and says 503 when it cannot.

use reqwest::StatusCode;

use crate::helpers::TestApp;
use crate::on_both_databases;

on_both_databases!(health_reports_the_database_and_fails_when_it_is_gone);

async fn health_reports_the_database_and_fails_when_it_is_gone(app: TestApp) {
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    let expected = match app.backend {
        crate::helpers::Backend::Sqlite => "sqlite",
        crate::helpers::Backend::Postgres => "postgres",
    };
    assert_eq!(body["database"], expected);

    app.destroy_database();
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
}
