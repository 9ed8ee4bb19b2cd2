//! Pages reached by links in emails and posters (no account): take part, stop emails, join by an open
//! link; and the lead's open-link page. Every answer to a link is calm and names who to contact.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::actions::{self, Joining};
use crate::audit::Origin;
use crate::distribution::participants::rules::Group;
use crate::error::{AppError, FieldErrors};
use crate::studies::access::StudyAccess;
use crate::studies::rules::StudyRole;
use crate::studies::versions::rules::Snapshot;
use crate::web::page::see_other;
use crate::web::{CurrentUser, Page};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/o/{token}", web::get().to(opt_out_page))
        .route("/o/{token}", web::post().to(opt_out))
        .route("/join/{token}", web::get().to(join_page))
        .route("/join/{token}", web::post().to(join))
        .route(
            "/studies/{id}/questionnaires/{q}/open-links",
            web::get().to(open_links),
        )
        .route(
            "/studies/{id}/questionnaires/{q}/open-links",
            web::post().to(create_open_link),
        )
        .route(
            "/studies/{id}/questionnaires/{q}/open-links/{lid}/revoke",
            web::post().to(revoke_open_link),
        );
}

/// Pages behind a secret link are never cached or indexed.
pub(crate) fn private(mut response: HttpResponse) -> HttpResponse {
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    headers.insert(
        header::HeaderName::from_static("x-robots-tag"),
        header::HeaderValue::from_static("noindex"),
    );
    response
}

/// The calm page for a link that cannot be used, with the study's contact when the study is known.
pub(crate) fn link_problem(
    page: &Page,
    status: StatusCode,
    title: &str,
    message: &str,
    snapshot: Option<&Snapshot>,
) -> Result<HttpResponse, AppError> {
    let mut context = tera::Context::new();
    context.insert("title", title);
    context.insert("message", message);
    context.insert(
        "contact",
        &snapshot
            .map(|s| s.information.contact.clone())
            .unwrap_or_default(),
    );
    page.render_status(status, "links/problem.html", context)
        .map(private)
}

/// Unknown and throttled links get their own calm pages rather than the general error page.
pub(crate) fn unrecognised(page: &Page, error: AppError) -> Result<HttpResponse, AppError> {
    match error {
        AppError::NotFound => link_problem(
            page,
            StatusCode::NOT_FOUND,
            "We do not recognise this link",
            "Please check that the whole link was copied, or use the newest email we sent you. If it still does not work, contact the person who sent it to you.",
            None,
        ),
        AppError::TooManyRequests(message) => link_problem(
            page,
            StatusCode::TOO_MANY_REQUESTS,
            "Please wait a little",
            &message,
            None,
        ),
        other => Err(other),
    }
}

async fn opt_out_page(
    page: Page,
    req: HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    opt_out_view(page, req, None, token.into_inner()).await
}

/// Both the page's button and mail programs' one-click unsubscribe (RFC 8058) post here. The link's
/// secret is the only authority, so there is no session and no CSRF token to check.
async fn opt_out(
    page: Page,
    req: HttpRequest,
    origin: Origin,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    opt_out_view(page, req, Some(origin), token.into_inner()).await
}

/// The opt-out page; with an origin (a post), the participant is opted out first.
async fn opt_out_view(
    page: Page,
    req: HttpRequest,
    opting_out: Option<Origin>,
    secret: String,
) -> Result<HttpResponse, AppError> {
    let state = page.state();
    let (target, snapshot) = match actions::opt_out_target(
        &state.db,
        &state.settings,
        secret.clone(),
        crate::request::client_ip(&req),
    )
    .await
    {
        Ok(found) => found,
        Err(error) => return unrecognised(&page, error),
    };
    if let Some(origin) = &opting_out {
        actions::opt_out(&state.db, origin, &target).await?;
    }
    let mut context = tera::Context::new();
    context.insert("token", &secret);
    context.insert("study_title", &target.study_title);
    context.insert(
        "done",
        &(opting_out.is_some() || target.opted_out_at.is_some()),
    );
    context.insert("contact", &snapshot.information.contact);
    page.render("links/opt_out.html", context).map(private)
}

async fn join_page(
    page: Page,
    req: HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let state = page.state();
    let secret = token.into_inner();
    let joining = match actions::find_open_link(
        &state.db,
        &state.settings,
        secret.clone(),
        crate::request::client_ip(&req),
    )
    .await
    {
        Ok(joining) => joining,
        Err(error) => return unrecognised(&page, error),
    };
    match joining {
        Joining::Open(_, _, title) => {
            let mut context = tera::Context::new();
            context.insert("token", &secret);
            context.insert("study_title", &title);
            page.render("links/join.html", context).map(private)
        }
        Joining::Closed(title) => link_problem(
            &page,
            StatusCode::GONE,
            &format!("{title} has closed"),
            "Thank you for your interest. The study is no longer taking part in new answers through this link.",
            None,
        ),
    }
}

