//! Cross-cutting web parts: who is asking, CSRF, page rendering and templates, assets, middleware.

pub mod api_routes;
pub mod assets;
pub mod auth;
pub mod contact_links;
pub mod csrf;
pub mod dates;
pub mod markdown;
pub mod middleware;
pub mod organisation;
pub mod page;
pub mod request_metrics;
pub mod task_list;
pub mod templates;
pub mod upload;
pub mod about;

pub use api_routes::ApiRoutes;
pub use auth::{AdminUser, CurrentUser};
pub use page::Page;
