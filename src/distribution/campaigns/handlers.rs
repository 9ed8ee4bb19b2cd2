//! Campaign pages: list, write (leads; co-designers edit the emails), preview an email, launch, close,
//! and tracking with its CSV. No JavaScript needed.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::actions::{self, CampaignInput};
use super::queries::Campaign;
use super::rules::{self, RecipientFilter};
use crate::audit::Origin;
use crate::distribution::participants::rules::{Group, Progress, SystemLevel};
use crate::distribution::tracking;
use crate::error::{AppError, FieldErrors};
use crate::studies::access::StudyAccess;
use crate::studies::rules::StudyRole;
use crate::web::page::see_other;
use crate::web::{CurrentUser, Page};

pub fn routes(cfg: &mut web::ServiceConfig) {
    let base = "/studies/{id}/campaigns";
    cfg.route(base, web::get().to(index))
        .route(base, web::post().to(create))
        .route(&format!("{base}/new"), web::get().to(new))
        .route(&format!("{base}/{{cid}}"), web::get().to(show))
        .route(&format!("{base}/{{cid}}/edit"), web::get().to(edit))
        .route(&format!("{base}/{{cid}}/edit"), web::post().to(update))
        .route(&format!("{base}/{{cid}}/preview"), web::get().to(preview))
        .route(&format!("{base}/{{cid}}/launch"), web::post().to(launch))
        .route(
            &format!("{base}/{{cid}}/close"),
            web::get().to(confirm_close),
        )
        .route(&format!("{base}/{{cid}}/close"), web::post().to(close))
        .route(
            &format!("{base}/{{cid}}/tracking.csv"),
            web::get().to(tracking_csv),
        );
}

pub const LEAD: &[StudyRole] = &[StudyRole::Lead];
/// Leads and co-designers write the emails together.
pub const WRITERS: &[StudyRole] = &[StudyRole::Lead, StudyRole::CoDesigner];
/// Those who see how a campaign is going: the team, with small counts hidden from all but leads.
pub const VIEWERS: &[StudyRole] = &[StudyRole::Lead, StudyRole::CoDesigner, StudyRole::Analyst];

pub fn campaign_url(campaign: &Campaign) -> String {
    format!("/studies/{}/campaigns/{}", campaign.study_id, campaign.id)
}

async fn open(
    page: &Page,
    user: &CurrentUser,
    study_id: i64,
    campaign_id: i64,
    roles: &[StudyRole],
) -> Result<(StudyAccess, Campaign), AppError> {
    let db = &page.state().db;
    let access = StudyAccess::with_role(db, user, study_id, roles).await?;
    let campaign = actions::find(db, study_id, campaign_id).await?;
    Ok((access, campaign))
}

async fn index(
    user: CurrentUser,
    page: Page,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let access = StudyAccess::with_role(&page.state().db, &user, *path, VIEWERS).await?;
    let campaigns = actions::list(&page.state().db, access.study.id).await?;
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("campaigns", &campaigns);
    context.insert("is_lead", &access.me.roles.lead);
    context.insert(
        "writes_files",
        &crate::mail::writes_files(&page.state().settings),
    );
    page.render("campaigns/index.html", context)
}

#[derive(Serialize)]
struct Choice {
    value: String,
    label: String,
}

fn choices<T: Copy>(
    all: &[T],
    value: fn(T) -> &'static str,
    label: fn(T) -> &'static str,
) -> Vec<Choice> {
    all.iter()
        .map(|v| Choice {
            value: value(*v).into(),
            label: label(*v).into(),
        })
        .collect()
}

