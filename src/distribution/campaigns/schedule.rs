//! The campaign schedule, run by every instance: reminders as they fall due, and campaigns closed on
//! their closing date. Running it in several instances at once is safe (see `actions::run_schedule`).

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::actions::run_schedule;
use crate::db::{now, Db};
use crate::state::OutboxWaker;

/// Runs the schedule every `every` until the app stops (its stop signal's sender is dropped).
pub fn start(
    db: Db,
    waker: OutboxWaker,
    message_domain: String,
    every: Duration,
    mut stop: watch::Receiver<()>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match run_schedule(&db, now(), message_domain.clone()).await {
                Ok(run) => {
                    if run.reminders_queued > 0 {
                        tracing::info!(
                            reminders = run.reminders_queued,
                            "campaign reminders queued"
                        );
                        waker.wake();
                    }
                    if run.campaigns_closed > 0 {
                        tracing::info!(
                            closed = run.campaigns_closed,
                            "campaigns closed on their date"
                        );
                    }
                }
                Err(error) => tracing::warn!(%error, "campaign schedule failed"),
            }
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                changed = stop.changed() => if changed.is_err() { break },
            }
        }
    })
}
