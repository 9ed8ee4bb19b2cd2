//! Participants' pages, all behind their personal link `/p/{token}`: no account, no JavaScript needed,
//! every post CSRF-checked. Whatever state the participation is in, the link's first page sends them
//! to the right step.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::actions::{self, Standing, Visit, NOT_NOW};
use super::rules::{unanswered_message, Withdrawal};
use super::views;
use crate::audit::Origin;
use crate::distribution::links::handlers::{link_problem, private, unrecognised};
use crate::error::AppError;
use crate::web::page::see_other;
use crate::web::Page;

pub fn routes(cfg: &mut web::ServiceConfig) {
    // One scope: the router matches the link once and then only the short rest of the path, where a
    // route of its own per page would each match the whole path (the busiest pages there are).
    cfg.service(
        web::scope("/p/{token}")
            .service(
                web::resource("/page/{n}")
                    .get(question_page)
                    .post(save_page),
            )
            .service(web::resource("").get(entry))
            .service(web::resource("/consent").get(consent_page).post(consent))
            .service(web::resource("/about").get(about_page).post(about))
            .service(web::resource("/review").get(review_page))
            .service(web::resource("/submit").post(submit))
            .service(web::resource("/done").get(done_page))
            .service(web::resource("/my-consent").get(my_consent))
            .service(web::resource("/my-consent/email").post(email_consent))
            .service(web::resource("/support").get(support))
            .service(web::resource("/pause").get(pause))
            .service(web::resource("/withdraw").get(withdraw_page).post(withdraw)),
    );
}

/// The link's own address: every page of the journey hangs off it.
fn home(secret: &str) -> String {
    format!("/p/{secret}")
}

/// Which links a page still works for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Works {
    /// Links that open the questionnaire.
    WhileOpen,
    /// Also after closing (withdrawing, a copy of one's consent).
    AfterClosing,
    /// Any link we recognise (the support page).
    Always,
}

/// Reads the participation behind the link, or the response to give instead: the calm page for an
/// unknown link, or for one that no longer works for this page.
async fn arrive(
    page: &Page,
    req: &HttpRequest,
    secret: &str,
    works: Works,
) -> Result<Result<Visit, HttpResponse>, AppError> {
    let visit = match actions::visit(
        page.state(),
        secret.to_string(),
        crate::request::client_ip(req),
    )
    .await
    {
        Ok(visit) => visit,
        Err(error) => return unrecognised(page, error).map(Err),
    };
    let works = match works {
        Works::WhileOpen => visit.standing() == Standing::Open,
        Works::AfterClosing => matches!(visit.standing(), Standing::Open | Standing::Closed),
        Works::Always => true,
    };
    if works {
        Ok(Ok(visit))
    } else {
        gone(page, &visit).map(Err)
    }
}

/// `let visit = arrive!(page, req, secret, Works::…);`: the visit, or return the response instead.
macro_rules! arrive {
    ($page:expr, $req:expr, $secret:expr, $works:expr) => {
        match arrive(&$page, &$req, &$secret, $works).await? {
            Ok(visit) => visit,
            Err(response) => return Ok(response),
        }
    };
}

/// The calm page for a link that no longer opens the questionnaire.
fn gone(page: &Page, visit: &Visit) -> Result<HttpResponse, AppError> {
    gone_saying(page, visit, "")
}

/// The calm page for a link that no longer opens the questionnaire, with `more` said after why.
fn gone_saying(page: &Page, visit: &Visit, more: &str) -> Result<HttpResponse, AppError> {
    let snapshot = Some(visit.snapshot.as_ref());
    let (title, message) = match visit.standing() {
        Standing::Replaced => (
            "This link has been replaced",
            "The study team has sent you a newer link. Please use the link in the newest email, or contact the team.",
        ),
        // An open link reaches here only for a page it does not work for: none are closed to it.
        Standing::Closed | Standing::Open => (
            "This study has closed",
            "Thank you for your interest. The study is no longer taking answers.",
        ),
        Standing::Withdrawn => (
            "You have withdrawn from this study",
            "You told us you no longer want to take part, so this link no longer opens the questionnaire.",
        ),
    };
    let message = format!("{message} {more}");
    link_problem(page, StatusCode::GONE, title, message.trim_end(), snapshot)
}

