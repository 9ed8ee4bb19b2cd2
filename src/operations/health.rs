//! `GET /healthz`: a real round trip to the database, for load balancers and monitoring.

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::state::AppState;

pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let database = state.db.backend().name();
    if state.db.ping().await {
        HttpResponse::Ok().json(json!({ "status": "ok", "database": database }))
    } else {
        HttpResponse::ServiceUnavailable()
            .json(json!({ "status": "unavailable", "database": database }))
    }
}
