//! Export and import pages: the draft as a JSON download, and a form to paste a file into. A textarea
//! rather than a file upload keeps the form urlencoded, so the global CSRF check reads its token as it
//! does for every other form, and it works without JavaScript.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::actions;
use super::rules::{self, QuestionnaireFile};
use crate::audit::Origin;
use crate::error::AppError;
use crate::studies::access::StudyAccess;
use crate::studies::questionnaires::handlers::EDITORS;
use crate::studies::questionnaires::queries::Questionnaire;
use crate::web::page::see_other;
use crate::web::{CurrentUser, Page};

/// Registered before the questionnaire pages: `/questionnaires/import` would otherwise be taken for a
/// questionnaire id.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/studies/{id}/questionnaires/import",
        web::get().to(import_page),
    )
    .route(
        "/studies/{id}/questionnaires/import",
        web::post().to(import),
    )
    .route(
        "/studies/{id}/questionnaires/{q}/export.json",
        web::get().to(export),
    );
}

/// The file as a download named after the questionnaire's id.
pub fn download(
    questionnaire: &Questionnaire,
    file: &QuestionnaireFile,
) -> Result<HttpResponse, AppError> {
    let body = serde_json::to_string_pretty(file).map_err(AppError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"questionnaire-{}.json\"",
                questionnaire.id
            ),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}

async fn export(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, questionnaire_id) = path.into_inner();
    StudyAccess::open(&page.state().db, &user, study_id).await?;
    let (questionnaire, file) = actions::export(
        &page.state().db,
        &origin.by(user.id),
        study_id,
        questionnaire_id,
    )
    .await?;
    download(&questionnaire, &file)
}

#[derive(Deserialize)]
struct ImportForm {
    #[serde(default)]
    file: String,
}

async fn import_page(
    user: CurrentUser,
    page: Page,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let access =
        StudyAccess::with_role(&page.state().db, &user, path.into_inner(), EDITORS).await?;
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("file", "");
    page.render("transfer/import.html", context)
}

async fn import(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<i64>,
    form: web::Form<ImportForm>,
) -> Result<HttpResponse, AppError> {
    let access =
        StudyAccess::with_role(&page.state().db, &user, path.into_inner(), EDITORS).await?;
    let result = match rules::parse(&form.file) {
        Ok(file) => {
            actions::import(&page.state().db, &origin.by(user.id), access.study.id, file).await
        }
        Err(errors) => Err(AppError::Invalid(errors)),
    };
    match result {
        Ok(id) => {
            page.flash(
                "success",
                "The questionnaire is imported as a new draft. Nothing else was changed.",
            );
            Ok(see_other(&format!(
                "/studies/{}/questionnaires/{id}",
                access.study.id
            )))
        }
        Err(AppError::Invalid(errors)) => {
            let mut context = tera::Context::new();
            context.insert("study", &access.study);
            context.insert("file", &form.file);
            context.insert("problems", &errors);
            page.render_status(
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                "transfer/import.html",
                context,
            )
        }
        Err(other) => Err(other),
    }
}