/// A page of answers that arrived when the link no longer took them: the person is told that what
/// they typed on it was not saved, and what was kept. A link that still works but was not at that
/// step goes to the step it is at.
async fn arrived_too_late(
    page: &Page,
    req: &HttpRequest,
    secret: &str,
) -> Result<HttpResponse, AppError> {
    let visit = arrive!(page, req, secret, Works::Always);
    let kept = match visit.standing() {
        Standing::Open => return go(&home(secret)),
        Standing::Closed => "What you typed on the last page arrived after the study closed, so it was not saved. The answers you saved before then are kept.",
        Standing::Replaced | Standing::Withdrawn => {
            "What you typed on the last page was not saved."
        }
    };
    gone_saying(page, &visit, kept)
}

/// What every participant page shows: the study, the link's address and who to contact. Pages that
/// show more of the information sheet add it (as `info`) themselves.
fn context(secret: &str, visit: &Visit) -> tera::Context {
    let mut context = tera::Context::new();
    context.insert("home", &home(secret));
    context.insert("study_title", &visit.target.study_title);
    context.insert("questionnaire", &visit.snapshot.title);
    context.insert("contact", &visit.snapshot.information.contact);
    context.insert("consented", &visit.consented());
    context.insert("joining", &visit.joining.is_some());
    context.insert("closes_at", &visit.target.closes_at);
    // Typed answers kept on the device until saved (answers.js) belong to the response as it was last
    // saved: a later save makes them stale.
    if let Some(response) = &visit.response {
        context.insert("drafts", &response.id);
        context.insert(
            "drafts_base",
            &response
                .updated_at
                .format("%Y-%m-%dT%H:%M:%S%.6f")
                .to_string(),
        );
    }
    context
}

fn render(page: &Page, template: &str, context: tera::Context) -> Result<HttpResponse, AppError> {
    page.render(template, context).map(private)
}

fn render_status(
    page: &Page,
    status: StatusCode,
    template: &str,
    context: tera::Context,
) -> Result<HttpResponse, AppError> {
    page.render_status(status, template, context).map(private)
}

fn go(location: &str) -> Result<HttpResponse, AppError> {
    Ok(private(see_other(location)))
}

/// Where the participant is: the step their link should open.
fn current_step(secret: &str, visit: &Visit) -> Option<String> {
    let home = home(secret);
    if !visit.consented() {
        return None;
    }
    if visit.submitted() {
        return Some(format!("{home}/done"));
    }
    let Some(journey) = visit.journey() else {
        return Some(format!("{home}/about"));
    };
    let resume = visit
        .response
        .as_ref()
        .map_or(0, |r| usize::try_from(r.page - 1).unwrap_or(0));
    let live = journey.live_pages(&visit.answers);
    match live.iter().find(|i| **i >= resume) {
        Some(index) => Some(format!("{home}/page/{}", index + 1)),
        None => Some(format!("{home}/review")),
    }
}

/// A step refused because it does not fit where the participant is: back to where they are.
fn redirect_home(secret: &str, error: AppError) -> Result<HttpResponse, AppError> {
    match error {
        AppError::Forbidden => go(&home(secret)),
        other => Err(other),
    }
}

async fn entry(
    page: Page,
    req: HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let secret = token.into_inner();
    let visit = arrive!(page, req, secret, Works::WhileOpen);
    if let Some(step) = current_step(&secret, &visit) {
        return go(&step);
    }
    let mut context = context(&secret, &visit);
    context.insert("info", &visit.snapshot.information);
    context.insert("description", &visit.snapshot.description);
    context.insert("declined", &visit.declined());
    render(&page, "respond/information.html", context)
}

fn consent_context(secret: &str, visit: &Visit, ticked: &[bool]) -> tera::Context {
    let mut context = context(secret, visit);
    let statements: Vec<serde_json::Value> = visit
        .snapshot
        .information
        .consent_statements
        .iter()
        .enumerate()
        .map(|(i, s)| {
            serde_json::json!({
                "field": crate::studies::consent::rules::statement_field(i),
                "text": s.text, "required": s.required,
                "ticked": ticked.get(i).copied().unwrap_or(false),
            })
        })
        .collect();
    context.insert("statements", &statements);
    context
}

async fn consent_page(
    page: Page,
    req: HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let secret = token.into_inner();
    let visit = arrive!(page, req, secret, Works::WhileOpen);
    if visit.consented() {
        return go(&home(&secret));
    }
    render(
        &page,
        "respond/consent.html",
        consent_context(&secret, &visit, &[]),
    )
}

