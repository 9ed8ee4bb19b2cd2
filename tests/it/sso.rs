//! Single sign-on against a real OpenID provider (`tests/oidc/provider.mjs`, the certified npm
//! `oidc-provider`), started by each test on a free port: signing in makes or matches an account, and
//! a wrong nonce, an expired code, a wrong issuer, a disallowed domain, a replayed or mismatched
//! callback and password sign-in under `sso.only` are all refused. Without `node` or
//! `tests/oidc/node_modules` the tests print a note and pass, unless `VOICES_REQUIRE_BROWSER=1`.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use diesel::prelude::*;
use reqwest::StatusCode;
use url::Url;
use voices::accounts::actions;
use voices::audit::Origin;
use voices::db::schema::{audit_events, study_members, users};
use voices::error::AppError;
use voices::identity::Role;

use crate::helpers::{location, spawn_on, spawn_with, Backend, TestApp, Visitor, PASSWORD};
use crate::on_both_backends;

on_both_backends!(
    signing_in_makes_an_account_for_an_allowed_domain_and_matches_existing_ones,
    a_wrong_nonce_is_refused,
    an_expired_code_is_refused,
    a_wrong_issuer_is_refused,
    people_from_other_domains_or_deactivated_get_no_session,
    a_mismatched_or_replayed_callback_is_refused,
    with_sso_only_passwords_are_refused_and_single_sign_on_works,
    single_sign_on_is_the_second_step_and_confirms_it_again,
    an_authenticator_app_still_asks_when_single_sign_on_does_not_count,
);

const CLIENT_ID: &str = "voices";
const CLIENT_SECRET: &str = "s3cret";
const LABEL: &str = "Sign in with NHSmail";

/// The provider process; it stops when dropped (killed, and its stdin closes).
struct Provider {
    child: Child,
    issuer: String,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn oidc_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc")
}

