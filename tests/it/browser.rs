//! The pages in a real browser: headless Chromium, driven over WebDriver with the keyboard only, with an
//! axe-core scan of every page and state, a 320 CSS px reflow check, and a run with JavaScript off.
//! The interview guide's autosave is tested with the connection cut: by chromedriver's network
//! emulation, and by a proxy between browser and app that can drop every connection.
//!
//! Needs Debian's chromium and chromium-driver and `npm ci` in tests/browser. Without them the test
//! notes that it skipped, unless `VOICES_REQUIRE_BROWSER=1` (set by CI), where it fails instead.

use std::io::Write;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder, Locator};
use futures_util::FutureExt;
use hyper_util::client::legacy::connect::HttpConnector;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tempfile::TempDir;
use voices::identity::Role;

use crate::helpers::{
    link_in, spawn_app, spawn_postgres_app, Backend, StudyTeam, TestApp, PASSWORD,
};
use crate::interview_pages::{ids_named, post, team_with_guide};
use crate::interviewed::coded_three;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const NARROW: u32 = 320;
/// A small phone: participants answer the whole questionnaire in a window this wide.
const PHONE: u32 = 360;
const WIDE: u32 = 1280;
const HEIGHT: u32 = 900;

/// The WCAG 2.2 AA rule set; "best-practice" rules are left out so only conformance problems fail.
const AXE_RUN: &str = r#"
const done = arguments[arguments.length - 1];
axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})
  .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map(n => n.target)}))))
  .catch(e => done({error: String(e)}));
"#;

/// One browser test at a time: two Chromiums on two cores would make the autosave's timing flaky.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_works_by_keyboard_and_passes_axe() {
    let Some(axe) = prerequisites() else {
        return;
    };
    let _one = ONE_BROWSER.lock().await;
    let app = spawn_app(Backend::Sqlite).await;
    app.create_user("admin@example.org", Role::Admin).await;
    let driver = Chromedriver::start();

    let browser = Browser::open(&driver, true).await;
    let mut audit = Audit {
        axe,
        problems: Vec::new(),
    };
    browser
        .run(async {
            keyboard_flow(&browser.client, &app, &mut audit).await;
            two_step_flow(&browser.client, &app, &mut audit).await;
            questionnaire_flow(&browser.client, &app, &mut audit).await;
            distribution_flow(&browser.client, &app, &mut audit).await;
            participant_flow(&browser.client, &mut audit).await;
            interview_flow(&browser.client, &mut audit).await;
            codebook_flow(&browser.client, &mut audit).await;
            analysis_flow(&browser.client, &mut audit).await;
            tracker_flow(&browser.client, &mut audit).await;
        })
        .await;

    let no_script = Browser::open(&driver, false).await;
    no_script
        .run(works_without_javascript(&no_script.client, &app))
        .await;

    assert!(
        audit.problems.is_empty(),
        "accessibility problems:\n{}",
        audit.problems.join("\n")
    );
}

