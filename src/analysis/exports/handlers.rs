//! The exports page (leads and analysts) and its downloads: a form per questionnaire choosing the
//! version, labels or codes, whether to add responses not sent yet, and the CSV layout. No
//! JavaScript needed: the JSON button is the same form sent to another address.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use super::actions::{self, CodebookFormat, CodingFormat, Download, ExportOptions, Format};
use crate::audit::Origin;
use crate::error::AppError;
use crate::web::{CurrentUser, Page};

pub fn routes(cfg: &mut web::ServiceConfig) {
    let base = "/studies/{id}/exports";
    cfg.route(base, web::get().to(index))
        .route(
            &format!("{base}/responses.csv"),
            web::get().to(responses_csv),
        )
        .route(
            &format!("{base}/responses.json"),
            web::get().to(responses_json),
        )
        .route(&format!("{base}/codebook.csv"), web::get().to(codebook_csv))
        .route(&format!("{base}/codebook.qdc"), web::get().to(codebook_qdc))
        .route(&format!("{base}/project.qdpx"), web::get().to(project_qdpx))
        .route(
            &format!("{base}/coded-passages.csv"),
            web::get().to(coded_passages_csv),
        );
}

/// A file as an attachment with its name, never cached.
pub fn send(file: Download) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(file.content_type)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}\"", file.file_name),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(file.body)
}

async fn index(
    user: CurrentUser,
    page: Page,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (access, questionnaires) =
        actions::exportable(&page.state().db, &user, path.into_inner()).await?;
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("questionnaires", &questionnaires);
    page.render("exports/index.html", context)
}

async fn responses(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<i64>,
    query: web::Query<ExportOptions>,
    format: Format,
) -> Result<HttpResponse, AppError> {
    let file = actions::responses(
        &page.state().db,
        &origin.by(user.id),
        &user,
        path.into_inner(),
        &query,
        format,
    )
    .await?;
    Ok(send(file))
}

async fn responses_csv(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<i64>,
    query: web::Query<ExportOptions>,
) -> Result<HttpResponse, AppError> {
    responses(user, page, origin, path, query, Format::Csv).await
}

async fn responses_json(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<i64>,
    query: web::Query<ExportOptions>,
) -> Result<HttpResponse, AppError> {
    responses(user, page, origin, path, query, Format::Json).await
}

async fn codebook(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    study_id: i64,
    format: CodebookFormat,
) -> Result<HttpResponse, AppError> {
    let file = actions::codebook_file(
        &page.state().db,
        &origin.by(user.id),
        &user,
        study_id,
        format,
    )
    .await?;
    Ok(send(file))
}

async fn codebook_csv(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    codebook(user, page, origin, path.into_inner(), CodebookFormat::Csv).await
}

async fn codebook_qdc(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    codebook(user, page, origin, path.into_inner(), CodebookFormat::Qdc).await
}

async fn coding(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    study_id: i64,
    format: CodingFormat,
) -> Result<HttpResponse, AppError> {
    let file =
        actions::coding_file(page.state(), &origin.by(user.id), &user, study_id, format).await?;
    Ok(send(file))
}

async fn project_qdpx(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    coding(user, page, origin, path.into_inner(), CodingFormat::Qdpx).await
}

async fn coded_passages_csv(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    coding(
        user,
        page,
        origin,
        path.into_inner(),
        CodingFormat::PassagesCsv,
    )
    .await
}
