//! Starts the real app in-process on a random port, each test with its own fresh database, and gives a
//! client with a cookie jar and redirects off, so tests see exactly what a browser would get.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use diesel::{Connection, ExpressionMethods, PgConnection, QueryDsl, RunQueryDsl};
use reqwest::{Method, Response, StatusCode};
use serde_json::Value;
use tempfile::TempDir;
use voices::accounts::actions;
use voices::app::{build_state, run, run_with_composer};
use voices::audit::Origin;
use voices::config::{SecondFactorRequired, Settings};
use voices::db::Db;
use voices::identity::Role;
use voices::mail::outbox::Composer;
use voices::state::{Finished, OutboxWaker};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each named `async fn(TestApp)` once on SQLite and once on PostgreSQL.
/// The PostgreSQL run needs `VOICES_TEST_DATABASE_URL`; `.ci/run` always sets it.
#[macro_export]
macro_rules! on_both_databases {
    ($($test:ident),* $(,)?) => { $(
        mod $test {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$test($crate::helpers::spawn_app($crate::helpers::Backend::Sqlite).await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = $crate::helpers::spawn_postgres_app(|_| {}).await {
                    super::$test(app).await
                }
            }
        }
    )* };
}

pub const PASSWORD: &str = "kettle river pencil";

/// One browser: its own cookie jar, redirects not followed.
#[derive(Clone)]
pub struct Visitor {
    pub address: String,
    pub client: reqwest::Client,
}

pub struct TestApp {
    visitor: Visitor,
    pub db: Db,
    pub backend: Backend,
    pub data_dir: TempDir,
    /// The settings the app runs with, for starting it again or a second instance beside it.
    pub settings: Settings,
    instance: Instance,
    postgres: Option<PostgresDatabase>,
}

/// One running server with its outbox worker.
pub struct Instance {
    pub address: String,
    pub db: Db,
    pub waker: OutboxWaker,
    server: actix_web::dev::ServerHandle,
    finished: Option<Finished>,
}

impl Instance {
    /// Serves the app with these settings on a new port (the base URL stays as it is).
    pub async fn start(settings: &Settings, composer: Option<Arc<dyn Composer>>) -> Instance {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a random port");
        Self::start_on(listener, settings, composer).await
    }

    async fn start_on(
        listener: TcpListener,
        settings: &Settings,
        composer: Option<Arc<dyn Composer>>,
    ) -> Instance {
        let address = format!("http://{}", listener.local_addr().unwrap());
        let state = tokio::task::spawn_blocking({
            let settings = settings.clone();
            move || build_state(settings)
        })
        .await
        .unwrap()
        .expect("app state");
        let (db, waker, finished) = (
            state.db.clone(),
            state.outbox.waker(),
            state.outbox.finished(),
        );
        let server = match composer {
            Some(composer) => run_with_composer(listener, state, composer),
            None => run(listener, state),
        }
        .expect("server");
        let handle = server.handle();
        tokio::spawn(server);
        Instance {
            address,
            db,
            waker,
            server: handle,
            finished: Some(finished),
        }
    }