/// Whether the provider can run here; otherwise a loud note (or a failure when it is required).
fn provider_available() -> bool {
    let node = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let installed = oidc_dir().join("node_modules/oidc-provider").is_dir();
    let missing: Vec<&str> = [
        (!node).then_some("node (fix: apt-get install nodejs npm)"),
        (!installed).then_some("tests/oidc/node_modules (fix: cd tests/oidc && npm ci)"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if missing.is_empty() {
        return true;
    }
    let missing = missing.join(", ");
    if std::env::var("VOICES_REQUIRE_BROWSER").as_deref() == Ok("1") {
        panic!("VOICES_REQUIRE_BROWSER=1 but the OpenID provider cannot run; missing: {missing}");
    }
    // Straight to stderr: the test harness would swallow eprintln! from a passing test.
    let _ = writeln!(
        std::io::stderr(),
        "NOTE: ***** the single sign-on test is SKIPPED; missing: {missing}. \
         Set VOICES_REQUIRE_BROWSER=1 to make this a failure. *****"
    );
    false
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Provider {
    /// Starts the provider on `port` for Voices at `app`, with extra `OIDC_*` variables, and waits for
    /// its READY line.
    async fn start(port: u16, app: &TestApp, extra: &[(&str, &str)]) -> Provider {
        let log = tempfile::NamedTempFile::new().unwrap();
        let mut command = Command::new("node");
        command
            .arg("provider.mjs")
            .current_dir(oidc_dir())
            .env("OIDC_PORT", port.to_string())
            .env("OIDC_CLIENT_ID", CLIENT_ID)
            .env("OIDC_CLIENT_SECRET", CLIENT_SECRET)
            .env("OIDC_REDIRECT_URI", app.url("/auth/callback"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log.reopen().unwrap());
        for (name, value) in extra {
            command.env(name, value);
        }
        let mut child = command
            .spawn()
            .expect("starting node tests/oidc/provider.mjs");
        let stdout = child.stdout.take().unwrap();
        let ready = tokio::time::timeout(
            Duration::from_secs(30),
            tokio::task::spawn_blocking(move || {
                let mut line = String::new();
                BufReader::new(stdout).read_line(&mut line).map(|_| line)
            }),
        )
        .await;
        let line = match ready {
            Ok(Ok(Ok(line))) if line.starts_with("READY ") => line,
            _ => {
                let _ = child.kill();
                panic!(
                    "the OpenID provider did not start: {}",
                    std::fs::read_to_string(log.path()).unwrap_or_default()
                );
            }
        };
        Provider {
            child,
            issuer: line["READY ".len()..].trim().to_string(),
        }
    }
}

/// Voices' SSO settings for a provider at `issuer`.
fn sso_settings(issuer: String, domains: &[&str]) -> impl FnOnce(&mut voices::config::Settings) {
    let domains: Vec<String> = domains.iter().map(|d| d.to_string()).collect();
    move |settings| {
        settings.sso.issuer = issuer;
        settings.sso.client_id = CLIENT_ID.into();
        settings.sso.client_secret = CLIENT_SECRET.into();
        settings.sso.allowed_domains = domains;
        settings.sso.button_label = LABEL.into();
    }
}

/// Voices on `backend` and the provider, both set up for each other; None when either cannot run.
async fn voices_and_provider(
    backend: Backend,
    domains: &[&str],
    provider_env: &[(&str, &str)],
    adjust: impl FnOnce(&mut voices::config::Settings),
) -> Option<(TestApp, Provider)> {
    if !provider_available() {
        return None;
    }
    let port = free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let configure = sso_settings(issuer, domains);
    let app = spawn_on(backend, |settings| {
        configure(settings);
        adjust(settings);
    })
    .await?;
    let provider = Provider::start(port, &app, provider_env).await;
    Some((app, provider))
}

/// Starts Voices' sign-in in this browser: the provider's authorization URL Voices redirects to.
async fn start_at_voices(visitor: &Visitor, path: &str) -> Url {
    let response = visitor.get(path).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
    Url::parse(&location(&response)).expect("an absolute URL at the provider")
}

/// Signs in at the provider as `email` in the same browser, as tests/oidc/README.md describes, and
/// returns the callback URL the provider sends the browser back to (not yet followed).
async fn log_in_at_provider(visitor: &Visitor, authorize: &Url, email: &str) -> Url {
    let client = &visitor.client;
    let response = client.get(authorize.as_str()).send().await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "the provider's /auth"
    );
    let interaction = authorize.join(&location(&response)).unwrap();
    let response = client
        .post(interaction.as_str())
        .form(&[("prompt", "login"), ("login", email), ("password", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "the login form");
    let mut next = interaction.join(&location(&response)).unwrap();
    for _ in 0..5 {
        if next.path() == "/auth/callback" {
            return next;
        }
        let response = client.get(next.as_str()).send().await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "{next}: {}",
            response.text().await.unwrap_or_default()
        );
        next = next.join(&location(&response)).unwrap();
    }
    panic!("the provider never sent the browser back to Voices");
}

async fn deliver(visitor: &Visitor, callback: &Url) -> (StatusCode, String, String) {
    let response = visitor.client.get(callback.as_str()).send().await.unwrap();
    let status = response.status();
    let to = response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, to, response.text().await.unwrap())
}

/// The whole sign-in in one browser: start, log in at the provider, come back. Status, Location, page.
async fn sign_in_with_sso(visitor: &Visitor, email: &str) -> (StatusCode, String, String) {
    let authorize = start_at_voices(visitor, "/auth/sso").await;
    let callback = log_in_at_provider(visitor, &authorize, email).await;
    deliver(visitor, &callback).await
}

/// Who this browser is signed in as, by the API's `/me` with its session cookie.
async fn me(visitor: &Visitor) -> Option<serde_json::Value> {
    let response = visitor.get("/api/v1/me").await;
    match response.status() {
        StatusCode::OK => Some(response.json().await.unwrap()),
        StatusCode::UNAUTHORIZED => None,
        other => panic!("/api/v1/me answered {other}"),
    }
}

/// This browser's CSRF token. Under `sso.only` no page a stranger can open shows a form, so it is read
/// from a second instance with passwords allowed (same database and key) that the browser's session
/// cookie also reaches: cookies belong to a host, whatever its port.
async fn csrf_from_open_instance(app: &TestApp) -> String {
    let open = app
        .another_instance(|settings| settings.sso.only = false)
        .await;
    let html = app
        .client
        .get(format!("{}/forgot-password", open.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    crate::helpers::csrf_from(&html)
}

fn with_query(url: &Url, name: &str, value: &str) -> Url {
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == name {
                value.into()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    let mut changed = url.clone();
    changed.query_pairs_mut().clear().extend_pairs(pairs);
    changed
}

struct Row {
    action: String,
    actor: Option<i64>,
    object: Option<String>,
    details: String,
}

async fn audit(app: &TestApp) -> Vec<Row> {
    let rows: Vec<(String, Option<i64>, Option<String>, String)> = app
        .db
        .read(|conn| {
            audit_events::table
                .order(audit_events::id.asc())
                .select((
                    audit_events::action,
                    audit_events::actor_user_id,
                    audit_events::object_id,
                    audit_events::details,
                ))
                .load(conn)
                .map_err(AppError::from)
        })
        .await
        .unwrap();
    rows.into_iter()
        .map(|(action, actor, object, details)| Row {
            action,
            actor,
            object,
            details,
        })
        .collect()
}

async fn user_count(app: &TestApp) -> i64 {
    app.db
        .read(|conn| {
            users::table
                .count()
                .get_result::<i64>(conn)
                .map_err(AppError::from)
        })
        .await
        .unwrap()
}

async fn signing_in_makes_an_account_for_an_allowed_domain_and_matches_existing_ones(
    backend: Backend,
) {
    let Some((app, _provider)) = voices_and_provider(backend, &["trust.nhs.uk"], &[], |_| {}).await
    else {
        return;
    };

    // The sign-in page offers the button beside the password form, as a real link.
    let (status, page) = app.get_text("/login?next=/account").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(LABEL));
    // Tera writes the `/` of the urlencoded path as `&#x2F;`, which the browser reads back as `/`.
    assert!(
        page.contains("href=\"/auth/sso?next=&#x2F;account\""),
        "{page}"
    );
    assert!(page.contains("name=\"password\""));
    let methods: serde_json::Value = app.get("/api/v1/auth/methods").await.json().await.unwrap();
    assert_eq!(methods["password"], true);
    assert_eq!(methods["sso"]["label"], LABEL);
    assert_eq!(methods["sso"]["start_url"], app.url("/auth/sso"));

    // A new person from an allowed domain: an account is made and they land where they were going.
    let authorize = start_at_voices(&app, "/auth/sso?next=/account").await;
    let query: Vec<(String, String)> = authorize.query_pairs().into_owned().collect();
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(param("code_challenge_method"), Some("S256"), "PKCE");
    assert!(param("nonce").is_some_and(|n| n.len() >= 16));
    assert!(param("state").is_some_and(|s| s.len() >= 16));
    assert_eq!(
        param("redirect_uri"),
        Some(app.url("/auth/callback").as_str())
    );
    let callback = log_in_at_provider(&app, &authorize, "ann.smith@trust.nhs.uk").await;
    assert!(callback.query_pairs().any(|(k, _)| k == "iss"), "RFC 9207");
    let (status, to, _) = deliver(&app, &callback).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(to, "/account");
    let me = me(&app).await.expect("signed in");
    assert_eq!(me["email"], "ann.smith@trust.nhs.uk");
    assert_eq!(me["display_name"], "Ann Smith");
    assert_eq!(me["role"], "member");
    let ann = me["id"].as_i64().unwrap();
    assert_eq!(app.get("/account").await.status(), StatusCode::OK);

    let (hash, roles): (Option<String>, i64) = app
        .db
        .read(move |conn| {
            let hash = users::table
                .find(ann)
                .select(users::password_hash)
                .first(conn)?;
            let roles = study_members::table
                .filter(study_members::user_id.eq(ann))
                .count()
                .get_result(conn)?;
            Ok::<_, AppError>((hash, roles))
        })
        .await
        .unwrap();
    assert_eq!(hash, None, "no password");
    assert_eq!(roles, 0, "no study roles");
    let rows = audit(&app).await;
    let created = rows
        .iter()
        .find(|r| r.action == "user_created_by_sso")
        .expect("the new account is audited");
    assert_eq!(created.object.as_deref(), Some(ann.to_string().as_str()));
    let signed_in = rows
        .iter()
        .find(|r| r.action == "signed_in")
        .expect("the sign-in is audited");
    assert_eq!(signed_in.actor, Some(ann));
    assert_eq!(signed_in.details, r#"{"via":"sso"}"#);
    assert!(rows.iter().all(|r| !r.details.contains("ann.smith")));

    // Someone who already has an account (any domain) is matched by verified email, case aside.
    let bob = app.create_user("bob@example.org", Role::Admin).await;
    let before = user_count(&app).await;
    let browser = app.new_visitor();
    let (status, to, _) = sign_in_with_sso(&browser, "Bob@Example.org").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(to, "/");
    let me = self::me(&browser).await.expect("signed in");
    assert_eq!(me["id"], bob);
    assert_eq!(me["display_name"], "Test Person", "the name is kept");
    assert_eq!(me["role"], "admin");
    assert_eq!(user_count(&app).await, before);
    let rows = audit(&app).await;
    assert!(!rows
        .iter()
        .any(|r| r.action == "user_created_by_sso" && r.object == Some(bob.to_string())));
    assert!(rows
        .iter()
        .any(|r| r.action == "signed_in" && r.actor == Some(bob) && r.details.contains("sso")));
}

async fn a_wrong_nonce_is_refused(backend: Backend) {
    let Some((app, _provider)) = voices_and_provider(backend, &["trust.nhs.uk"], &[], |_| {}).await
    else {
        return;
    };
    let authorize = start_at_voices(&app, "/auth/sso").await;
    // The provider puts whatever nonce it is given into the ID token: one Voices did not choose.
    let forged = with_query(&authorize, "nonce", "a-nonce-voices-never-chose");
    let callback = log_in_at_provider(&app, &forged, "ann@trust.nhs.uk").await;
    let (status, _, page) = deliver(&app, &callback).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("could not trust"), "{page}");
    assert!(page.contains(LABEL), "the sign-in page, to start again");
    assert_eq!(me(&app).await, None);
    assert_eq!(user_count(&app).await, 0);
}

async fn an_expired_code_is_refused(backend: Backend) {
    let Some((app, _provider)) = voices_and_provider(
        backend,
        &["trust.nhs.uk"],
        &[("OIDC_CODE_TTL", "1")],
        |_| {},
    )
    .await
    else {
        return;
    };
    let authorize = start_at_voices(&app, "/auth/sso").await;
    let callback = log_in_at_provider(&app, &authorize, "ann@trust.nhs.uk").await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (status, _, page) = deliver(&app, &callback).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("did not accept this sign-in"), "{page}");
    assert_eq!(me(&app).await, None);
    assert_eq!(user_count(&app).await, 0);
}

async fn a_wrong_issuer_is_refused(backend: Backend) {
    if !provider_available() {
        return;
    }
    // The provider calls itself http://localhost:PORT; Voices expects http://127.0.0.1:PORT.
    let port = free_port();
    let Some(app) = spawn_on(
        backend,
        sso_settings(format!("http://127.0.0.1:{port}"), &["trust.nhs.uk"]),
    )
    .await
    else {
        return;
    };
    let issuer = format!("http://localhost:{port}");
    let provider = Provider::start(port, &app, &[("OIDC_ISSUER", &issuer)]).await;
    assert_eq!(provider.issuer, issuer);
    let response = app.get("/auth/sso").await;
    assert_eq!(
        response.status(),
        StatusCode::BAD_GATEWAY,
        "the provider's own document names another issuer: nobody is sent to it"
    );
    assert!(response.headers().get("location").is_none());
    let page = response.text().await.unwrap();
    assert!(page.contains("could not reach your organisation"), "{page}");
    assert_eq!(me(&app).await, None);
    drop(provider);

    // With the right issuer, a callback that names another one (RFC 9207 `iss`) is refused before
    // its code is used.
    let Some((app, provider)) = voices_and_provider(backend, &["trust.nhs.uk"], &[], |_| {}).await
    else {
        return;
    };
    let authorize = start_at_voices(&app, "/auth/sso").await;
    let callback = log_in_at_provider(&app, &authorize, "ann@trust.nhs.uk").await;
    assert!(callback
        .query_pairs()
        .any(|(k, v)| k == "iss" && v == provider.issuer.as_str()));
    let elsewhere = with_query(&callback, "iss", "https://issuer.example");
    let (status, _, page) = deliver(&app, &elsewhere).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("could not trust"), "{page}");
    assert_eq!(me(&app).await, None);
    assert_eq!(user_count(&app).await, 0);
}

async fn people_from_other_domains_or_deactivated_get_no_session(backend: Backend) {
    let Some((app, _provider)) = voices_and_provider(backend, &["trust.nhs.uk"], &[], |_| {}).await
    else {
        return;
    };
    let (status, _, page) = sign_in_with_sso(&app, "eve@elsewhere.example").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        page.contains("accounts for it are not made automatically"),
        "{page}"
    );
    assert_eq!(me(&app).await, None);
    assert_eq!(user_count(&app).await, 0);
    let refused = audit(&app).await;
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].action, "sign_in_refused");
    assert_eq!(refused[0].object, None);
    assert_eq!(
        refused[0].details,
        r#"{"reason":"domain_not_allowed","via":"sso"}"#
    );

    // A subdomain of an allowed domain is another domain.
    let browser = app.new_visitor();
    let (status, _, _) = sign_in_with_sso(&browser, "mal@evil.trust.nhs.uk").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(user_count(&app).await, 0);

    // A deactivated account, even in an allowed domain, stays out and no second account is made.
    let admin = app.create_user("admin@example.org", Role::Admin).await;
    let dee = app.create_user("dee@trust.nhs.uk", Role::Member).await;
    actions::set_active(&app.db, &Origin::command_line(), admin, dee, false)
        .await
        .unwrap();
    let browser = app.new_visitor();
    let (status, _, page) = sign_in_with_sso(&browser, "dee@trust.nhs.uk").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("deactivated"), "{page}");
    assert_eq!(me(&browser).await, None);
    assert_eq!(user_count(&app).await, 2);
    assert!(audit(&app)
        .await
        .iter()
        .any(|r| r.action == "sign_in_refused"
            && r.object == Some(dee.to_string())
            && r.details.contains("account_deactivated")));
}

