//! The state every request and background task shares. It names no task's types: a task that keeps a
//! per-process cache asks `caches` for it by type, and the outbox worker and schedules are reached
//! through the signals below, whatever runs behind them.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, RwLock};

use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use crate::config::Settings;
use crate::db::Db;

pub struct AppState {
    pub settings: Arc<Settings>,
    pub db: Db,
    pub templates: Arc<tera::Tera>,
    pub outbox: Outbox,
    pub caches: Caches,
    pub tasks: BackgroundTasks,
}

impl AppState {
    pub fn new(settings: Settings, db: Db, templates: tera::Tera) -> Self {
        AppState {
            settings: Arc::new(settings),
            db,
            templates: Arc::new(templates),
            outbox: Outbox::default(),
            caches: Caches::default(),
            tasks: BackgroundTasks::default(),
        }
    }

    /// Renders a template with no request behind it (error pages, emails).
    pub fn render_bare(&self, template: &str, context: &tera::Context) -> anyhow::Result<String> {
        Ok(self.templates.render(template, context)?)
    }
}

/// Per-process caches, one of each type, made empty on first use and kept for the life of the state.
/// They belong to the task that defines the type (published-version snapshots belong to `studies`);
/// the state only keeps them, so that two apps in one process (tests) never share one.
#[derive(Default)]
pub struct Caches(RwLock<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>);

impl Caches {
    pub fn get<T: Any + Default + Send + Sync>(&self) -> Arc<T> {
        let key = TypeId::of::<T>();
        let found = self
            .0
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .cloned();
        let cache = found.unwrap_or_else(|| {
            let mut caches = self.0.write().unwrap_or_else(|p| p.into_inner());
            caches
                .entry(key)
                .or_insert_with(|| Arc::new(T::default()))
                .clone()
        });
        cache
            .downcast()
            .unwrap_or_else(|_| unreachable!("caches are keyed by their own type"))
    }
}

/// The app's background work (the outbox worker, the schedules), by name, so readiness can tell whether
/// each is still running: one that panicked or returned early is reported, not silently missed.
#[derive(Default)]
pub struct BackgroundTasks(Mutex<Vec<(&'static str, JoinHandle<()>)>>);

impl BackgroundTasks {
    pub fn watch(&self, name: &'static str, task: JoinHandle<()>) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((name, task));
    }

    /// Each task's name, and whether it is still running.
    pub fn running(&self) -> Vec<(&'static str, bool)> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(name, task)| (*name, !task.is_finished()))
            .collect()
    }
}

/// Wakes the outbox worker; queueing code calls it after its transaction commits.
#[derive(Clone, Default)]
pub struct OutboxWaker(Arc<Notify>);

impl OutboxWaker {
    pub fn wake(&self) {
        // A wake while the worker is busy is kept, so the emails just queued are looked for next.
        self.0.notify_one();
    }

    pub async fn woken(&self) {
        self.0.notified().await;
    }
}

/// Waits for a worker to finish after its app stopped.
pub struct Finished(watch::Receiver<bool>);

impl Finished {
    pub async fn wait(mut self) {
        let _ = self.0.wait_for(|done| *done).await;
    }
}

/// The app's handle on its outbox worker. The worker stops claiming when this handle is dropped, which
/// happens when the server stops and drops the app state.
pub struct Outbox {
    waker: OutboxWaker,
    stop: watch::Sender<()>,
    finished: Arc<watch::Sender<bool>>,
}

impl Default for Outbox {
    fn default() -> Self {
        Outbox {
            waker: OutboxWaker::default(),
            stop: watch::channel(()).0,
            finished: Arc::new(watch::channel(false).0),
        }
    }
}

impl Outbox {
    pub fn wake(&self) {
        self.waker.wake();
    }

    pub fn waker(&self) -> OutboxWaker {
        self.waker.clone()
    }

    /// Changes to closed when the app stops: other background work of the app stops with it.
    pub fn stop_signal(&self) -> watch::Receiver<()> {
        self.stop.subscribe()
    }

    pub fn finished(&self) -> Finished {
        Finished(self.finished.subscribe())
    }

    /// Runs the worker on the current Tokio runtime; `finished` reports when it has returned.
    pub fn start<F>(
        &self,
        worker: impl FnOnce(OutboxWaker, watch::Receiver<()>) -> F,
    ) -> JoinHandle<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let finished = self.finished.clone();
        let work = worker(self.waker.clone(), self.stop.subscribe());
        tokio::spawn(async move {
            work.await;
            finished.send_replace(true);
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn background_tasks_that_stop_or_panic_are_reported() {
        let tasks = BackgroundTasks::default();
        tasks.watch("waits", tokio::spawn(std::future::pending()));
        tasks.watch("panics", tokio::spawn(async { panic!("a bug") }));
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert_eq!(tasks.running(), vec![("waits", true), ("panics", false)]);
    }

    #[derive(Default)]
    struct Counter(std::sync::atomic::AtomicUsize);

    #[test]
    fn a_cache_is_made_once_and_shared() {
        let caches = Caches::default();
        caches
            .get::<Counter>()
            .0
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let again = caches.get::<Counter>();
        assert_eq!(again.0.load(std::sync::atomic::Ordering::Relaxed), 1);
        assert_eq!(
            Caches::default()
                .get::<Counter>()
                .0
                .load(std::sync::atomic::Ordering::Relaxed),
            0
        );
    }
}
