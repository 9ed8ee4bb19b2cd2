//! The background worker that empties the outbox: one per app instance. It claims a batch of due emails,
//! composes the campaign ones, sends them with bounded concurrency (and a rate limit, if set), and
//! records each outcome as it happens, so a crash re-sends as little as possible.
//!
//! What a stop costs: when the server stops, the worker claims nothing more, emails it claimed but had
//! not started are handed back at once, and sends already talking to the mail server finish and are
//! recorded. Only if the process dies mid-send (or the database cannot be reached to record it) does an
//! email stay claimed until its lease runs out; it is then sent again with the same Message-ID, so the
//! receiving side can recognise the duplicate. An email is never lost.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;
use futures_util::{stream, StreamExt};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::outbox::{Composer, Composition, Kind, OutboxMessage};
use super::queries::{self, Outcome};
use super::{Envelope, SendError, Sender};
use crate::config::OutboxSettings;
use crate::db::{now, Db};
use crate::state::{Outbox, OutboxWaker};

/// Spaces sends evenly to at most `per_second`, across all concurrent sends of the worker.
struct Pacer {
    gap: Duration,
    next: std::sync::Mutex<Instant>,
}

impl Pacer {
    fn new(per_second: u32) -> Option<Self> {
        (per_second > 0).then(|| Pacer {
            gap: Duration::from_secs(1) / per_second,
            next: std::sync::Mutex::new(Instant::now()),
        })
    }

    async fn wait(&self) {
        let at = {
            let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
            let at = (*next).max(Instant::now());
            *next = at + self.gap;
            at
        };
        tokio::time::sleep_until(at).await;
    }
}

/// After a temporary failure: when to try again, or None to give up.
pub fn retry_at(
    attempts: i32,
    settings: &OutboxSettings,
    now: NaiveDateTime,
) -> Option<NaiveDateTime> {
    if attempts >= settings.max_attempts {
        return None;
    }
    let doublings = u32::try_from(attempts.max(1) - 1).unwrap_or(0).min(30);
    let delay = settings
        .retry_base_seconds
        .saturating_mul(1_i64 << doublings)
        .min(settings.retry_max_seconds);
    Some(now + chrono::Duration::seconds(delay))
}

fn stopping(stop: &watch::Receiver<()>) -> bool {
    stop.has_changed().is_err()
}

/// What every send of one claimed batch shares.
struct Turn<'a> {
    pacer: Option<&'a Pacer>,
    stop: &'a watch::Receiver<()>,
    hand_back_at: Instant,
}

impl Turn<'_> {
    /// No more sends in this batch: the app is stopping, or the lease is half gone.
    fn over(&self) -> bool {
        stopping(self.stop) || Instant::now() >= self.hand_back_at
    }
}

/// What the worker sends with.
pub struct Worker {
    pub db: Db,
    pub sender: Sender,
    pub composer: Arc<dyn Composer>,
    pub settings: OutboxSettings,
}

impl Worker {
    /// Starts the worker on the current Tokio runtime, as the app's outbox worker.
    pub fn start(self, outbox: &Outbox) -> tokio::task::JoinHandle<()> {
        outbox.start(|waker, stop| self.run(waker, stop))
    }

    async fn run(self, waker: OutboxWaker, mut stop: watch::Receiver<()>) {
        let (outcomes, recorded) = mpsc::unbounded_channel();
        let recorder = tokio::spawn(record(self.db.clone(), recorded));
        let pacer = Pacer::new(self.settings.per_second);
        let poll = Duration::from_millis(self.settings.poll_ms.max(10));
        while !stopping(&stop) {
            let claimed_at = Instant::now();
            match self.claim().await {
                Ok(batch) if !batch.is_empty() => {
                    // Sends are bounded by the SMTP timeout (60 s), so one started within half the
                    // lease is recorded before the lease ends and no other instance can claim it
                    // meanwhile; emails not started by then are handed back.
                    let lease =
                        Duration::from_secs(self.settings.lease_seconds.max(1).unsigned_abs());
                    let turn = Turn {
                        pacer: pacer.as_ref(),
                        stop: &stop,
                        hand_back_at: claimed_at + lease / 2,
                    };
                    self.send(batch, &turn, &outcomes).await;
                    continue;
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "outbox: could not claim emails"),
            }
            tokio::select! {
                () = waker.woken() => {}
                () = tokio::time::sleep(poll) => {}
                _ = stop.changed() => {}
            }
        }
        drop(outcomes);
        let _ = recorder.await;
        tracing::info!("outbox worker stopped");
    }