async fn consent(
    page: Page,
    req: HttpRequest,
    origin: Origin,
    token: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let secret = token.into_inner();
    let visit = arrive!(page, req, secret, Works::WhileOpen);
    let form = form.into_inner();
    let declining = form.iter().any(|(k, v)| k == "decision" && v == "decline");
    let state = page.state();
    if declining {
        return match actions::decline(state, &origin, secret.clone()).await {
            Ok(()) => {
                let mut context = context(&secret, &visit);
                context.insert("consented", &false);
                context.insert("kept_nothing", &visit.joining.is_some());
                render(&page, "respond/declined.html", context)
            }
            Err(error) => redirect_home(&secret, error),
        };
    }
    let ticked: Vec<bool> = (0..visit.snapshot.information.consent_statements.len())
        .map(|i| {
            let field = crate::studies::consent::rules::statement_field(i);
            form.iter().any(|(k, _)| *k == field)
        })
        .collect();
    let ip = crate::request::client_ip(&req);
    match actions::consent(state, &origin, secret.clone(), ticked.clone(), ip).await {
        // Straight to the first question (or to saying who they are): one redirect fewer.
        Ok(()) if visit.audience().is_some() => go(&format!("{}/page/1", home(&secret))),
        Ok(()) => go(&format!("{}/about", home(&secret))),
        Err(AppError::Invalid(errors)) => page
            .render_invalid(
                "respond/consent.html",
                consent_context(&secret, &visit, &ticked),
                &errors,
            )
            .map(private),
        Err(error) => redirect_home(&secret, error),
    }
}

const GROUPS: [(&str, &str, &str); 3] = [
    (
        "staff",
        "I work for the trust",
        "For example in a clinical, support or management role.",
    ),
    (
        "service_user",
        "I use, or have used, the trust's services",
        "",
    ),
    (
        "carer",
        "I care for someone who uses the trust's services",
        "For example a family member or friend.",
    ),
];

fn about_context(secret: &str, visit: &Visit, chosen: &str, easy_read: bool) -> tera::Context {
    let mut context = context(secret, visit);
    context.insert(
        "groups",
        &GROUPS
            .iter()
            .map(|(value, label, hint)| serde_json::json!({ "value": value, "label": label, "hint": hint }))
            .collect::<Vec<_>>(),
    );
    context.insert("group", chosen);
    context.insert("easy_read", &easy_read);
    context
}

async fn about_page(
    page: Page,
    req: HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let secret = token.into_inner();
    let visit = arrive!(page, req, secret, Works::WhileOpen);
    if !visit.consented() || visit.response.is_some() || visit.submitted() {
        return go(&home(&secret));
    }
    render(
        &page,
        "respond/about.html",
        about_context(&secret, &visit, "", false),
    )
}

#[derive(Deserialize)]
struct AboutForm {
    #[serde(default)]
    group: String,
    #[serde(default)]
    easy_read: Option<String>,
}

async fn about(
    page: Page,
    req: HttpRequest,
    token: web::Path<String>,
    form: web::Form<AboutForm>,
) -> Result<HttpResponse, AppError> {
    let secret = token.into_inner();
    let easy_read = form.easy_read.is_some();
    let Some(&(group, _, _)) = GROUPS.iter().find(|(value, _, _)| *value == form.group) else {
        let visit = arrive!(page, req, secret, Works::WhileOpen);
        let errors = crate::error::FieldErrors::from([(
            "group".to_string(),
            "Choose the answer that describes you best".to_string(),
        )]);
        return page
            .render_invalid(
                "respond/about.html",
                about_context(&secret, &visit, "", easy_read),
                &errors,
            )
            .map(private);
    };
    match actions::choose_group(page.state(), secret.clone(), group, easy_read).await {
        Ok(()) => go(&format!("{}/page/1", home(&secret))),
        Err(error) => redirect_home(&secret, error),
    }
}

/// The page number in the address (from 1) as an index (from 0).
fn page_index(n: usize) -> Result<usize, AppError> {
    n.checked_sub(1).ok_or(AppError::NotFound)
}

#[allow(clippy::too_many_arguments)]
fn question_context(
    secret: &str,
    visit: &Visit,
    journey: &super::rules::Journey,
    index: usize,
    entered: Option<&std::collections::HashMap<String, Vec<String>>>,
    errors: &[(String, String)],
    returning_to_review: bool,
) -> tera::Context {
    let section = journey.page(index).expect("the page exists");
    let mut context = context(secret, visit);
    context.insert("page_number", &(index + 1));
    context.insert("answers_form", &true);
    context.insert("section", section);
    context.insert(
        "questions",
        &views::page_questions(journey, index, &visit.answers, entered, errors),
    );
    context.insert("progress", &views::progress(journey, index, &visit.answers));
    context.insert("error_list", errors);
    context.insert("returning_to_review", &returning_to_review);
    context.insert("submitted", &visit.submitted());
    context
}

#[derive(Deserialize)]
struct PageQuery {
    #[serde(default)]
    r#return: String,
}

