//! Participants answering online, as the load drivers play them: a questionnaire for staff published
//! through the CLI and the JSON API with an open link, people joining through it, and their browsers
//! (one keep-alive connection each, carrying each participant's own session cookie by hand) going
//! through information, consent, the pages, review and submit, timed request by request.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rand::Rng;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::server::{Api, Server};
use crate::shared::csrf_token;

/// Sections of the questionnaire, each one page for staff.
pub const PAGES: usize = 3;
const LEAD_EMAIL: &str = "bench.lead@example.org";
const LEAD_PASSWORD: &str = "a long passphrase for the response driver";
const SESSION_COOKIE: &str = "voices_session";
const TEXT_ANSWER: &str = "Protected time in the rota made the difference. Before that I joined the \
    meetings on my day off, and I stopped after the second one. The project lead also checked that the \
    papers were sent a week ahead, so people who needed longer to read them had the time.";
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The requests of a response, in the order a participant makes them.
#[derive(Clone, Copy)]
pub enum Step {
    Information,
    ConsentPage,
    Consent,
    Resume,
    Page,
    Save,
    Review,
    Submit,
    Done,
}

pub const STEPS: [&str; 9] = [
    "GET /p/{t} (information)",
    "GET /p/{t}/consent",
    "POST /p/{t}/consent",
    "GET /p/{t} (to page 1)",
    "GET /p/{t}/page/{n}",
    "POST /p/{t}/page/{n}",
    "GET /p/{t}/review",
    "POST /p/{t}/submit",
    "GET /p/{t}/done",
];

/// One participant's browser: the personal link, the session cookie and the session's CSRF token.
#[derive(Clone, Default)]
pub struct Participant {
    home: String,
    cookie: String,
    csrf: String,
}

impl Participant {
    /// The personal link's path, `/p/{token}`.
    pub fn home(&self) -> &str {
        &self.home
    }
}

/// An HTTP client holding exactly one keep-alive connection, which carries each participant's own
/// cookie by hand: one shared cookie jar would mix the participants' sessions, and a client per
/// participant would open a connection per participant.
#[derive(Clone)]
pub struct Browser {
    client: reqwest::Client,
    base: String,
}

struct Reply {
    status: StatusCode,
    location: Option<String>,
    body: String,
}

#[derive(Clone, Copy)]
enum Expect<'a> {
    Page,
    /// A redirect to an address ending in this path.
    SeeOther(&'a str),
    /// A redirect whose address the caller checks.
    Redirect,
}

impl Browser {
    pub fn new(base: String) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .pool_max_idle_per_host(1)
            // Each redirect is a request of its own, counted and timed as one.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Browser { client, base })
    }

    async fn send(
        &self,
        who: &mut Participant,
        method: Method,
        path: &str,
        form: &[(&str, &str)],
        expect: Expect<'_>,
    ) -> anyhow::Result<Reply> {
        let mut request = self
            .client
            .request(method.clone(), format!("{}{path}", self.base));
        if !who.cookie.is_empty() {
            request = request.header(COOKIE, &who.cookie);
        }
        if method == Method::POST {
            request = request.form(form);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("{method} {path}"))?;
        let status = response.status();
        for value in response.headers().get_all(SET_COOKIE) {
            let value = value.to_str()?;
            if value.starts_with(&format!("{SESSION_COOKIE}=")) {
                who.cookie = value.split(';').next().unwrap_or_default().to_string();
            }
        }
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        // The whole body is part of the response time, and reading it frees the connection.
        let body = response
            .text()
            .await
            .with_context(|| format!("{method} {path}"))?;
        check(
            &method,
            path,
            Reply {
                status,
                location,
                body,
            },
            expect,
        )
    }
}