async fn a_mismatched_or_replayed_callback_is_refused(backend: Backend) {
    let Some((app, _provider)) = voices_and_provider(backend, &["trust.nhs.uk"], &[], |_| {}).await
    else {
        return;
    };
    // A state this browser did not start: refused, and the sign-in under way is over.
    let authorize = start_at_voices(&app, "/auth/sso").await;
    let callback = log_in_at_provider(&app, &authorize, "ann@trust.nhs.uk").await;
    let (status, _, page) = deliver(&app, &with_query(&callback, "state", "forged")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("does not match the one started"), "{page}");
    assert_eq!(me(&app).await, None);
    let (status, _, page) = deliver(&app, &callback).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the flow was used up");
    assert!(page.contains("already used"), "{page}");
    assert_eq!(me(&app).await, None);

    // A good callback signs in once; the same URL in another browser (a leaked link) does not.
    let browser = app.new_visitor();
    let authorize = start_at_voices(&browser, "/auth/sso").await;
    let callback = log_in_at_provider(&browser, &authorize, "ann@trust.nhs.uk").await;
    let (status, _, _) = deliver(&browser, &callback).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(me(&browser).await.is_some());
    let (status, to, _) = deliver(&browser, &callback).await;
    assert_eq!(
        (status, to.as_str()),
        (StatusCode::SEE_OTHER, "/"),
        "Back to the used callback once signed in just goes home"
    );
    let thief = app.new_visitor();
    let (status, _, page) = deliver(&thief, &callback).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("already used"), "{page}");
    assert_eq!(me(&thief).await, None);

    // Nonsense at the callback is a clear 400, never a 500.
    let (status, page) = thief
        .get_text("/auth/callback?code=x&state=y&error=%0Aforged")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("Start again"));
}

