//! The audit log pages: the whole site's for administrators (`/admin/audit`), a study's trail for its
//! leads (`/studies/{id}/audit`), each with filters, older and newer pages, and a CSV of what is shown.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use super::actions::{self, Scope, PAGE_SIZE};
use super::rules::FilterInput;
use crate::audit::Origin;
use crate::error::AppError;
use crate::studies::access::StudyAccess;
use crate::studies::rules::StudyRole;
use crate::web::{AdminUser, CurrentUser, Page};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/audit", web::get().to(site_page))
        .route("/admin/audit.csv", web::get().to(site_csv))
        .route("/studies/{id}/audit", web::get().to(study_page))
        .route("/studies/{id}/audit.csv", web::get().to(study_csv));
}

async fn lead(page: &Page, user: &CurrentUser, study_id: i64) -> Result<StudyAccess, AppError> {
    StudyAccess::with_role(&page.state().db, user, study_id, &[StudyRole::Lead]).await
}

async fn site_page(
    AdminUser(admin): AdminUser,
    page: Page,
    origin: Origin,
    query: web::Query<FilterInput>,
) -> Result<HttpResponse, AppError> {
    let origin = origin.by(admin.id);
    show(
        page,
        origin,
        Scope::Site,
        query.into_inner(),
        tera::Context::new(),
    )
    .await
}

async fn study_page(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<i64>,
    query: web::Query<FilterInput>,
) -> Result<HttpResponse, AppError> {
    let access = lead(&page, &user, path.into_inner()).await?;
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    let scope = Scope::Study(access.study.id);
    show(page, origin.by(user.id), scope, query.into_inner(), context).await
}

/// The page for either scope: the filter form with what was typed kept, a message beside any wrong
/// field (and no events until it is put right), else the page of events and its links.
async fn show(
    page: Page,
    origin: Origin,
    scope: Scope,
    input: FilterInput,
    mut context: tera::Context,
) -> Result<HttpResponse, AppError> {
    let db = &page.state().db;
    let choices = actions::choices(db, scope).await?;
    let base = match scope {
        Scope::Site => "/admin/audit".to_string(),
        Scope::Study(id) => format!("/studies/{id}/audit"),
    };
    context.insert("base", &base);
    context.insert("choices", &choices);
    context.insert("input", &input);
    context.insert("filter_query", &input.query_string());
    context.insert("filtered", &input.is_filtered());
    context.insert("site", &matches!(scope, Scope::Site));
    match input.parse() {
        Err(errors) => page.render_form("admin/audit.html", context, &errors),
        Ok(parsed) => {
            let found =
                actions::view(db, &origin, scope, parsed, input.query_string(), PAGE_SIZE).await?;
            context.insert("events", &found.events);
            context.insert("newer", &found.newer);
            context.insert("older", &found.older);
            page.render("admin/audit.html", context)
        }
    }
}

async fn site_csv(
    AdminUser(admin): AdminUser,
    page: Page,
    origin: Origin,
    query: web::Query<FilterInput>,
) -> Result<HttpResponse, AppError> {
    csv(&page.state().db, origin.by(admin.id), Scope::Site, &query).await
}

async fn study_csv(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<i64>,
    query: web::Query<FilterInput>,
) -> Result<HttpResponse, AppError> {
    let access = lead(&page, &user, path.into_inner()).await?;
    let scope = Scope::Study(access.study.id);
    csv(&page.state().db, origin.by(user.id), scope, &query).await
}

/// The CSV of the filtered events, for the pages and the API alike.
pub async fn csv(
    db: &crate::db::Db,
    origin: Origin,
    scope: Scope,
    input: &FilterInput,
) -> Result<HttpResponse, AppError> {
    let (filter, _) = input.parse().map_err(AppError::Invalid)?;
    let body = actions::export(db, &origin, scope, filter, input.query_string()).await?;
    let name = match scope {
        Scope::Site => "audit-log.csv".to_string(),
        Scope::Study(id) => format!("study-{id}-audit-log.csv"),
    };
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .streaming(body))
}
