//! Cross-cutting web parts: errors, who is asking, CSRF, pages and assets, middleware.

pub mod assets;
pub mod auth;
pub mod csrf;
pub mod error;
pub mod middleware;
pub mod page;

use actix_web::{web, HttpRequest};

pub use auth::{AdminUser, CurrentUser};
pub use error::{AppError, FieldErrors};
pub use page::Page;

use crate::app::AppState;

/// The client's address: the peer, or the first X-Forwarded-For hop when configured to trust a proxy.
pub fn client_ip(req: &HttpRequest) -> Option<String> {
    let trust_proxy = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|s| s.settings.trust_forwarded_for);
    if trust_proxy {
        if let Some(forwarded) = req.connection_info().realip_remote_addr() {
            return Some(forwarded.to_string());
        }
    }
    req.peer_addr().map(|a| a.ip().to_string())
}
