//! Pages about the service itself, open to everyone: the accessibility statement UK public-sector
//! sites must publish, the privacy notice, cookies, how to contact the organisation, and its logo.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use super::organisation;
use super::Page;
use crate::error::AppError;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/accessibility", web::get().to(accessibility))
        .route("/privacy", web::get().to(privacy))
        .route("/cookies", web::get().to(cookies))
        .route("/contact", web::get().to(contact))
        .route("/organisation/logo", web::get().to(logo));
}

fn about(page: &Page, template: &str) -> Result<HttpResponse, AppError> {
    let mut context = tera::Context::new();
    context.insert("base_url", &page.state().settings.base_url);
    context.insert("version", env!("CARGO_PKG_VERSION"));
    context.insert("session_cookie", super::auth::SESSION_COOKIE);
    page.render(template, context)
}

async fn accessibility(page: Page) -> Result<HttpResponse, AppError> {
    about(&page, "about/accessibility.html")
}

async fn privacy(page: Page) -> Result<HttpResponse, AppError> {
    let url = page.organisation().privacy_url.clone();
    if url.is_empty() {
        about(&page, "about/privacy.html")
    } else {
        Ok(super::page::see_other(&url))
    }
}

async fn cookies(page: Page) -> Result<HttpResponse, AppError> {
    about(&page, "about/cookies.html")
}

async fn contact(page: Page) -> Result<HttpResponse, AppError> {
    about(&page, "about/contact.html")
}

/// The logo, cached for a year: its address changes with it (`?v=`).
async fn logo(page: Page) -> Result<HttpResponse, AppError> {
    let found = page
        .state()
        .db
        .read(|conn| organisation::logo(conn).map_err(AppError::from))
        .await?;
    let (bytes, kind) = found.ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type(kind)
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .body(bytes))
}