/// Joining hands out a link of one's own (nobody is made a participant until they consent), and it
/// takes a deliberate press of a button: link previews and crawlers fetch pages, they do not post forms.
async fn join(
    page: Page,
    req: HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let state = page.state();
    match actions::join(
        &state.db,
        &state.settings,
        token.into_inner(),
        crate::request::client_ip(&req),
    )
    .await
    {
        Ok(Some(personal)) => Ok(private(see_other(&format!("/p/{personal}")))),
        Ok(None) => link_problem(
            &page,
            StatusCode::GONE,
            "This link has closed",
            "Thank you for your interest. The study is no longer taking new answers through this link.",
            None,
        ),
        Err(error) => unrecognised(&page, error),
    }
}

const LEAD: &[StudyRole] = &[StudyRole::Lead];

async fn render_open_links(
    page: &Page,
    access: &StudyAccess,
    questionnaire_id: i64,
    new_link: Option<String>,
    errors: Option<&FieldErrors>,
) -> Result<HttpResponse, AppError> {
    let db = &page.state().db;
    let questionnaire =
        crate::studies::consent::actions::questionnaire(db, access.study.id, questionnaire_id)
            .await?;
    let links = actions::open_links(db, questionnaire_id).await?;
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("questionnaire", &questionnaire);
    context.insert("links", &links);
    context.insert("new_link", &new_link);
    context.insert("base_url", &page.state().settings.base_url);
    context.insert(
        "groups",
        &Group::ALL
            .iter()
            .map(|g| (g.as_str(), g.label()))
            .collect::<Vec<_>>(),
    );
    context.insert(
        "default_closes_on",
        &(crate::db::now().date() + chrono::Duration::days(42)).to_string(),
    );
    let response = match errors {
        Some(errors) => page.render_invalid("links/open_links.html", context, errors)?,
        None => page.render("links/open_links.html", context)?,
    };
    Ok(private(response))
}

async fn open_links(
    user: CurrentUser,
    page: Page,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, questionnaire_id) = path.into_inner();
    let access = StudyAccess::with_role(&page.state().db, &user, study_id, LEAD).await?;
    render_open_links(&page, &access, questionnaire_id, None, None).await
}

#[derive(Deserialize)]
struct OpenLinkForm {
    #[serde(default)]
    group: String,
    #[serde(default)]
    closes_on: String,
}

async fn create_open_link(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    form: web::Form<OpenLinkForm>,
) -> Result<HttpResponse, AppError> {
    let (study_id, questionnaire_id) = path.into_inner();
    let access = StudyAccess::with_role(&page.state().db, &user, study_id, LEAD).await?;
    let group = Group::parse(&form.group);
    let closes =
        crate::web::dates::parse_day(&form.closes_on).filter(|day| *day > crate::db::now().date());
    let Some(closes) = closes else {
        let errors = FieldErrors::from([(
            "closes_on".to_string(),
            "Enter a closing date after today, for example 31 1 2027".to_string(),
        )]);
        return render_open_links(&page, &access, questionnaire_id, None, Some(&errors)).await;
    };
    let closes_at = closes.and_hms_opt(23, 59, 59).expect("a valid time of day");
    match actions::create_open_link(
        &page.state().db,
        &origin.by(user.id),
        study_id,
        questionnaire_id,
        group,
        closes_at,
    )
    .await
    {
        Ok(secret) => {
            let link = format!("{}/join/{secret}", page.state().settings.base_url);
            render_open_links(&page, &access, questionnaire_id, Some(link), None).await
        }
        Err(AppError::Invalid(errors)) => {
            render_open_links(&page, &access, questionnaire_id, None, Some(&errors)).await
        }
        Err(other) => Err(other),
    }
}

async fn revoke_open_link(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, questionnaire_id, link_id) = path.into_inner();
    StudyAccess::with_role(&page.state().db, &user, study_id, LEAD).await?;
    crate::studies::consent::actions::questionnaire(&page.state().db, study_id, questionnaire_id)
        .await?;
    actions::revoke_open_link(
        &page.state().db,
        &origin.by(user.id),
        questionnaire_id,
        link_id,
    )
    .await?;
    page.flash(
        "success",
        "The open link is switched off. People who already joined keep their own links.",
    );
    Ok(see_other(&format!(
        "/studies/{study_id}/questionnaires/{questionnaire_id}/open-links"
    )))
}