/// The body of a reply that is what a participant's browser expects, or a loud failure with the body:
/// a 422 means the driver's answers were refused, a 404 that a route has moved.
fn check(method: &Method, path: &str, reply: Reply, expect: Expect<'_>) -> anyhow::Result<Reply> {
    let (wanted, fine) = match expect {
        Expect::Page => ("200".to_string(), reply.status == StatusCode::OK),
        Expect::SeeOther(to) => (
            format!("303 to {to}"),
            reply.status == StatusCode::SEE_OTHER
                && reply.location.as_deref().is_some_and(|l| l.ends_with(to)),
        ),
        Expect::Redirect => ("303".to_string(), reply.status == StatusCode::SEE_OTHER),
    };
    if !fine {
        let main = reply
            .body
            .find("<main")
            .map_or(&reply.body[..], |at| &reply.body[at..]);
        let excerpt: String = main.chars().take(4000).collect();
        bail!(
            "{method} {path} answered {} (Location: {:?}), expected {wanted}:\n{excerpt}",
            reply.status,
            reply.location
        );
    }
    Ok(reply)
}

/// An answer for every question on a questionnaire page, as a participant fills it in: the first option
/// of each choice, a few sentences in each text box. The option labels are the form's values; this
/// questionnaire's labels have no characters that HTML escapes.
fn answers(page: &str) -> anyhow::Result<Vec<(String, String)>> {
    let mut answers: Vec<(String, String)> = Vec::new();
    for (at, _) in page.match_indices("name=\"q-") {
        let start = page[..at].rfind('<').context("a field outside a tag")?;
        let end = at + page[at..].find('>').context("an unclosed tag")?;
        let tag = &page[start..end];
        let field = attribute(tag, "name").context("a field without a name")?;
        if answers.iter().any(|(known, _)| known == field) {
            continue;
        }
        let value = if tag.starts_with("<textarea") || attribute(tag, "type") == Some("text") {
            TEXT_ANSWER
        } else {
            attribute(tag, "value").with_context(|| format!("a choice without a value: {tag}"))?
        };
        answers.push((field.to_string(), value.to_string()));
    }
    if answers.is_empty() {
        bail!("no questions on the page");
    }
    Ok(answers)
}

fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let marker = format!(" {name}=\"");
    let start = tag.find(&marker)? + marker.len();
    tag[start..].split('"').next()
}

/// The consent form with the two statements needed to take part ticked, and the optional one not.
fn agree(csrf: &str) -> [(&str, &str); 4] {
    [
        ("csrf_token", csrf),
        ("statement_1", "yes"),
        ("statement_2", "yes"),
        ("decision", "agree"),
    ]
}

/// A page's answers as the form posts them, with the session's CSRF token and the button pressed.
fn page_form<'a>(
    csrf: &'a str,
    go: &'a str,
    answers: &'a [(String, String)],
) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![("csrf_token", csrf), ("go", go)];
    form.extend(answers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    form
}

/// A request refused because the measured window had closed: the response in progress is abandoned.
#[derive(Debug)]
struct WindowClosed;

impl std::fmt::Display for WindowClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the measured window closed")
    }
}

impl std::error::Error for WindowClosed {}

/// What one connection did in one window: the latency of each request by step, and how many items (first
/// pages, responses or saves) it completed.
pub struct Tally {
    pub steps: Vec<Vec<Duration>>,
    pub completed: usize,
    /// Requests in one whole response, as the server's redirects lead the participant.
    pub per_response: usize,
    pub ran_out: bool,
}

impl Tally {
    fn new() -> Self {
        Tally {
            steps: vec![Vec::new(); STEPS.len()],
            completed: 0,
            per_response: 0,
            ran_out: false,
        }
    }

    fn merge(&mut self, other: Tally) {
        for (mine, theirs) in self.steps.iter_mut().zip(other.steps) {
            mine.extend(theirs);
        }
        self.completed += other.completed;
        self.per_response = self.per_response.max(other.per_response);
        self.ran_out |= other.ran_out;
    }

