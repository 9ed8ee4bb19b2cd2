//! Framework matrix pages: the matrix with its filters (a GET form), a cell's quotes and summary,
//! and the tables ready to paste into a report. No JavaScript needed.

use actix_web::{web, HttpResponse};

use super::actions::{self, MatrixQuery, SummaryChange};
use super::api::CellRef;
use crate::audit::Origin;
use crate::error::{AppError, FieldErrors};
use crate::studies::access::StudyAccess;
use crate::web::page::{form_field, see_other};
use crate::web::{CurrentUser, Page};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/studies/{id}/matrix", web::get().to(index))
        .route("/studies/{id}/matrix/cell", web::get().to(cell_page))
        .route("/studies/{id}/matrix/cell", web::post().to(summarise))
        .route("/studies/{id}/matrix/tables", web::get().to(tables));
}

/// The matrix's choices as a query string, to come back to the same view.
fn query_string(query: &MatrixQuery) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("rows", &query.rows)
        .append_pair("columns", &query.columns)
        .append_pair("version_id", &query.version_id)
        .append_pair("group", &query.group)
        .append_pair("service", &query.service)
        .append_pair("level", &query.level)
        .finish()
}

fn base_context(access: &StudyAccess, query: &MatrixQuery) -> tera::Context {
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert(
        "can_write",
        &(access.me.roles.lead || access.me.roles.analyst),
    );
    context.insert("is_lead", &access.me.roles.lead);
    context.insert("shared", &access.view().threshold());
    context.insert("query_string", &query_string(query));
    context
}

async fn index(
    user: CurrentUser,
    page: Page,
    path: web::Path<i64>,
    query: web::Query<MatrixQuery>,
) -> Result<HttpResponse, AppError> {
    let (access, matrix) = actions::matrix(
        &page.state().db,
        &user,
        path.into_inner(),
        query.into_inner(),
    )
    .await?;
    let mut context = base_context(&access, &matrix.query);
    context.insert("matrix", &matrix);
    page.render("matrix/index.html", context)
}

async fn show_cell(
    page: &Page,
    user: &CurrentUser,
    study_id: i64,
    query: MatrixQuery,
    cell: CellRef,
    typed: Option<String>,
    errors: &FieldErrors,
) -> Result<HttpResponse, AppError> {
    let (access, detail) = actions::cell(
        &page.state().db,
        user,
        study_id,
        query.clone(),
        cell.row,
        cell.column,
    )
    .await?;
    let mut context = base_context(&access, &query);
    let encoded =
        |text: &str| url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
    context.insert(
        "here",
        &format!(
            "/studies/{study_id}/matrix/cell?{}&row={}&column={}",
            query_string(&query),
            encoded(&detail.row.key),
            encoded(&detail.column.key)
        ),
    );
    context.insert("summary", &typed.unwrap_or_else(|| detail.summary.clone()));
    context.insert("detail", &detail);
    context.insert("query", &query);
    page.render_form("matrix/cell.html", context, errors)
}

async fn cell_page(
    user: CurrentUser,
    page: Page,
    path: web::Path<i64>,
    query: web::Query<MatrixQuery>,
    cell: web::Query<CellRef>,
) -> Result<HttpResponse, AppError> {
    show_cell(
        &page,
        &user,
        path.into_inner(),
        query.into_inner(),
        cell.into_inner(),
        None,
        &FieldErrors::new(),
    )
    .await
}

async fn summarise(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<i64>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let study_id = path.into_inner();
    let text = |name: &str| form_field(&form, name).to_string();
    let query = MatrixQuery {
        rows: text("rows"),
        columns: text("columns"),
        version_id: text("version_id"),
        group: text("group"),
        service: text("service"),
        level: text("level"),
    };
    let change = SummaryChange {
        rows: text("rows"),
        columns: text("columns"),
        row: text("row"),
        column: text("column"),
        summary: text("summary"),
    };
    let cell = CellRef {
        row: change.row.clone(),
        column: change.column.clone(),
    };
    match actions::summarise(
        &page.state().db,
        &origin.by(user.id),
        &user,
        study_id,
        change,
    )
    .await
    {
        Ok(()) => {
            page.flash("success", "The summary is saved.");
            Ok(see_other(&format!(
                "/studies/{study_id}/matrix?{}",
                query_string(&query)
            )))
        }
        Err(AppError::Invalid(errors)) => {
            show_cell(
                &page,
                &user,
                study_id,
                query,
                cell,
                Some(text("summary")),
                &errors,
            )
            .await
        }
        Err(other) => Err(other),
    }
}

async fn tables(
    user: CurrentUser,
    page: Page,
    path: web::Path<i64>,
    query: web::Query<MatrixQuery>,
) -> Result<HttpResponse, AppError> {
    let (access, tables) = actions::tables(
        &page.state().db,
        &user,
        path.into_inner(),
        query.into_inner(),
    )
    .await?;
    let mut context = base_context(&access, &tables.query);
    context.insert("tables", &tables);
    page.render("matrix/tables.html", context)
}
