//! `GET /metrics`, in the Prometheus text format: requests by route, the database pool, the outbox,
//! SQLite's write-ahead log and the process. Open to callers connecting from `metrics.allow_from` and to
//! requests carrying `metrics.token`; anyone else is told there is no such page.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDateTime;
use diesel::dsl::{count_star, min};
use diesel::prelude::*;
use prometheus::core::Collector;
use prometheus::proto::MetricFamily;
use prometheus::{Counter, Encoder, Gauge, GaugeVec, Opts, TextEncoder};

use crate::config::MetricsSettings;
use crate::db::schema::outbox_messages as om;
use crate::db::{now, DbConnection, DbStats};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::request_metrics::RequestMetrics;

pub async fn metrics(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    if !allowed(&state.settings.metrics, &req) {
        return Err(AppError::NotFound);
    }
    let mut families = state.caches.get::<RequestMetrics>().families();
    // Without the outbox figures (the database is down) the rest still says what is wrong.
    match state
        .db
        .read(|conn| Ok::<_, AppError>(outbox_by_status(conn)?))
        .await
    {
        Ok(rows) => families.extend(outbox(&rows, now())),
        Err(error) => tracing::warn!(?error, "reading the outbox for /metrics"),
    }
    families.extend(database(state.db.stats()));
    families.extend(process());
    // Request series appear with the first request; an empty family is not valid text.
    families.retain(|family| !family.get_metric().is_empty());
    let mut body = Vec::new();
    TextEncoder::new()
        .encode(&families, &mut body)
        .map_err(AppError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type(prometheus::TEXT_FORMAT)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}

/// The token opens it from anywhere; otherwise the address of the connection must be allowed. A request
/// a proxy relayed says so in its headers, and its connection's address is the proxy's, which may well be
/// this machine: such a request is never let in by address.
fn allowed(settings: &MetricsSettings, req: &HttpRequest) -> bool {
    let headers = req.headers();
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    // Comparing digests leaks nothing about the token through timing.
    if bearer.is_some_and(|given| {
        !settings.token.is_empty()
            && crate::security::hash_token(given) == crate::security::hash_token(&settings.token)
    }) {
        return true;
    }
    let relayed = ["forwarded", "x-forwarded-for", "x-real-ip"]
        .iter()
        .any(|name| headers.contains_key(*name));
    !relayed
        && req.peer_addr().is_some_and(|peer| {
            let address = peer.ip().to_canonical();
            settings
                .allow_from
                .iter()
                .any(|network| network.contains(&address))
        })
}

const VALID: &str = "the metric names and labels here are valid";

fn gauge(name: &str, help: &str, value: f64) -> Vec<MetricFamily> {
    let gauge = Gauge::new(name, help).expect(VALID);
    gauge.set(value);
    gauge.collect()
}

fn counter(name: &str, help: &str, value: f64) -> Vec<MetricFamily> {
    let counter = Counter::new(name, help).expect(VALID);
    counter.inc_by(value);
    counter.collect()
}

fn gauges_by(name: &str, help: &str, label: &str, values: &[(&str, f64)]) -> Vec<MetricFamily> {
    let gauges = GaugeVec::new(Opts::new(name, help), &[label]).expect(VALID);
    for (label_value, value) in values {
        gauges.with_label_values(&[*label_value]).set(*value);
    }
    gauges.collect()
}

/// Per status: how many emails, and when the oldest was queued.
fn outbox_by_status(
    conn: &mut DbConnection,
) -> QueryResult<Vec<(String, i64, Option<NaiveDateTime>)>> {
    om::table
        .group_by(om::status)
        .select((om::status, count_star(), min(om::created_at)))
        .load(conn)
}

const OUTBOX_STATUSES: [&str; 5] = ["queued", "sending", "sent", "failed", "cancelled"];

fn outbox(rows: &[(String, i64, Option<NaiveDateTime>)], now: NaiveDateTime) -> Vec<MetricFamily> {
    let row = |status: &str| rows.iter().find(|(s, ..)| s == status);
    let count = |status: &str| row(status).map_or(0.0, |(_, n, _)| *n as f64);
    let waited = row("queued")
        .and_then(|(.., oldest)| *oldest)
        .map_or(0.0, |oldest| {
            (now - oldest).num_milliseconds().max(0) as f64 / 1000.0
        });
    let mut families = gauges_by(
        "voices_outbox_emails",
        "Emails in the outbox by status (sent and failed ones stay until retention removes them)",
        "status",
        &OUTBOX_STATUSES.map(|status| (status, count(status))),
    );
    families.extend(gauge(
        "voices_outbox_depth",
        "Emails waiting to go: queued and being sent",
        count("queued") + count("sending"),
    ));
    families.extend(gauge(
        "voices_outbox_oldest_queued_age_seconds",
        "How long the oldest queued email has waited; 0 when none is queued",
        waited,
    ));
    families
}

fn database(stats: DbStats) -> Vec<MetricFamily> {
    let mut families = gauge(
        "voices_db_pool_size",
        "Connections the pool may hold",
        stats.pool_size.into(),
    );
    families.extend(gauges_by(
        "voices_db_pool_connections",
        "Open connections: in use, or idle in the pool",
        "state",
        &[("in_use", stats.in_use.into()), ("idle", stats.idle.into())],
    ));
    families.extend(gauge(
        "voices_db_pool_waiting",
        "Callers waiting for a connection from the pool",
        stats.waiting as f64,
    ));
    families.extend(counter(
        "voices_db_errors_total",
        "Database work that failed in the database, or found no connection",
        stats.errors as f64,
    ));
    if let Some(bytes) = stats.wal_bytes {
        families.extend(gauge(
            "voices_sqlite_wal_bytes",
            "Size of SQLite's write-ahead log (the -wal file beside the database)",
            bytes as f64,
        ));
    }
    if let (Some(commits), Some(writes)) = (stats.sqlite_commits, stats.sqlite_writes) {
        families.extend(counter(
            "voices_sqlite_commits_total",
            "SQLite commits, each of the writes that queued together",
            commits as f64,
        ));
        families.extend(counter(
            "voices_sqlite_writes_total",
            "Writes run in those commits (each in a savepoint of its own)",
            writes as f64,
        ));
    }
    families
}

fn process() -> Vec<MetricFamily> {
    let Some((cpu_seconds, resident_bytes)) = process_figures() else {
        return Vec::new();
    };
    let mut families = counter(
        "process_cpu_seconds_total",
        "User and system CPU time spent, in seconds",
        cpu_seconds,
    );
    families.extend(gauge(
        "process_resident_memory_bytes",
        "Resident memory size, in bytes",
        resident_bytes,
    ));
    families
}

/// CPU seconds and resident bytes from /proc/self/stat: one small read, Linux only.
fn process_figures() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) is in parentheses and may hold spaces and parentheses: fields are
    // counted after its last ')', from field 3.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let field = |number: usize| fields.get(number - 3)?.parse::<f64>().ok();
    let (user, system, resident_pages) = (field(14)?, field(15)?, field(24)?);
    // SAFETY: sysconf reads a system constant and touches no memory of ours.
    let (ticks_per_second, page_bytes) = unsafe {
        (
            libc::sysconf(libc::_SC_CLK_TCK),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    if ticks_per_second <= 0 || page_bytes <= 0 {
        return None;
    }
    Some((
        (user + system) / ticks_per_second as f64,
        resident_pages * page_bytes as f64,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outbox_figures_come_from_one_row_per_status() {
        let at = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
        let rows = vec![
            ("queued".to_string(), 3, Some(at("2026-01-01 10:00:00"))),
            ("sending".to_string(), 2, Some(at("2026-01-01 10:05:00"))),
            ("sent".to_string(), 7, Some(at("2025-12-01 09:00:00"))),
        ];
        let families = outbox(&rows, at("2026-01-01 10:01:30"));
        let value = |name: &str, status: Option<&str>| {
            families
                .iter()
                .find(|f| f.name() == name)
                .unwrap()
                .get_metric()
                .iter()
                .find(|m| status.is_none_or(|s| m.get_label()[0].value() == s))
                .unwrap()
                .get_gauge()
                .get_value()
        };
        assert_eq!(value("voices_outbox_depth", None), 5.0);
        assert_eq!(value("voices_outbox_oldest_queued_age_seconds", None), 90.0);
        assert_eq!(value("voices_outbox_emails", Some("sent")), 7.0);
        assert_eq!(value("voices_outbox_emails", Some("failed")), 0.0);
        let empty = outbox(&[], at("2026-01-01 10:01:30"));
        assert!(empty.iter().all(|f| f
            .get_metric()
            .iter()
            .all(|m| m.get_gauge().get_value() == 0.0)));
    }

    #[test]
    fn the_process_figures_are_read() {
        let (cpu, resident) = process_figures().expect("/proc/self/stat on Linux");
        assert!(cpu >= 0.0);
        assert!(resident > 1_000_000.0, "{resident}");
    }
}