    async fn claim(&self) -> anyhow::Result<Vec<OutboxMessage>> {
        let lease = self.settings.lease_seconds.max(1);
        // With a rate limit, claim no more than can be sent well within the lease.
        let limit = match self.settings.per_second {
            0 => self.settings.batch_size,
            rate => self
                .settings
                .batch_size
                .min(i64::from(rate) * lease / 2)
                .max(1),
        };
        self.db
            .write(move |conn| {
                let at = now();
                queries::claim(conn, limit, at, at + chrono::Duration::seconds(lease))
                    .map_err(anyhow::Error::from)
            })
            .await
    }

    /// Composes and sends one claimed batch; each outcome goes to the recorder as soon as it is known.
    async fn send(
        &self,
        batch: Vec<OutboxMessage>,
        turn: &Turn<'_>,
        outcomes: &mpsc::UnboundedSender<(i64, Outcome)>,
    ) {
        let (prepared, others): (Vec<_>, Vec<_>) = batch
            .into_iter()
            .partition(|m| Kind::parse(&m.kind) == Some(Kind::Prepared));
        let mut emails: Vec<(OutboxMessage, Composition)> = prepared
            .into_iter()
            .map(|m| {
                let composition = prepared_composition(&m);
                (m, composition)
            })
            .collect();
        if !others.is_empty() {
            match self.compose(&others).await {
                Ok(mut composed) => emails.extend(others.into_iter().filter_map(|m| {
                    let composition = composed.remove(&m.id)?;
                    Some((m, composition))
                })),
                // The batch stays claimed and is tried again when the lease runs out.
                Err(error) => tracing::warn!(%error, "outbox: composing emails failed"),
            }
        }
        stream::iter(emails)
            .for_each_concurrent(
                self.settings.concurrency.max(1),
                |(message, composition)| async move {
                    let outcome = self.send_one(&message, composition, turn).await;
                    let _ = outcomes.send((message.id, outcome));
                },
            )
            .await;
    }

    /// Asks the composer for the batch's campaign emails, recording cancellations (and emails it gave
    /// nothing for) in the same transaction; returns the emails to send.
    async fn compose(
        &self,
        messages: &[OutboxMessage],
    ) -> anyhow::Result<HashMap<i64, Composition>> {
        let (composer, messages) = (self.composer.clone(), messages.to_vec());
        self.db
            .write(move |conn| {
                let mut composed = composer.compose(conn, &messages)?;
                let unsent: Vec<(i64, Outcome)> = messages
                    .iter()
                    .filter_map(|m| match composed.get(&m.id) {
                        Some(Composition::Send(_)) => None,
                        Some(Composition::Cancel(reason)) => {
                            Some((m.id, Outcome::Cancelled(reason.clone())))
                        }
                        None => Some((m.id, Outcome::Failed("not composed".into()))),
                    })
                    .collect();
                queries::record(conn, &unsent, now())?;
                composed.retain(|_, c| matches!(c, Composition::Send(_)));
                Ok(composed)
            })
            .await
    }

