//! Counts and times every request by route pattern, method and status, for `/metrics`. The pattern
//! (`/studies/{id}`), never the path: paths carry ids and link tokens, and each would be a new series.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, Error};
use prometheus::core::Collector;
use prometheus::proto::MetricFamily;
use prometheus::{HistogramOpts, HistogramVec};

use crate::state::AppState;

/// The route label of requests that matched no route (and of the few that failed before a response).
const UNMATCHED: &str = "(unmatched)";

/// Seconds; finer than Prometheus's defaults at the low end, where most pages are.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// One per app, kept in its state's caches.
pub struct RequestMetrics {
    duration: HistogramVec,
}

impl Default for RequestMetrics {
    fn default() -> Self {
        let options = HistogramOpts::new(
            "voices_http_request_duration_seconds",
            "Time from receiving a request to its response being ready, by route pattern, method and status; _count is the number of requests",
        )
        .buckets(BUCKETS.to_vec());
        RequestMetrics {
            duration: HistogramVec::new(options, &["route", "method", "status"])
                .expect("the histogram's name, labels and buckets are valid"),
        }
    }
}

impl RequestMetrics {
    pub fn families(&self) -> Vec<MetricFamily> {
        self.duration.collect()
    }
}

/// Methods outside the usual ones share a label, so no caller can make new series at will.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|state| state.caches.get::<RequestMetrics>());
    let method = method_label(req.method());
    let started = Instant::now();
    let result = next.call(req).await;
    let seconds = started.elapsed().as_secs_f64();
    if let Some(metrics) = metrics {
        // After routing the pattern is looked up by the route already found, not matched again.
        let (route, status) = match &result {
            Ok(res) => (res.request().match_pattern(), res.status()),
            Err(error) => (None, error.as_response_error().status_code()),
        };
        metrics
            .duration
            .with_label_values(&[
                route.as_deref().unwrap_or(UNMATCHED),
                method,
                status.as_str(),
            ])
            .observe(seconds);
    }
    result
}
