//! The JSON API under `/api/v1`: one scope whose routes are also the OpenAPI document, so a route cannot
//! exist without being described.

use actix_web::{web, HttpResponse};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

use crate::error::{ErrorBody, ErrorDetail};
use crate::web::auth::OPENAPI_PATH;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Voices API",
        description = "Co-designed surveys and semi-structured interviews. Authenticate with a personal access token: `Authorization: Bearer vt_…` (create one on your account page or with `voices create-api-token`).",
        version = "1"
    ),
    components(schemas(ErrorBody, ErrorDetail)),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

fn v1() -> utoipa_actix_web::scope::Scope<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    utoipa_actix_web::scope("/api/v1")
        .wrap(actix_web::middleware::from_fn(
            crate::web::auth::require_signed_in,
        ))
        // API answers carry personal data and are never for a shared cache or the browser's history.
        .wrap(
            actix_web::middleware::DefaultHeaders::new()
                .add((actix_web::http::header::CACHE_CONTROL, "no-store")),
        )
        .configure(crate::accounts::api::routes)
        .configure(crate::accounts::two_factor::api::routes)
        .configure(crate::accounts::sso::api::routes)
        .configure(crate::studies::api::routes)
        .configure(crate::studies::invitations::api::routes)
        .configure(crate::studies::questionnaires::api::routes)
        .configure(crate::studies::comments::api::routes)
        .configure(crate::studies::questionnaires::history::api::routes)
        .configure(crate::studies::questionnaires::suggestions::api::routes)
        .configure(crate::studies::consent::api::routes)
        .configure(crate::studies::versions::api::routes)
        .configure(crate::studies::preview::api::routes)
        .configure(crate::studies::transfer::api::routes)
        .configure(crate::distribution::participants::api::routes)
        .configure(crate::distribution::campaigns::api::routes)
        .configure(crate::distribution::links::api::routes)
        .configure(crate::responses::api::routes)
        .configure(crate::interviews::api::routes)
        .configure(crate::analysis::codebook::api::routes)
        .configure(crate::analysis::coding::api::routes)
        .configure(crate::analysis::matrix::api::routes)
        .configure(crate::analysis::memos::api::routes)
        .configure(crate::analysis::beliefs::api::routes)
        .configure(crate::analysis::rounds::api::routes)
        .configure(crate::analysis::tracker::api::routes)
        .configure(crate::analysis::exports::api::routes)
        .configure(crate::analysis::closed::api::routes)
        .configure(crate::analysis::report::api::routes)
        .configure(crate::operations::outbox::api::routes)
        .configure(crate::operations::subject_access::api::routes)
        .configure(crate::operations::retention::api::routes)
        .configure(crate::operations::audit_log::api::routes)
        .route(
            OPENAPI_PATH.trim_start_matches("/api/v1"),
            web::get().to(openapi_json),
        )
}

/// The OpenAPI document, collected from the same routes the server mounts. Built on first request:
/// most instances are never asked, and building it is the biggest allocation at start-up.
pub fn document() -> &'static str {
    static DOCUMENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DOCUMENT.get_or_init(build_document)
}

fn build_document() -> String {
    let (_, doc) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .service(v1())
        .split_for_parts();
    doc.to_pretty_json()
        .expect("the OpenAPI document serialises")
}

/// Mounts `/api/v1`, with `/api/v1/openapi.json` inside it.
pub fn mount(cfg: &mut web::ServiceConfig) {
    cfg.service(v1());
}

async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(document())
}
