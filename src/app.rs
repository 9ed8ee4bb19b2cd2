//! Builds the application: shared state, routes and middleware; `run` serves it on a listener.

use std::collections::HashMap;
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
use rust_embed::RustEmbed;

use crate::config::Settings;
use crate::db::Db;
use crate::mail::outbox::Composer;
use crate::mail::worker::{Outbox, Worker};
use crate::mail::Mailer;
use crate::web::assets::AssetIndex;
use crate::web::{csrf, middleware, AppError};

pub const SESSION_COOKIE: &str = "voices_session";

#[derive(RustEmbed)]
#[folder = "templates/"]
struct TemplateFiles;

pub struct AppState {
    pub settings: Arc<Settings>,
    pub db: Db,
    pub templates: Arc<tera::Tera>,
    pub mailer: Mailer,
    pub outbox: Outbox,
    pub composer: Arc<dyn Composer>,
    pub assets: Arc<AssetIndex>,
    /// Parsed snapshots of published versions, which never change.
    pub snapshots: Arc<crate::studies::versions::cache::Snapshots>,
    session_key: Key,
}

impl AppState {
    /// Connects to the database, applies pending migrations and loads templates: everything `run` needs.
    pub fn new(settings: Settings) -> anyhow::Result<Self> {
        let db = Db::connect(&settings.database_url, settings.database_pool_size)?;
        let applied = db.migrate()?;
        if applied > 0 {
            tracing::info!(applied, "database migrations applied");
        }
        Self::with_db(settings, db)
    }

    pub fn with_db(settings: Settings, db: Db) -> anyhow::Result<Self> {
        let assets = Arc::new(AssetIndex::build());
        let templates = Arc::new(load_templates(assets.clone())?);
        let mailer = Mailer::new(&settings, templates.clone())?;
        let secret = settings.secret_key_bytes()?;
        let session_key = Key::from(&secret);
        let composer = Arc::new(
            crate::distribution::campaigns::compose::CampaignComposer::new(
                &secret,
                &settings.base_url,
            ),
        );
        Ok(AppState {
            settings: Arc::new(settings),
            db,
            templates,
            mailer,
            outbox: Outbox::default(),
            composer,
            assets,
            snapshots: Arc::default(),
            session_key,
        })
    }

    /// Renders a template with no request behind it (error pages, emails).
    pub fn render_bare(&self, template: &str, context: &tera::Context) -> anyhow::Result<String> {
        Ok(self.templates.render(template, context)?)
    }
}

fn load_templates(assets: Arc<AssetIndex>) -> anyhow::Result<tera::Tera> {
    let mut tera = tera::Tera::default();
    let files = TemplateFiles::iter()
        .map(|path| {
            let file = TemplateFiles::get(&path).context("embedded template vanished")?;
            let text = String::from_utf8(file.data.into_owned())
                .with_context(|| format!("template {path} is not UTF-8"))?;
            Ok((path.to_string(), text))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    tera.add_raw_templates(files).context("loading templates")?;
    tera.register_function(
        "asset",
        move |args: &HashMap<String, tera::Value>| -> tera::Result<tera::Value> {
            let path = args
                .get("path")
                .and_then(|v| v.as_str())
                .ok_or("asset() needs path=")?;
            assets
                .url(path)
                .map(tera::Value::String)
                .ok_or_else(|| format!("no asset {path}").into())
        },
    );
    tera.register_filter("when", format_time);
    tera.register_filter("markdown", markdown);
    Ok(tera)
}

/// `{{ t | when }}`: a stored UTC timestamp as people read it, e.g. "25 Nov 2026 14:03"; `seconds=true`
/// adds seconds.
fn format_time(
    value: &tera::Value,
    args: &HashMap<String, tera::Value>,
) -> tera::Result<tera::Value> {
    let text = value.as_str().ok_or("when: expects a timestamp")?;
    let parsed = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .map_err(|e| format!("when: {text:?} is not a timestamp: {e}"))?;
    let pattern = if args.get("seconds").and_then(tera::Value::as_bool) == Some(true) {
        "%-d %b %Y %H:%M:%S"
    } else {
        "%-d %b %Y %H:%M"
    };
    Ok(tera::Value::String(parsed.format(pattern).to_string()))
}

/// `{{ text | markdown | safe }}`: Markdown written by the co-design group as HTML that is safe to show.
/// Every participant's first page shows the published sheet, and sanitising is the costly part, so the
/// HTML of recent texts is kept (up to `MARKDOWN_CACHE_BYTES` of text, then it starts again).
fn markdown(value: &tera::Value, _: &HashMap<String, tera::Value>) -> tera::Result<tera::Value> {
    static RENDERED: std::sync::LazyLock<std::sync::RwLock<HashMap<String, String>>> =
        std::sync::LazyLock::new(Default::default);
    const MARKDOWN_CACHE_BYTES: usize = 1 << 20;
    let text = value.as_str().ok_or("markdown: expects text")?;
    let read = RENDERED.read().unwrap_or_else(|p| p.into_inner());
    if let Some(html) = read.get(text) {
        return Ok(tera::Value::String(html.clone()));
    }
    drop(read);
    let html = crate::studies::consent::rules::markdown_to_safe_html(text);
    let mut rendered = RENDERED.write().unwrap_or_else(|p| p.into_inner());
    let held: usize = rendered.iter().map(|(k, v)| k.len() + v.len()).sum();
    if held + text.len() + html.len() > MARKDOWN_CACHE_BYTES {
        rendered.clear();
    }
    rendered.insert(text.to_string(), html.clone());
    Ok(tera::Value::String(html))
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(crate::health::healthz))
        .route(
            "/assets/{path:.*}",
            web::get().to(crate::web::assets::serve),
        )
        .configure(crate::api::mount)
        .configure(crate::accounts::handlers::routes)
        .configure(crate::accounts::admin::routes)
        .configure(crate::mail::handlers::routes)
        .configure(crate::audit::handlers::routes)
        .configure(crate::studies::handlers::routes)
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
        .configure(crate::responses::handlers::routes)
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
        .configure(crate::analysis::report::handlers::routes);
}

async fn not_found() -> Result<actix_web::HttpResponse, AppError> {
    Err(AppError::NotFound)
}

/// Serves the app on an already bound listener (port 0 in tests), and starts its outbox worker. The
/// returned server runs until stopped; the worker stops claiming emails when the server has stopped
/// (see `state.outbox.finished()` to wait for its last sends).
pub fn run(listener: TcpListener, state: AppState) -> anyhow::Result<Server> {
    state.outbox.start(Worker {
        db: state.db.clone(),
        mailer: state.mailer.clone(),
        composer: state.composer.clone(),
        settings: state.settings.outbox.clone(),
    });
    crate::distribution::campaigns::schedule::start(
        state.db.clone(),
        state.outbox.waker(),
        state.mailer.message_domain().to_string(),
        std::time::Duration::from_secs(state.settings.campaigns.schedule_seconds.max(1)),
        state.outbox.stop_signal(),
    );
    let settings = state.settings.clone();
    let key = state.session_key.clone();
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
            .wrap(from_fn(csrf::guard))
            .wrap(from_fn(middleware::render_errors))
            .wrap(sessions)
            .wrap(middleware::security_headers(settings.secure_cookies()))
            .wrap(from_fn(middleware::request_context))
    })
    .workers(workers)
    .listen(listener)
    .context("listening")?
    .run();
    Ok(server)
}