    pub fn all(&self) -> Vec<Duration> {
        let mut all: Vec<Duration> = self.steps.iter().flatten().copied().collect();
        all.sort_unstable();
        all
    }
}

/// One connection's run: its browser, the end of the window and what it has seen so far.
struct Run {
    browser: Browser,
    deadline: Instant,
    tally: Tally,
}

impl Run {
    async fn step(
        &mut self,
        step: Step,
        who: &mut Participant,
        method: Method,
        path: &str,
        form: &[(&str, &str)],
        expect: Expect<'_>,
    ) -> anyhow::Result<Reply> {
        if Instant::now() >= self.deadline {
            return Err(WindowClosed.into());
        }
        let sent = Instant::now();
        let reply = self.browser.send(who, method, path, form, expect).await?;
        self.tally.steps[step as usize].push(sent.elapsed());
        Ok(reply)
    }

    /// One participant's whole response, from the information sheet to the thank-you page; returns how
    /// many requests it took.
    async fn respond(&mut self, who: &mut Participant) -> anyhow::Result<usize> {
        let before: usize = self.tally.steps.iter().map(Vec::len).sum();
        let home = who.home.clone();
        let csrf = who.csrf.clone();
        self.step(
            Step::Information,
            who,
            Method::GET,
            &home,
            &[],
            Expect::Page,
        )
        .await?;
        let consent = format!("{home}/consent");
        self.step(
            Step::ConsentPage,
            who,
            Method::GET,
            &consent,
            &[],
            Expect::Page,
        )
        .await?;
        let consented = self
            .step(
                Step::Consent,
                who,
                Method::POST,
                &consent,
                &agree(&csrf),
                Expect::Redirect,
            )
            .await?;
        let first = format!("{home}/page/1");
        let to = consented.location.unwrap_or_default();
        // Consent leads to the first page, or back to the link's address, which sends people on to it.
        if !to.ends_with(&first) {
            if !to.ends_with(&home) {
                bail!("POST {consent} went to {to}, expected {first} or {home}");
            }
            self.step(
                Step::Resume,
                who,
                Method::GET,
                &home,
                &[],
                Expect::SeeOther(&first),
            )
            .await?;
        }
        for n in 1..=PAGES {
            let page = format!("{home}/page/{n}");
            let html = self
                .step(Step::Page, who, Method::GET, &page, &[], Expect::Page)
                .await?;
            let answers = answers(&html.body)?;
            let next = if n < PAGES {
                format!("{home}/page/{}", n + 1)
            } else {
                format!("{home}/review")
            };
            let form = page_form(&csrf, "next", &answers);
            self.step(
                Step::Save,
                who,
                Method::POST,
                &page,
                &form,
                Expect::SeeOther(&next),
            )
            .await?;
        }
        self.step(
            Step::Review,
            who,
            Method::GET,
            &format!("{home}/review"),
            &[],
            Expect::Page,
        )
        .await?;
        let done = format!("{home}/done");
        let token = [("csrf_token", csrf.as_str())];
        let submit = format!("{home}/submit");
        self.step(
            Step::Submit,
            who,
            Method::POST,
            &submit,
            &token,
            Expect::SeeOther(&done),
        )
        .await?;
        self.step(Step::Done, who, Method::GET, &done, &[], Expect::Page)
            .await?;
        Ok(self.tally.steps.iter().map(Vec::len).sum::<usize>() - before)
    }

    /// The next participant of the pool responds from start to end; false when the pool is empty.
    async fn respond_next(&mut self, pool: &Mutex<Vec<Participant>>) -> anyhow::Result<bool> {
        let next = pool.lock().expect("the pool's lock").pop();
        let Some(mut who) = next else {
            self.tally.ran_out = true;
            return Ok(false);
        };
        let requests = self.respond(&mut who).await?;
        self.tally.completed += 1;
        self.tally.per_response = requests;
        Ok(true)
    }

