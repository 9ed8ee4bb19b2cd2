//! The subject-access page (to print) and its JSON file, for a study's leads.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::actions;
use crate::audit::Origin;
use crate::error::AppError;
use crate::studies::access::StudyAccess;
use crate::studies::rules::StudyRole;
use crate::web::page::see_other;
use crate::web::{CurrentUser, Page};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/studies/{id}/participants/{pid}/subject-access",
        web::get().to(page),
    )
    .route(
        "/studies/{id}/participants/{pid}/subject-access.json",
        web::get().to(file),
    )
    .route(
        "/studies/{id}/participants/{pid}/erase-everything",
        web::get().to(erase_page),
    )
    .route(
        "/studies/{id}/participants/{pid}/erase-everything",
        web::post().to(erase),
    )
    .route("/studies/{id}/subject-access", web::get().to(find_person));
}

async fn gather(
    page: &Page,
    user: &CurrentUser,
    origin: Origin,
    path: (i64, i64),
) -> Result<actions::SubjectAccess, AppError> {
    let (study_id, participant_id) = path;
    let db = &page.state().db;
    let access = StudyAccess::with_role(db, user, study_id, &[StudyRole::Lead]).await?;
    actions::gather(
        db,
        &origin.by(user.id),
        study_id,
        &access.study.title,
        participant_id,
    )
    .await
}

async fn page(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let path = path.into_inner();
    let record = gather(&page, &user, origin, path).await?;
    let mut context = tera::Context::new();
    context.insert("study_id", &path.0);
    context.insert("record", &record);
    page.render("participants/subject_access.html", context)
}

async fn file(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let record = gather(&page, &user, origin, path.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"{}-subject-access.json\"",
                record.participant.participant.code
            ),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(&record))
}

async fn lead(page: &Page, user: &CurrentUser, study_id: i64) -> Result<StudyAccess, AppError> {
    StudyAccess::with_role(&page.state().db, user, study_id, &[StudyRole::Lead]).await
}

fn participant_url(study_id: i64, participant_id: i64) -> String {
    format!("/studies/{study_id}/participants/{participant_id}")
}

async fn erase_page(
    user: CurrentUser,
    page: Page,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, participant_id) = path.into_inner();
    let access = lead(&page, &user, study_id).await?;
    let found = crate::distribution::participants::actions::participant(
        &page.state().db,
        study_id,
        participant_id,
        false,
    )
    .await?;
    if found.participant.record_erased_at.is_some() {
        return Ok(see_other(&participant_url(study_id, participant_id)));
    }
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("participant", &found.participant);
    context.insert("kept", actions::KEPT_AFTER_ERASURE);
    page.render("participants/erase_everything.html", context)
}

async fn erase(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, participant_id) = path.into_inner();
    lead(&page, &user, study_id).await?;
    actions::erase_everything(
        &page.state().db,
        &origin.by(user.id),
        study_id,
        participant_id,
    )
    .await?;
    page.flash(
        "success",
        "Everything held about them is erased. Their code and consent decisions remain."
            .to_string(),
    );
    Ok(see_other(&participant_url(study_id, participant_id)))
}

#[derive(Deserialize)]
struct Search {
    #[serde(default)]
    q: Option<String>,
}

async fn find_person(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<i64>,
    query: web::Query<Search>,
) -> Result<HttpResponse, AppError> {
    let study_id = path.into_inner();
    let access = lead(&page, &user, study_id).await?;
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    let Some(text) = query.into_inner().q else {
        context.insert("q", "");
        context.insert("searched", &false);
        return page.render("participants/find_person.html", context);
    };
    context.insert("q", &text);
    let db = &page.state().db;
    match crate::distribution::participants::actions::find_person(
        db,
        &origin.by(user.id),
        study_id,
        &text,
        "subject_access",
    )
    .await
    {
        Ok(found) => {
            context.insert("searched", &true);
            context.insert("found", &found);
            page.render("participants/find_person.html", context)
        }
        Err(AppError::Invalid(errors)) => {
            context.insert("searched", &false);
            page.render_invalid("participants/find_person.html", context, &errors)
        }
        Err(other) => Err(other),
    }
}
