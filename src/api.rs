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

/// One area's `/api/v1` routes, as the OpenAPI document and as the served app register them.
struct Area {
    name: &'static str,
    documented: fn(&mut utoipa_actix_web::service_config::ServiceConfig<'_>),
    served: fn(&mut web::ServiceConfig),
}

macro_rules! areas {
    ($($name:literal => $($module:ident)::+,)*) => {
        &[$(Area {
            name: $name,
            documented: |cfg| crate::$($module)::+::api::routes(cfg),
            served: |cfg| crate::$($module)::+::api::routes(cfg),
        }),*]
    };
}

/// Every area's routes under `/api/v1`, named for the schema check below.
const AREAS: &[Area] = areas![
    "accounts" => accounts,
    "accounts::two_factor" => accounts::two_factor,
    "accounts::sso" => accounts::sso,
    "accounts::setup" => accounts::setup,
    "studies" => studies,
    "studies::invitations" => studies::invitations,
    "studies::questionnaires" => studies::questionnaires,
    "studies::comments" => studies::comments,
    "studies::questionnaires::history" => studies::questionnaires::history,
    "studies::questionnaires::suggestions" => studies::questionnaires::suggestions,
    "studies::consent" => studies::consent,
    "studies::versions" => studies::versions,
    "studies::preview" => studies::preview,
    "studies::transfer" => studies::transfer,
    "distribution::participants" => distribution::participants,
    "distribution::campaigns" => distribution::campaigns,
    "distribution::links" => distribution::links,
    "responses" => responses,
    "interviews" => interviews,
    "analysis::codebook" => analysis::codebook,
    "analysis::coding" => analysis::coding,
    "analysis::matrix" => analysis::matrix,
    "analysis::memos" => analysis::memos,
    "analysis::beliefs" => analysis::beliefs,
    "analysis::rounds" => analysis::rounds,
    "analysis::tracker" => analysis::tracker,
    "analysis::exports" => analysis::exports,
    "analysis::closed" => analysis::closed,
    "analysis::report" => analysis::report,
    "operations::outbox" => operations::outbox,
    "operations::subject_access" => operations::subject_access,
    "operations::retention" => operations::retention,
    "operations::audit_log" => operations::audit_log,
    "overview" => overview,
];

/// `/api/v1` as the document describes it: every area's routes.
fn documented() -> utoipa_actix_web::scope::Scope<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    utoipa_actix_web::scope("/api/v1").configure(|cfg| {
        for area in AREAS {
            (area.documented)(cfg);
        }
    })
}

/// The OpenAPI document, collected from the same routes the server mounts. Built on first request:
/// most instances are never asked, and building it is the biggest allocation at start-up.
pub fn document() -> &'static str {
    static DOCUMENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DOCUMENT.get_or_init(build_document)
}

fn build_document() -> String {
    let (_, mut doc) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .service(documented())
        .split_for_parts();
    // Modifiers named in `#[openapi]` run before the routes' paths are added, so this one runs here.
    ErrorResponses.modify(&mut doc);
    doc.to_pretty_json()
        .expect("the OpenAPI document serialises")
}

/// Each area's own component schemas, as its routes alone would describe them. utoipa keeps one
/// schema per name and silently drops a second type registered under the same name; comparing each
/// area's schemas with the served document's finds such a clash (tests/it/api.rs).
pub fn schemas_by_area() -> Vec<(&'static str, serde_json::Value)> {
    AREAS
        .iter()
        .map(|area| {
            let (_, doc) = actix_web::App::new()
                .into_utoipa_app()
                .service(utoipa_actix_web::scope("/api/v1").configure(area.documented))
                .split_for_parts();
            let schemas = doc.components.map(|c| c.schemas).unwrap_or_default();
            (
                area.name,
                serde_json::to_value(schemas).expect("schemas serialise"),
            )
        })
        .collect()
}

/// The answers every operation can give besides its own, in the app's error shape: actix's extractors
/// answer 400 for a malformed body, query or path; the sign-in middleware 401 without a valid token
/// and 403 when the account must first set up two-step sign-in; a path naming nothing is 404.
struct ErrorResponses;

impl Modify for ErrorResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::ParameterIn;
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                let parameters = operation.parameters.as_deref().unwrap_or_default();
                let takes_input = operation.request_body.is_some() || !parameters.is_empty();
                let has_path = parameters
                    .iter()
                    .any(|p| matches!(p.parameter_in, ParameterIn::Path));
                let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
                let answers = [
                    (
                        takes_input,
                        "400",
                        "The request could not be read: a malformed body, query or path.",
                    ),
                    (
                        secured,
                        "401",
                        "No valid token: send `Authorization: Bearer vt_…`.",
                    ),
                    (
                        secured,
                        "403",
                        "Not allowed to do this, or two-step sign-in must be set up first.",
                    ),
                    (
                        has_path,
                        "404",
                        "Nothing with that id here, or not visible to you.",
                    ),
                ];
                for (applies, status, description) in answers {
                    if applies {
                        operation
                            .responses
                            .responses
                            .entry(status.to_string())
                            .or_insert_with(|| error_response(description));
                    }
                }
            }
        }
    }
}

fn error_response(
    description: &str,
) -> utoipa::openapi::RefOr<utoipa::openapi::response::Response> {
    utoipa::openapi::ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            utoipa::openapi::ContentBuilder::new()
                .schema(Some(utoipa::openapi::Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
        .into()
}

/// Mounts `/api/v1`, with `/api/v1/openapi.json` inside it: the same routes as the document.
pub fn mount(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .wrap(actix_web::middleware::from_fn(
                crate::web::auth::require_signed_in,
            ))
            // API answers carry personal data and are never for a shared cache or the browser's history.
            .wrap(
                actix_web::middleware::DefaultHeaders::new()
                    .add((actix_web::http::header::CACHE_CONTROL, "no-store")),
            )
            .configure(|cfg| {
                for area in AREAS {
                    (area.served)(cfg);
                }
            })
            .route(
                OPENAPI_PATH.trim_start_matches("/api/v1"),
                web::get().to(openapi_json),
            ),
    );
}

async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(document())
}
