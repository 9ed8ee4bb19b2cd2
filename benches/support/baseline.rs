//! The bare stack Voices is measured against: the same crates (actix-web, diesel on SQLite in WAL mode,
//! r2d2, tera) doing the least a questionnaire page can do. A participant's page 1 is one indexed query
//! (their stored answers by the hash of their link's token) and a tera render of Voices's own page 1 as
//! a template. A save is one write transaction upserting the answers with the time of the save, as
//! Voices does (without it, saving the same answers again would leave every page as it was: SQLite
//! then writes nothing and skips the sync that `synchronous = FULL` is about), behind one writer lock
//! as Voices has, answered 303 as Voices does. No sessions, CSRF, logging or middleware: whatever
//! Voices spends beyond this is the cost of what it does on top, so the ratio says how close Voices is
//! to its ceiling.
//!
//! It runs as a process of its own, so its CPU time and memory are read from /proc as the `voices`
//! server's are: the driver runs its own executable again with `SERVE` as the first argument.

use std::collections::HashMap;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix_web::{
    error::ErrorInternalServerError, http::header, web, App, HttpResponse, HttpServer,
};
use anyhow::{bail, Context};
use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool};
use diesel::sql_types::{BigInt, Text};
use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};
use sha2::{Digest, Sha256};
use tempfile::TempDir;

/// The first argument that makes the driver's executable serve the baseline instead of driving load.
const SERVE: &str = "--serve-baseline";
const DATABASE: &str = "baseline.db";
const TEMPLATE: &str = "question.html";
/// Half of Voices's default pool: one writer at a time leaves the rest to readers either way.
const POOL_SIZE: u32 = 4;
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

/// Voices's page 1 as a tera template, and the names of its answer fields. The parts that differ from
/// one participant to another become variables: the personal link (`home`), the CSRF token (`csrf`) and
/// each answer (`answers["q-…"]`: a text box's content, a choice's `checked`). The choices' values are
/// compared as the page writes them, HTML-escaped: this questionnaire's labels escape to themselves.
pub fn template(page: &str, home: &str, csrf: &str) -> anyhow::Result<(String, Vec<String>)> {
    if ["{{", "{%", "{#"].iter().any(|tera| page.contains(tera)) {
        bail!("the page holds tera syntax, which would need escaping in the template");
    }
    let mut fields: Vec<String> = Vec::new();
    let mut template = String::with_capacity(page.len());
    let mut rest = page;
    while let Some(at) = rest.find('<') {
        template.push_str(&rest[..at]);
        let end = at + rest[at..].find('>').context("an unclosed tag")? + 1;
        let tag = &rest[at..end];
        rest = &rest[end..];
        let Some(field) = attribute(tag, "name").filter(|name| name.starts_with("q-")) else {
            template.push_str(tag);
            continue;
        };
        if !fields.iter().any(|known| known == field) {
            fields.push(field.to_string());
        }
        let answer = format!("answers[\"{field}\"]");
        if tag.starts_with("<textarea") {
            let close = rest.find("</textarea>").context("an unclosed text box")?;
            template.push_str(&format!("{tag}{{{{ {answer} }}}}"));
            rest = &rest[close..];
        } else if matches!(attribute(tag, "type"), Some("radio" | "checkbox")) {
            let value = attribute(tag, "value").context("a choice without a value")?;
            let unchecked = tag.trim_end_matches('>').trim_end_matches(" checked");
            template.push_str(&format!(
                "{unchecked}{{% if {answer} == \"{value}\" %}} checked{{% endif %}}>"
            ));
        } else {
            let value = attribute(tag, "value").context("a text field without a value")?;
            let filled = format!("value=\"{{{{ {answer} }}}}\"");
            template.push_str(&tag.replacen(&format!("value=\"{value}\""), &filled, 1));
        }
    }
    template.push_str(rest);
    let template = template
        .replace(&format!("value=\"{csrf}\""), "value=\"{{ csrf }}\"")
        // The page has the link both as it is (`| safe`) and HTML-escaped.
        .replace(home, "{{ home | safe }}")
        .replace(&home.replace('/', "&#x2F;"), "{{ home }}");
    if fields.is_empty() {
        bail!("no answer fields on the page");
    }
    Ok((template, fields))
}

fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let marker = format!(" {name}=\"");
    let start = tag.find(&marker)? + marker.len();
    tag[start..].split('"').next()
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The baseline server process, on its own database file; killed when dropped.
pub struct Baseline {
    child: Child,
    port: u16,
    // Removed after the process is killed: fields drop after `Drop::drop` has run.
    _dir: TempDir,
}