    async fn work(mut self, job: Job) -> anyhow::Result<Tally> {
        let outcome = match job {
            Job::FirstPage(mut who) => loop {
                let home = who.home.clone();
                match self
                    .step(
                        Step::Information,
                        &mut who,
                        Method::GET,
                        &home,
                        &[],
                        Expect::Page,
                    )
                    .await
                {
                    Ok(_) => self.tally.completed += 1,
                    Err(error) => break error,
                }
            },
            Job::Respond(pool) => loop {
                match self.respond_next(&pool).await {
                    Ok(true) => {}
                    Ok(false) => return Ok(self.tally),
                    Err(error) => break error,
                }
            },
            Job::Paced(pool, mean_gap) => {
                let mut next = Instant::now();
                loop {
                    // People come independently of each other: exponential gaps make a Poisson stream.
                    let draw: f64 = rand::thread_rng().gen();
                    next += mean_gap.mul_f64(-(1.0 - draw).ln());
                    if next >= self.deadline {
                        return Ok(self.tally);
                    }
                    tokio::time::sleep_until(next.into()).await;
                    match self.respond_next(&pool).await {
                        Ok(true) => {}
                        Ok(false) => return Ok(self.tally),
                        Err(error) => break error,
                    }
                }
            }
            Job::QuestionPage(mut who) => loop {
                let page = format!("{}/page/1", who.home);
                match self
                    .step(Step::Page, &mut who, Method::GET, &page, &[], Expect::Page)
                    .await
                {
                    Ok(_) => self.tally.completed += 1,
                    Err(error) => break error,
                }
            },
            Job::Save(mut who, answers) => loop {
                let page = format!("{}/page/1", who.home);
                let paused = format!("{}/pause", who.home);
                let csrf = who.csrf.clone();
                let form = page_form(&csrf, "pause", &answers);
                let saved = self
                    .step(
                        Step::Save,
                        &mut who,
                        Method::POST,
                        &page,
                        &form,
                        Expect::SeeOther(&paused),
                    )
                    .await;
                match saved {
                    Ok(_) => self.tally.completed += 1,
                    Err(error) => break error,
                }
            },
        };
        if outcome.is::<WindowClosed>() {
            Ok(self.tally)
        } else {
            Err(outcome)
        }
    }
}

/// What each connection does, over and over until the window closes.
#[derive(Clone)]
pub enum Job {
    /// Reloads the information sheet of a participant who has not consented yet.
    FirstPage(Participant),
    /// Responds from start to end as a new participant each time, taken from the shared pool.
    Respond(Arc<Mutex<Vec<Participant>>>),
    /// Reloads page 1 of the questionnaire of a consented participant.
    QuestionPage(Participant),
    /// Saves page 1 of a consented participant with "Save and come back later".
    Save(Participant, Vec<(String, String)>),
    /// Like `Respond`, but each response starts at a random time, on average this long after the
    /// previous one started: a steady rate however fast the server answers (a response still running
    /// when the next is due delays it).
    Paced(Arc<Mutex<Vec<Participant>>>, Duration),
}

/// Every connection works at its job until `duration` has passed; a response in progress then is
/// abandoned, so only what completed inside the window counts.
pub async fn window(
    browsers: &[Browser],
    jobs: Vec<Job>,
    duration: Duration,
) -> anyhow::Result<(Tally, Duration)> {
    let start = Instant::now();
    let deadline = start + duration;
    let tasks: Vec<_> = browsers
        .iter()
        .zip(jobs)
        .map(|(browser, job)| {
            let run = Run {
                browser: browser.clone(),
                deadline,
                tally: Tally::new(),
            };
            tokio::spawn(run.work(job))
        })
        .collect();
    let mut total = Tally::new();
    for task in tasks {
        total.merge(task.await.context("a load task panicked")??);
    }
    let elapsed = start.elapsed();
    for latencies in &mut total.steps {
        latencies.sort_unstable();
    }
    Ok((total, elapsed))
}

