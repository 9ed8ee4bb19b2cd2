//! The top floor: builds the shared state, mounts every task's routes and the middleware, and starts
//! the background work; `run` serves it on a listener.

use std::net::TcpListener;
use std::sync::Arc;

use actix_session::config::{BrowserSession, CookieContentSecurity};
use actix_session::storage::CookieSessionStore;
use actix_session::SessionMiddleware;
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use anyhow::Context;

use crate::config::Settings;
use crate::db::Db;
use crate::distribution::campaigns::compose::CampaignComposer;
use crate::error::AppError;
use crate::mail::outbox::Composer;
use crate::mail::worker::Worker;
use crate::mail::Sender;
use crate::state::AppState;
use crate::web::auth::SESSION_COOKIE;
use crate::web::{csrf, middleware, templates};

/// Connects to the database, applies pending migrations and loads templates: everything `run` needs.
pub fn build_state(settings: Settings) -> anyhow::Result<AppState> {
    crate::security::create_files_privately();
    std::fs::create_dir_all(&settings.data_dir)?;
    crate::security::make_private(&settings.data_dir)?;
    let outbox = settings.data_dir.join("outbox");
    crate::security::make_private(&outbox)?;
    if let Ok(emails) = std::fs::read_dir(&outbox) {
        for email in emails.flatten() {
            crate::security::make_private(&email.path())?;
        }
    }
    let db = Db::open(&settings.database_url, settings.db_options())?;
    let applied = db.migrate()?;
    if applied > 0 {
        tracing::info!(applied, "database migrations applied");
    }
    Ok(AppState::new(settings, db, templates::load()?))
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/healthz",
        web::get().to(crate::operations::health::healthz),
    )
    .route("/readyz", web::get().to(crate::operations::health::readyz))
    .route(
        "/metrics",
        web::get().to(crate::operations::metrics::metrics),
    )
    .route(
        "/assets/{path:.*}",
        web::get().to(crate::web::assets::serve),
    )
    // Participants' pages first: routes are tried in the order they are added, and theirs are the
    // busiest.
    .configure(crate::responses::handlers::routes)
    .configure(crate::api::mount)
    // Before the account pages: with `sso.only` it answers their password routes.
    .configure(crate::accounts::sso::handlers::routes)
    .configure(crate::accounts::handlers::routes)
    .configure(crate::accounts::admin::routes)
    .configure(crate::accounts::setup::routes)
    .configure(crate::accounts::two_factor::handlers::routes)
    .configure(crate::accounts::held_forms::handlers::routes)
    .configure(crate::studies::handlers::routes)
    .configure(crate::studies::invitations::handlers::routes)
    .configure(crate::studies::transfer::handlers::routes)
    .configure(crate::studies::questionnaires::handlers::routes)
    .configure(crate::studies::comments::handlers::routes)
    .configure(crate::studies::questionnaires::history::handlers::routes)
    .configure(crate::studies::questionnaires::suggestions::handlers::routes)
    .configure(crate::studies::consent::handlers::routes)
    .configure(crate::studies::versions::handlers::routes)
    .configure(crate::studies::preview::handlers::routes)
    .configure(crate::distribution::participants::handlers::routes)
    .configure(crate::distribution::campaigns::handlers::routes)
    .configure(crate::distribution::tracking::handlers::routes)
    .configure(crate::distribution::links::handlers::routes)
    .configure(crate::interviews::handlers::routes)
    .configure(crate::analysis::codebook::handlers::routes)
    .configure(crate::analysis::coding::handlers::routes)
    .configure(crate::analysis::matrix::handlers::routes)
    .configure(crate::analysis::memos::handlers::routes)
    .configure(crate::analysis::beliefs::handlers::routes)
    .configure(crate::analysis::rounds::handlers::routes)
    .configure(crate::analysis::tracker::handlers::routes)
    .configure(crate::analysis::exports::handlers::routes)
    .configure(crate::analysis::closed::handlers::routes)
    .configure(crate::analysis::report::handlers::routes)
    .configure(crate::operations::outbox::handlers::routes)
    .configure(crate::operations::subject_access::handlers::routes)
    .configure(crate::operations::retention::handlers::routes)
    .configure(crate::operations::audit_log::handlers::routes)
    .configure(crate::overview::handlers::routes)
    .configure(crate::web::about::routes);
}