    /// Stops the server and waits until its outbox worker has recorded its last sends.
    pub async fn stop(&mut self) {
        self.server.stop(false).await;
        if let Some(finished) = self.finished.take() {
            tokio::time::timeout(Duration::from_secs(20), finished.wait())
                .await
                .expect("the outbox worker stops with its server");
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        // stop() sends its command at once; the future only waits for completion.
        drop(self.server.stop(false));
    }
}

pub fn test_settings(data_dir: &TempDir) -> Settings {
    let mut settings = Settings::defaults();
    settings.data_dir = data_dir.path().to_path_buf();
    settings.workers = 1;
    settings.database_pool_size = 4;
    settings.login.slow_step_ms = 20;
    // Most tests are about something else; tests/it/two_factor.rs runs with the built-in requirement.
    settings.second_factor.required_for = SecondFactorRequired::Nobody;
    settings
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    match backend {
        Backend::Sqlite => spawn_with(Backend::Sqlite, |_| {}).await,
        Backend::Postgres => spawn_postgres_app(|_| {})
            .await
            .expect("VOICES_TEST_DATABASE_URL is not set"),
    }
}

/// None (with a loud note) when no PostgreSQL server is configured for tests.
pub async fn spawn_postgres_app(adjust: impl FnOnce(&mut Settings)) -> Option<TestApp> {
    if std::env::var("VOICES_TEST_DATABASE_URL").is_err() {
        eprintln!(
            "NOTE: VOICES_TEST_DATABASE_URL is not set; the PostgreSQL run of this test is skipped"
        );
        return None;
    }
    Some(spawn_with(Backend::Postgres, adjust).await)
}

/// Runs each named `async fn(Backend)` once per database, for tests that start apps themselves.
#[macro_export]
macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => { $(
        mod $test {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$test($crate::helpers::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$test($crate::helpers::Backend::Postgres).await
            }
        }
    )* };
}

/// An app on this backend, or None (with a loud note) for PostgreSQL when no server is configured.
pub async fn spawn_on(backend: Backend, adjust: impl FnOnce(&mut Settings)) -> Option<TestApp> {
    match backend {
        Backend::Sqlite => Some(spawn_with(backend, adjust).await),
        Backend::Postgres => spawn_postgres_app(adjust).await,
    }
}

pub async fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_composing(backend, adjust, None).await
}

/// An app whose outbox composes campaign emails with `composer` instead of the real one.
pub async fn spawn_composing(
    backend: Backend,
    adjust: impl FnOnce(&mut Settings),
    composer: Option<Arc<dyn Composer>>,
) -> TestApp {
    voices::security::install_crypto_provider();
    // Server logs appear with a failing test's output when VOICES_TEST_LOG is set (e.g. to "info").
    if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_env("VOICES_TEST_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .try_init();
    }
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut settings = test_settings(&data_dir);
    let postgres = match backend {
        Backend::Sqlite => {
            settings.database_url =
                format!("sqlite://{}", data_dir.path().join("voices.db").display());
            None
        }
        Backend::Postgres => {
            let database = tokio::task::spawn_blocking(PostgresDatabase::create)
                .await
                .expect("creating the test database");
            settings.database_url = database.url.clone();
            Some(database)
        }
    };
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a random port");
    settings.base_url = format!("http://{}", listener.local_addr().unwrap());
    adjust(&mut settings);
    let instance = Instance::start_on(listener, &settings, composer).await;
    TestApp {
        visitor: Visitor {
            address: instance.address.clone(),
            client: new_client(),
        },
        db: instance.db.clone(),
        backend,
        data_dir,
        settings,
        instance,
        postgres,
    }
}

pub fn new_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        // Below the server's keep-alive (5 s), so a POST never goes out on a connection it is closing.
        .pool_idle_timeout(Duration::from_secs(2))
        .build()
        .unwrap()
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // stop() sends its command at once; the future only waits for completion.
        drop(self.instance.server.stop(false));
        drop(self.postgres.take());
    }
}

impl std::ops::Deref for TestApp {
    type Target = Visitor;

    fn deref(&self) -> &Visitor {
        &self.visitor
    }
}

impl Visitor {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn get_text(&self, path: &str) -> (StatusCode, String) {
        let response = self.get(path).await;
        let status = response.status();
        (status, response.text().await.unwrap())
    }

    /// The session's CSRF token, read from a page that always shows a form.
    pub async fn csrf(&self) -> String {
        let (_, html) = self.get_text("/forgot-password").await;
        csrf_from(&html)
    }