/// `count` participants join through the open link as a visitor does (the page for its session and
/// CSRF token, then the button), each keeping their own session.
pub async fn join(
    browsers: &[Browser],
    join_path: &str,
    count: usize,
) -> anyhow::Result<Vec<Participant>> {
    let next = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = browsers
        .iter()
        .map(|browser| {
            let (browser, next, join_path) = (browser.clone(), next.clone(), join_path.to_string());
            tokio::spawn(async move {
                let mut joined = Vec::new();
                while next.fetch_add(1, Ordering::Relaxed) < count {
                    let mut who = Participant::default();
                    let page = browser
                        .send(&mut who, Method::GET, &join_path, &[], Expect::Page)
                        .await?;
                    who.csrf = csrf_token(&page.body)?;
                    let csrf = who.csrf.clone();
                    let form = [("csrf_token", csrf.as_str())];
                    let joined_as = browser
                        .send(&mut who, Method::POST, &join_path, &form, Expect::Redirect)
                        .await?;
                    who.home = joined_as.location.unwrap_or_default();
                    if !who.home.starts_with("/p/") {
                        bail!(
                            "POST {join_path} went to {:?}, not to a personal link",
                            who.home
                        );
                    }
                    joined.push(who);
                }
                anyhow::Ok(joined)
            })
        })
        .collect();
    let mut all = Vec::with_capacity(count);
    for task in tasks {
        all.extend(task.await.context("a joining task panicked")??);
    }
    Ok(all)
}

/// Takes a participant through consent to the first page (untimed) and returns that page's answers.
pub async fn consented(
    browser: &Browser,
    who: &mut Participant,
) -> anyhow::Result<Vec<(String, String)>> {
    let home = who.home.clone();
    let csrf = who.csrf.clone();
    let consent = format!("{home}/consent");
    browser
        .send(who, Method::POST, &consent, &agree(&csrf), Expect::Redirect)
        .await?;
    let page = browser
        .send(
            who,
            Method::GET,
            &format!("{home}/page/1"),
            &[],
            Expect::Page,
        )
        .await?;
    answers(&page.body)
}

/// A page as the participant's browser gets it, untimed.
pub async fn page(browser: &Browser, who: &mut Participant, path: &str) -> anyhow::Result<String> {
    let reply = browser
        .send(who, Method::GET, path, &[], Expect::Page)
        .await?;
    Ok(reply.body)
}

/// A study with a published questionnaire open to staff through a link.
pub struct Published {
    /// The JSON API as the study's lead, an administrator.
    pub lead: Api,
    pub study: i64,
    /// The published version's id, as interviews and responses name it.
    pub version: i64,
    /// The open link's path, `/join/…`.
    pub join_path: String,
}