    async fn send_one(
        &self,
        message: &OutboxMessage,
        composition: Composition,
        turn: &Turn<'_>,
    ) -> Outcome {
        let composed = match composition {
            Composition::Send(composed) => composed,
            Composition::Cancel(reason) => return Outcome::Cancelled(reason),
        };
        if turn.over() {
            return Outcome::Released;
        }
        let email = match self.sender.build(&Envelope {
            message_id: &message.message_id,
            to: &composed.to,
            subject: &composed.subject,
            text: &composed.text,
            html: &composed.html,
            opt_out_url: composed.opt_out_url.as_deref(),
        }) {
            Ok(email) => email,
            Err(SendError::Permanent(reason) | SendError::Temporary(reason)) => {
                return Outcome::Failed(reason)
            }
        };
        if let Some(pacer) = turn.pacer {
            pacer.wait().await;
        }
        if turn.over() {
            return Outcome::Released;
        }
        match self.sender.deliver(email).await {
            Ok(()) => Outcome::Sent,
            Err(SendError::Permanent(reply)) => Outcome::Failed(reply),
            Err(SendError::Temporary(reply)) => {
                match retry_at(message.attempts, &self.settings, now()) {
                    Some(at) => Outcome::Retry { at, error: reply },
                    None => Outcome::Failed(reply),
                }
            }
        }
    }
}

/// A prepared email from the text stored on its row.
fn prepared_composition(message: &OutboxMessage) -> Composition {
    match (
        &message.to_address,
        &message.subject,
        &message.body_text,
        &message.body_html,
    ) {
        (Some(to), Some(subject), Some(text), Some(html)) => {
            Composition::Send(super::outbox::Composed {
                to: to.clone(),
                subject: subject.clone(),
                text: text.clone(),
                html: html.clone(),
                opt_out_url: None,
            })
        }
        _ => Composition::Cancel("the prepared email has no text".into()),
    }
}

/// Writes outcomes as they arrive, all that have arrived in one transaction: prompt when emails trickle
/// in, cheap when they pour. Ids and outcomes are logged; addresses and replies never are.
async fn record(db: Db, mut recorded: mpsc::UnboundedReceiver<(i64, Outcome)>) {
    let mut outcomes = Vec::new();
    while recorded.recv_many(&mut outcomes, 1000).await > 0 {
        for (id, outcome) in &outcomes {
            match outcome {
                Outcome::Sent => tracing::debug!(id, "outbox: email sent"),
                Outcome::Released => tracing::debug!(id, "outbox: email handed back"),
                Outcome::Retry { .. } => tracing::info!(id, "outbox: email will be retried"),
                Outcome::Failed(_) => tracing::warn!(id, "outbox: email failed"),
                Outcome::Cancelled(_) => tracing::info!(id, "outbox: email cancelled"),
            }
        }
        let batch = std::mem::take(&mut outcomes);
        if let Err(error) = db
            .write(move |conn| queries::record(conn, &batch, now()).map_err(anyhow::Error::from))
            .await
        {
            // The emails stay claimed until their lease runs out, then go again with the same Message-ID.
            tracing::error!(%error, "outbox: could not record what was sent");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_then_give_up() {
        let mut settings = crate::config::Settings::defaults().outbox;
        settings.retry_base_seconds = 60;
        settings.retry_max_seconds = 600;
        settings.max_attempts = 6;
        let at = now();
        let delay = |attempts| retry_at(attempts, &settings, at).map(|t| (t - at).num_seconds());
        assert_eq!(delay(1), Some(60));
        assert_eq!(delay(2), Some(120));
        assert_eq!(delay(3), Some(240));
        assert_eq!(delay(4), Some(480));
        assert_eq!(delay(5), Some(600));
        assert_eq!(delay(6), None);
    }

    #[tokio::test]
    async fn the_pacer_spaces_sends() {
        let pacer = Pacer::new(100).unwrap();
        let start = Instant::now();
        for _ in 0..6 {
            pacer.wait().await;
        }
        assert!(start.elapsed() >= Duration::from_millis(50));
    }
}