    /// Posts a form as a browser would: with the session's CSRF token.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let token = self.csrf().await;
        let mut body: Vec<(&str, &str)> = fields.to_vec();
        body.push(("csrf_token", &token));
        self.client
            .post(self.url(path))
            .form(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> Response {
        self.post_form("/login", &[("email", email), ("password", password)])
            .await
    }
}

impl TestApp {
    /// A second browser on the same app, with no cookies yet.
    pub fn new_visitor(&self) -> Visitor {
        Visitor {
            address: self.address.clone(),
            client: new_client(),
        }
    }

    pub async fn create_user(&self, email: &str, role: Role) -> i64 {
        actions::create_user(
            &self.db,
            &Origin::command_line(),
            email,
            "Test Person",
            role,
            PASSWORD.into(),
        )
        .await
        .expect("create user")
    }

    /// A signed-in app client for a new account with this role.
    pub async fn signed_in_as(&self, email: &str, role: Role) -> i64 {
        let id = self.create_user(email, role).await;
        let response = self.sign_in(email, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "sign in");
        id
    }

    /// Wakes the outbox worker, as the app does after queueing emails.
    pub fn wake_outbox(&self) {
        self.instance.waker.wake();
    }

    /// Stops the server: its outbox worker finishes what it is sending and claims nothing more.
    pub async fn stop(&mut self) {
        self.instance.stop().await;
    }

    /// Starts the app again on the same database and data folder.
    pub async fn start_again(&mut self) {
        self.instance = Instance::start(&self.settings, None).await;
        self.visitor.address = self.instance.address.clone();
        self.db = self.instance.db.clone();
    }

    /// Another instance on the same database and data folder, as behind a load balancer.
    pub async fn another_instance(&self, adjust: impl FnOnce(&mut Settings)) -> Instance {
        let mut settings = self.settings.clone();
        adjust(&mut settings);
        Instance::start(&settings, None).await
    }

    pub fn outbox(&self) -> PathBuf {
        self.data_dir.path().join("outbox")
    }