/// Publishes a questionnaire for staff with an open link, through the CLI and the JSON API as an
/// operator and a study lead would.
pub async fn publish(server: &Server) -> anyhow::Result<Published> {
    let api = server.admin(LEAD_EMAIL, "Bench Lead", LEAD_PASSWORD, REQUEST_TIMEOUT)?;

    let study = api
        .call(
            Method::POST,
            "/studies",
            Some(json!({ "title": "Involvement in improvement work", "summary": "" })),
        )
        .await?["study"]["id"]
        .as_i64()
        .context("no study id")?;
    let questionnaire = api
        .call(
            Method::POST,
            &format!("/studies/{study}/questionnaires/import"),
            Some(questionnaire_file()),
        )
        .await?["questionnaire"]["id"]
        .as_i64()
        .context("no questionnaire id")?;
    let base = format!("/studies/{study}/questionnaires/{questionnaire}");
    let members = api
        .call(Method::GET, &format!("/studies/{study}/members"), None)
        .await?;
    let lead = members
        .as_array()
        .and_then(|all| all.iter().find(|m| m["email"] == LEAD_EMAIL))
        .and_then(|m| m["id"].as_i64())
        .context("the lead is not among the study's members")?;
    for (method, path, body) in [
        (
            Method::PUT,
            format!("{base}/sign-off-rule"),
            json!({ "member_ids": [lead], "needs_advisor": false, "needs_staff": false }),
        ),
        (
            Method::POST,
            format!("{base}/status"),
            json!({ "status": "pilot" }),
        ),
        (Method::POST, format!("{base}/sign-offs"), json!({})),
    ] {
        api.call(method, &path, Some(body)).await?;
    }
    let version = api
        .call(Method::POST, &format!("{base}/publish"), Some(json!({})))
        .await?["id"]
        .as_i64()
        .context("no version id")?;
    let closes_on = chrono::Utc::now().date_naive() + chrono::Duration::days(30);
    let created = api
        .call(
            Method::POST,
            &format!("{base}/open-links"),
            Some(json!({ "group": "staff", "closes_on": closes_on.to_string() })),
        )
        .await?;
    let link = created["link"].as_str().context("no open link")?;
    let at = link
        .find("/join/")
        .with_context(|| format!("not an open link: {link}"))?;
    Ok(Published {
        join_path: link[at..].to_string(),
        lead: api,
        study,
        version,
    })
}

/// Three pages for staff, each with a required single choice, a Likert item and an open question, and
/// an information sheet with two required consent statements and one optional.
fn questionnaire_file() -> Value {
    let likert = [
        "Strongly disagree",
        "Disagree",
        "Neither agree nor disagree",
        "Agree",
        "Strongly agree",
    ];
    let pages = [
        (
            "Your role",
            "improvement projects",
            "I know how to involve service users in a project.",
        ),
        (
            "Taking part",
            "project meetings",
            "My team makes time for involvement.",
        ),
        (
            "What would help",
            "training",
            "Involvement changes what a project does.",
        ),
    ];
    let sections: Vec<Value> = pages
        .iter()
        .enumerate()
        .map(|(n, (title, topic, statement))| {
            json!({
                "title": title,
                "introduction": format!("Questions about {topic}."),
                "questions": [
                    {
                        "key": format!("before_{n}"),
                        "kind": "single_choice",
                        "text": format!("Have you taken part in {topic} before?"),
                        "audiences": ["staff"],
                        "options": ["Yes", "No", "Not sure"],
                        "required": true
                    },
                    {
                        "key": format!("agree_{n}"),
                        "kind": "likert",
                        "text": statement,
                        "audiences": ["staff"],
                        "options": likert,
                        "likert_not_applicable": true
                    },
                    {
                        "key": format!("tell_{n}"),
                        "kind": "long_text",
                        "text": format!("What helped, or got in the way, with {topic}?"),
                        "audiences": ["staff"],
                        "probes": ["Can you give an example?"]
                    }
                ]
            })
        })
        .collect();
    json!({
        "format": "voices.questionnaire",
        "format_version": 1,
        "title": "Involvement in improvement work",
        "description": "What helps staff involve service users and carers.",
        "sections": sections,
        "information": {
            "summary": "We want to learn what helps and what gets in the way when service users and carers take part in improvement work.",
            "full_text": "## About the study\n\nA questionnaire of about 10 minutes.",
            "data_use": "Your name is kept apart from what you say.",
            "withdrawal_days": 14,
            "withdrawal_after": "After 14 days, what was collected is kept in anonymised form.",
            "retention": "Kept for five years, then deleted.",
            "contact": "The study team: involvement@example.org",
            "signposting": "If you feel upset, call the trust's crisis line (0800 000 0000, any time) or contact the study team.",
            "consent_statements": [
                { "text": "I have read the information about this study and had the chance to ask questions.", "required": true },
                { "text": "I agree to take part.", "required": true },
                { "text": "I agree that anonymised quotes from my answers may be used in reports.", "required": false }
            ]
        }
    })
}
