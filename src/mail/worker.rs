//! The background worker that empties the outbox: one per app instance. It claims a batch of due emails,
//! composes the campaign ones, sends them with bounded concurrency (and a rate limit, if set), and
//! records each outcome as soon as it is known, so a crash re-sends as little as possible.
//!
//! Exactly once, as far as SMTP allows. Just before each email goes to the mail server, the worker
//! renews the lease on what it still holds of the batch (writing, in the same transaction, the outcomes
//! known by then); if that cannot be written, the email is not sent, and if any write fails, no further
//! email of the batch is sent. Outcomes that could not be written are kept and written again, with a
//! short backoff, until the lease runs out; no new emails are claimed meanwhile. So a database outage
//! shorter than the lease repeats nothing. What remains: if the process dies (or the outage outlasts
//! the lease) after the mail server accepted an email and before its outcome is committed, that email
//! is sent again with the same Message-ID once its lease runs out, at most one per connection in
//! flight; the receiving side can recognise the duplicate. An email is never lost.
//!
//! When the server stops, the worker claims nothing more, emails it claimed but had not started are
//! handed back at once, and sends already talking to the mail server finish and are recorded.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use chrono::NaiveDateTime;
use futures_util::future::join_all;
use tokio::sync::watch;
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

/// Waits between attempts to write outcomes while the database cannot be written.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// One claimed batch as the database knows it. Every write of the batch goes through here, one at a
/// time: the outcomes known so far, then a renewal of the lease on the rows still held. A send that asks
/// while a write is under way is covered by it, so writes stay few however many sends wait.
struct Ledger<'a> {
    db: &'a Db,
    /// How long a lease lasts, in seconds (`lease_seconds`, at least 1).
    lease: i64,
    books: tokio::sync::Mutex<Books>,
    /// Outcomes known and not yet written, taken by whichever write comes next.
    outcomes: std::sync::Mutex<Vec<(i64, Outcome)>>,
    /// Set when a write fails: from then on, no send of the batch starts.
    broken: AtomicBool,
}

struct Books {
    /// Rows of the batch still held with no outcome yet: to be sent, or being sent.
    held: HashSet<i64>,
    /// The `locked_until` this worker last wrote on them and, after a failed renewal, the ones it tried
    /// since (its commit may have happened with only the reply lost). A row under another value was
    /// claimed again after its lease ran out and is no longer this worker's.
    leases: Vec<NaiveDateTime>,
    /// When the lease last written for sure runs out.
    ends: Instant,
    /// When the last successful write finished: it covers every send that asked before then (the
    /// database could be written, and its renewal included every row still held).
    written: Instant,
}

impl<'a> Ledger<'a> {
    fn new(db: &'a Db, lease: i64, claimed: Claimed, ids: HashSet<i64>) -> Self {
        Ledger {
            db,
            lease,
            books: tokio::sync::Mutex::new(Books {
                held: ids,
                leases: vec![claimed.until],
                ends: claimed.at + Duration::from_secs(lease.unsigned_abs()),
                written: claimed.at,
            }),
            outcomes: std::sync::Mutex::new(Vec::new()),
            broken: AtomicBool::new(false),
        }
    }

    fn broken(&self) -> bool {
        self.broken.load(Ordering::Relaxed)
    }

    /// Keeps an outcome for the next write. Ids and outcomes are logged; addresses and replies never are.
    fn note(&self, id: i64, outcome: Outcome) {
        match &outcome {
            Outcome::Sent => tracing::debug!(id, "outbox: email sent"),
            Outcome::Released => tracing::debug!(id, "outbox: email handed back"),
            Outcome::Retry { .. } => tracing::info!(id, "outbox: email will be retried"),
            Outcome::Failed(_) => tracing::warn!(id, "outbox: email failed"),
            Outcome::Cancelled(_) => tracing::info!(id, "outbox: email cancelled"),
        }
        self.unwritten().push((id, outcome));
    }