    /// Waits for an email to this address in the outbox folder (some are sent in the background).
    pub async fn wait_for_email(&self, to: &str) -> String {
        for _ in 0..100 {
            if let Some(found) = self
                .emails()
                .into_iter()
                .find(|m| m.contains(&format!("To: {to}")))
            {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no email to {to} arrived");
    }

    pub fn emails(&self) -> Vec<String> {
        std::fs::read_dir(self.outbox())
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                    .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub fn csrf_from(html: &str) -> String {
    value_after(html, "name=\"csrf_token\" value=\"").expect("a CSRF token in the page")
}

/// The text after `marker` up to the next quote or whitespace.
pub fn value_after(text: &str, marker: &str) -> Option<String> {
    let start = text.find(marker)? + marker.len();
    Some(
        text[start..]
            .chars()
            .take_while(|c| !matches!(c, '"' | '<' | '\r' | '\n' | ' '))
            .collect(),
    )
}

/// The set-password link in an email (quoted-printable soft breaks joined first).
pub fn link_in(email: &str) -> String {
    account_link_in(email, "/accounts/set-password/")
}

/// The account link starting with `marker` in an email.
pub fn account_link_in(email: &str, marker: &str) -> String {
    let joined = email
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    let token =
        value_after(&joined, marker).unwrap_or_else(|| panic!("a {marker} link in the email"));
    format!("{marker}{token}")
}

/// A fresh database per test on the configured PostgreSQL server, dropped afterwards.
struct PostgresDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl PostgresDatabase {
    fn create() -> Self {
        let admin_url = std::env::var("VOICES_TEST_DATABASE_URL").unwrap();
        let name = format!(
            "voices_test_{}",
            hex::encode(voices::security::random_bytes::<6>())
        );
        let mut admin = PgConnection::establish(&admin_url).unwrap_or_else(|e| {
            panic!("VOICES_TEST_DATABASE_URL is set but PostgreSQL cannot be reached: {e}")
        });
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .expect("create test database");
        let mut url = url::Url::parse(&admin_url).expect("VOICES_TEST_DATABASE_URL is a URL");
        url.set_path(&name);
        PostgresDatabase {
            admin_url,
            name,
            url: url.to_string(),
        }
    }

    /// Removes the database while the app still uses it (for the health check test).
    pub fn drop_now(admin_url: &str, name: &str) {
        let mut admin = PgConnection::establish(admin_url).expect("admin connection");
        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut admin)
            .expect("drop test database");
    }
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        Self::drop_now(&self.admin_url, &self.name);
    }
}

impl TestApp {
    /// Makes the database unreachable for the running app: PostgreSQL drops it, SQLite loses its file.
    pub fn destroy_database(&self) {
        match &self.postgres {
            Some(pg) => PostgresDatabase::drop_now(&pg.admin_url, &pg.name),
            None => {
                let file = self.data_dir.path().join("voices.db");
                std::fs::remove_file(file).expect("remove the SQLite file");
            }
        }
    }
}

/// Where a redirect points.
pub fn location(response: &Response) -> String {
    response.headers()["location"].to_str().unwrap().to_string()
}

/// The number written right after `marker` in `text`.
pub fn id_after(text: &str, marker: &str) -> i64 {
    let start = text
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} in {text}"))
        + marker.len();
    text[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

/// Someone with a browser session and an API token of their own.
pub struct Person {
    pub visitor: Visitor,
    pub token: String,
}

impl Person {
    /// A JSON API call with this person's bearer token: the status and the body (Null if not JSON).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (StatusCode, serde_json::Value) {
        let mut request = self
            .visitor
            .client
            .request(method, self.visitor.url(path))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or_default())
    }
}

/// Accepts, for the person with this email, every study invitation waiting for them (as they would
/// on their studies page).
pub async fn accept_invitations(app: &TestApp, email: &str) {
    let email = email.to_string();
    let user_id = app
        .db
        .read(move |conn| {
            use voices::db::schema::users;
            users::table
                .filter(users::email.eq(email))
                .select(users::id)
                .first::<i64>(conn)
                .map_err(voices::error::AppError::from)
        })
        .await
        .expect("the invited person has an account");
    let invited = voices::studies::invitations::actions::for_person(&app.db, user_id)
        .await
        .unwrap();
    assert!(!invited.is_empty(), "an invitation is waiting");
    for invitation in invited {
        voices::studies::invitations::actions::accept(
            &app.db,
            &Origin::command_line(),
            user_id,
            invitation.id,
        )
        .await
        .unwrap();
    }
}

/// A study led by lead@example.org (signed in as the app's own visitor too), with one member in
/// each other role and someone who is not a member.
pub struct StudyTeam {
    pub study: i64,
    pub lead: Person,
    pub co_designer: Person,
    pub interviewer: Person,
    pub analyst: Person,
    pub outsider: Person,
}

impl StudyTeam {
    pub async fn new(app: &TestApp) -> StudyTeam {
        let lead_id = app.signed_in_as("lead@example.org", Role::Member).await;
        let created = app
            .post_form("/studies", &[("title", "Involvement"), ("summary", "")])
            .await;
        let study = id_after(&location(&created), "/studies/");
        let person = |email: &'static str, user_id: i64| {
            let visitor = app.new_visitor();
            async move {
                assert_eq!(
                    visitor.sign_in(email, PASSWORD).await.status(),
                    StatusCode::SEE_OTHER,
                    "sign in {email}"
                );
                let token =
                    actions::create_api_token(&app.db, &Origin::command_line(), user_id, "test")
                        .await
                        .unwrap()
                        .1;
                Person { visitor, token }
            }
        };
        let mut members = Vec::new();
        for (email, role) in [
            ("co-designer@example.org", "co_designer"),
            ("interviewer@example.org", "interviewer"),
            ("analyst@example.org", "analyst"),
        ] {
            let id = app.create_user(email, Role::Member).await;
            let added = app
                .post_form(
                    &format!("/studies/{study}/members"),
                    &[
                        ("email", email),
                        ("display_name", "Test Person"),
                        (role, "on"),
                        ("perspective", "staff"),
                    ],
                )
                .await;
            assert_eq!(added.status(), StatusCode::SEE_OTHER, "add {email}");
            accept_invitations(app, email).await;
            members.push(person(email, id).await);
        }
        let outsider_id = app.create_user("outsider@example.org", Role::Member).await;
        let outsider = person("outsider@example.org", outsider_id).await;
        let lead = person("lead@example.org", lead_id).await;
        let mut members = members.into_iter();
        StudyTeam {
            study,
            lead,
            co_designer: members.next().unwrap(),
            interviewer: members.next().unwrap(),
            analyst: members.next().unwrap(),
            outsider,
        }
    }
}

impl StudyTeam {
    /// The account id of the study member with `email`, as the lead reads the members.
    pub async fn user_id(&self, email: &str) -> i64 {
        let (_, members) = self
            .lead
            .call(
                reqwest::Method::GET,
                &format!("/api/v1/studies/{}/members", self.study),
                None,
            )
            .await;
        members
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["email"] == email)
            .unwrap_or_else(|| panic!("{email} is not a member: {members}"))["user_id"]
            .as_i64()
            .unwrap()
    }
}

