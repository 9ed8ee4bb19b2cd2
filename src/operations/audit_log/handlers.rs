//! The audit log page for administrators.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::error::AppError;
use crate::web::{AdminUser, Page};

pub const PAGE_SIZE: i64 = 50;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/audit", web::get().to(audit_page));
}

#[derive(Deserialize)]
struct PageQuery {
    page: Option<i64>,
}

async fn audit_page(
    AdminUser(admin): AdminUser,
    page: Page,
    origin: crate::audit::Origin,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let number = query.page.unwrap_or(1).max(1);
    let details = serde_json::json!({ "page": number });
    crate::audit::looked(
        &page.state().db,
        &origin.by(admin.id),
        "audit_log_viewed",
        None,
        details,
    )
    .await?;
    let offset = (number - 1) * PAGE_SIZE;
    let events = page
        .state()
        .db
        .read(move |conn| crate::audit::recent(conn, PAGE_SIZE + 1, offset).map_err(AppError::from))
        .await?;
    let has_more = events.len() as i64 > PAGE_SIZE;
    let mut context = tera::Context::new();
    context.insert(
        "events",
        &events
            .into_iter()
            .take(PAGE_SIZE as usize)
            .collect::<Vec<_>>(),
    );
    context.insert("page_number", &number);
    context.insert("has_more", &has_more);
    page.render("admin/audit.html", context)
}