/// The form page, for a new or an existing campaign.
async fn render_form(
    page: &Page,
    access: &StudyAccess,
    campaign: Option<&Campaign>,
    input: &FormValues,
    errors: Option<&FieldErrors>,
) -> Result<HttpResponse, AppError> {
    let db = &page.state().db;
    let study_id = access.study.id;
    let versions = actions::sendable_versions(db, study_id).await?;
    let services = db
        .read(move |conn| {
            crate::distribution::participants::queries::service_areas(conn, study_id)
                .map_err(AppError::from)
        })
        .await?;
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("campaign", &campaign);
    context.insert("is_lead", &access.me.roles.lead);
    context.insert("input", input);
    context.insert("versions", &versions);
    context.insert("services", &services);
    context.insert("groups", &choices(Group::ALL, Group::as_str, Group::label));
    context.insert(
        "levels",
        &choices(SystemLevel::ALL, SystemLevel::as_str, SystemLevel::label),
    );
    context.insert(
        "statuses",
        &choices(Progress::ALL, Progress::as_str, Progress::label),
    );
    context.insert("placeholders", rules::PLACEHOLDERS);
    match errors {
        Some(errors) => page.render_invalid("campaigns/form.html", context, errors),
        None => page.render("campaigns/form.html", context),
    }
}

/// What the form shows: the input as typed, so nothing is lost when something is wrong.
#[derive(Debug, Clone, Serialize, Default)]
struct FormValues {
    name: String,
    version_id: String,
    groups: Vec<String>,
    services: Vec<String>,
    levels: Vec<String>,
    statuses: Vec<String>,
    tags: String,
    invitation_subject: String,
    invitation_body: String,
    reminder_subject: String,
    reminder_body: String,
    reminder_days: String,
    contact: String,
    closes_on: String,
    lock_version: String,
}

impl FormValues {
    fn from_input(input: &CampaignInput) -> Self {
        let names = |list: Vec<&str>| list.into_iter().map(String::from).collect();
        FormValues {
            name: input.name.clone(),
            version_id: input.version_id.map(|v| v.to_string()).unwrap_or_default(),
            groups: names(input.filter.groups.iter().map(|g| g.as_str()).collect()),
            services: input.filter.services.clone(),
            levels: names(input.filter.levels.iter().map(|l| l.as_str()).collect()),
            statuses: names(input.filter.statuses.iter().map(|s| s.as_str()).collect()),
            tags: input.filter.tags.join(", "),
            invitation_subject: input.invitation_subject.clone(),
            invitation_body: input.invitation_body.clone(),
            reminder_subject: input.reminder_subject.clone(),
            reminder_body: input.reminder_body.clone(),
            reminder_days: input
                .reminder_days
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            contact: input.contact.clone(),
            closes_on: input.closes_on.map(|d| d.to_string()).unwrap_or_default(),
            lock_version: input
                .lock_version
                .map(|v| v.to_string())
                .unwrap_or_default(),
        }
    }