async fn question_page(
    page: Page,
    req: HttpRequest,
    path: web::Path<(String, usize)>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let (secret, n) = path.into_inner();
    let index = page_index(n)?;
    let visit = arrive!(page, req, secret, Works::WhileOpen);
    if !visit.can_change() {
        return go(&home(&secret));
    }
    let journey = visit.journey().ok_or(AppError::NotFound)?;
    if journey.page(index).is_none() {
        return Err(AppError::NotFound);
    }
    render(
        &page,
        "respond/question.html",
        question_context(
            &secret,
            &visit,
            &journey,
            index,
            None,
            &[],
            query.r#return == "review",
        ),
    )
}

async fn save_page(
    page: Page,
    req: HttpRequest,
    path: web::Path<(String, usize)>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let (secret, n) = path.into_inner();
    let index = page_index(n)?;
    let form = form.into_inner();
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let (intent, returning_to_review) = (field("go"), field("return") == "review");
    // Only "Save and continue" asks for every required answer: going back, pausing and asking for
    // support save what there is.
    let going_on = !matches!(intent.as_str(), "back" | "pause" | "support");
    let saved = match actions::save_page(page.state(), secret.clone(), index, form, going_on).await
    {
        Ok(saved) => saved,
        Err(AppError::Forbidden) => return arrived_too_late(&page, &req, &secret).await,
        Err(error) => return Err(error),
    };
    let (input, visit, journey) = (saved.input, saved.visit, saved.journey);
    let mut problems = input.invalid.clone();
    if going_on {
        problems.extend(input.missing.iter().cloned());
    }
    let home = home(&secret);
    if !problems.is_empty() {
        // Show the problems in the order of the questions on the page.
        let order: Vec<(String, usize)> = journey
            .shown(index, &visit.answers)
            .map(|q| (super::rules::field_name(q.id), q.number))
            .collect();
        problems.sort_by_key(|(f, _)| order.iter().position(|(o, _)| o == f));
        if intent == "support" {
            // Someone asking for support goes there at once: the rest of the page is saved, and the
            // support page says which answers were not.
            let unsaved: Vec<String> = problems
                .iter()
                .filter_map(|(f, _)| order.iter().find(|(o, _)| o == f))
                .map(|(_, number)| number.to_string())
                .collect();
            return go(&format!("{home}/support?unsaved={}", unsaved.join(",")));
        }
        let context = question_context(
            &secret,
            &visit,
            &journey,
            index,
            Some(&input.entered),
            &problems,
            returning_to_review,
        );
        return render_status(
            &page,
            StatusCode::UNPROCESSABLE_ENTITY,
            "respond/question.html",
            context,
        );
    }
    match intent.as_str() {
        "pause" => go(&format!("{home}/pause")),
        "support" => go(&format!("{home}/support")),
        "back" => match journey.previous_page(index, &visit.answers) {
            Some(previous) => go(&format!("{home}/page/{}", previous + 1)),
            None => go(&format!("{home}/page/{}", index + 1)),
        },
        _ if returning_to_review || visit.submitted() => go(&format!("{home}/review")),
        _ => match journey.next_page(index, &visit.answers) {
            Some(next) => go(&format!("{home}/page/{}", next + 1)),
            None => go(&format!("{home}/review")),
        },
    }
}

fn review_context(
    secret: &str,
    visit: &Visit,
    errors: &[(String, String)],
) -> Result<tera::Context, AppError> {
    let journey = visit.journey().ok_or(NOT_NOW)?;
    let mut context = context(secret, visit);
    context.insert("pages", &views::review(&journey, &visit.answers, errors));
    context.insert("error_list", errors);
    context.insert("submitted", &visit.submitted());
    context.insert("can_change", &visit.can_change());
    Ok(context)
}

async fn review_page(
    page: Page,
    req: HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let secret = token.into_inner();
    let visit = arrive!(page, req, secret, Works::WhileOpen);
    if !visit.can_change() {
        return go(&home(&secret));
    }
    match review_context(&secret, &visit, &[]) {
        Ok(context) => render(&page, "respond/review.html", context),
        Err(error) => redirect_home(&secret, error),
    }
}

async fn submit(
    page: Page,
    req: HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let secret = token.into_inner();
    let missing = match actions::submit(page.state(), secret.clone()).await {
        Ok(missing) => missing,
        Err(error) => return redirect_home(&secret, error),
    };
    if missing.is_empty() {
        return go(&format!("{}/done", home(&secret)));
    }
    let visit = arrive!(page, req, secret, Works::WhileOpen);
    let journey = visit.journey().ok_or(NOT_NOW)?;
    let errors: Vec<(String, String)> = missing
        .iter()
        .filter_map(|(index, id)| {
            journey
                .page(*index)?
                .questions
                .iter()
                .find(|q| q.id == *id)
                .map(|q| (super::rules::field_name(q.id), unanswered_message(q)))
        })
        .collect();
    let context = review_context(&secret, &visit, &errors)?;
    render_status(
        &page,
        StatusCode::UNPROCESSABLE_ENTITY,
        "respond/review.html",
        context,
    )
}