async fn not_found() -> Result<actix_web::HttpResponse, AppError> {
    Err(AppError::NotFound)
}

/// Serves the app on an already bound listener (port 0 in tests), and starts its outbox worker, the
/// campaign schedule and the daily retention check. The returned server runs until stopped; the worker stops claiming emails when the
/// server has stopped (see `state.outbox.finished()` to wait for its last sends).
pub fn run(listener: TcpListener, state: AppState) -> anyhow::Result<Server> {
    let secret = state.settings.secret_key_bytes()?;
    let composer = CampaignComposer::new(&secret, &state.settings.base_url);
    run_with_composer(listener, state, Arc::new(composer))
}

/// `run`, with the campaign emails composed by `composer` (tests put a slow or failing one in).
pub fn run_with_composer(
    listener: TcpListener,
    state: AppState,
    composer: Arc<dyn Composer>,
) -> anyhow::Result<Server> {
    let key = Key::from(&state.settings.secret_key_bytes()?);
    let outbox_worker = Worker {
        db: state.db.clone(),
        sender: Sender::new(&state.settings)?,
        composer,
        settings: state.settings.outbox.clone(),
    }
    .start(&state.outbox);
    state.tasks.watch("outbox_worker", outbox_worker);
    state.tasks.watch(
        "campaign_schedule",
        crate::distribution::campaigns::schedule::start(
            state.db.clone(),
            state.outbox.waker(),
            state.settings.message_domain(),
            std::time::Duration::from_secs(state.settings.campaigns.schedule_seconds.max(1)),
            state.outbox.stop_signal(),
        ),
    );
    if let Some(backups) = crate::operations::backup::start_schedule(
        state.settings.clone(),
        state.db.clone(),
        state.outbox.stop_signal(),
    ) {
        state.tasks.watch("backup_schedule", backups);
    }
    state.tasks.watch(
        "retention_schedule",
        crate::operations::retention::schedule::start(state.db.clone(), state.outbox.stop_signal()),
    );
    let settings = state.settings.clone();
    let data = web::Data::new(state);
    let workers = match settings.workers {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    };
    let server = HttpServer::new(move || {
        let sessions = SessionMiddleware::builder(CookieSessionStore::default(), key.clone())
            .cookie_name(SESSION_COOKIE.into())
            .cookie_secure(settings.secure_cookies())
            .cookie_http_only(true)
            .cookie_same_site(SameSite::Lax)
            .cookie_content_security(CookieContentSecurity::Private)
            .session_lifecycle(BrowserSession::default().state_ttl(
                actix_web::cookie::time::Duration::hours(settings.session.hours),
            ))
            .build();
        App::new()
            .app_data(data.clone())
            .app_data(web::FormConfig::default().limit(settings.limits.form_bytes))
            .app_data(web::JsonConfig::default().limit(settings.limits.json_bytes))
            .app_data(web::PayloadConfig::default().limit(settings.limits.json_bytes))
            .configure(routes)
            .default_service(web::to(not_found))
            .wrap(from_fn(
                crate::accounts::held_forms::handlers::hold_unsaved_forms,
            ))
            .wrap(from_fn(csrf::guard))
            .wrap(from_fn(crate::accounts::two_factor::handlers::gate))
            .wrap(from_fn(middleware::render_errors))
            .wrap(sessions)
            .wrap(middleware::security_headers(settings.secure_cookies()))
            .wrap(from_fn(crate::web::request_metrics::record))
            .wrap(from_fn(middleware::request_context))
    })
    .workers(workers)
    .listen(listener)
    .context("listening")?
    .run();
    Ok(server)
}