/// A caller of the JSON API with its own token.
pub struct Caller<'a> {
    app: &'a TestApp,
    token: String,
}

impl<'a> Caller<'a> {
    pub async fn new(app: &'a TestApp, email: &str) -> Caller<'a> {
        let user = app
            .db
            .read({
                let email = email.to_string();
                move |conn| {
                    use voices::db::schema::users;
                    users::table
                        .filter(users::email.eq(email))
                        .select(users::id)
                        .first::<i64>(conn)
                        .map_err(voices::error::AppError::from)
                }
            })
            .await
            .unwrap();
        let (_, token) = voices::accounts::actions::create_api_token(
            &app.db,
            &voices::audit::Origin::command_line(),
            user,
            "test",
        )
        .await
        .unwrap();
        Caller { app, token }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .app
            .client
            .request(method, self.app.url(path))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// A GET answered as text, whatever its type (JSON, CSV, a file).
    pub async fn get_text(&self, path: &str) -> (StatusCode, String) {
        let response = self
            .app
            .client
            .get(self.app.url(path))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.text().await.unwrap_or_default())
    }
}

/// Publishes a questionnaire as its lead: the lead alone signs off the pilot, then publishes.
/// Returns the new version's id.
pub async fn publish(lead: &Caller<'_>, study: i64, questionnaire: i64) -> i64 {
    let base = format!("/api/v1/studies/{study}/questionnaires/{questionnaire}");
    let (_, members) = lead
        .call(
            Method::GET,
            &format!("/api/v1/studies/{study}/members"),
            None,
        )
        .await;
    let lead_member = members
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == "lead@example.org")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    for (method, path, body) in [
        (
            Method::PUT,
            format!("{base}/sign-off-rule"),
            serde_json::json!({ "member_ids": [lead_member], "needs_advisor": false, "needs_staff": false }),
        ),
        (
            Method::POST,
            format!("{base}/status"),
            serde_json::json!({ "status": "pilot" }),
        ),
        (
            Method::POST,
            format!("{base}/sign-offs"),
            serde_json::json!({}),
        ),
        (
            Method::POST,
            format!("{base}/publish"),
            serde_json::json!({}),
        ),
    ] {
        let (status, body) = lead.call(method, &path, Some(body)).await;
        assert!(status.is_success(), "{path}: {status} {body}");
    }
    let (_, versions) = lead
        .call(Method::GET, &format!("{base}/versions"), None)
        .await;
    versions[0]["id"].as_i64().unwrap()
}