async fn with_sso_only_passwords_are_refused_and_single_sign_on_works(backend: Backend) {
    let Some((app, _provider)) =
        voices_and_provider(backend, &[], &[], |settings| settings.sso.only = true).await
    else {
        return;
    };
    let kim = app.create_user("kim@trust.nhs.uk", Role::Member).await;

    let (status, page) = app.get_text("/login").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(LABEL));
    assert!(!page.contains("name=\"password\""), "no password form");
    let methods: serde_json::Value = app.get("/api/v1/auth/methods").await.json().await.unwrap();
    assert_eq!(methods["password"], false);

    let token = csrf_from_open_instance(&app).await;
    let response = app
        .client
        .post(app.url("/login"))
        .form(&[
            ("email", "kim@trust.nhs.uk"),
            ("password", PASSWORD),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("Passwords are not used to sign in here"),
        "{page}"
    );
    assert!(page.contains(LABEL));
    assert_eq!(me(&app).await, None);

    for path in ["/forgot-password", "/accounts/set-password/some-link"] {
        let (status, page) = app.get_text(path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert!(page.contains("Passwords are not used"), "{path}");
    }
    let response = app
        .client
        .post(app.url("/forgot-password"))
        .form(&[("email", "kim@trust.nhs.uk"), ("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let page = response.text().await.unwrap();
    assert!(page.contains("Passwords are not used"), "{page}");

    // Participants' links are not account pages: they answer as they always do.
    let (status, page) = app.get_text("/p/not-a-real-link").await;
    assert_ne!(status, StatusCode::FORBIDDEN);
    assert!(!page.contains("Passwords are not used"));

    // Single sign-on is the way in, for an existing account even with no domain allowed.
    let (status, _, _) = sign_in_with_sso(&app, "kim@trust.nhs.uk").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(me(&app).await.expect("signed in")["id"], kim);
    let (status, page) = app.get_text("/account/password").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("Back to your account"));
}

#[tokio::test]
async fn single_sign_on_is_off_until_an_issuer_is_set() {
    let app = spawn_with(Backend::Sqlite, |_| {}).await;
    assert_eq!(app.get("/auth/sso").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        app.get("/auth/callback?code=x&state=y").await.status(),
        StatusCode::NOT_FOUND
    );
    let (_, page) = app.get_text("/login").await;
    assert!(!page.contains("/auth/sso"));
    let methods: serde_json::Value = app.get("/api/v1/auth/methods").await.json().await.unwrap();
    assert_eq!(
        methods,
        serde_json::json!({ "password": true, "sso": null })
    );
}

async fn single_sign_on_is_the_second_step_and_confirms_it_again(backend: Backend) {
    let required = |s: &mut voices::config::Settings| {
        s.second_factor.required_for = voices::config::SecondFactorRequired::Everyone
    };
    let Some((app, _provider)) =
        voices_and_provider(backend, &["trust.nhs.uk"], &[], required).await
    else {
        return;
    };
    let (status, _, _) = sign_in_with_sso(&app, "ann@trust.nhs.uk").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    // The organisation's sign-in counts as the second step: nothing to set up.
    assert_eq!(me(&app).await.unwrap()["must_set_up_two_step"], false);
    let created = app
        .post_form("/studies", &[("title", "Involvement"), ("summary", "")])
        .await;
    let study = crate::helpers::id_after(&location(&created), "/studies/");
    let roster = format!("/studies/{study}/participants");
    assert_eq!(app.get(&roster).await.status(), StatusCode::OK);

    // Later, seeing names in bulk asks again; the confirm page offers the organisation's sign-in.
    crate::two_factor::age_second_factor(&app).await;
    let asked = app.get(&roster).await;
    assert_eq!(asked.status(), StatusCode::SEE_OTHER);
    let confirm = location(&asked);
    assert!(confirm.starts_with("/account/confirm?next="), "{confirm}");
    let (_, page) = app.get_text(&confirm).await;
    let link = crate::helpers::value_after(&page, "href=\"/auth/sso?")
        .expect("a link to confirm with single sign-on")
        .replace("&amp;", "&");
    let authorize = start_at_voices(&app, &format!("/auth/sso?{link}")).await;
    assert!(
        authorize
            .query_pairs()
            .any(|(k, v)| k == "prompt" && v == "login"),
        "the provider is asked to check again: {authorize}"
    );
    let callback = log_in_at_provider(&app, &authorize, "ann@trust.nhs.uk").await;
    let (status, to, _) = deliver(&app, &callback).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(to, roster);
    assert_eq!(app.get(&roster).await.status(), StatusCode::OK);
}

async fn an_authenticator_app_still_asks_when_single_sign_on_does_not_count(backend: Backend) {
    let not_counted = |s: &mut voices::config::Settings| s.sso.counts_as_second_factor = false;
    let Some((app, _provider)) =
        voices_and_provider(backend, &["trust.nhs.uk"], &[], not_counted).await
    else {
        return;
    };
    sign_in_with_sso(&app, "bea@trust.nhs.uk").await;
    let (secret, _) = crate::two_factor::set_up(&app).await;
    let browser = app.new_visitor();
    let (status, to, _) = sign_in_with_sso(&browser, "bea@trust.nhs.uk").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(to, "/login/two-step");
    assert_eq!(me(&browser).await, None, "not signed in before the code");
    let code =
        voices::accounts::two_factor::rules::code_at(&secret, crate::two_factor::unix_now() + 30);
    let done = browser
        .post_form("/login/two-step", &[("code", &code)])
        .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert!(me(&browser).await.is_some());
}
