//! `/metrics`: Prometheus text a parser reads, with figures that move with what the app does, open only
//! to allowed addresses and to the token.

use std::time::Duration;

use diesel::prelude::*;
use openmetrics_parser::{MetricsExposition, PrometheusType, PrometheusValue};
use reqwest::StatusCode;
use voices::db::schema::outbox_messages as om;
use voices::error::AppError;
use voices::mail::outbox::{self, Kind, Prepared, Queued};

use crate::helpers::{new_client, spawn_on, Backend, TestApp};
use crate::{on_both_backends, on_both_databases};

on_both_databases!(the_figures_move_with_requests_the_database_and_the_outbox);
on_both_backends!(only_allowed_addresses_and_the_token_open_it);

struct Metrics(MetricsExposition<PrometheusType, PrometheusValue>);

impl Metrics {
    fn parse(text: &str) -> Metrics {
        Metrics(openmetrics_parser::prometheus::parse_prometheus(text).unwrap())
    }

    fn kind(&self, name: &str) -> Option<&PrometheusType> {
        self.0.families.get(name).map(|family| &family.family_type)
    }

    fn sample(&self, name: &str, labels: &[(&str, &str)]) -> Option<&PrometheusValue> {
        self.0
            .families
            .get(name)?
            .iter_samples()
            .find(|sample| {
                let set = sample.get_labelset().unwrap();
                labels
                    .iter()
                    .all(|(k, v)| set.get_label_value(k) == Some(*v))
            })
            .map(|sample| &sample.value)
    }

    fn gauge(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        match self.sample(name, labels) {
            Some(PrometheusValue::Gauge(value)) => value.as_f64(),
            other => panic!("{name} {labels:?} is not a gauge: {other:?}"),
        }
    }

    fn counter(&self, name: &str) -> f64 {
        match self.sample(name, &[]) {
            Some(PrometheusValue::Counter(counter)) => counter.value.as_f64(),
            other => panic!("{name} is not a counter: {other:?}"),
        }
    }

    /// How many requests the histogram counted for this route, method and status.
    fn requests(&self, route: &str, method: &str, status: &str) -> f64 {
        let labels = [("route", route), ("method", method), ("status", status)];
        match self.sample("voices_http_request_duration_seconds", &labels) {
            None => 0.0,
            Some(PrometheusValue::Histogram(histogram)) => {
                histogram.count.expect("a _count") as f64
            }
            Some(other) => panic!("the request durations are not a histogram: {other:?}"),
        }
    }

    fn label_values(&self) -> Vec<String> {
        self.0
            .families
            .values()
            .flat_map(|family| family.iter_samples())
            .flat_map(|sample| {
                let set = sample.get_labelset().unwrap();
                set.iter_values().cloned().collect::<Vec<_>>()
            })
            .collect()
    }
}

async fn scrape(app: &TestApp) -> Metrics {
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    Metrics::parse(&response.text().await.unwrap())
}

fn email(key: &str) -> Queued {
    Queued {
        key: key.into(),
        kind: Kind::Prepared,
        study_id: None,
        campaign_id: None,
        participation_id: None,
        prepared: Some(Prepared {
            to: format!("{key}@example.org"),
            subject: "Hello".into(),
            text: "Plain text".into(),
            html: "<p>Rich text</p>".into(),
        }),
    }
}

