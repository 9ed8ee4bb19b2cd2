//! The framework matrix and its tables in the JSON API.

use actix_web::{get, put, web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::actions::{self, CellDetail, Matrix, MatrixQuery, SummaryChange, Tables};
use crate::audit::Origin;
use crate::error::AppError;
use crate::error::ErrorBody;
use crate::state::AppState;
use crate::web::CurrentUser;

pub fn routes<C: crate::web::ApiRoutes>(cfg: &mut C) {
    cfg.service(get_matrix)
        .service(get_cell)
        .service(put_summary)
        .service(get_tables);
}

/// Rows (participants or groups) against columns (COM-B sub-components or codes), each cell split
/// into barriers and enablers with passages and participants counted, and its written summary.
/// Mixed passages count on both sides, neutral ones on neither. Leads (and analysts, unless the study
/// says otherwise) see every count; anyone else gets the shared view: counts under the study's
/// threshold are `{"count": null, "suppressed": true}`, and rows per participant are refused (422).
#[utoipa::path(
    tag = "analysis",
    params(("id" = i64, Path, description = "Study id"), MatrixQuery),
    responses((status = 200, body = Matrix), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, description = "Rows per participant asked for in the shared view", body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/matrix")]
async fn get_matrix(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    query: web::Query<MatrixQuery>,
) -> Result<web::Json<Matrix>, AppError> {
    let (_, matrix) =
        actions::matrix(&state.db, &user, path.into_inner(), query.into_inner()).await?;
    Ok(web::Json(matrix))
}

#[derive(Deserialize, IntoParams)]
pub struct CellRef {
    /// The row's key (a participant code, a group, a service or a level).
    pub row: String,
    /// The column's key (a COM-B code such as O-PHY, or a code's id).
    pub column: String,
}

/// One cell: its quotes, pseudonymised, and its summary. In the shared view, only quotes a lead
/// approved for sharing, by group only, and no rows per participant (422).
#[utoipa::path(
    tag = "analysis",
    params(("id" = i64, Path, description = "Study id"), MatrixQuery, CellRef),
    responses((status = 200, body = CellDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, description = "Rows per participant asked for in the shared view", body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/matrix/cell")]
async fn get_cell(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    query: web::Query<MatrixQuery>,
    cell: web::Query<CellRef>,
) -> Result<web::Json<CellDetail>, AppError> {
    let CellRef { row, column } = cell.into_inner();
    let (_, detail) = actions::cell(
        &state.db,
        &user,
        path.into_inner(),
        query.into_inner(),
        row,
        column,
    )
    .await?;
    Ok(web::Json(detail))
}

/// Writes (or, empty, removes) a cell's summary. Leads and analysts.
#[utoipa::path(
    tag = "analysis",
    params(("id" = i64, Path, description = "Study id")),
    request_body = SummaryChange,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[put("/studies/{id}/matrix/summaries")]
async fn put_summary(
    user: CurrentUser,
    origin: Origin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: web::Json<SummaryChange>,
) -> Result<HttpResponse, AppError> {
    actions::summarise(
        &state.db,
        &origin.by(user.id),
        &user,
        path.into_inner(),
        body.into_inner(),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The COM-B × valence × group table (participants and passages) and the code co-occurrence table
/// (answers coded with both), under the matrix's filters; in the shared view, counts under the
/// study's threshold suppressed.
#[utoipa::path(
    tag = "analysis",
    params(("id" = i64, Path, description = "Study id"), MatrixQuery),
    responses((status = 200, body = Tables), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/matrix/tables")]
async fn get_tables(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    query: web::Query<MatrixQuery>,
) -> Result<web::Json<Tables>, AppError> {
    let (_, tables) =
        actions::tables(&state.db, &user, path.into_inner(), query.into_inner()).await?;
    Ok(web::Json(tables))
}