impl Baseline {
    /// Creates the database with an empty answer to each of `fields` for every link in `homes`
    /// (`/p/{token}`), and serves `template` on it with `PRAGMA synchronous = {synchronous}`.
    pub fn start(
        template: &str,
        fields: &[String],
        homes: &[&str],
        synchronous: &str,
    ) -> anyhow::Result<Self> {
        let dir = TempDir::with_prefix("voices-baseline-")?;
        std::fs::write(dir.path().join(TEMPLATE), template)?;
        let mut conn = SqliteConnection::establish(&database(dir.path()))?;
        conn.batch_execute(
            "PRAGMA journal_mode = WAL; \
             CREATE TABLE answers (token_hash TEXT NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL, \
             updated_at INTEGER NOT NULL, PRIMARY KEY (token_hash, field)) WITHOUT ROWID;",
        )?;
        conn.transaction(|conn| {
            for home in homes {
                let token = home.strip_prefix("/p/").context("not a personal link")?;
                for field in fields {
                    upsert(conn, &token_hash(token), field, "", 0)?;
                }
            }
            anyhow::Ok(())
        })?;
        // As `Server::start_with`: another process could take the port in between; start-up says so.
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new(std::env::current_exe()?)
            .args([SERVE, &port.to_string(), synchronous])
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(std::io::stderr())
            .spawn()
            .context("starting the baseline server")?;
        Ok(Baseline {
            child,
            port,
            _dir: dir,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Waits until the server accepts connections; fails if it has exited.
    pub fn wait_until_listening(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(status) = self.child.try_wait()? {
                bail!("the baseline server exited ({status})");
            }
            if Instant::now() > deadline {
                bail!("the baseline server did not listen within {STARTUP_TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }
}

impl Drop for Baseline {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn database(dir: &Path) -> String {
    dir.join(DATABASE).to_string_lossy().into_owned()
}

fn upsert(
    conn: &mut SqliteConnection,
    token_hash: &str,
    field: &str,
    value: &str,
    updated_at: i64,
) -> diesel::QueryResult<usize> {
    diesel::sql_query(
        "INSERT INTO answers (token_hash, field, value, updated_at) VALUES (?, ?, ?, ?) \
         ON CONFLICT (token_hash, field) \
         DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    )
    .bind::<Text, _>(token_hash)
    .bind::<Text, _>(field)
    .bind::<Text, _>(value)
    .bind::<BigInt, _>(updated_at)
    .execute(conn)
}

/// When the executable was started by `Baseline::start`, serves until killed and returns what serving
/// ended with; otherwise `None`, and the driver goes on.
pub fn serve_if_asked() -> Option<anyhow::Result<()>> {
    let args: Vec<String> = std::env::args().collect();
    match &args[..] {
        [_, flag, port, synchronous, dir] if flag == SERVE => Some(serve(port, synchronous, dir)),
        _ => None,
    }
}

struct State {
    pool: Pool<ConnectionManager<SqliteConnection>>,
    /// SQLite has one writer; Voices queues its writes the same way.
    writer: Mutex<()>,
    tera: tera::Tera,
}

/// The connection settings Voices gives each of its SQLite connections that bear on speed.
#[derive(Debug)]
struct Pragmas(String);

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for Pragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = 5000; PRAGMA synchronous = {};",
            self.0
        ))
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

fn serve(port: &str, synchronous: &str, dir: &str) -> anyhow::Result<()> {
    let port: u16 = port.parse()?;
    let dir = Path::new(dir);
    let pool = Pool::builder()
        .max_size(POOL_SIZE)
        .connection_customizer(Box::new(Pragmas(synchronous.to_string())))
        .build(ConnectionManager::new(database(dir)))?;
    let mut tera = tera::Tera::default();
    tera.add_raw_template(TEMPLATE, &std::fs::read_to_string(dir.join(TEMPLATE))?)?;
    let state = web::Data::new(State {
        pool,
        writer: Mutex::new(()),
        tera,
    });
    // One worker per core, as Voices runs by default.
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .route("/p/{token}/page/1", web::get().to(question_page))
                .route("/p/{token}/page/1", web::post().to(save_page))
        })
        .workers(workers)
        .bind(("127.0.0.1", port))?
        .run()
        .await
    })?;
    Ok(())
}

#[derive(QueryableByName)]
struct Stored {
    #[diesel(sql_type = Text)]
    field: String,
    #[diesel(sql_type = Text)]
    value: String,
}

async fn question_page(
    state: web::Data<State>,
    token: web::Path<String>,
) -> actix_web::Result<HttpResponse> {
    let hash = token_hash(&token);
    let reader = state.clone();
    let key = hash.clone();
    let stored = web::block(move || -> anyhow::Result<Vec<Stored>> {
        let mut pooled = reader.pool.get()?;
        let conn: &mut SqliteConnection = &mut pooled;
        Ok(
            diesel::sql_query("SELECT field, value FROM answers WHERE token_hash = ?")
                .bind::<Text, _>(key)
                .load(conn)?,
        )
    })
    .await?
    .map_err(ErrorInternalServerError)?;
    if stored.is_empty() {
        return Ok(HttpResponse::NotFound().finish());
    }
    let answers: HashMap<String, String> = stored.into_iter().map(|s| (s.field, s.value)).collect();
    let mut context = tera::Context::new();
    context.insert("home", &format!("/p/{token}"));
    // A stand-in of about the same length as Voices's token, so the pages weigh the same.
    context.insert("csrf", &hash);
    context.insert("answers", &answers);
    let html = state
        .tera
        .render(TEMPLATE, &context)
        .map_err(ErrorInternalServerError)?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(html))
}

async fn save_page(
    state: web::Data<State>,
    token: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> actix_web::Result<HttpResponse> {
    let hash = token_hash(&token);
    let answers: Vec<(String, String)> = form
        .into_inner()
        .into_iter()
        .filter(|(field, _)| field.starts_with("q-"))
        .collect();
    web::block(move || -> anyhow::Result<()> {
        let _turn = state.writer.lock().unwrap_or_else(|p| p.into_inner());
        let now = i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos())?;
        let mut pooled = state.pool.get()?;
        let conn: &mut SqliteConnection = &mut pooled;
        conn.transaction(|conn| {
            for (field, value) in &answers {
                upsert(conn, &hash, field, value, now)?;
            }
            diesel::QueryResult::Ok(())
        })?;
        Ok(())
    })
    .await?
    .map_err(ErrorInternalServerError)?;
    // The driver only saves with "Save and come back later".
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("/p/{token}/pause")))
        .finish())
}
