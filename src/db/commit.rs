//! SQLite's writes committed in groups. SQLite has one writer, and with `synchronous = FULL` each commit
//! waits for the disk. Writes that queue while one group commits run together in the next transaction,
//! each in a savepoint of its own (its failure undoes only its own changes), and share one wait for the
//! disk: nobody hears that a change is saved before it is on disk, and more changes are saved per
//! second. A group is only what is already waiting; no write is held back to make one.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use diesel::result::{DatabaseErrorKind, Error};
use diesel::Connection;

use super::{DbConnection, DbError, Failure};

/// A group holds the writer for all its writes: enough to share a sync widely, few enough that the
/// first in it is not kept long.
const MOST_IN_GROUP: usize = 32;

/// How a group ended, as each caller in it hears it.
pub(super) enum End<'a> {
    Committed,
    /// The commit failed: nothing of the group is kept.
    NotCommitted(&'a Error),
    /// A write failed in the database (see `ends_group`) and the group stopped there: nothing of it is
    /// kept, and the writes after it did not run.
    Stopped,
}

/// Tells a write's caller how it ended, once its group's end is known.
pub(super) type Answer = Box<dyn FnOnce(&End<'_>) + Send>;

/// A write that has run in its savepoint.
pub(super) struct Ran {
    pub answer: Answer,
    /// How it failed in the database, if it did.
    pub failure: Option<Failure>,
}

/// A caller's write: given the group's connection it runs (`None`: the group ended before it, and it
/// does not run).
pub(super) type Work = Box<dyn FnOnce(Option<&mut DbConnection>) -> Ran + Send>;

/// Runs a caller's work in a savepoint, keeping its result until the group's end is known.
pub(super) fn work<T, E, F>(work: F, tell: tokio::sync::oneshot::Sender<Result<T, E>>) -> Work
where
    F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<Error> + From<DbError> + Send + 'static,
{
    Box::new(move |conn: Option<&mut DbConnection>| {
        let result = conn.map(|conn| conn.transaction(work));
        let failure = match &result {
            Some(Err(error)) => super::failure(error),
            _ => None,
        };
        Ran {
            failure,
            answer: Box::new(move |end| {
                let lost = || match end {
                    End::NotCommitted(why) => E::from(copy(why)),
                    End::Committed | End::Stopped => E::from(DbError::GroupStopped),
                };
                let result = match (result, end) {
                    (Some(result), End::Committed) => result,
                    (Some(result), _) => result.and_then(|_| Err(lost())),
                    // Not run: left out only when the group stopped.
                    (None, _) => Err(lost()),
                };
                // A caller that stopped waiting has nobody to tell.
                let _ = tell.send(result);
            }),
        }
    })
}

/// Writes waiting for a group, in the order they came.
#[derive(Default)]
pub(super) struct Queue {
    waiting: Mutex<VecDeque<(u64, Work)>>,
    next_id: AtomicU64,
    /// Since the start: groups committed or ended, and the writes they ran.
    pub groups: AtomicU64,
    pub writes: AtomicU64,
}

impl Queue {
    pub fn push(&self, work: Work) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.lock().push_back((id, work));
        id
    }

    /// Takes back a write whose caller stops waiting: false when a group has it already (and will
    /// answer it).
    pub fn withdraw(&self, id: u64) -> bool {
        let mut waiting = self.lock();
        match waiting.iter().position(|(queued, _)| *queued == id) {
            Some(at) => waiting.remove(at).is_some(),
            None => false,
        }
    }

    fn take_group(&self) -> Vec<Work> {
        let mut waiting = self.lock();
        let size = waiting.len().min(MOST_IN_GROUP);
        waiting.drain(..size).map(|(_, work)| work).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<(u64, Work)>> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs the writes waiting now in one transaction and answers each once the commit is known.
    /// The caller holds the writer's turn. Failures in the database (a write's own, or the commit's)
    /// are counted through `count`.
    pub fn run_group(&self, conn: &mut DbConnection, mut count: impl FnMut(Failure)) {
        let group = self.take_group();
        if group.is_empty() {
            return;
        }
        self.groups.fetch_add(1, Ordering::Relaxed);
        self.writes.fetch_add(group.len() as u64, Ordering::Relaxed);
        let mut answers: Vec<Answer> = Vec::with_capacity(group.len());
        let mut not_run: Vec<Work> = Vec::new();
        let mut stopped = false;
        let committed = conn.transaction(|conn| {
            let mut group = group.into_iter();
            for work in group.by_ref() {
                let ran = work(Some(&mut *conn));
                answers.push(ran.answer);
                if let Some(failure) = ran.failure {
                    count(failure);
                    if ends_group(failure) {
                        stopped = true;
                        break;
                    }
                }
            }
            not_run.extend(group);
            if stopped {
                Err(Error::RollbackTransaction)
            } else {
                Ok(())
            }
        });
        let end = match (stopped, &committed) {
            (true, _) => End::Stopped,
            (false, Err(why)) => {
                count(super::failure(why).unwrap_or(Failure::InDatabase));
                End::NotCommitted(why)
            }
            (false, Ok(())) => End::Committed,
        };
        for answer in answers {
            answer(&end);
        }
        // Writes after the one that stopped the group would meet what it met (a full disk, a file that
        // can no longer be written): they are not run, and their callers hear so.
        for work in not_run {
            (work(None).answer)(&end);
        }
    }
}

/// After a failure in the database other than a refused constraint (a full disk, an I/O error, a
/// busy or read-only file) SQLite may have rolled the whole transaction back itself: statements run
/// after it would each commit on their own, outside the group.
fn ends_group(failure: Failure) -> bool {
    matches!(failure, Failure::InDatabase | Failure::ConnectionLost)
}

/// The same failure for another caller: a database error keeps its kind and message (what tells an
/// outage from a mistake), anything else becomes an unknown database error with its message.
fn copy(error: &Error) -> Error {
    match error {
        Error::DatabaseError(kind, info) => {
            Error::DatabaseError(*kind, Box::new(info.message().to_string()))
        }
        other => Error::DatabaseError(DatabaseErrorKind::Unknown, Box::new(other.to_string())),
    }
}
