//! Retention pages, for a study's leads: the schedule, what falls due, the list to review and
//! approve (asked for the second step again, like erasure), closing the study, and changing the
//! schedule. No JavaScript needed.

use actix_web::{web, HttpResponse};

use super::actions::{self, Retention};
use super::rules::ScheduleFields;
use crate::audit::Origin;
use crate::error::{AppError, FieldErrors};
use crate::studies::access::StudyAccess;
use crate::web::page::{form_field, see_other};
use crate::web::{CurrentUser, Page};

pub fn routes(cfg: &mut web::ServiceConfig) {
    let base = "/studies/{id}/retention";
    cfg.route(base, web::get().to(index))
        .route(base, web::post().to(approve))
        .route(&format!("{base}/close"), web::post().to(close))
        .route(&format!("{base}/check"), web::post().to(check))
        .route(&format!("{base}/schedule"), web::get().to(schedule_page))
        .route(&format!("{base}/schedule"), web::post().to(change_schedule));
}

fn retention_url(study_id: i64) -> String {
    format!("/studies/{study_id}/retention")
}

fn show(
    page: &Page,
    access: &StudyAccess,
    retention: &Retention,
    errors: &FieldErrors,
) -> Result<HttpResponse, AppError> {
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("retention", retention);
    page.render_form("retention/index.html", context, errors)
}

async fn index(
    user: CurrentUser,
    page: Page,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (access, retention) =
        actions::retention(&page.state().db, &user, path.into_inner()).await?;
    show(&page, &access, &retention, &FieldErrors::new())
}

/// Shows the page again with the message beside the form that failed, or carries on.
async fn again_or(
    page: &Page,
    user: &CurrentUser,
    study_id: i64,
    result: Result<String, AppError>,
) -> Result<HttpResponse, AppError> {
    match result {
        Ok(message) => {
            page.flash("success", message);
            Ok(see_other(&retention_url(study_id)))
        }
        Err(AppError::Invalid(errors)) => {
            let (access, retention) = actions::retention(&page.state().db, user, study_id).await?;
            show(page, &access, &retention, &errors)
        }
        Err(other) => Err(other),
    }
}

async fn approve(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<i64>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let study_id = path.into_inner();
    let result = match form_field(&form, "review_id").trim().parse::<i64>() {
        Ok(review_id) => actions::approve(
            &page.state().db,
            &origin.by(user.id),
            &user,
            study_id,
            review_id,
        )
        .await
        .map(|purged| {
            format!(
                "Deleted: {} names and contact details, {} online responses, notes of {} interviews and {} consent records.",
                purged.identities, purged.responses, purged.interview_notes, purged.consent_records
            )
        }),
        Err(_) => Err(AppError::invalid(
            "review_id",
            "There is no list to approve. Check again to see what falls due now.",
        )),
    };
    again_or(&page, &user, study_id, result).await
}

async fn close(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<i64>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let study_id = path.into_inner();
    let confirmed = form_field(&form, "confirm") == "yes";
    let result = actions::close(
        &page.state().db,
        &origin.by(user.id),
        &user,
        study_id,
        confirmed,
    )
    .await
    .map(|_| "The study is closed. Retention periods count from today.".to_string());
    again_or(&page, &user, study_id, result).await
}

async fn check(
    user: CurrentUser,
    page: Page,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let study_id = path.into_inner();
    let retention = actions::check_now(&page.state().db, &user, study_id).await?;
    let message = if retention.review.is_some() {
        "Checked. The list below is what falls due: review it before approving."
    } else {
        "Checked. Nothing falls due now."
    };
    page.flash("success", message);
    Ok(see_other(&retention_url(study_id)))
}

fn schedule_form(
    page: &Page,
    access: &StudyAccess,
    form: &ScheduleFields,
    errors: &FieldErrors,
) -> Result<HttpResponse, AppError> {
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("form", form);
    page.render_form("retention/schedule.html", context, errors)
}

async fn schedule_page(
    user: CurrentUser,
    page: Page,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (access, retention) =
        actions::retention(&page.state().db, &user, path.into_inner()).await?;
    schedule_form(
        &page,
        &access,
        &ScheduleFields::from(&retention.schedule),
        &FieldErrors::new(),
    )
}

async fn change_schedule(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<i64>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let study_id = path.into_inner();
    let field = |name: &str| form_field(&form, name).to_string();
    let fields = ScheduleFields {
        identities_months: field("identities_months"),
        responses_months: field("responses_months"),
        interview_notes_months: field("interview_notes_months"),
        consent_months: field("consent_months"),
        audit_months: field("audit_months"),
    };
    let db = &page.state().db;
    match actions::set_schedule(db, &origin.by(user.id), &user, study_id, fields.clone()).await {
        Ok(_) => {
            page.flash("success", "The retention schedule is saved.");
            Ok(see_other(&retention_url(study_id)))
        }
        Err(AppError::Invalid(errors)) => {
            let (access, _) = actions::retention(db, &user, study_id).await?;
            schedule_form(&page, &access, &fields, &errors)
        }
        Err(other) => Err(other),
    }
}
