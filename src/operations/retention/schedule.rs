//! The daily retention check, run by every instance: lists what falls due in closed studies for a lead
//! to review. It never deletes. Looking every hour makes sure each day is checked soon after it
//! starts whenever the service was started; lists are one a study a day, so the extra looks cost a query.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::actions::sweep;
use crate::db::{now, Db};

const EVERY: Duration = Duration::from_secs(60 * 60);

/// Runs the check every hour until the app stops (its stop signal's sender is dropped).
pub fn start(db: Db, mut stop: watch::Receiver<()>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match sweep(&db, now()).await {
                Ok(0) => {}
                Ok(made) => tracing::info!(studies = made, "retention lists waiting for review"),
                Err(error) => tracing::warn!(%error, "retention check failed"),
            }
            tokio::select! {
                () = tokio::time::sleep(EVERY) => {}
                changed = stop.changed() => if changed.is_err() { break },
            }
        }
    })
}