/// Before a signed-in session ends for inactivity the page says so, and one keyboard press keeps it
/// (WCAG 2.2.1). With a one-minute timeout the warning comes at half time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_warning_offers_to_stay_signed_in() {
    let Some(axe) = prerequisites() else {
        return;
    };
    let _one = ONE_BROWSER.lock().await;
    let app = crate::helpers::spawn_with(Backend::Sqlite, |s| s.session.idle_minutes = 1).await;
    app.create_user("ida@example.org", Role::Member).await;
    let driver = Chromedriver::start();
    let browser = Browser::open(&driver, true).await;
    let mut audit = Audit {
        axe,
        problems: Vec::new(),
    };
    browser
        .run(async {
            let client = &browser.client;
            sign_in(client, &app.url(""), "ida@example.org").await;
            client.goto(&app.url("/account")).await.unwrap();
            wait_for_text_within(
                client,
                "#idle-warning",
                "You will be signed out",
                Duration::from_secs(45),
            )
            .await;
            audit.check(client, "idle warning").await;
            client
                .find(Locator::XPath(
                    "//button[normalize-space()='Stay signed in']",
                ))
                .await
                .unwrap()
                .send_keys(&Key::Enter)
                .await
                .unwrap();
            let deadline = Instant::now() + Duration::from_secs(10);
            while !client
                .find_all(Locator::Css("#idle-warning"))
                .await
                .unwrap()
                .is_empty()
            {
                assert!(
                    Instant::now() < deadline,
                    "the warning goes once the session is kept"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            client.refresh().await.unwrap();
            wait_for_text(client, "h1", "Your account").await;
        })
        .await;
    assert!(
        audit.problems.is_empty(),
        "accessibility problems:\n{}",
        audit.problems.join("\n")
    );
}

async fn keyboard_flow(client: &Client, app: &TestApp, audit: &mut Audit) {
    client.goto(&app.url("/login")).await.unwrap();
    audit.check(client, "sign-in page").await;
    press(client, Key::Tab).await;
    let skip = client.active_element().await.unwrap();
    assert_eq!(
        skip.text().await.unwrap(),
        "Skip to main content",
        "the first Tab reaches the skip link"
    );
    let (left, top, _, _) = skip.rectangle().await.unwrap();
    assert!(
        left >= 0.0 && top >= 0.0,
        "the focused skip link is on screen"
    );
    press(client, Key::Enter).await;
    assert_eq!(
        active_element_attr(client, "id").await.as_deref(),
        Some("main"),
        "the skip link moves focus to the main content"
    );

    type_into(client, "#email", &Key::Enter).await;
    wait_for(client, "[data-error-summary]").await;
    let focused_summary = client
        .execute(
            "return document.activeElement.hasAttribute('data-error-summary')",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(focused_summary, json!(true), "the error summary has focus");
    for field in ["#email-error", "#password-error"] {
        wait_for(client, field).await;
    }
    audit.check(client, "sign-in errors").await;

    type_into(client, "#email", "admin@example.org").await;
    type_into(client, "#password", &(PASSWORD.to_string() + &Key::Enter)).await;
    wait_for_text(client, "h1", "Hello, Test Person").await;
    audit.check(client, "home page").await;

    for (path, heading) in [
        ("/account", "Your account"),
        ("/account/password", "Change your password"),
        ("/admin/users", "People with an account"),
        ("/admin/audit", "Audit log"),
        ("/no-such-page", "Page not found"),
        ("/accounts/continue/not-a-real-link", "Continue signing in"),
        ("/admin/setup", "Setting up Voices"),
        ("/admin/organisation", "Your organisation"),
        ("/accessibility", "Accessibility statement for Voices"),
        ("/cookies", "Cookies"),
        ("/contact", "Contact us"),
        ("/privacy", "Privacy notice"),
        ("/admin/users/invite", "Invite someone"),
    ] {
        client.goto(&app.url(path)).await.unwrap();
        wait_for_text(client, "h1", heading).await;
        audit.check(client, path).await;
    }
    type_into(client, "#display_name", &Key::Enter).await;
    wait_for(client, "[data-error-summary]").await;
    audit.check(client, "invitation errors").await;

    // A token brings the account page's table and the one-time secret, which a fresh account lacks.
    client.goto(&app.url("/account")).await.unwrap();
    type_into(
        client,
        "#name",
        &("analysis scripts".to_string() + &Key::Enter),
    )
    .await;
    wait_for_text(client, ".nhsuk-notification-banner", "created").await;
    audit.check(client, "/account with a new token").await;

    let sign_out = client
        .find(Locator::XPath(
            "//header//button[normalize-space()='Sign out']",
        ))
        .await
        .expect("a Sign out button in the header");
    sign_out.send_keys(&Key::Enter).await.unwrap();
    wait_for_text(client, ".nhsuk-notification-banner", "You have signed out.").await;
}

/// Someone sets up two-step sign-in by keyboard alone (the key is read from the page, as a person
/// would type it into an app), signs in with a code, and meets the confirm-it-is-you page, a study
/// invitation and a kept form; every page is scanned.
async fn two_step_flow(client: &Client, app: &TestApp, audit: &mut Audit) {
    app.create_user("tess@example.org", Role::Member).await;
    let origin = app.url("");
    sign_in(client, &origin, "tess@example.org").await;
    client.goto(&app.url("/account")).await.unwrap();
    client
        .find(Locator::LinkText("Set up two-step sign-in"))
        .await
        .expect("the account page links to two-step sign-in")
        .send_keys(&Key::Enter)
        .await
        .unwrap();
    wait_for_text(client, "h1", "Two-step sign-in").await;
    audit.check(client, "two-step set-up").await;
    let key: String = client
        .find(Locator::Css("#totp-key"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .split_whitespace()
        .collect();
    let secret = totp_rs::Secret::Encoded(key).to_bytes().unwrap();
    type_into(client, "#code", &Key::Enter).await;
    wait_for(client, "[data-error-summary]").await;
    audit.check(client, "two-step set-up errors").await;
    let code = |ahead: u64| {
        voices::accounts::two_factor::rules::code_at(&secret, crate::two_factor::unix_now() + ahead)
    };
    type_into(client, "#code", &(code(0) + &Key::Enter)).await;
    wait_for_text(client, "h1", "Your recovery codes").await;
    audit.check(client, "recovery codes").await;
    client
        .find(Locator::LinkText("I have kept my recovery codes"))
        .await
        .unwrap()
        .send_keys(&Key::Enter)
        .await
        .unwrap();
    wait_for_text(client, "h1", "Your account").await;
    audit
        .check(client, "/account with two-step sign-in on")
        .await;

    // Signing in again asks for the code after the password.
    client
        .find(Locator::XPath(
            "//header//button[normalize-space()='Sign out']",
        ))
        .await
        .unwrap()
        .send_keys(&Key::Enter)
        .await
        .unwrap();
    wait_for_text(client, ".nhsuk-notification-banner", "You have signed out.").await;
    type_into(client, "#email", "tess@example.org").await;
    type_into(client, "#password", &(PASSWORD.to_string() + &Key::Enter)).await;
    wait_for_text(client, "h1", "Enter the code from your authenticator app").await;
    audit.check(client, "second step").await;
    type_into(client, "#code", &("000000".to_string() + &Key::Enter)).await;
    wait_for(client, "[data-error-summary]").await;
    audit.check(client, "second step errors").await;
    type_into(client, "#code", &(code(30) + &Key::Enter)).await;
    wait_for_text(client, "h1", "Hello").await;

    client
        .goto(&app.url("/account/confirm?next=%2Faccount"))
        .await
        .unwrap();
    wait_for_text(client, "h1", "Confirm it is you").await;
    audit.check(client, "confirm it is you").await;

    // An invitation waiting on the studies page.
    let host = app.create_user("host@example.org", Role::Member).await;
    let study = voices::studies::actions::create_study(
        &app.db,
        &voices::audit::Origin::command_line(),
        host,
        &voices::studies::forms::StudyForm {
            title: "Carers' voices".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let host_visitor = app.new_visitor();
    host_visitor.sign_in("host@example.org", PASSWORD).await;
    let invited = host_visitor
        .post_form(
            &format!("/studies/{study}/members"),
            &[
                ("email", "tess@example.org"),
                ("display_name", "Tess"),
                ("co_designer", "on"),
                ("perspective", "carer"),
            ],
        )
        .await;
    assert_eq!(invited.status(), StatusCode::SEE_OTHER);
    client.goto(&app.url("/studies")).await.unwrap();
    wait_for_text(client, "h2", "You are invited").await;
    audit.check(client, "studies with an invitation").await;
    client
        .find(Locator::XPath(
            "//button[starts-with(normalize-space(), 'Accept')]",
        ))
        .await
        .unwrap()
        .send_keys(&Key::Enter)
        .await
        .unwrap();
    wait_for_text(client, "h1", "Carers' voices").await;

    client
        .find(Locator::XPath(
            "//header//button[normalize-space()='Sign out']",
        ))
        .await
        .unwrap()
        .send_keys(&Key::Enter)
        .await
        .unwrap();
    wait_for_text(client, ".nhsuk-notification-banner", "You have signed out.").await;
}

/// A co-designer builds a small questionnaire by keyboard alone, from a new study to a moved question,
/// and every questionnaire page is scanned: the editor, the question form (also with its errors), the
/// section form, history, comments, information and consent, and versions.
async fn questionnaire_flow(client: &Client, app: &TestApp, audit: &mut Audit) {
    client.goto(&app.url("/login")).await.unwrap();
    type_into(client, "#email", "admin@example.org").await;
    type_into(client, "#password", &(PASSWORD.to_string() + &Key::Enter)).await;
    wait_for_text(client, "h1", "Hello, Test Person").await;

    client.goto(&app.url("/studies/new")).await.unwrap();
    type_into(
        client,
        "#title",
        &("Involvement in improvement".to_string() + &Key::Enter),
    )
    .await;
    wait_for_text(client, "h1", "Involvement in improvement").await;
    follow(
        client,
        "//main//a[normalize-space()='Create a questionnaire']",
    )
    .await;
    wait_for_text(client, "h1", "questionnaire").await;
    type_into(
        client,
        "#title",
        &("Interview guide".to_string() + &Key::Enter),
    )
    .await;
    wait_for_text(client, "h1", "Interview guide").await;
    let editor = client.current_url().await.unwrap();

    follow(client, "//main//a[normalize-space()='Add a section']").await;
    wait_for(client, "#introduction").await;
    audit.check(client, "section form").await;
    type_into(
        client,
        "#title",
        &("Your experience".to_string() + &Key::Enter),
    )
    .await;
    wait_for_text(client, "h2", "Your experience").await;

    follow(
        client,
        "//main//a[starts-with(normalize-space(), 'Add a question')]",
    )
    .await;
    wait_for_text(client, "h1", "Add a question").await;
    audit.check(client, "question form").await;
    submit(client, "Add question").await;
    wait_for(client, "[data-error-summary]").await;
    wait_for(client, "#text-error").await;
    audit.check(client, "question form errors").await;
    type_into(
        client,
        "#text",
        "Have you taken part in an improvement project?",
    )
    .await;
    type_into(client, "#kind-single_choice", " ").await;
    type_into(client, "#options", &format!("Yes{}No", Key::Enter)).await;
    submit(client, "Add question").await;
    wait_for_text(client, ".question-card__text", "Have you taken part").await;

    follow(
        client,
        "//main//a[starts-with(normalize-space(), 'Add a question')]",
    )
    .await;
    wait_for_text(client, "h1", "Add a question").await;
    // Only the fields a kind uses show: Likert labels come ready, free text has no options box.
    type_into(client, "#kind-likert", " ").await;
    let options = client.find(Locator::Css("#options")).await.unwrap();
    let labels = options.prop("value").await.unwrap().unwrap_or_default();
    assert!(labels.starts_with("Strongly disagree"), "{labels}");
    type_into(client, "#kind-long_text", " ").await;
    assert!(
        !options.is_displayed().await.unwrap(),
        "no options for free text"
    );
    type_into(client, "#text", "What helped you take part?").await;
    type_into(client, "#probes", "Can you give me an example?").await;
    submit(client, "Add question").await;
    wait_for_text(client, ".question-card__text", "What helped you").await;

    // The second question goes first: its moves are behind "More", opened by keyboard.
    open_more(client, 2).await;
    let move_up = client
        .find(Locator::XPath(
            "//li[contains(@class, 'question-card')]//button[starts-with(normalize-space(), 'Move up')]",
        ))
        .await
        .expect("a Move up button on the second question");
    move_up.send_keys(&Key::Enter).await.unwrap();
    wait_for_text(
        client,
        ".nhsuk-notification-banner",
        "The question is moved.",
    )
    .await;
    let first = client
        .find(Locator::Css(".question-card__text"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(first, "What helped you take part?", "Move up moved it");
    audit.check(client, "questionnaire editor").await;

    // A section has a page of its own, reached from the contents.
    follow(
        client,
        "//nav[contains(@class, 'editor-contents')]//a[normalize-space()='Your experience']",
    )
    .await;
    wait_for_text(client, "h1", "Interview guide").await;
    wait_for_text(client, "main [aria-current=page]", "Your experience").await;
    audit
        .check(client, "questionnaire editor, one section")
        .await;

    open_more(client, 1).await;
    follow(client, "(//li[contains(@class, 'question-card')]//a[starts-with(normalize-space(), 'History')])[1]").await;
    wait_for_text(client, "h1", "History").await;
    audit.check(client, "question history").await;

    client.goto(editor.as_str()).await.unwrap();
    follow(client, "(//li[contains(@class, 'question-card')]//a[starts-with(normalize-space(), 'Comments')])[1]").await;
    wait_for(client, "#body").await;
    type_into(client, "#body", "Could we ask for an example first?").await;
    submit(client, "Post comment").await;
    wait_for_text(
        client,
        ".nhsuk-notification-banner",
        "Your comment is posted.",
    )
    .await;
    audit.check(client, "question comments").await;

    client.goto(editor.as_str()).await.unwrap();
    follow(
        client,
        "//main//a[normalize-space()='Information and consent']",
    )
    .await;
    wait_for_text(client, "h1", "nformation").await;
    audit.check(client, "information and consent").await;

    client.goto(editor.as_str()).await.unwrap();
    follow(
        client,
        "//main//a[normalize-space()='Sign-off and versions']",
    )
    .await;
    wait_for_text(client, "h1", "ersion").await;
    audit.check(client, "sign-off and versions").await;
}

/// The lead's roster, campaign and link pages, and what a participant meets by their links. The study
/// is built through the API; the pages are visited as the lead and as a participant with no account.
async fn distribution_flow(client: &Client, app: &TestApp, audit: &mut Audit) {
    use crate::distribution::{published_study, Caller};
    let (study, questionnaire, version) = published_study(app).await;
    let lead = Caller::new(app, "lead@example.org").await;
    let (_, pat) = lead
        .call(
            Method::POST,
            &format!("/api/v1/studies/{study}/participants"),
            Some(json!({ "name": "Pat", "email": "pat@example.org", "group": "carer" })),
        )
        .await;
    let pat = pat["id"].as_i64().unwrap();
    let (_, campaign) = lead
        .call(
            Method::POST,
            &format!("/api/v1/studies/{study}/campaigns"),
            Some(crate::distribution::campaign_body(version)),
        )
        .await;
    let campaign = campaign["id"].as_i64().unwrap();
    lead.call(
        Method::POST,
        &format!("/api/v1/studies/{study}/campaigns/{campaign}/launch"),
        None,
    )
    .await;

    submit_header(client, "Sign out").await;
    wait_for(client, "#email").await;
    type_into(client, "#email", "lead@example.org").await;
    type_into(client, "#password", &(PASSWORD.to_string() + &Key::Enter)).await;
    wait_for_text(client, "h1", "Hello").await;
    let pages = [
        (format!("/studies/{study}"), "study page with its task list"),
        (format!("/studies/{study}/participants"), "roster"),
        (
            format!("/studies/{study}/participants/new"),
            "add a participant",
        ),
        (
            format!("/studies/{study}/participants/{pat}"),
            "a participant",
        ),
        (
            format!("/studies/{study}/participants/import"),
            "import participants",
        ),
        (format!("/studies/{study}/campaigns"), "campaigns"),
        (
            format!("/studies/{study}/campaigns/{campaign}"),
            "campaign and tracking",
        ),
        (
            format!("/studies/{study}/campaigns/{campaign}/edit"),
            "campaign form",
        ),
        (
            format!("/studies/{study}/campaigns/{campaign}/preview"),
            "email preview",
        ),
        (
            format!("/studies/{study}/campaigns/{campaign}/close"),
            "closing a campaign: what will happen",
        ),
        (
            format!("/studies/{study}/participants/{pat}/timeline"),
            "participant timeline",
        ),
        (
            format!("/studies/{study}/participants/{pat}/subject-access"),
            "subject access copy",
        ),
        (
            format!("/studies/{study}/questionnaires/{questionnaire}/open-links"),
            "open links",
        ),
    ];
    for (path, name) in &pages {
        client.goto(&app.url(path)).await.unwrap();
        wait_for(client, "h1").await;
        audit.check(client, name).await;
    }
    client
        .goto(&app.url(&format!("/studies/{study}/campaigns/new")))
        .await
        .unwrap();
    wait_for(client, "#name").await;
    submit(client, "Save").await;
    wait_for(client, "[data-error-summary]").await;
    audit.check(client, "campaign form errors").await;

    // What a participant meets: their link, the opt-out page, a link not recognised, an open link.
    let email = app.wait_for_email("pat@example.org").await;
    let joined = email
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    let opt_out = crate::helpers::value_after(&joined, "/o/")
        .expect("an opt-out link")
        .trim_end_matches('>')
        .to_string();
    let respond = crate::helpers::value_after(&joined, "/p/").expect("a link to take part");
    let (_, open) = lead
        .call(
            Method::POST,
            &format!("/api/v1/studies/{study}/questionnaires/{questionnaire}/open-links"),
            Some(json!({ "closes_on": "2099-12-31" })),
        )
        .await;
    let open = open["link"].as_str().unwrap().to_string();
    for (url, name, heading) in [
        (
            app.url(&format!("/p/{respond}")),
            "taking part: information",
            "Your experience",
        ),
        (
            app.url(&format!("/o/{opt_out}")),
            "stop emails",
            "Stop emails",
        ),
        (
            app.url("/p/not-a-real-link"),
            "link not recognised",
            "We do not recognise",
        ),
        (open, "joining by an open link", "Take part"),
    ] {
        client.goto(&url).await.unwrap();
        wait_for_text(client, "h1", heading).await;
        audit.check(client, name).await;
    }
    submit(client, "Start").await;
    wait_for_text(client, "h1", "Your experience").await;
}

/// A staff member answers the whole sample questionnaire on a small phone, by keyboard alone: the
/// information, consent (with its errors), every page (with errors), review, sending, support and
/// withdrawal, each scanned by axe.
async fn participant_flow(client: &Client, audit: &mut Audit) {
    use crate::responses::{sample_study, Participant};
    let app = spawn_app(Backend::Sqlite).await;
    let (study, questionnaire, _) = sample_study(&app).await;
    let alex = Participant::join(&app, study, questionnaire, "staff").await;
    set_inner_width(client, PHONE).await;
    client.goto(&app.url(&alex.home)).await.unwrap();
    wait_for_text(client, "h1", "Partnering with service users and carers").await;
    scan_on_phone(client, audit, "information").await;
    follow(client, "//main//a[normalize-space()='Continue']").await;
    wait_for_text(client, "h1", "Your consent").await;
    scan_on_phone(client, audit, "consent").await;
    submit(client, "I agree – start").await;
    wait_for(client, "[data-error-summary]").await;
    scan_on_phone(client, audit, "consent errors").await;
    for statement in ["#statement_1", "#statement_2"] {
        type_into(client, statement, " ").await;
    }
    submit(client, "I agree – start").await;
    wait_for_text(client, "h1", "About you").await;
    scan_on_phone(client, audit, "question page").await;
    submit(client, "Save and continue").await;
    wait_for(client, "[data-error-summary]").await;
    scan_on_phone(client, audit, "question errors").await;
    type_into(client, "input[type=text]", "Ward manager").await;
    // Enter on a radio does not choose it; Space does, as for any keyboard user.
    type_into(client, "#main fieldset input[value='Yes']", " ").await;
    submit(client, "Save and continue").await;
    wait_for_text(client, "h1", "Knowing how").await;
    type_into(client, "textarea", "Time to prepare,\nand someone to ask.").await;
    for heading in [
        "Having the chance",
        "Wanting to",
        "Ideas for change, and close",
    ] {
        submit(client, "Save and continue").await;
        wait_for_text(client, "h1", heading).await;
    }
    submit(client, "Save and continue").await;
    wait_for_text(client, "h1", "Check your answers").await;
    wait_for_text(client, "main", "Ward manager").await;
    scan_on_phone(client, audit, "review").await;
    submit(client, "Send my answers").await;
    wait_for_text(client, "h1", "Thank you").await;
    scan_on_phone(client, audit, "thank-you page").await;
    follow(client, "//a[normalize-space()='Need support?']").await;
    wait_for_text(client, "h1", "Need support?").await;
    scan_on_phone(client, audit, "support").await;
    client
        .goto(&app.url(&format!("{}/my-consent", alex.home)))
        .await
        .unwrap();
    wait_for_text(client, "h1", "What you agreed to").await;
    scan_on_phone(client, audit, "copy of consent").await;
    client
        .goto(&app.url(&format!("{}/withdraw", alex.home)))
        .await
        .unwrap();
    wait_for_text(client, "h1", "Withdraw from the study").await;
    scan_on_phone(client, audit, "withdrawal").await;
    submit(client, "Withdraw from the study").await;
    wait_for_text(client, "h1", "You have withdrawn").await;
    scan_on_phone(client, audit, "withdrawn").await;
    set_inner_width(client, WIDE).await;
}

/// The axe and reflow checks, then back to the phone's width the participant uses.
async fn scan_on_phone(client: &Client, audit: &mut Audit, name: &str) {
    check_on_phone(client, audit, &format!("participant: {name}")).await;
}

async fn check_on_phone(client: &Client, audit: &mut Audit, name: &str) {
    audit.check(client, name).await;
    set_inner_width(client, PHONE).await;
}

/// Presses a button outside the main content (the header's Sign out), by keyboard.
async fn submit_header(client: &Client, text: &str) {
    follow(client, &format!("//button[normalize-space()='{text}']")).await;
}

/// Follows a link as a keyboard user does: focus it, press Enter.
async fn follow(client: &Client, xpath: &str) {
    let Ok(found) = client.find(Locator::XPath(xpath)).await else {
        let at = client.current_url().await.map(|u| u.to_string());
        panic!("no {xpath} on the page at {at:?}");
    };
    found.send_keys(&Key::Enter).await.unwrap();
}

/// Presses Enter on the form's submit button with this text (a textarea would take Enter as a newline).
async fn submit(client: &Client, text: &str) {
    follow(
        client,
        &format!("//main//button[normalize-space()='{text}']"),
    )
    .await;
}

/// The no-JavaScript session signs in and follows links, all by keyboard.
async fn works_without_javascript(client: &Client, app: &TestApp) {
    client.goto(&app.url("/login")).await.unwrap();
    type_into(client, "#email", &Key::Enter).await;
    wait_for(client, "[data-error-summary]").await;
    assert_eq!(
        active_element_attr(client, "data-error-summary").await,
        None,
        "voices.js ran, so JavaScript is not really off"
    );
    type_into(client, "#email", "admin@example.org").await;
    type_into(client, "#password", &(PASSWORD.to_string() + &Key::Enter)).await;
    wait_for_text(client, "h1", "Hello, Test Person").await;
    let account = client
        .find(Locator::XPath(
            "//main//a[normalize-space()='Your account']",
        ))
        .await
        .unwrap();
    account.send_keys(&Key::Enter).await.unwrap();
    wait_for_text(client, "h1", "Your account").await;
}

/// The interview pages as a lead and an interviewer meet them, by keyboard, each scanned by axe and at
/// 320 px: the schedule (empty, with an interview, with a follow-up), the assign form and its errors, an
/// interview, verbal consent and its errors, the live guide, the pause after the distress button,
/// closing and its errors, the completed interview, and its field notes changed later.
/// An analyst's codebook: the seeded tree, adding a code (with its errors), changing it, merging
/// (with its error) and the history; then the exports and closed-question pages (with a published
/// guide).
async fn codebook_flow(client: &Client, audit: &mut Audit) {
    let app = spawn_app(Backend::Sqlite).await;
    let (team, _) = team_with_guide(&app).await;
    let codebook = format!("/studies/{}/codebook", team.study);
    sign_in(client, &app.address, "analyst@example.org").await;
    client.goto(&app.url(&codebook)).await.unwrap();
    wait_for_text(client, "h1", "Codebook").await;
    audit.check(client, "codebook").await;
    follow(client, "//main//a[normalize-space()='Add a code']").await;
    wait_for_text(client, "h1", "Add a code").await;
    audit.check(client, "codebook: add a code").await;
    submit(client, "Add the code").await;
    wait_for(client, "[data-error-summary]").await;
    audit.check(client, "codebook: add a code, errors").await;
    type_into(client, "#name", "Jargon in meeting papers").await;
    submit(client, "Add the code").await;
    wait_for_text(client, "main", "Jargon in meeting papers").await;
    follow(
        client,
        "//main//a[starts-with(normalize-space(), 'Change or move') and contains(., 'Jargon')]",
    )
    .await;
    wait_for_text(client, "h1", "Change Jargon").await;
    audit.check(client, "codebook: change a code").await;
    client.goto(&app.url(&codebook)).await.unwrap();
    follow(
        client,
        "//main//a[starts-with(normalize-space(), 'Merge') and contains(., 'Jargon')]",
    )
    .await;
    wait_for_text(client, "h1", "Merge Jargon").await;
    submit(client, "Merge the codes").await;
    wait_for(client, "[data-error-summary]").await;
    audit.check(client, "codebook: merge, errors").await;
    client
        .goto(&app.url(&format!("{codebook}/history")))
        .await
        .unwrap();
    wait_for_text(client, "h1", "Codebook history").await;
    audit.check(client, "codebook: history").await;
    client
        .goto(&app.url(&format!("/studies/{}/exports", team.study)))
        .await
        .unwrap();
    wait_for_text(client, "h1", "Exports").await;
    audit.check(client, "exports").await;
    client
        .goto(&app.url(&format!("/studies/{}/closed?shared=true", team.study)))
        .await
        .unwrap();
    wait_for_text(client, "h1", "Closed questions").await;
    audit.check(client, "closed questions").await;
    // On a phone every chart label still renders at 12 px or more (the chart scrolls instead).
    set_inner_width(client, PHONE).await;
    let smallest = client
        .execute(
            "const sizes = [...document.querySelectorAll('svg.chart__svg text')].map(t => { \
               const svg = t.ownerSVGElement; \
               const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width; \
               return parseFloat(getComputedStyle(t).fontSize) * scale; }); \
             return sizes.length ? Math.min(...sizes) : null;",
            vec![],
        )
        .await
        .unwrap();
    let smallest = smallest.as_f64().expect("charts with labels on the page");
    assert!(
        smallest >= 12.0,
        "a chart label renders {smallest} px high on a phone"
    );
    set_inner_width(client, WIDE).await;
    submit_header(client, "Sign out").await;
    wait_for(client, "#email").await;
}

/// Coding (selecting words fills the form in, exact in multi-byte text around coded passages) and the
/// framework matrix, as an analyst.
async fn analysis_flow(client: &Client, audit: &mut Audit) {
    let app = spawn_app(Backend::Sqlite).await;
    let fixture = coded_three(&app).await;
    let study = fixture.team.study;
    sign_in(client, &app.address, "analyst@example.org").await;
    client
        .goto(&app.url(&format!("/studies/{study}/coding")))
        .await
        .unwrap();
    wait_for_text(client, "h1", "Coding").await;
    audit.check(client, "coding: where it stands").await;
    let barriers = fixture.question("What gets in the way");
    client
        .goto(&app.url(&format!("/studies/{study}/coding/questions/{barriers}")))
        .await
        .unwrap();
    wait_for_text(client, "h1", "What gets in the way").await;
    audit.check(client, "coding: one question").await;

    // Selecting words after two coded passages (their [1,2] numbers are not text) fills in the form.
    let selected = client
        .execute(
            "const source = document.querySelector('[data-source-text]');
             const walker = document.createTreeWalker(source, NodeFilter.SHOW_TEXT);
             let node;
             while ((node = walker.nextNode())) {
               const at = node.data.indexOf(arguments[0]);
               if (at >= 0) {
                 const range = document.createRange();
                 range.setStart(node, at);
                 range.setEnd(node, at + arguments[0].length);
                 window.getSelection().removeAllRanges();
                 window.getSelection().addRange(range);
                 source.dispatchEvent(new MouseEvent('mouseup', { bubbles: true }));
                 const form = source.closest('.source').querySelector('[data-coding-form]');
                 return [form.querySelector('[data-passage]').value,
                         form.querySelector('[data-from]').value, form.querySelector('[data-to]').value];
               }
             }
             return null;",
            vec![json!("for most carers")],
        )
        .await
        .unwrap();
    assert_eq!(selected, json!(["for most carers", "31", "45"]));
    client
        .find(Locator::Css(".source [name=valence][value=barrier]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .find(Locator::Css(".source [name=code]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // One press codes it, in place: the page is not loaded again, so the coder keeps their place.
    client
        .execute("window.stillThisPage = true;", vec![])
        .await
        .unwrap();
    submit(client, "Code the passage").await;
    wait_for_text(client, ".source", "The passage is coded.").await;
    wait_for_text(client, ".source mark", "for most carers").await;
    let same_page = client
        .execute("return window.stillThisPage === true;", vec![])
        .await
        .unwrap();
    assert_eq!(same_page, json!(true), "coded without a reload");
    audit.check(client, "coding: a passage coded").await;
    follow(
        client,
        "//main//summary[starts-with(normalize-space(), 'Code a passage')]",
    )
    .await;
    submit(client, "Code the passage").await;
    wait_for(client, "[data-error-summary]").await;
    wait_for(client, ".source .nhsuk-error-message").await;
    audit.check(client, "coding: errors beside the form").await;

    for (path, heading, name) in [
        ("matrix", "Framework matrix", "matrix"),
        (
            "matrix/cell?row=staff&column=O-PHY",
            "Staff: Physical opportunity",
            "matrix: a cell",
        ),
        ("matrix/tables", "Tables for reports", "matrix: tables"),
        ("report", "What we learned", "learning report"),
        ("memos", "Memos", "memos"),
        (
            "memos/new?subject=response&subject_id=RESPONSE",
            "Write a memo",
            "memos: a new one",
        ),
        (
            "beliefs/new",
            "Write a belief statement",
            "beliefs: choose a code",
        ),
    ] {
        let path = path.replace("RESPONSE", &fixture.people[0].response_id.to_string());
        client
            .goto(&app.url(&format!("/studies/{study}/{path}")))
            .await
            .unwrap();
        wait_for_text(client, "h1", heading).await;
        audit.check(client, name).await;
    }

    // A memo with its errors, then saved; a belief statement from a code's passages.
    client
        .goto(&app.url(&format!("/studies/{study}/memos")))
        .await
        .unwrap();
    submit(client, "Save the memo").await;
    wait_for(client, "[data-error-summary]").await;
    audit.check(client, "memos: errors beside the form").await;
    type_into(client, "#body", "Carers keep naming time.").await;
    submit(client, "Save the memo").await;
    wait_for_text(client, "main", "The memo is saved.").await;
    audit.check(client, "memos: one saved").await;
    client
        .goto(&app.url(&format!("/studies/{study}/beliefs/new")))
        .await
        .unwrap();
    client
        .find(Locator::Css("[name=code]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    submit(client, "Continue").await;
    wait_for(client, "#statement").await;
    submit(client, "Save the belief statement").await;
    wait_for(client, "[data-error-summary]").await;
    audit.check(client, "beliefs: errors beside the form").await;
    type_into(client, "#statement", "Meetings are not set for us").await;
    submit(client, "Save the belief statement").await;
    wait_for_text(client, "main", "The belief statement is saved.").await;
    audit.check(client, "beliefs").await;
    submit_header(client, "Sign out").await;
    wait_for(client, "#email").await;
}

async fn tracker_flow(client: &Client, audit: &mut Audit) {
    let app = spawn_app(Backend::Sqlite).await;
    let team = StudyTeam::new(&app).await;
    let tracker = format!("/studies/{}/tracker", team.study);
    let api = format!("/api/v1{tracker}/projects");
    let (_, project) = team
        .analyst
        .call(
            Method::POST,
            &api,
            Some(json!({ "name": "Safer discharge", "service": "Community",
                "started_on": "2026-06-01", "stage_reached": "aims" })),
        )
        .await;
    team.analyst
        .call(
            Method::PUT,
            &format!("{api}/{}/stages", project["id"]),
            Some(
                json!({ "stages": [{ "stage": "aims", "reached_on": "2026-08-01",
                "involvement_level": "co_produced", "suc_core_members": 1,
                "decisions_influenced": "Aim wording" }] }),
            ),
        )
        .await;
    sign_in(client, &app.address, "analyst@example.org").await;
    client.goto(&app.url(&tracker)).await.unwrap();
    wait_for_text(client, "h1", "Involvement tracker").await;
    wait_for(client, "svg[role='img']").await;
    audit.check(client, "tracker with its run chart").await;
    follow(client, "//main//a[normalize-space()='Add a project']").await;
    wait_for_text(client, "h1", "Add a project").await;
    submit(client, "Add the project").await;
    wait_for(client, "[data-error-summary]").await;
    audit.check(client, "tracker: add a project, errors").await;
    client
        .goto(&app.url(&format!("{tracker}/{}/stages", project["id"])))
        .await
        .unwrap();
    wait_for_text(client, "h1", "Stages of Safer discharge").await;
    audit.check(client, "tracker: stages").await;
    client
        .goto(&app.url(&format!("{tracker}/rule")))
        .await
        .unwrap();
    wait_for_text(client, "h1", "The rule").await;
    audit.check(client, "tracker: rule").await;
    submit_header(client, "Sign out").await;
    wait_for(client, "#email").await;
}

async fn interview_flow(client: &Client, audit: &mut Audit) {
    let app = spawn_app(Backend::Sqlite).await;
    let (team, version) = team_with_guide(&app).await;
    let schedule = format!("/studies/{}/interviews", team.study);

    sign_in(client, &app.address, "lead@example.org").await;
    client.goto(&app.url(&schedule)).await.unwrap();
    wait_for_text(client, "h1", "Interviews").await;
    audit.check(client, "interviews: empty schedule").await;
    follow(client, "//main//a[normalize-space()='Assign an interview']").await;
    wait_for_text(client, "h1", "Assign an interview").await;
    audit.check(client, "interviews: assign form").await;
    submit(client, "Assign the interview").await;
    wait_for(client, "[data-error-summary]").await;
    audit.check(client, "interviews: assign form errors").await;

    let interview = assign_over_http(&team, version).await;
    client.goto(&app.url(&schedule)).await.unwrap();
    wait_for_text(client, "main table", "Sam Example").await;
    audit.check(client, "interviews: schedule").await;
    client.goto(&app.url(&interview)).await.unwrap();
    wait_for_text(client, "h1", "Interview with").await;
    audit
        .check(client, "interviews: a scheduled interview, as lead")
        .await;

    submit_header(client, "Sign out").await;
    wait_for(client, "#email").await;
    sign_in(client, &app.address, "interviewer@example.org").await;
    client.goto(&app.url(&schedule)).await.unwrap();
    wait_for_text(client, "h1", "Your interviews").await;
    audit
        .check(client, "interviews: an interviewer's schedule")
        .await;
    follow(client, &format!("//main//a[@href='{interview}']")).await;
    wait_for_text(client, "h1", "Interview with").await;
    audit
        .check(client, "interviews: a scheduled interview")
        .await;

    follow(
        client,
        "//main//a[normalize-space()='Start: record verbal consent']",
    )
    .await;
    wait_for_text(client, "h1", "Verbal consent").await;
    audit.check(client, "interviews: verbal consent").await;
    submit(client, "Record consent").await;
    wait_for(client, "[data-error-summary]").await;
    audit
        .check(client, "interviews: verbal consent errors")
        .await;
    // Space chooses a radio or ticks a box, as for any keyboard user.
    let yes = client
        .find_all(Locator::Css("input[type=radio][value=yes]"))
        .await
        .unwrap();
    assert!(yes.len() >= 2, "a Yes for each consent statement");
    for radio in yes {
        radio.send_keys(" ").await.unwrap();
    }
    type_into(client, "#attested", " ").await;
    submit(client, "Record consent").await;
    wait_for_text(client, "h1", "About you").await;
    audit.check(client, "interviews: live guide").await;

    // Notes saved by the Save button after another device saved the same question: the page shows
    // both, as it does without the script.
    let first = client
        .find(Locator::Css("textarea[data-notes]"))
        .await
        .unwrap()
        .attr("name")
        .await
        .unwrap()
        .unwrap();
    let first: i64 = first.trim_start_matches("notes-").parse().unwrap();
    let (status, body) = team
        .interviewer
        .call(
            Method::PUT,
            &format!("/api/v1{interview}/notes/{first}"),
            Some(json!({ "notes": "Noted on the tablet", "answer": "", "status": "", "revision": 0 })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    type_into(
        client,
        &format!("#notes-{first}"),
        "Works on the ward; “no one asked me before”.",
    )
    .await;
    submit(client, "Save question 1").await;
    wait_for_text(client, "[data-theirs]", "Noted on the tablet").await;
    audit
        .check(client, "interviews: live guide, conflict from the server")
        .await;
    // An empty quick note is not for the script: the server sends the guide back with the error.
    submit(client, "Save the note").await;
    wait_for(client, "#moment-body-error").await;
    audit
        .check(client, "interviews: live guide, quick note errors")
        .await;
    type_into(client, "#moment-body", "They asked us at the start").await;
    submit(client, "Save the note").await;
    wait_for_text(client, "[data-moments]", "They asked us at the start").await;

    submit(client, "Pause: participant distressed").await;
    wait_for_text(client, "h1", "The interview is paused").await;
    audit
        .check(client, "interviews: paused after the distress button")
        .await;
    client.goto(&app.url(&schedule)).await.unwrap();
    wait_for_text(client, "h2", "Follow-ups to do").await;
    audit
        .check(client, "interviews: schedule with a follow-up")
        .await;
    client
        .goto(&app.url(&format!("{interview}/paused")))
        .await
        .unwrap();
    wait_for_text(client, "h1", "The interview is paused").await;
    submit(client, "Resume the interview").await;
    wait_for_text(client, "h1", "About you").await;

    submit(client, "Save and close the interview").await;
    wait_for_text(client, "h1", "Close the interview").await;
    audit.check(client, "interviews: close form").await;
    submit(client, "Complete the interview").await;
    wait_for(client, "[data-error-summary]").await;
    audit.check(client, "interviews: close form errors").await;
    for (field, text) in [
        ("#setting", "By phone, participant at home"),
        ("#people_present", "None"),
        ("#interruptions", "A doorbell at minute 12"),
        ("#rapport", "Warm"),
        ("#recording_quality", "Notes only, full"),
        ("#reflections", "Strong sense of being asked too late"),
    ] {
        type_into(client, field, text).await;
    }
    submit(client, "Complete the interview").await;
    wait_for_text(client, "main", "A doorbell at minute 12").await;
    wait_for_text(client, "main .nhsuk-tag", "Completed").await;
    audit
        .check(client, "interviews: a completed interview")
        .await;

    follow(
        client,
        "//main//a[normalize-space()='Change the field notes']",
    )
    .await;
    wait_for_text(client, "h1", "Change the field notes").await;
    audit
        .check(client, "interviews: changing the field notes")
        .await;
    type_into(client, "#rapport", ", then tired after 40 minutes").await;
    submit(client, "Save the field notes").await;
    wait_for_text(client, "h2", "Changes after completion").await;
    audit
        .check(client, "interviews: a completed interview with changes")
        .await;
}

/// "Never lose a note", in a real browser: notes typed while the connection is cut are kept on the
/// device, shown as not yet saved, and stored exactly once it returns; a draft typed offline comes back
/// after a reload; and a note another device saved in between is shown beside this one to choose from.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interview_notes_survive_a_lost_connection_a_reload_and_a_conflict() {
    let Some(axe) = prerequisites() else {
        return;
    };
    let _one = ONE_BROWSER.lock().await;
    // PostgreSQL when configured: the SQLite side is covered by the page scans above.
    let app = match spawn_postgres_app(|_| {}).await {
        Some(app) => app,
        None => spawn_app(Backend::Sqlite).await,
    };
    let (team, version) = team_with_guide(&app).await;
    let interview = assign_over_http(&team, version).await;
    consent_over_http(&team, &interview).await;
    // The browser reaches the app through a proxy that can cut it off, for the reload.
    let proxy = Proxy::start(&app.address);
    let driver = Chromedriver::start();
    let browser = Browser::open(&driver, true).await;
    let mut audit = Audit {
        axe,
        problems: Vec::new(),
    };
    browser
        .run(async {
            let guide = Guide::open(&browser.client, &proxy.origin, &team, &interview).await;
            guide.never_hides_focus_under_its_bar().await;
            guide.survives_a_lost_connection(&mut audit).await;
            guide.survives_a_reload_while_offline(&proxy).await;
            guide
                .shows_a_conflict_and_keeps_the_choice(&mut audit)
                .await;
        })
        .await;
    assert!(
        audit.problems.is_empty(),
        "accessibility problems:\n{}",
        audit.problems.join("\n")
    );
}

/// On a question page "Need support?" and "Pause and come back later" keep what was typed, Enter in a
/// text box still saves and goes on, and typing never sent is put back when the page is opened again
/// (answers.js), then forgotten once the page is saved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_answers_survive_support_pause_and_a_lost_page() {
    use crate::responses::{sample_study, Participant};
    let Some(axe) = prerequisites() else {
        return;
    };
    let _one = ONE_BROWSER.lock().await;
    let app = spawn_app(Backend::Sqlite).await;
    let (study, questionnaire, _) = sample_study(&app).await;
    let kim = Participant::join(&app, study, questionnaire, "staff").await;
    kim.consent().await;
    let driver = Chromedriver::start();
    let browser = Browser::open(&driver, true).await;
    let mut audit = Audit {
        axe,
        problems: Vec::new(),
    };
    let page_one = app.url(&format!("{}/page/1", kim.home));
    let role = "#main input[type=text]";
    browser
        .run(async {
            let client = &browser.client;
            set_inner_width(client, PHONE).await;
            client.goto(&page_one).await.unwrap();
            wait_for_text(client, "h1", "About you").await;
            type_into(client, role, "Ward manager").await;
            follow(client, "//nav//button[normalize-space()='Need support?']").await;
            wait_for_text(client, "h1", "Need support?").await;
            follow(
                client,
                "//main//a[normalize-space()='Go back to the questionnaire']",
            )
            .await;
            wait_for_text(client, "h1", "About you").await;
            assert_eq!(value_of(client, role).await, "Ward manager");

            // Typed, never sent, and the page lost: it comes back from this device, and says so.
            type_into(client, role, ", nights").await;
            client.goto(&page_one).await.unwrap();
            wait_for(client, "[data-draft-restored]:not([hidden])").await;
            assert_eq!(value_of(client, role).await, "Ward manager, nights");
            audit.check(client, "participant: typing put back").await;
            set_inner_width(client, PHONE).await;

            follow(
                client,
                "//nav//button[normalize-space()='Pause and come back later']",
            )
            .await;
            wait_for_text(client, "h1", "Your answers are saved").await;
            client.goto(&page_one).await.unwrap();
            wait_for_text(client, "h1", "About you").await;
            assert_eq!(value_of(client, role).await, "Ward manager, nights");
            let kept = client
                .execute(
                    "return Object.keys(localStorage).filter(k => k.startsWith('voices-answers-')).length",
                    vec![],
                )
                .await
                .unwrap();
            assert_eq!(kept, json!(0), "a saved page's typing is forgotten");
            assert!(
                client
                    .find(Locator::Css("[data-draft-restored][hidden]"))
                    .await
                    .is_ok(),
                "nothing to put back once saved"
            );

            // Enter in a text box is still "Save and continue", not the bar's first button.
            type_into(client, "#main fieldset input[value='Yes']", " ").await;
            type_into(client, role, &Key::Enter).await;
            wait_for_text(client, "h1", "Knowing how").await;
            set_inner_width(client, WIDE).await;
        })
        .await;
    assert!(
        audit.problems.is_empty(),
        "accessibility problems:\n{}",
        audit.problems.join("\n")
    );
}

async fn value_of(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|_| panic!("no {css} on the page"))
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default()
}

/// The live guide's section 3 (three questions with notes), open in the browser as the interviewer.
struct Guide<'a> {
    client: &'a Client,
    /// Where the browser reaches the app.
    origin: &'a str,
    team: &'a StudyTeam,
    interview: &'a str,
    path: String,
    questions: Vec<i64>,
}

impl<'a> Guide<'a> {
    async fn open(
        client: &'a Client,
        origin: &'a str,
        team: &'a StudyTeam,
        interview: &'a str,
    ) -> Guide<'a> {
        sign_in(client, origin, "interviewer@example.org").await;
        let path = format!("{interview}/guide/3");
        client.goto(&format!("{origin}{path}")).await.unwrap();
        wait_for_text(client, "h1", "Having the chance").await;
        let mut questions = Vec::new();
        for notes in client
            .find_all(Locator::Css("textarea[data-notes]"))
            .await
            .unwrap()
        {
            let name = notes.attr("name").await.unwrap().unwrap();
            questions.push(name.trim_start_matches("notes-").parse().unwrap());
        }
        assert_eq!(questions.len(), 3, "section 3 has three questions");
        Guide {
            client,
            origin,
            team,
            interview,
            path,
            questions,
        }
    }

    /// Tabbing backwards from the end of the page through every control, at several window widths,
    /// no focused control is even partly under the sticky bar (WCAG 2.2 2.4.11 asks for not wholly).
    async fn never_hides_focus_under_its_bar(&self) {
        const UNDER_THE_BAR: &str = r#"
            const bar = document.querySelector('.guide__bar');
            const el = document.activeElement;
            if (!el || el === document.body || bar.contains(el)) return null;
            if (getComputedStyle(bar).position !== 'sticky') return null;
            const b = bar.getBoundingClientRect(), r = el.getBoundingClientRect();
            if (r.width === 0 && r.height === 0) return null;
            return r.bottom > b.top && r.top < b.bottom - 1 ? el.outerHTML.slice(0, 120) + ' top ' + r.top + ' under ' + b.bottom : null;
        "#;
        let client = self.client;
        for width in [WIDE, 1024, 800, NARROW] {
            set_inner_width(client, width).await;
            client
                .goto(&format!("{}{}", self.origin, self.path))
                .await
                .unwrap();
            wait_for_text(client, "h1", "Having the chance").await;
            client
                .execute(
                    "window.scrollTo(0, document.body.scrollHeight); document.body.focus();",
                    vec![],
                )
                .await
                .unwrap();
            let mut hidden = Vec::new();
            let mut stops = 0;
            loop {
                let keys = KeyActions::new("keyboard".into())
                    .then(KeyAction::Down {
                        value: Key::Shift.into(),
                    })
                    .then(KeyAction::Down {
                        value: Key::Tab.into(),
                    })
                    .then(KeyAction::Up {
                        value: Key::Tab.into(),
                    })
                    .then(KeyAction::Up {
                        value: Key::Shift.into(),
                    });
                client.perform_actions(keys).await.unwrap();
                stops += 1;
                let at_top = client
                    .execute(
                        "return document.activeElement === document.querySelector('.nhsuk-skip-link')",
                        vec![],
                    )
                    .await
                    .unwrap();
                if at_top == json!(true) || stops > 300 {
                    break;
                }
                if let Value::String(under) = client.execute(UNDER_THE_BAR, vec![]).await.unwrap() {
                    hidden.push(under);
                }
            }
            assert!(stops > 20, "only {stops} tab stops at {width} px");
            assert!(
                hidden.is_empty(),
                "at {width} px, {} of {stops} focused controls under the bar: {hidden:#?}",
                hidden.len()
            );
        }
        set_inner_width(client, WIDE).await;
    }

    /// Types online, cuts the connection, types on (quotes, accents, a new line), tries to move on,
    /// then restores the connection: every character reaches the server.
    async fn survives_a_lost_connection(&self, audit: &mut Audit) {
        let client = self.client;
        let q = self.questions[0];
        let mut typed = String::new();

        self.type_notes(q, "Felt like an afterthought", &mut typed)
            .await;
        self.wait_until_saved(q).await;
        assert_eq!(self.stored(q).await["notes"], json!(typed));

        set_offline(client, true).await;
        assert_eq!(
            client
                .execute("return navigator.onLine", vec![])
                .await
                .unwrap(),
            json!(false),
            "chromedriver's offline emulation reaches the page"
        );
        self.record_status_messages().await;
        let offline_keys = format!(
            " at the start. She said “they’d already decided” – at the café, naïve of me.{}Zoë: 10 € «très» ½",
            Key::Enter
        );
        self.type_notes(q, &offline_keys, &mut typed).await;
        wait_for_text_within(
            client,
            "[data-save-status]",
            "Offline: not yet saved",
            Duration::from_secs(20),
        )
        .await;
        wait_for_text(client, &format!("#saved-{q}"), "Offline: not yet saved").await;
        assert!(
            self.has_offline_class().await,
            "the guide is marked offline"
        );
        assert_eq!(
            self.draft(q).await["notes"],
            json!(typed),
            "every keystroke is kept on the device"
        );
        assert_eq!(
            self.stored(q).await["notes"],
            json!("Felt like an afterthought"),
            "nothing reached the server while offline"
        );
        audit.check(client, "interviews: live guide, offline").await;

        // Moving to another section would post the form into the void: the page stays and says why.
        submit(client, "Save and go to section 4").await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(
            client
                .current_url()
                .await
                .unwrap()
                .path()
                .ends_with("/guide/3"),
            "the guide stays open offline"
        );
        assert_eq!(self.notes_in_box(q).await, typed, "the box still holds it");
        let said = self.status_messages().await;
        assert!(
            said.iter()
                .any(|m| m.starts_with("Offline: stay on this page")),
            "the page says why it stays; it said {said:?}"
        );

        // A little more, then the connection returns: the retry sends it all.
        self.type_notes(q, " (more after the retry)", &mut typed)
            .await;
        tokio::time::sleep(Duration::from_millis(3500)).await;
        assert_eq!(
            self.stored(q).await["notes"],
            json!("Felt like an afterthought"),
            "still nothing on the server while offline"
        );
        set_offline(client, false).await;
        self.wait_until_saved(q).await;
        wait_for_text(client, "[data-save-status]", "Saved at").await;
        assert!(!self.has_offline_class().await, "the offline mark is gone");
        let stored = self.stored(q).await;
        assert_eq!(
            stored["notes"].as_str().unwrap(),
            typed,
            "every character typed is stored exactly"
        );
        assert_eq!(
            self.draft(q).await,
            Value::Null,
            "the draft is cleared once saved"
        );
    }

    /// With the server out of reach (the proxy cut), types, reloads (which cannot load), then with the
    /// server back opens the guide again: the draft kept on the device comes back into the box and is
    /// saved. chromedriver's emulation cannot serve here: a reload lifts it for a moment (the page sees
    /// an `online` event as it unloads, and sends), so the reload would not really happen offline.
    async fn survives_a_reload_while_offline(&self, proxy: &Proxy) {
        let client = self.client;
        let q = self.questions[0];
        let mut typed = self.stored(q).await["notes"].as_str().unwrap().to_string();
        let before = typed.clone();

        proxy.cut();
        let keys = format!("{}After the reload: “ü” and ß.", Key::Enter);
        self.type_notes(q, &keys, &mut typed).await;
        assert_eq!(
            self.draft(q).await["notes"],
            json!(typed),
            "kept on the device at once"
        );
        // The server is unreachable while the browser thinks it is online: the failed save says so.
        wait_for_text_within(
            client,
            &format!("#saved-{q}"),
            "Offline: not yet saved",
            Duration::from_secs(20),
        )
        .await;
        assert!(self.has_offline_class().await);

        // The reload cannot load the guide: Chromium shows its own error page, the script is gone.
        let _ = client.refresh().await;
        assert!(
            client
                .find_all(Locator::Css("[data-guide]"))
                .await
                .unwrap_or_default()
                .is_empty(),
            "a reload while the server is unreachable does not show the guide"
        );
        assert_eq!(
            self.stored(q).await["notes"],
            json!(before),
            "nothing reached the server before the reload"
        );

        // Back online on another section: the draft of this one is sent from there.
        proxy.restore();
        let elsewhere = self.path.replace("/guide/3", "/guide/4");
        client.goto(&self.url(&elsewhere)).await.unwrap();
        wait_for(client, "[data-guide]").await;
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while self.stored(q).await["notes"] != json!(typed) {
            assert!(
                std::time::Instant::now() < deadline,
                "a draft from another section reaches the server"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        assert_eq!(
            self.draft(q).await,
            Value::Null,
            "and is forgotten on the device"
        );

        // Typed again offline, the section reloaded when back: the draft is in the box and saved.
        client.goto(&self.url(&self.path)).await.unwrap();
        wait_for(client, "[data-guide]").await;
        let more = " Back in its own section.";
        self.type_notes(q, more, &mut typed).await;
        proxy.cut();
        let _ = client.refresh().await;
        proxy.restore();
        client.goto(&self.url(&self.path)).await.unwrap();
        wait_for(client, "[data-guide]").await;
        assert_eq!(
            self.notes_in_box(q).await,
            typed,
            "the draft kept on this device is back in the box"
        );
        self.wait_until_saved(q).await;
        assert_eq!(
            self.stored(q).await["notes"].as_str().unwrap(),
            typed,
            "the draft brought back is stored exactly"
        );
        assert_eq!(self.draft(q).await, Value::Null);
    }

    /// Another device saves a question between this page's saves: the page shows both texts and the
    /// interviewer chooses by keyboard, first "Keep mine", then on another question "Use theirs".
    async fn shows_a_conflict_and_keeps_the_choice(&self, audit: &mut Audit) {
        let client = self.client;
        for (q, keep_mine) in [(self.questions[1], true), (self.questions[2], false)] {
            let mut mine = String::new();
            self.type_notes(q, "Meetings are in the daytime", &mut mine)
                .await;
            self.wait_until_saved(q).await;
            let revision = self.stored(q).await["revision"].as_i64().unwrap();
            let theirs = "From the tablet: 2 pm clashes with the school run — “every time”.";
            let (status, body) = self
                .team
                .interviewer
                .call(
                    Method::PUT,
                    &format!("/api/v1{}/notes/{q}", self.interview),
                    Some(json!({ "notes": theirs, "answer": "", "status": "", "revision": revision })),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");

            self.type_notes(q, ", and nobody asks.", &mut mine).await;
            let theirs_css = format!("#question-{q} [data-theirs]");
            wait_for_text_within(
                client,
                &theirs_css,
                "From the tablet",
                Duration::from_secs(20),
            )
            .await;
            let shown = client
                .find(Locator::Css(&theirs_css))
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert_eq!(shown, theirs, "their text is shown");
            assert_eq!(self.notes_in_box(q).await, mine, "mine stays in the box");
            assert_eq!(
                self.stored(q).await["notes"],
                json!(theirs),
                "nothing is overwritten before the choice"
            );
            assert_eq!(
                active_text(client).await,
                "These notes were changed elsewhere",
                "focus moves to the conflict"
            );
            if keep_mine {
                audit
                    .check(client, "interviews: live guide, conflict")
                    .await;
            }

            press(client, Key::Tab).await;
            if !keep_mine {
                press(client, Key::Tab).await;
            }
            let button = active_text(client).await;
            let want = if keep_mine {
                "Keep mine (replaces theirs)"
            } else {
                "Use theirs (replaces mine)"
            };
            assert_eq!(button, want, "Tab reaches the choice");
            press(client, Key::Enter).await;
            self.wait_until_saved(q).await;
            let chosen = if keep_mine { mine.as_str() } else { theirs };
            assert_eq!(self.notes_in_box(q).await, chosen);
            assert_eq!(
                self.stored(q).await["notes"].as_str().unwrap(),
                chosen,
                "the server keeps the text chosen"
            );
            assert!(
                client
                    .find_all(Locator::Css(&format!("#question-{q} [data-conflict-js]")))
                    .await
                    .unwrap()
                    .is_empty(),
                "the choice closes the conflict"
            );
            assert_eq!(
                active_element_attr(client, "id").await.as_deref(),
                Some(format!("notes-{q}").as_str()),
                "focus is back in the notes"
            );
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    /// Types into a question's notes, adding to `typed` what the box then holds.
    async fn type_notes(&self, q: i64, keys: &str, typed: &mut String) {
        type_into(self.client, &format!("#notes-{q}"), keys).await;
        typed.push_str(&keys.replace(char::from(Key::Enter), "\n"));
    }

    /// Waits for the page's own "Saved at HH:MM:SS (UTC)" after a save it sent (its line's state is
    /// "saved"), not the server-rendered line the page came with.
    async fn wait_until_saved(&self, q: i64) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let css = format!("#saved-{q}[data-state='saved']");
        loop {
            let said = match self.client.find(Locator::Css(&css)).await {
                Ok(element) => element.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if said.starts_with("Saved at") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "question {q} was not saved; it says {said:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The note stored on the server for a question, read through the JSON API.
    async fn stored(&self, q: i64) -> Value {
        let (status, detail) = self
            .team
            .lead
            .call(Method::GET, &format!("/api/v1{}", self.interview), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{detail}");
        detail["notes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["question_id"] == q)
            .cloned()
            .unwrap_or(Value::Null)
    }

    async fn notes_in_box(&self, q: i64) -> String {
        let value = self
            .client
            .execute(
                "return document.getElementById(arguments[0]).value",
                vec![json!(format!("notes-{q}"))],
            )
            .await
            .unwrap();
        value.as_str().unwrap().to_string()
    }

    /// The draft kept in this browser's storage for a question, or Null.
    async fn draft(&self, q: i64) -> Value {
        let kept = self
            .client
            .execute(
                "var id = document.querySelector('[data-guide]').getAttribute('data-interview');
                 return localStorage.getItem('voices-interview-' + id + '-q' + arguments[0]);",
                vec![json!(q)],
            )
            .await
            .unwrap();
        match kept.as_str() {
            Some(text) => serde_json::from_str(text).unwrap(),
            None => Value::Null,
        }
    }

    async fn has_offline_class(&self) -> bool {
        self.client
            .execute(
                "return document.querySelector('[data-guide]').classList.contains('guide--offline')",
                vec![],
            )
            .await
            .unwrap()
            == json!(true)
    }

    /// Keeps every text the save bar shows from now on: some last only a moment.
    async fn record_status_messages(&self) {
        self.client
            .execute(
                "var bar = document.querySelector('[data-save-status]');
                 window.voicesSaid = [];
                 new MutationObserver(function () { window.voicesSaid.push(bar.textContent); })
                   .observe(bar, {childList: true, characterData: true, subtree: true});",
                vec![],
            )
            .await
            .unwrap();
    }

    async fn status_messages(&self) -> Vec<String> {
        let said = self
            .client
            .execute("return window.voicesSaid || []", vec![])
            .await
            .unwrap();
        serde_json::from_value(said).unwrap()
    }
}

/// An interview with Sam Example, a new carer, assigned by the lead to interviewer@example.org through
/// the assign form over HTTP; returns the interview's path.
async fn assign_over_http(team: &StudyTeam, version: i64) -> String {
    let study = team.study;
    let interviewer = team.user_id("interviewer@example.org").await.to_string();
    let version = version.to_string();
    let (status, to, page) = post(
        &team.lead.visitor,
        &format!("/studies/{study}/interviews"),
        &[
            ("who", "new"),
            ("group", "carer"),
            ("name", "Sam Example"),
            ("phone", "07700 900123"),
            ("large_print", "on"),
            ("version_id", &version),
            ("interviewer_id", &interviewer),
            ("date", "2026-12-03"),
            ("time", "14:30"),
            ("mode", "phone"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "assigning: {page}");
    to
}

/// The interviewer records verbal consent through the consent form over HTTP: the interview is on.
async fn consent_over_http(team: &StudyTeam, interview: &str) {
    let interviewer = &team.interviewer.visitor;
    let consent = format!("{interview}/consent");
    let (_, page) = interviewer.get_text(&consent).await;
    let mut statements = ids_named(&page, "statement_");
    statements.dedup();
    assert!(!statements.is_empty(), "{page}");
    let names: Vec<String> = statements
        .iter()
        .map(|n| format!("statement_{n}"))
        .collect();
    let mut answers: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "yes")).collect();
    answers.push(("attested", "yes"));
    let (status, to, page) = post(interviewer, &consent, &answers).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "consent: {page}");
    assert_eq!(to, format!("{interview}/guide/1"));
}

/// A TCP proxy between the browser and the app that can cut the connection: cut, it closes every open
/// connection and each new one at once, as when the server is out of reach; restored, bytes pass again.
struct Proxy {
    origin: String,
    address: SocketAddr,
    state: Arc<ProxyState>,
}

#[derive(Default)]
struct ProxyState {
    cut: AtomicBool,
    stopped: AtomicBool,
    open: Mutex<Vec<TcpStream>>,
}

impl Proxy {
    /// Proxies to the app at `target` ("http://127.0.0.1:port").
    fn start(target: &str) -> Proxy {
        let target: SocketAddr = target
            .trim_start_matches("http://")
            .parse()
            .expect("the app's address");
        let listener = TcpListener::bind("127.0.0.1:0").expect("a port for the proxy");
        let address = listener.local_addr().unwrap();
        let state = Arc::new(ProxyState::default());
        let shared = state.clone();
        std::thread::spawn(move || {
            for browser in listener.incoming() {
                if shared.stopped.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(browser) = browser else { continue };
                if shared.cut.load(Ordering::SeqCst) {
                    continue; // dropped: the browser sees the connection closed at once
                }
                let Ok(app) = TcpStream::connect(target) else {
                    continue;
                };
                let mut open = shared.open.lock().unwrap();
                for stream in [&browser, &app] {
                    open.push(stream.try_clone().unwrap());
                }
                drop(open);
                for (mut from, mut to) in [
                    (browser.try_clone().unwrap(), app.try_clone().unwrap()),
                    (app, browser),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(Shutdown::Write);
                    });
                }
            }
        });
        Proxy {
            origin: format!("http://{address}"),
            address,
            state,
        }
    }

    fn cut(&self) {
        self.state.cut.store(true, Ordering::SeqCst);
        for stream in self.state.open.lock().unwrap().drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    fn restore(&self) {
        self.state.cut.store(false, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
        self.state.stopped.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the stop.
        let _ = TcpStream::connect(self.address);
    }
}

/// chromedriver's network emulation (DevTools' Network.emulateNetworkConditions for the session):
/// offline, every request fails at once as when Wi-Fi drops, and the page's navigator.onLine follows.
#[derive(Debug)]
struct NetworkConditions {
    offline: bool,
}

impl WebDriverCompatibleCommand for NetworkConditions {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/chromium/network_conditions",
            session_id.expect("a session")
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (Method, Option<String>) {
        let conditions = json!({ "network_conditions": {
            "offline": self.offline,
            "latency": 0,
            "download_throughput": -1,
            "upload_throughput": -1,
        }});
        (Method::POST, Some(conditions.to_string()))
    }
}

async fn set_offline(client: &Client, offline: bool) {
    client
        .issue_cmd(NetworkConditions { offline })
        .await
        .unwrap_or_else(|e| panic!("chromedriver would not set offline={offline}: {e}"));
}

/// Signs in on the sign-in page at this origin ("http://host:port"), by keyboard.
async fn sign_in(client: &Client, origin: &str, email: &str) {
    client.goto(&format!("{origin}/login")).await.unwrap();
    type_into(client, "#email", email).await;
    type_into(client, "#password", &(PASSWORD.to_string() + &Key::Enter)).await;
    wait_for_text(client, "h1", "Hello").await;
}

async fn active_text(client: &Client) -> String {
    client.active_element().await.unwrap().text().await.unwrap()
}

/// The axe source when everything is here; otherwise None after a loud note, or a failure under CI.
fn prerequisites() -> Option<String> {
    let axe_path = std::env::var_os("VOICES_AXE_JS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/browser/node_modules/axe-core/axe.min.js")
        });
    let missing: Vec<String> = [
        (Path::new(CHROMIUM), "apt-get install chromium"),
        (Path::new(CHROMEDRIVER), "apt-get install chromium-driver"),
        (
            axe_path.as_path(),
            "npm ci --prefix tests/browser, or set VOICES_AXE_JS",
        ),
    ]
    .into_iter()
    .filter(|(path, _)| !path.is_file())
    .map(|(path, fix)| format!("{} (fix: {fix})", path.display()))
    .collect();
    if missing.is_empty() {
        return Some(std::fs::read_to_string(&axe_path).expect("reading axe.min.js"));
    }
    let missing = missing.join(", ");
    if std::env::var("VOICES_REQUIRE_BROWSER").as_deref() == Ok("1") {
        panic!("VOICES_REQUIRE_BROWSER=1 but the browser test cannot run; missing: {missing}");
    }
    // Straight to stderr: the test harness would swallow eprintln! from a passing test.
    let _ = writeln!(
        std::io::stderr(),
        "NOTE: ***** the browser test is SKIPPED; missing: {missing}. \
         Set VOICES_REQUIRE_BROWSER=1 to make this a failure. *****"
    );
    None
}

/// A chromedriver child process on a free port, killed when dropped.
struct Chromedriver {
    child: Child,
    url: String,
}

impl Chromedriver {
    fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting chromedriver");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("chromedriver exited at start: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen within 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Chromedriver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One Chromium session with its own throwaway profile.
struct Browser {
    client: Client,
    _profile: TempDir,
}

impl Browser {
    async fn open(driver: &Chromedriver, javascript: bool) -> Self {
        let profile = tempfile::tempdir().expect("a profile folder");
        let mut options = json!({
            "binary": CHROMIUM,
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                format!("--user-data-dir={}", profile.path().display()),
                format!("--window-size={WIDE},{HEIGHT}"),
            ],
        });
        if !javascript {
            options["prefs"] = json!({ "profile.managed_default_content_settings.javascript": 2 });
        }
        let capabilities: Capabilities = serde_json::from_value(json!({
            "browserName": "chrome",
            "goog:chromeOptions": options,
        }))
        .unwrap();
        // chromedriver listens on plain HTTP on loopback: no TLS stack needed in the tests.
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&driver.url)
            .await
            .expect("a Chromium session from chromedriver");
        Browser {
            client,
            _profile: profile,
        }
    }

    /// Runs the steps and always ends the session, so a failed step leaves no Chromium running.
    async fn run(&self, steps: impl std::future::Future<Output = ()>) {
        let outcome = AssertUnwindSafe(steps).catch_unwind().await;
        let _ = self.client.clone().close().await;
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    }
}

/// Collects the axe and reflow problems of every page so one run reports them all.
struct Audit {
    axe: String,
    problems: Vec<String>,
}

impl Audit {
    /// axe at desktop width and at 320 CSS px, where the reflow check (WCAG 1.4.10) also runs: a narrow
    /// layout brings its own problems, such as tables that scroll but cannot be reached by keyboard.
    async fn check(&mut self, client: &Client, page: &str) {
        self.scan(client, page).await;
        set_inner_width(client, NARROW).await;
        let narrow = format!("{page} at {NARROW} px");
        self.scan(client, &narrow).await;
        let overflow = client
            .execute(
                "return [document.documentElement.scrollWidth, window.innerWidth]",
                vec![],
            )
            .await
            .unwrap();
        let (scroll, inner) = (overflow[0].as_u64().unwrap(), overflow[1].as_u64().unwrap());
        if scroll > inner {
            self.problems.push(format!(
                "{narrow}: scrolls sideways (content is {scroll} px)"
            ));
        }
        set_inner_width(client, WIDE).await;
    }

    async fn scan(&mut self, client: &Client, page: &str) {
        // Executed rather than added as a <script>: the app's CSP allows only its own scripts.
        client
            .execute(&self.axe, vec![])
            .await
            .expect("loading axe");
        let result = client
            .execute_async(AXE_RUN, vec![])
            .await
            .expect("running axe");
        let violations = result
            .as_array()
            .unwrap_or_else(|| panic!("axe failed on {page}: {result}"));
        for violation in violations {
            if !matches!(violation["impact"].as_str(), Some("serious" | "critical")) {
                continue;
            }
            self.problems.push(format!(
                "{page}: {} ({}): {} at {}",
                violation["id"].as_str().unwrap_or_default(),
                violation["impact"].as_str().unwrap_or_default(),
                violation["help"].as_str().unwrap_or_default(),
                violation["targets"],
            ));
        }
    }
}

/// Sizes the window so the page itself is this wide: a headed window's frame takes some of it, while
/// headless Chromium reports a 500 px minimum window yet lays the page out at the size asked for.
async fn set_inner_width(client: &Client, width: u32) {
    client.set_window_size(width, HEIGHT).await.unwrap();
    let mut inner = inner_width(client).await;
    if inner < width {
        client
            .set_window_size(2 * width - inner, HEIGHT)
            .await
            .unwrap();
        inner = inner_width(client).await;
    }
    assert_eq!(
        inner, width,
        "Chromium would not make the page {width} px wide"
    );
}

async fn inner_width(client: &Client) -> u32 {
    let width = client
        .execute("return window.innerWidth", vec![])
        .await
        .unwrap();
    width.as_u64().expect("a width") as u32
}

async fn press(client: &Client, key: Key) {
    let keyboard = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: key.into() })
        .then(KeyAction::Up { value: key.into() });
    client.perform_actions(keyboard).await.unwrap();
}

/// Keys sent to a field as a person types them: WebDriver focuses it first.
async fn type_into(client: &Client, css: &str, keys: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|_| panic!("no {css} on the page"))
        .send_keys(keys)
        .await
        .unwrap();
}

async fn active_element_attr(client: &Client, name: &str) -> Option<String> {
    client
        .active_element()
        .await
        .unwrap()
        .attr(name)
        .await
        .unwrap()
}

/// Waits for a new page after a submit or a followed link: the old page is still shown until then.
async fn wait_for(client: &Client, css: &str) {
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .every(Duration::from_millis(25))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|_| panic!("{css} did not appear"));
}

async fn wait_for_text(client: &Client, css: &str, text: &str) {
    wait_for_text_within(client, css, text, Duration::from_secs(10)).await;
}

async fn wait_for_text_within(client: &Client, css: &str, text: &str, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let mut seen = Vec::new();
        for element in client.find_all(Locator::Css(css)).await.unwrap_or_default() {
            // The page may be replaced between find and read; the next round looks again.
            if let Ok(found) = element.text().await {
                if found.contains(text) {
                    return;
                }
                seen.push(found);
            }
        }
        assert!(
            Instant::now() < deadline,
            "no {css} with {text:?}; saw {seen:?} at {}",
            client.current_url().await.unwrap()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The study the walk from an empty install creates.
const STUDY: &str = "Involvement in improvement";

/// What a person does on the way, counted: each link followed or form sent (a page they move to), and
/// each field they fill in or choice they make.
/// Opens the "More" actions of the editor's nth question card (from 1), by keyboard.
async fn open_more(client: &Client, nth: usize) {
    let summary = client
        .find(Locator::XPath(&format!(
            "(//li[contains(@class, 'question-card')])[{nth}]//summary"
        )))
        .await
        .expect("a More summary on the question card");
    summary.send_keys(&Key::Enter).await.unwrap();
}

#[derive(Default)]
struct Steps {
    pages: usize,
    fields: usize,
}

impl Steps {
    async fn follow(&mut self, client: &Client, xpath: &str) {
        follow(client, xpath).await;
        self.pages += 1;
    }

    /// Follows the link with exactly this text in the page's main content.
    async fn link(&mut self, client: &Client, text: &str) {
        self.follow(client, &format!("//main//a[normalize-space()='{text}']"))
            .await;
    }

    /// Back to the study's page by the link every page of it shows (its caption).
    async fn back_to_study(&mut self, client: &Client) {
        self.follow(client, &format!("//a[normalize-space()='{STUDY}']"))
            .await;
        wait_for_text(client, "h1", STUDY).await;
    }

    async fn submit(&mut self, client: &Client, text: &str) {
        submit(client, text).await;
        self.pages += 1;
    }

    async fn fill(&mut self, client: &Client, css: &str, text: &str) {
        type_into(client, css, text).await;
        self.fields += 1;
    }

    /// Ticks a checkbox or chooses a radio button, by keyboard, unless the page has done it already.
    async fn choose(&mut self, client: &Client, css: &str) {
        let input = client.find(Locator::Css(css)).await.unwrap();
        if input.prop("checked").await.unwrap().as_deref() != Some("true") {
            type_into(client, css, " ").await;
            self.fields += 1;
        }
    }
}

/// The whole way from an empty install to a sent campaign, by keyboard on a phone-sized window,
/// following only what the pages show: the first administrator sets Voices up from the address in the
/// log, creates a study, invites a service-user advisor, writes a questionnaire with its information
/// sheet, pilots it, signs it off with the advisor, publishes it, adds a participant and sends the
/// campaign. Every page on the way is scanned by axe; the steps are counted and printed (the closing
/// note of issue 18 records them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_install_reaches_a_sent_campaign_by_following_the_pages() {
    let Some(axe) = prerequisites() else {
        return;
    };
    let _one = ONE_BROWSER.lock().await;
    let app = spawn_app(Backend::Sqlite).await;
    let driver = Chromedriver::start();
    let browser = Browser::open(&driver, true).await;
    let mut audit = Audit {
        axe,
        problems: Vec::new(),
    };
    let mut lead = Steps::default();
    let mut advisor = Steps::default();
    let first_run = voices::accounts::setup::first_run_url(&app.settings)
        .unwrap()
        .replace(&app.settings.base_url, &app.url(""));
    browser
        .run(async {
            let client = &browser.client;
            set_inner_width(client, PHONE).await;

            // The address from the log.
            client.goto(&first_run).await.unwrap();
            lead.pages += 1;
            wait_for_text(client, "h1", "Set up Voices").await;
            check_on_phone(client, &mut audit, "first run").await;
            lead.fill(client, "#organisation", "Northshire NHS Foundation Trust")
                .await;
            lead.fill(client, "#display_name", "Sam Lead").await;
            lead.fill(client, "#email", "sam@northshire.nhs.uk").await;
            lead.fill(client, "#password", PASSWORD).await;
            lead.fill(client, "#confirm_password", PASSWORD).await;
            lead.submit(client, "Create my account").await;
            wait_for_text(client, "h1", "Setting up Voices").await;
            check_on_phone(client, &mut audit, "setup checklist").await;

            lead.link(client, "Your organisation").await;
            wait_for_text(client, "h1", "Your organisation").await;
            check_on_phone(client, &mut audit, "organisation").await;
            lead.fill(
                client,
                "#privacy_url",
                "https://www.northshire.nhs.uk/privacy",
            )
            .await;
            lead.fill(client, "#contact_email", "involvement@northshire.nhs.uk")
                .await;
            lead.submit(client, "Save the details").await;
            wait_for_text(client, ".nhsuk-notification-banner", "details are saved").await;

            lead.link(client, "Create the first study").await;
            wait_for(client, "#title").await;
            lead.fill(client, "#title", STUDY).await;
            lead.submit(client, "Create study").await;
            wait_for_text(client, "h1", STUDY).await;
            check_on_phone(client, &mut audit, "a new study's task list").await;

            // The task list leads the way from here.
            lead.link(client, "Co-design group").await;
            lead.link(client, "Add a member").await;
            wait_for(client, "#display_name").await;
            lead.fill(client, "#email", "alex@example.org").await;
            lead.fill(client, "#display_name", "Alex").await;
            lead.choose(client, "#co_designer").await;
            lead.choose(client, "#perspective-service_user").await;
            lead.submit(client, "Send the invitation").await;
            wait_for_text(client, "h1", STUDY).await;

            lead.link(client, "Questionnaire").await;
            wait_for(client, "#title").await;
            lead.fill(client, "#title", "Your experience of involvement")
                .await;
            lead.submit(client, "Create questionnaire").await;
            wait_for_text(client, "h1", "Your experience of involvement").await;
            lead.link(client, "Add a section").await;
            wait_for(client, "#introduction").await;
            lead.fill(client, "#title", "Taking part").await;
            lead.submit(client, "Add section").await;
            wait_for_text(client, "h2", "Taking part").await;
            lead.follow(
                client,
                "//main//a[starts-with(normalize-space(), 'Add a question')]",
            )
            .await;
            wait_for_text(client, "h1", "Add a question").await;
            lead.fill(client, "#text", "What helped you take part?")
                .await;
            lead.submit(client, "Add question").await;
            wait_for_text(client, ".question-card__text", "What helped you").await;

            lead.back_to_study(client).await;
            lead.link(client, "Information and consent").await;
            wait_for(client, "#summary").await;
            lead.fill(
                client,
                "#summary",
                "We want to hear how you take part in improvement work.",
            )
            .await;
            lead.fill(
                client,
                "#contact",
                "The study team: involvement@northshire.nhs.uk",
            )
            .await;
            lead.fill(client, "#signposting", "Samaritans: 116 123, any time.")
                .await;
            lead.fill(client, "#statement_1", "I want to take part.")
                .await;
            lead.choose(client, "#statement_1_required").await;
            lead.submit(client, "Save information and consent").await;
            wait_for_text(client, ".nhsuk-notification-banner", "are saved").await;

            lead.back_to_study(client).await;
            lead.link(client, "Sign-off and publishing").await;
            wait_for_text(client, "h1", "Sign-off and versions").await;
            lead.submit(client, "Move to pilot").await;
            wait_for_text(client, ".nhsuk-notification-banner", "now in pilot").await;
            lead.submit(client, "Sign off the questionnaire as it is now")
                .await;
            wait_for_text(client, ".nhsuk-notification-banner", "You have signed off").await;
            check_on_phone(client, &mut audit, "waiting for the advisor's sign-off").await;
            submit_header(client, "Sign out").await;
            wait_for(client, "#email").await;

            // The advisor, from their invitation email.
            let email = app.wait_for_email("alex@example.org").await;
            client.goto(&app.url(&link_in(&email))).await.unwrap();
            advisor.pages += 1;
            wait_for(client, "#new_password").await;
            advisor.fill(client, "#new_password", PASSWORD).await;
            advisor.fill(client, "#confirm_password", PASSWORD).await;
            advisor.submit(client, "Save password").await;
            wait_for_text(client, "h1", "Hello, Alex").await;
            check_on_phone(client, &mut audit, "an invited advisor's home").await;
            advisor
                .follow(
                    client,
                    "//main//button[starts-with(normalize-space(), 'Accept')]",
                )
                .await;
            wait_for_text(client, "h1", STUDY).await;
            check_on_phone(client, &mut audit, "the advisor's study page").await;
            advisor
                .follow(
                    client,
                    "//main//a[contains(normalize-space(), 'waits for your sign-off')]",
                )
                .await;
            wait_for_text(client, "h1", "Sign-off and versions").await;
            advisor
                .submit(client, "Sign off the questionnaire as it is now")
                .await;
            wait_for_text(client, ".nhsuk-notification-banner", "You have signed off").await;
            submit_header(client, "Sign out").await;
            wait_for(client, "#email").await;

            // The lead again: publish, add someone, send.
            lead.fill(client, "#email", "sam@northshire.nhs.uk").await;
            lead.fill(client, "#password", PASSWORD).await;
            lead.submit(client, "Sign in").await;
            wait_for_text(client, "h1", "Hello, Sam Lead").await;
            lead.link(client, "Your studies").await;
            lead.back_to_study(client).await;
            lead.link(client, "Sign-off and publishing").await;
            wait_for_text(client, "h1", "Sign-off and versions").await;
            lead.submit(client, "Publish version 1").await;
            wait_for_text(client, ".nhsuk-notification-banner", "ublished").await;

            lead.back_to_study(client).await;
            lead.link(client, "Participants").await;
            lead.link(client, "Add a participant").await;
            wait_for(client, "#name").await;
            lead.choose(client, "#group-service_user").await;
            lead.fill(client, "#name", "Pat").await;
            lead.fill(client, "#email", "pat@example.org").await;
            lead.submit(client, "Add participant").await;
            wait_for_text(
                client,
                ".nhsuk-notification-banner",
                "is added to the roster",
            )
            .await;

            lead.back_to_study(client).await;
            check_on_phone(
                client,
                &mut audit,
                "the study's task list before the campaign",
            )
            .await;
            lead.link(client, "Campaign").await;
            lead.link(client, "Start a campaign").await;
            wait_for(client, "#name").await;
            lead.fill(client, "#name", "Spring survey").await;
            lead.choose(client, "input[name='version_id']").await;
            lead.submit(client, "Save").await;
            wait_for_text(client, "h1", "Spring survey").await;
            check_on_phone(client, &mut audit, "a campaign ready to send").await;
            lead.follow(
                client,
                "//main//button[starts-with(normalize-space(), 'Send invitations')]",
            )
            .await;
            wait_for_text(client, ".nhsuk-notification-banner", "invitation queued").await;

            lead.back_to_study(client).await;
            check_on_phone(
                client,
                &mut audit,
                "the study's task list after the campaign",
            )
            .await;
            let campaign = client
                .find(Locator::Css("#task-campaign-status"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert_eq!(
                campaign, "Completed",
                "the task list shows the campaign sent"
            );
        })
        .await;
    println!(
        "From an empty install to a sent campaign: the lead moved through {} pages and filled {} fields; \
         the advisor moved through {} pages and filled {} fields.",
        lead.pages, lead.fields, advisor.pages, advisor.fields
    );
    let sent = app.wait_for_email("pat@example.org").await;
    let sent = sent.replace("=\r\n", "").replace("=\n", "");
    // One open question, as the first page will say: the invitation's estimate comes from it.
    assert!(sent.contains("It takes about 2 minutes"), "{sent}");
    assert!(
        audit.problems.is_empty(),
        "accessibility problems:\n{}",
        audit.problems.join("\n")
    );
}