    fn unwritten(&self) -> std::sync::MutexGuard<'_, Vec<(i64, Outcome)>> {
        self.outcomes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes the outcomes known so far and renews the lease on the rows still held, unless a write
    /// that finished after `asked` has done so already. False if the database could not be written.
    async fn write(&self, asked: Instant) -> bool {
        self.write_with(&mut *self.books.lock().await, asked).await
    }

    /// True if the email may go now: its lease was renewed after this was asked, and it is still held
    /// (not claimed again elsewhere after its lease ran out).
    async fn clear_to_send(&self, id: i64) -> bool {
        let asked = Instant::now();
        let mut books = self.books.lock().await;
        self.write_with(&mut books, asked).await && books.held.contains(&id)
    }

    async fn write_with(&self, books: &mut Books, asked: Instant) -> bool {
        let outcomes = std::mem::take(&mut *self.unwritten());
        if outcomes.is_empty() && books.written >= asked {
            return true;
        }
        for (id, _) in &outcomes {
            books.held.remove(id);
        }
        let started = Instant::now();
        let at = now();
        let until = at + chrono::Duration::seconds(self.lease);
        let held: Vec<i64> = books.held.iter().copied().collect();
        let leases = books.leases.clone();
        let written = outcomes.clone();
        let result = self
            .db
            .write(move |conn| {
                queries::record(conn, &written, &leases, at)?;
                queries::renew(conn, &held, &leases, until).map_err(anyhow::Error::from)
            })
            .await;
        match result {
            Ok(renewed) => {
                if !books.held.is_empty() {
                    if renewed.len() < books.held.len() {
                        tracing::warn!(
                            emails = books.held.len() - renewed.len(),
                            "outbox: emails whose lease ran out were claimed again; that claim sends them"
                        );
                    }
                    books.held = renewed.into_iter().collect();
                    books.leases = vec![until];
                    books.ends = started + Duration::from_secs(self.lease.unsigned_abs());
                }
                books.written = Instant::now();
                true
            }
            Err(error) => {
                tracing::error!(%error, "outbox: could not record what was sent; sending stops until it is");
                if !books.held.is_empty() {
                    books.leases.push(until);
                }
                let mut unwritten = self.unwritten();
                let since = std::mem::replace(&mut *unwritten, outcomes);
                unwritten.extend(since);
                self.broken.store(true, Ordering::Relaxed);
                false
            }
        }
    }

    /// Writes what is left once the batch's sends are over, trying again with a short backoff while
    /// the database cannot be written, until the lease runs out: after that the emails may be claimed
    /// and sent again, and nothing written here would stop it.
    async fn settle(&self) {
        let mut backoff = FIRST_BACKOFF;
        while !self.unwritten().is_empty() {
            if self.write(Instant::now()).await {
                continue;
            }
            let ends = self.books.lock().await.ends;
            if Instant::now() + backoff >= ends {
                let lost = self.unwritten().len();
                tracing::error!(
                    emails = lost,
                    "outbox: the lease ran out before what was sent could be recorded; these emails will be sent again"
                );
                return;
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }
}

/// What every send of one claimed batch shares.
struct Turn<'a> {
    pacer: Option<&'a Pacer>,
    stop: &'a watch::Receiver<()>,
    ledger: Ledger<'a>,
}

impl Turn<'_> {
    /// No more sends in this batch: the app is stopping, or something could not be written.
    fn over(&self) -> bool {
        stopping(self.stop) || self.ledger.broken()
    }
}