async fn done_page(
    page: Page,
    req: HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let secret = token.into_inner();
    let visit = arrive!(page, req, secret, Works::WhileOpen);
    if !visit.submitted() {
        return go(&home(&secret));
    }
    let mut context = context(&secret, &visit);
    context.insert("anonymised", &visit.anonymised());
    context.insert("can_change", &visit.can_change());
    let pages = visit
        .journey()
        .filter(|_| !visit.anonymised())
        .map(|journey| views::review(&journey, &visit.answers, &[]))
        .unwrap_or_default();
    context.insert("pages", &pages);
    render(&page, "respond/done.html", context)
}

async fn my_consent(
    page: Page,
    req: HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let secret = token.into_inner();
    let visit = arrive!(page, req, secret, Works::AfterClosing);
    let Some(record) = &visit.consent else {
        return go(&home(&secret));
    };
    let mut context = context(&secret, &visit);
    context.insert("record", record);
    context.insert("statements", &record.statements());
    context.insert("can_email", &visit.person.email.is_some());
    render(&page, "respond/my_consent.html", context)
}

async fn email_consent(page: Page, token: web::Path<String>) -> Result<HttpResponse, AppError> {
    let secret = token.into_inner();
    let base_url = page.state().settings.base_url.clone();
    match actions::email_consent_copy(page.state(), secret.clone(), base_url).await {
        Ok(true) => {
            page.flash(
                "success",
                "We are sending a copy to the email address we have for you. It may take a few minutes to arrive.",
            );
            go(&format!("{}/my-consent", home(&secret)))
        }
        Ok(false) => go(&format!("{}/my-consent", home(&secret))),
        Err(error) => redirect_home(&secret, error),
    }
}

#[derive(Deserialize)]
struct SupportQuery {
    /// The numbers of the questions whose answers could not be saved on the way here.
    #[serde(default)]
    unsaved: String,
}

async fn support(
    page: Page,
    req: HttpRequest,
    token: web::Path<String>,
    query: web::Query<SupportQuery>,
) -> Result<HttpResponse, AppError> {
    let secret = token.into_inner();
    let visit = arrive!(page, req, secret, Works::Always);
    let mut context = context(&secret, &visit);
    context.insert("info", &visit.snapshot.information);
    let unsaved: Vec<u32> = query
        .unsaved
        .split(',')
        .filter_map(|number| number.trim().parse().ok())
        .take(50)
        .collect();
    context.insert("unsaved", &unsaved);
    render(&page, "respond/support.html", context)
}

async fn pause(
    page: Page,
    req: HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let secret = token.into_inner();
    let visit = arrive!(page, req, secret, Works::WhileOpen);
    let mut context = context(&secret, &visit);
    context.insert(
        "link",
        &format!("{}{}", page.state().settings.base_url, home(&secret)),
    );
    render(&page, "respond/pause.html", context)
}

fn withdraw_context(secret: &str, visit: &Visit, effect: &Withdrawal) -> tera::Context {
    let mut context = context(secret, visit);
    context.insert(
        "withdrawal_after",
        &visit.snapshot.information.withdrawal_after,
    );
    context.insert("effect", effect);
    context
}

async fn withdraw_page(
    page: Page,
    req: HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let secret = token.into_inner();
    let visit = arrive!(page, req, secret, Works::AfterClosing);
    if !visit.consented() {
        return go(&home(&secret));
    }
    let effect = visit.withdrawal();
    render(
        &page,
        "respond/withdraw.html",
        withdraw_context(&secret, &visit, &effect),
    )
}

async fn withdraw(
    page: Page,
    req: HttpRequest,
    origin: Origin,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let secret = token.into_inner();
    let visit = arrive!(page, req, secret, Works::AfterClosing);
    if !visit.consented() {
        return go(&home(&secret));
    }
    match actions::withdraw(page.state(), &origin, secret.clone()).await {
        Ok(effect) => {
            let mut context = withdraw_context(&secret, &visit, &effect);
            context.insert("done", &true);
            context.insert("consented", &false);
            render(&page, "respond/withdrawn.html", context)
        }
        Err(error) => redirect_home(&secret, error),
    }
}