    fn from_form(fields: &[(String, String)]) -> Self {
        let one = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let many = |name: &str| {
            fields
                .iter()
                .filter(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .collect()
        };
        FormValues {
            name: one("name"),
            version_id: one("version_id"),
            groups: many("groups"),
            services: many("services"),
            levels: many("levels"),
            statuses: many("statuses"),
            tags: one("tags"),
            invitation_subject: one("invitation_subject"),
            invitation_body: one("invitation_body"),
            reminder_subject: one("reminder_subject"),
            reminder_body: one("reminder_body"),
            reminder_days: one("reminder_days"),
            contact: one("contact"),
            closes_on: one("closes_on"),
            lock_version: one("lock_version"),
        }
    }

    /// The input to check, or the errors only the form can have (a day count or date that is not one).
    fn to_input(&self) -> Result<CampaignInput, FieldErrors> {
        let mut errors = FieldErrors::new();
        let reminder_days = rules::parse_reminder_days(&self.reminder_days).unwrap_or_else(|e| {
            errors.insert("reminder_days".into(), e);
            Vec::new()
        });
        let closes_on = match self.closes_on.trim() {
            "" => None,
            text => match crate::web::dates::parse_day(text) {
                Some(day) => Some(day),
                None => {
                    errors.insert(
                        "closes_on".into(),
                        "Enter a real date, for example 31 1 2027".into(),
                    );
                    None
                }
            },
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(CampaignInput {
            name: self.name.clone(),
            version_id: self.version_id.parse().ok(),
            filter: RecipientFilter {
                groups: self.groups.iter().filter_map(|g| Group::parse(g)).collect(),
                services: self.services.clone(),
                levels: self
                    .levels
                    .iter()
                    .filter_map(|l| SystemLevel::parse(l))
                    .collect(),
                tags: self
                    .tags
                    .split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(String::from)
                    .collect(),
                statuses: self
                    .statuses
                    .iter()
                    .filter_map(|s| Progress::parse(s))
                    .collect(),
            },
            invitation_subject: self.invitation_subject.clone(),
            invitation_body: self.invitation_body.clone(),
            reminder_subject: self.reminder_subject.clone(),
            reminder_body: self.reminder_body.clone(),
            reminder_days,
            contact: self.contact.clone(),
            closes_on,
            lock_version: self.lock_version.parse().ok(),
        })
    }
}

async fn new(
    user: CurrentUser,
    page: Page,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let access = StudyAccess::with_role(&page.state().db, &user, *path, LEAD).await?;
    let mut input = CampaignInput::suggested(user.email.0.clone());
    input.closes_on = Some(crate::db::now().date() + chrono::Duration::days(42));
    render_form(&page, &access, None, &FormValues::from_input(&input), None).await
}

async fn create(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<i64>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let access = StudyAccess::with_role(&page.state().db, &user, *path, LEAD).await?;
    let values = FormValues::from_form(&form);
    let result = match values.to_input() {
        Ok(input) => {
            actions::create(
                &page.state().db,
                &origin.by(user.id),
                access.study.id,
                input,
            )
            .await
        }
        Err(errors) => Err(AppError::Invalid(errors)),
    };
    match result {
        Ok(id) => {
            page.flash(
                "success",
                "The campaign is saved as a draft. Preview the emails, then send the invitations when you are ready.",
            );
            Ok(see_other(&format!(
                "/studies/{}/campaigns/{id}",
                access.study.id
            )))
        }
        Err(AppError::Invalid(errors)) => {
            render_form(&page, &access, None, &values, Some(&errors)).await
        }
        Err(other) => Err(other),
    }
}

#[derive(Deserialize)]
struct ShowQuery {
    #[serde(default)]
    shared: Option<String>,
}

async fn show(
    user: CurrentUser,
    page: Page,
    path: web::Path<(i64, i64)>,
    query: web::Query<ShowQuery>,
) -> Result<HttpResponse, AppError> {
    let (study_id, campaign_id) = path.into_inner();
    let (access, campaign) = open(&page, &user, study_id, campaign_id, VIEWERS).await?;
    let db = &page.state().db;
    let is_lead = access.me.roles.lead;
    // Exact small counts follow the study's one rule for shared views (`Roles::view`); individual
    // recipients' codes and statuses stay with the leads, who send the emails.
    let shared = !is_lead || query.shared.is_some();
    let threshold = if query.shared.is_some() {
        Some(i64::from(access.study.small_count_threshold))
    } else {
        access.view().threshold()
    };
    let (summary, recipients) =
        tracking::handlers::campaign_tracking(db, &campaign, threshold).await?;
    let selectable = if is_lead && campaign.status != "closed" {
        actions::count_selectable(db, &campaign).await?
    } else {
        0
    };
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("campaign", &campaign);
    context.insert("filter", &campaign.filter());
    context.insert("reminder_days", &campaign.days());
    context.insert("is_lead", &is_lead);
    context.insert("can_edit", &access.me.roles.can_edit_questionnaires());
    context.insert("shared", &shared);
    context.insert("summary", &summary);
    context.insert("recipients", &if shared { Vec::new() } else { recipients });
    context.insert("selectable", &selectable);
    context.insert(
        "writes_files",
        &crate::mail::writes_files(&page.state().settings),
    );
    page.render("campaigns/show.html", context)
}

async fn edit(
    user: CurrentUser,
    page: Page,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, campaign_id) = path.into_inner();
    let (access, campaign) = open(&page, &user, study_id, campaign_id, WRITERS).await?;
    let values = FormValues::from_input(&CampaignInput::from_campaign(&campaign));
    render_form(&page, &access, Some(&campaign), &values, None).await
}

async fn update(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let (study_id, campaign_id) = path.into_inner();
    let (access, campaign) = open(&page, &user, study_id, campaign_id, WRITERS).await?;
    let values = FormValues::from_form(&form);
    let result = match values.to_input() {
        Ok(input) => {
            actions::update(
                &page.state().db,
                &origin.by(user.id),
                &campaign,
                input,
                access.me.roles.lead,
            )
            .await
        }
        Err(errors) => Err(AppError::Invalid(errors)),
    };
    match result {
        Ok(()) => {
            page.flash("success", "The campaign is saved.");
            Ok(see_other(&campaign_url(&campaign)))
        }
        Err(AppError::Invalid(errors)) => {
            render_form(&page, &access, Some(&campaign), &values, Some(&errors)).await
        }
        Err(other) => Err(other),
    }
}

#[derive(Deserialize)]
struct PreviewQuery {
    #[serde(default)]
    participant: Option<String>,
}

async fn preview(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    query: web::Query<PreviewQuery>,
) -> Result<HttpResponse, AppError> {
    let (study_id, campaign_id) = path.into_inner();
    let (access, campaign) = open(&page, &user, study_id, campaign_id, WRITERS).await?;
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("campaign", &campaign);
    context.insert(
        "participant",
        &query.participant.clone().unwrap_or_default(),
    );
    context.insert("sees_identities", &access.me.roles.lead);
    match actions::preview(
        &page.state().db,
        &origin.by(user.id),
        &campaign,
        query.participant.clone(),
        &page.state().settings.base_url,
        access.me.roles.identities(),
    )
    .await
    {
        Ok(preview) => {
            context.insert("preview", &preview);
            page.render("campaigns/preview.html", context)
        }
        Err(AppError::Invalid(errors)) => {
            page.render_invalid("campaigns/preview.html", context, &errors)
        }
        Err(other) => Err(other),
    }
}

async fn launch(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, campaign_id) = path.into_inner();
    let (_, campaign) = open(&page, &user, study_id, campaign_id, LEAD).await?;
    let state = page.state();
    match actions::launch(
        &state.db,
        &origin.by(user.id),
        &campaign,
        state.settings.message_domain(),
    )
    .await
    {
        Ok(0) => page.flash(
            "info",
            "Nobody new matches this campaign, so no invitations were queued.",
        ),
        Ok(n) => {
            state.outbox.wake();
            page.flash(
                "success",
                format!("{n} invitation{} queued. They are sent in the background; this page shows how far they have got.", if n == 1 { "" } else { "s" }),
            );
        }
        Err(AppError::Invalid(errors)) => {
            page.flash("info", errors.into_values().collect::<Vec<_>>().join(" "))
        }
        Err(other) => return Err(other),
    }
    Ok(see_other(&campaign_url(&campaign)))
}