/// A claim as written: when it was made and the lease written on its rows.
struct Claimed {
    at: Instant,
    until: NaiveDateTime,
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
        let pacer = Pacer::new(self.settings.per_second);
        let poll = Duration::from_millis(self.settings.poll_ms.max(10));
        while !stopping(&stop) {
            match self.claim().await {
                Ok((claimed, batch)) if !batch.is_empty() => {
                    // Returns once every outcome is written, or its lease has run out.
                    self.send(claimed, batch, pacer.as_ref(), &stop).await;
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
        tracing::info!("outbox worker stopped");
    }

    async fn claim(&self) -> anyhow::Result<(Claimed, Vec<OutboxMessage>)> {
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
        let claimed_at = Instant::now();
        let at = now();
        let until = at + chrono::Duration::seconds(lease);
        let batch = self
            .db
            .write(move |conn| queries::claim(conn, limit, at, until).map_err(anyhow::Error::from))
            .await?;
        let claimed = Claimed {
            at: claimed_at,
            until,
        };
        Ok((claimed, batch))
    }

    /// Composes and sends one claimed batch, then writes what is left to write.
    async fn send(
        &self,
        claimed: Claimed,
        batch: Vec<OutboxMessage>,
        pacer: Option<&Pacer>,
        stop: &watch::Receiver<()>,
    ) {
        let until = claimed.until;
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
            match self.compose(&others, until).await {
                Ok(mut composed) => emails.extend(others.into_iter().filter_map(|m| {
                    let composition = composed.remove(&m.id)?;
                    Some((m, composition))
                })),
                // The batch stays claimed and is tried again when the lease runs out.
                Err(error) => tracing::warn!(%error, "outbox: composing emails failed"),
            }
        }
        let held = emails.iter().map(|(m, _)| m.id).collect();
        let turn = Turn {
            pacer,
            stop,
            ledger: Ledger::new(&self.db, self.settings.lease_seconds.max(1), claimed, held),
        };
        // Each connection's next send writes the outcome of its last one, with the lease it renews.
        let queue = std::sync::Mutex::new(emails.into_iter());
        let connection = || async {
            loop {
                let next = queue.lock().unwrap_or_else(PoisonError::into_inner).next();
                let Some((message, composition)) = next else {
                    break;
                };
                if let Some(outcome) = self.send_one(&message, composition, &turn).await {
                    turn.ledger.note(message.id, outcome);
                }
            }
            // Its last outcome now, not once the slowest connection is done.
            if !turn.ledger.broken() {
                turn.ledger.write(Instant::now()).await;
            }
        };
        join_all((0..self.settings.concurrency.max(1)).map(|_| connection())).await;
        turn.ledger.settle().await;
    }

    /// Asks the composer for the batch's campaign emails, recording cancellations (and emails it gave
    /// nothing for) in the same transaction; returns the emails to send.
    async fn compose(
        &self,
        messages: &[OutboxMessage],
        lease: NaiveDateTime,
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
                queries::record(conn, &unsent, &[lease], now())?;
                composed.retain(|_, c| matches!(c, Composition::Send(_)));
                Ok(composed)
            })
            .await
    }

    /// Sends one email if the batch may go on and its lease can be renewed first. None when the row
    /// is no longer this worker's to send.
    async fn send_one(
        &self,
        message: &OutboxMessage,
        composition: Composition,
        turn: &Turn<'_>,
    ) -> Option<Outcome> {
        let composed = match composition {
            Composition::Send(composed) => composed,
            Composition::Cancel(reason) => return Some(Outcome::Cancelled(reason)),
        };
        if turn.over() {
            return Some(Outcome::Released);
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
                return Some(Outcome::Failed(reason))
            }
        };
        if let Some(pacer) = turn.pacer {
            pacer.wait().await;
        }
        if turn.over() {
            return Some(Outcome::Released);
        }
        if !turn.ledger.clear_to_send(message.id).await {
            // Handed back if the database could not be written; if the row is no longer held, the
            // claim that holds it now sends it.
            return turn.ledger.broken().then_some(Outcome::Released);
        }
        Some(match self.sender.deliver(email).await {
            Ok(()) => Outcome::Sent,
            Err(SendError::Permanent(reply)) => Outcome::Failed(reply),
            Err(SendError::Temporary(reply)) => {
                match retry_at(message.attempts, &self.settings, now()) {
                    Some(at) => Outcome::Retry { at, error: reply },
                    None => Outcome::Failed(reply),
                }
            }
        })
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