async fn the_figures_move_with_requests_the_database_and_the_outbox(app: TestApp) {
    let before = scrape(&app).await;
    for _ in 0..2 {
        assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
    }
    assert_eq!(
        app.get("/studies/4711").await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.get("/no/such/page/4712").await.status(),
        StatusCode::NOT_FOUND
    );
    let after = scrape(&app).await;
    assert_eq!(
        after.requests("/healthz", "GET", "200") - before.requests("/healthz", "GET", "200"),
        2.0
    );
    assert_eq!(after.requests("/studies/{id}", "GET", "303"), 1.0);
    assert!(after.requests("(unmatched)", "GET", "404") >= 1.0);
    assert!(after.requests("/metrics", "GET", "200") >= 1.0);
    // Routes are patterns: no id or token from a path becomes a label.
    let values = after.label_values();
    assert!(values.iter().any(|v| v == "/studies/{id}"));
    assert!(
        values
            .iter()
            .all(|v| !v.contains("4711") && !v.contains("4712")),
        "{values:?}"
    );
    for (name, kind) in [
        (
            "voices_http_request_duration_seconds",
            PrometheusType::Histogram,
        ),
        ("voices_db_pool_size", PrometheusType::Gauge),
        ("voices_db_pool_connections", PrometheusType::Gauge),
        ("voices_db_pool_waiting", PrometheusType::Gauge),
        ("voices_db_errors_total", PrometheusType::Counter),
        ("voices_outbox_emails", PrometheusType::Gauge),
        ("voices_outbox_depth", PrometheusType::Gauge),
        (
            "voices_outbox_oldest_queued_age_seconds",
            PrometheusType::Gauge,
        ),
        ("process_resident_memory_bytes", PrometheusType::Gauge),
        ("process_cpu_seconds_total", PrometheusType::Counter),
    ] {
        assert_eq!(after.kind(name), Some(&kind), "{name}");
    }

    assert_eq!(after.gauge("voices_db_pool_size", &[]), 4.0);
    let open = after.gauge("voices_db_pool_connections", &[("state", "in_use")])
        + after.gauge("voices_db_pool_connections", &[("state", "idle")]);
    assert!((1.0..=4.0).contains(&open), "{open}");
    assert_eq!(after.gauge("voices_db_pool_waiting", &[]), 0.0);
    let errors = after.counter("voices_db_errors_total");
    let failed = app
        .db
        .read(|conn| {
            Ok::<_, AppError>(diesel::sql_query("SELECT * FROM no_such_table").execute(conn)?)
        })
        .await;
    assert!(failed.is_err());
    // A row not found is an answer, not a database failure.
    let missing = app
        .db
        .read(|conn| {
            Ok::<_, AppError>(
                om::table
                    .filter(om::id.eq(-1))
                    .select(om::id)
                    .first::<i64>(conn)?,
            )
        })
        .await;
    assert!(matches!(missing, Err(AppError::NotFound)));
    assert_eq!(
        scrape(&app).await.counter("voices_db_errors_total"),
        errors + 1.0
    );

    match app.backend {
        Backend::Sqlite => {
            assert!(after.gauge("voices_sqlite_wal_bytes", &[]) > 0.0);
            let commits = after.counter("voices_sqlite_commits_total");
            assert!(commits > 0.0);
            assert!(after.counter("voices_sqlite_writes_total") >= commits);
        }
        Backend::Postgres => {
            for name in [
                "voices_sqlite_wal_bytes",
                "voices_sqlite_commits_total",
                "voices_sqlite_writes_total",
            ] {
                assert!(after.sample(name, &[]).is_none(), "{name} on PostgreSQL");
            }
        }
    }
    assert!(after.gauge("process_resident_memory_bytes", &[]) > 1e6);
    assert!(after.counter("process_cpu_seconds_total") > 0.0);

    // Three emails held back an hour old (queued and held in one transaction, so the worker never
    // sees them due), then one to go now.
    assert_eq!(after.gauge("voices_outbox_depth", &[]), 0.0);
    let domain = app.settings.message_domain();
    app.db
        .write(move |conn| {
            for key in ["held-1", "held-2", "held-3"] {
                assert!(outbox::queue(conn, &email(key), &domain)?);
            }
            let hour_ago = voices::db::now() - chrono::Duration::hours(1);
            diesel::update(om::table)
                .set((
                    om::created_at.eq(hour_ago),
                    om::next_attempt_at.eq(voices::db::now() + chrono::Duration::days(1)),
                ))
                .execute(conn)?;
            Ok::<_, anyhow::Error>(())
        })
        .await
        .unwrap();
    let held = scrape(&app).await;
    assert_eq!(
        held.gauge("voices_outbox_emails", &[("status", "queued")]),
        3.0
    );
    assert_eq!(held.gauge("voices_outbox_depth", &[]), 3.0);
    let waited = held.gauge("voices_outbox_oldest_queued_age_seconds", &[]);
    assert!((3600.0..3700.0).contains(&waited), "{waited}");

    let domain = app.settings.message_domain();
    app.db
        .write(move |conn| {
            outbox::queue(conn, &email("now"), &domain)?;
            Ok::<_, anyhow::Error>(())
        })
        .await
        .unwrap();
    app.wake_outbox();
    let mut sent = 0.0;
    for _ in 0..100 {
        sent = scrape(&app)
            .await
            .gauge("voices_outbox_emails", &[("status", "sent")]);
        if sent == 1.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(sent, 1.0, "the email queued now was sent");
    let last = scrape(&app).await;
    assert_eq!(last.gauge("voices_outbox_depth", &[]), 3.0);
    assert_eq!(
        last.gauge("voices_outbox_emails", &[("status", "failed")]),
        0.0
    );

    // A request a proxy relayed is not let in by the proxy's loopback address.
    let relayed = app
        .client
        .get(app.url("/metrics"))
        .header("X-Forwarded-For", "127.0.0.1")
        .send()
        .await
        .unwrap();
    assert_eq!(relayed.status(), StatusCode::NOT_FOUND);
}

const TOKEN: &str = "a-metrics-token-of-forty-characters-long";

async fn only_allowed_addresses_and_the_token_open_it(backend: Backend) {
    let Some(app) = spawn_on(backend, |settings| {
        settings.metrics.allow_from = vec!["10.0.0.0/8".parse().unwrap()];
        settings.metrics.token = TOKEN.into();
        // Even a trusted proxy's X-Forwarded-For does not make a caller an allowed address.
        settings.trust_forwarded_for = true;
    })
    .await
    else {
        return;
    };
    let client = new_client();
    let get = |bearer: Option<&str>, forwarded: Option<&str>| {
        let mut request = client.get(app.url("/metrics"));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        if let Some(address) = forwarded {
            request = request.header("X-Forwarded-For", address);
        }
        request.send()
    };
    for (bearer, forwarded) in [
        (None, None),
        (Some("not-the-token"), None),
        (Some(""), None),
        (Some(&TOKEN[..20]), None),
        (None, Some("10.1.2.3")),
    ] {
        let response = get(bearer, forwarded).await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::NOT_FOUND,
            "{bearer:?} {forwarded:?}"
        );
        let body = response.text().await.unwrap();
        // The page any unknown address gets: nothing about metrics, addresses or tokens.
        assert!(
            !body.contains("voices_") && !body.to_lowercase().contains("metrics"),
            "{body}"
        );
    }
    let response = get(Some(TOKEN), None).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // The scheme's case does not matter (RFC 9110).
    let lower_case = client
        .get(app.url("/metrics"))
        .header("authorization", format!("bearer {TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(lower_case.status(), StatusCode::OK);
    let metrics = Metrics::parse(&response.text().await.unwrap());
    assert_eq!(metrics.gauge("voices_db_pool_size", &[]), 4.0);
}
