//! Exports in the JSON API, for leads and analysts: responses as CSV or JSON, the codebook as CSV or
//! REFI-QDA. Files come back as attachments with their names.

use actix_web::{get, web, HttpResponse};

use super::actions::{self, CodebookFormat, CodingFormat, ExportOptions, Format};
use super::handlers::send;
use crate::audit::Origin;
use crate::error::AppError;
use crate::error::ErrorBody;
use crate::state::AppState;
use crate::web::CurrentUser;

pub fn routes<C: crate::web::ApiRoutes>(cfg: &mut C) {
    cfg.service(responses_csv)
        .service(responses_json)
        .service(codebook_csv)
        .service(codebook_qdc)
        .service(project_qdpx)
        .service(coded_passages_csv);
}

/// The responses to a questionnaire as CSV (UTF-8 with a byte order mark; cells that a spreadsheet
/// would run as formulas start with `'`): wide, one row per response and a column per question, or
/// long, one row per answer. Participant codes, group, service and level; never identities.
#[utoipa::path(
    tag = "analysis",
    params(("id" = i64, Path, description = "Study id"), ExportOptions),
    responses((status = 200, content_type = "text/csv", body = String), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/exports/responses.csv")]
async fn responses_csv(
    user: CurrentUser,
    origin: Origin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    query: web::Query<ExportOptions>,
) -> Result<HttpResponse, AppError> {
    let file = actions::responses(
        &state.db,
        &origin.by(user.id),
        &user,
        path.into_inner(),
        &query,
        Format::Csv,
    )
    .await?;
    Ok(send(file))
}

/// The responses to a questionnaire as JSON: the study, questionnaire, versions and questions, then
/// each response with its answers (a "choose any" answer as a list; with `values=codes`, choices as
/// their positions).
#[utoipa::path(
    tag = "analysis",
    params(("id" = i64, Path, description = "Study id"), ExportOptions),
    responses((status = 200, content_type = "application/json", body = Object), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/exports/responses.json")]
async fn responses_json(
    user: CurrentUser,
    origin: Origin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    query: web::Query<ExportOptions>,
) -> Result<HttpResponse, AppError> {
    let file = actions::responses(
        &state.db,
        &origin.by(user.id),
        &user,
        path.into_inner(),
        &query,
        Format::Json,
    )
    .await?;
    Ok(send(file))
}

/// The live codebook as CSV: code, parent, branch, COM-B, TDF, definition, inclusion, exclusion,
/// example, colour.
#[utoipa::path(
    tag = "analysis",
    params(("id" = i64, Path, description = "Study id")),
    responses((status = 200, content_type = "text/csv", body = String), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/exports/codebook.csv")]
async fn codebook_csv(
    user: CurrentUser,
    origin: Origin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let file = actions::codebook_file(
        &state.db,
        &origin.by(user.id),
        &user,
        path.into_inner(),
        CodebookFormat::Csv,
    )
    .await?;
    Ok(send(file))
}

/// The live codebook as a REFI-QDA codebook (`.qdc`, namespace `urn:QDA-XML:codebook:1.0`), codes
/// nested under their parents, each with a GUID that stays the same from one export to the next.
#[utoipa::path(
    tag = "analysis",
    params(("id" = i64, Path, description = "Study id")),
    responses((status = 200, content_type = "application/xml", body = String), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/exports/codebook.qdc")]
async fn codebook_qdc(
    user: CurrentUser,
    origin: Origin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let file = actions::codebook_file(
        &state.db,
        &origin.by(user.id),
        &user,
        path.into_inner(),
        CodebookFormat::Qdc,
    )
    .await?;
    Ok(send(file))
}

/// The study's coding as a REFI-QDA project (`.qdpx`: `project.qde` in the `urn:QDA-XML:project:1.0`
/// namespace and one UTF-8 plain-text source per participant) for NVivo, ATLAS.ti, MAXQDA or
/// QualCoder: the codebook, a case per participant with group, service and level, and every coded
/// passage at its exact character offsets. Pseudonymised; coders appear as "Coder 1", "Coder 2".
#[utoipa::path(
    tag = "analysis",
    params(("id" = i64, Path, description = "Study id")),
    responses((status = 200, content_type = "application/zip", body = Vec<u8>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/exports/project.qdpx")]
async fn project_qdpx(
    user: CurrentUser,
    origin: Origin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let file = actions::coding_file(
        &state,
        &origin.by(user.id),
        &user,
        path.into_inner(),
        CodingFormat::Qdpx,
    )
    .await?;
    Ok(send(file))
}

/// Every coded passage, one row each: participant code, group, service, level, question, the text
/// it is in (answer or notes), character offsets, the passage, code, COM-B part, valence and coder
/// ("Coder 1"). Cells that a spreadsheet would run as formulas are neutralised.
#[utoipa::path(
    tag = "analysis",
    params(("id" = i64, Path, description = "Study id")),
    responses((status = 200, content_type = "text/csv", body = String), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/exports/coded-passages.csv")]
async fn coded_passages_csv(
    user: CurrentUser,
    origin: Origin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let file = actions::coding_file(
        &state,
        &origin.by(user.id),
        &user,
        path.into_inner(),
        CodingFormat::PassagesCsv,
    )
    .await?;
    Ok(send(file))
}
