//! `GET /healthz` (liveness: the process answers) and `GET /readyz` (readiness: this instance can do its
//! work now), for load balancers, orchestrators and monitoring.

use std::path::Path;

use actix_web::{web, HttpResponse};
use serde::Serialize;
use serde_json::json;

use crate::state::AppState;

/// Answers as long as the process can answer at all; restart the instance when it does not.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({ "status": "ok" }))
}

/// One thing readiness depends on, and why it failed.
#[derive(Debug, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

impl Check {
    fn of(name: &'static str, outcome: Result<(), String>) -> Self {
        Check {
            name,
            ok: outcome.is_ok(),
            problem: outcome.err(),
        }
    }
}

/// 200 when a write can commit, the disk has room, and the background work is running; otherwise 503,
/// with every check and what failed. Send traffic only to ready instances.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let mut checks = vec![Check::of(
        "database_write",
        state.db.check_write().await.map_err(String::from),
    )];
    let min_free = state.settings.health.min_free_disk_mb;
    let mut folders = vec![state.settings.data_dir.as_path()];
    folders.extend(state.db.sqlite_file().and_then(Path::parent));
    checks.push(Check::of("disk_space", disk_space(&folders, min_free)));
    checks.extend(state.tasks.running().into_iter().map(|(name, running)| {
        Check::of(
            name,
            if running {
                Ok(())
            } else {
                Err("stopped".into())
            },
        )
    }));
    let failed: Vec<&str> = checks.iter().filter(|c| !c.ok).map(|c| c.name).collect();
    let body = json!({
        "status": if failed.is_empty() { "ready" } else { "not_ready" },
        "database": state.db.backend().name(),
        "failed": failed,
        "checks": checks,
    });
    let mut response = if failed.is_empty() {
        HttpResponse::Ok()
    } else {
        tracing::warn!(?failed, "not ready");
        HttpResponse::ServiceUnavailable()
    };
    response
        .insert_header(("Cache-Control", "no-store"))
        .json(body)
}

/// Free space, in MiB, on the file system holding `folder`, as an unprivileged process may use it.
fn free_mb(folder: &Path) -> std::io::Result<u64> {
    let stats = rustix::fs::statvfs(folder)?;
    Ok(stats.f_bavail.saturating_mul(stats.f_frsize) / (1024 * 1024))
}

fn disk_space(folders: &[&Path], min_free_mb: u64) -> Result<(), String> {
    for folder in folders {
        let folder = if folder.as_os_str().is_empty() {
            Path::new(".")
        } else {
            folder
        };
        match free_mb(folder) {
            Ok(free) if free < min_free_mb => {
                return Err(format!(
                    "{free} MiB free where the data is kept; at least {min_free_mb} MiB are needed"
                ))
            }
            Ok(_) => {}
            Err(error) => return Err(format!("free space could not be read: {error}")),
        }
    }
    Ok(())
}