/// Closing cannot be undone, so the lead first sees what it will do to whom.
async fn confirm_close(
    user: CurrentUser,
    page: Page,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, campaign_id) = path.into_inner();
    let (access, campaign) = open(&page, &user, study_id, campaign_id, LEAD).await?;
    if campaign.status == "closed" {
        return Ok(see_other(&campaign_url(&campaign)));
    }
    let grace_days = page.state().settings.campaigns.close_grace_days;
    let closing = actions::closing(&page.state().db, &campaign, grace_days).await?;
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("campaign", &campaign);
    context.insert("closing", &closing);
    page.render("campaigns/close.html", context)
}

async fn close(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, campaign_id) = path.into_inner();
    let (_, campaign) = open(&page, &user, study_id, campaign_id, LEAD).await?;
    let grace_days = page.state().settings.campaigns.close_grace_days;
    actions::close(&page.state().db, &origin.by(user.id), &campaign, grace_days).await?;
    page.flash(
        "success",
        "The campaign is closed. No more invitations or reminders will be sent, and people who had started answering can still finish.",
    );
    Ok(see_other(&campaign_url(&campaign)))
}

async fn tracking_csv(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, campaign_id) = path.into_inner();
    let (_, campaign) = open(&page, &user, study_id, campaign_id, LEAD).await?;
    let (_, recipients) =
        tracking::handlers::campaign_tracking(&page.state().db, &campaign, None).await?;
    let details = serde_json::json!({ "campaign_id": campaign.id });
    crate::audit::looked(
        &page.state().db,
        &origin.by(user.id),
        "export.tracking",
        Some(study_id),
        details,
    )
    .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"campaign-{}-statuses.csv\"",
                campaign.id
            ),
        ))
        .body(tracking::handlers::statuses_csv(&recipients)))
}
