//! The subject-access page (to print) and its JSON file, for a study's leads.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use super::actions;
use crate::audit::Origin;
use crate::error::AppError;
use crate::studies::access::StudyAccess;
use crate::studies::rules::StudyRole;
use crate::web::{CurrentUser, Page};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/studies/{id}/participants/{pid}/subject-access",
        web::get().to(page),
    )
    .route(
        "/studies/{id}/participants/{pid}/subject-access.json",
        web::get().to(file),
    );
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
