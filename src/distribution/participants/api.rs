//! The roster in the JSON API. Leads and analysts read the pseudonymous roster (codes and research
//! attributes); only leads change it, and only leads are ever given identities.

use actix_web::{get, patch, post, put, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::actions::{self, Imported, ParticipantDetail, RosterPage};
use super::forms::{read_limited, ParticipantPatch};
use super::import::ImportSummary;
use super::queries::{Paging, RosterFilter};
use super::rules::ParticipantInput;
use crate::audit::Origin;
use crate::error::AppError;
use crate::error::ErrorBody;
use crate::state::AppState;
use crate::studies::access::StudyAccess;
use crate::studies::rules::{IdentityView, StudyRole};
use crate::web::CurrentUser;

pub fn routes<C: crate::web::ApiRoutes>(cfg: &mut C) {
    cfg.service(list_participants)
        .service(create_participant)
        .service(import_participants)
        .service(get_participant)
        .service(update_participant)
        .service(erase_identity)
        .service(get_service_areas)
        .service(put_service_areas);
}

const LEAD: &[StudyRole] = &[StudyRole::Lead];
const READERS: &[StudyRole] = &[StudyRole::Lead, StudyRole::Analyst];

/// The roster, 100 participants a page, in code order (leads and analysts). Never identities.
#[utoipa::path(
    tag = "participants",
    params(("id" = i64, Path, description = "Study id"), RosterFilter, Paging),
    responses((status = 200, body = RosterPage), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/participants")]
async fn list_participants(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    id: web::Path<i64>,
    filter: web::Query<RosterFilter>,
    paging: web::Query<Paging>,
) -> Result<web::Json<RosterPage>, AppError> {
    let access = StudyAccess::with_role(&state.db, &user, id.into_inner(), READERS).await?;
    Ok(web::Json(
        actions::roster(
            &state.db,
            &origin.by(user.id),
            access.study.id,
            &filter,
            paging.page,
            access.me.roles.identities(),
        )
        .await?,
    ))
}

/// Adds a participant with the next code (leads).
#[utoipa::path(
    tag = "participants",
    params(("id" = i64, Path, description = "Study id")),
    request_body = ParticipantInput,
    responses((status = 201, body = ParticipantDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/participants")]
async fn create_participant(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    id: web::Path<i64>,
    body: web::Json<ParticipantInput>,
) -> Result<HttpResponse, AppError> {
    let access = StudyAccess::with_role(&state.db, &user, id.into_inner(), LEAD).await?;
    let added = actions::add(&state.db, &origin.by(user.id), access.study.id, &body).await?;
    Ok(HttpResponse::Created().json(added))
}

/// A participant; their identity is included for leads only, until erased.
#[utoipa::path(
    tag = "participants",
    params(("id" = i64, Path, description = "Study id"), ("participant_id" = i64, Path, description = "Participant id")),
    responses((status = 200, body = ParticipantDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/participants/{participant_id}")]
async fn get_participant(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<(i64, i64)>,
) -> Result<web::Json<ParticipantDetail>, AppError> {
    let (study_id, participant_id) = path.into_inner();
    let access = StudyAccess::with_role(&state.db, &user, study_id, READERS).await?;
    let identities = access.me.roles.identities() == IdentityView::Everyone;
    let found = actions::participant(&state.db, study_id, participant_id, identities).await?;
    actions::audit_identity_shown(&state.db, &origin.by(user.id), study_id, &found, "api").await?;
    Ok(web::Json(found))
}

/// Changes the fields given and keeps the others (leads).
#[utoipa::path(
    tag = "participants",
    params(("id" = i64, Path, description = "Study id"), ("participant_id" = i64, Path, description = "Participant id")),
    request_body = ParticipantPatch,
    responses((status = 200, body = ParticipantDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[patch("/studies/{id}/participants/{participant_id}")]
async fn update_participant(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    body: web::Json<ParticipantPatch>,
) -> Result<web::Json<ParticipantDetail>, AppError> {
    let (study_id, participant_id) = path.into_inner();
    StudyAccess::with_role(&state.db, &user, study_id, LEAD).await?;
    let current = actions::participant(&state.db, study_id, participant_id, true).await?;
    let input = body.into_inner().apply(current.input());
    Ok(web::Json(
        actions::update(
            &state.db,
            &origin.by(user.id),
            study_id,
            participant_id,
            &input,
        )
        .await?,
    ))
}

/// Deletes who the participant is (name, email, phone, needs, preferred mode) and keeps their code
/// and research data (leads). Audited; doing it again changes nothing.
#[utoipa::path(
    tag = "participants",
    params(("id" = i64, Path, description = "Study id"), ("participant_id" = i64, Path, description = "Participant id")),
    responses((status = 200, body = ParticipantDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/participants/{participant_id}/erase-identity")]
async fn erase_identity(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<(i64, i64)>,
) -> Result<web::Json<ParticipantDetail>, AppError> {
    let (study_id, participant_id) = path.into_inner();
    StudyAccess::with_role(&state.db, &user, study_id, LEAD).await?;
    Ok(web::Json(
        actions::erase_identity(&state.db, &origin.by(user.id), study_id, participant_id).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// true: check the file and answer what importing it would do, storing nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// true: add the service areas the file names that the study's list lacks (listed in the
    /// summary's `new_service_areas`) and import their rows; otherwise those rows are left out.
    #[serde(default)]
    pub add_service_areas: bool,
}

/// What an import found in the file and, unless a dry run, what it put on the roster.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportResult {
    pub summary: ImportSummary,
    /// Absent for a dry run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imported: Option<Imported>,
}

/// Imports participants from a CSV file sent as the body (leads): UTF-8 (with or without a byte order
/// mark) or Windows-1252, `,` or `;` between cells, a header row naming the columns (`group` is
/// required; also name, email, phone, service_area, system_level, tags, communication_needs,
/// preferred_mode). Rows with problems are skipped and listed; the others go in together, in one
/// transaction. A problem with the whole file is a 422 with the message under `fields.file`.
#[utoipa::path(
    tag = "participants",
    params(("id" = i64, Path, description = "Study id"), ImportQuery),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = ImportResult), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/participants/import")]
async fn import_participants(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    id: web::Path<i64>,
    query: web::Query<ImportQuery>,
    body: web::Payload,
) -> Result<web::Json<ImportResult>, AppError> {
    let access = StudyAccess::with_role(&state.db, &user, id.into_inner(), LEAD).await?;
    let bytes = read_limited(body, state.settings.limits.upload_bytes).await?;
    let study_id = access.study.id;
    let result = if query.dry_run {
        ImportResult {
            summary: actions::dry_run(&state.db, study_id, bytes).await?,
            imported: None,
        }
    } else {
        let (summary, imported) = actions::import_now(
            &state.db,
            &origin.by(user.id),
            study_id,
            bytes,
            query.add_service_areas,
        )
        .await?;
        ImportResult {
            summary,
            imported: Some(imported),
        }
    };
    Ok(web::Json(result))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ServiceAreas {
    pub service_areas: Vec<String>,
}

/// The study's list of service areas (leads and analysts).
#[utoipa::path(
    tag = "participants",
    params(("id" = i64, Path, description = "Study id")),
    responses((status = 200, body = ServiceAreas), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/service-areas")]
async fn get_service_areas(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<web::Json<ServiceAreas>, AppError> {
    let access = StudyAccess::with_role(&state.db, &user, id.into_inner(), READERS).await?;
    Ok(web::Json(ServiceAreas {
        service_areas: actions::service_areas(&state.db, access.study.id).await?,
    }))
}

/// Replaces the list of service areas (leads). An area still used by participants cannot be taken
/// off it (422).
#[utoipa::path(
    tag = "participants",
    params(("id" = i64, Path, description = "Study id")),
    request_body = ServiceAreas,
    responses((status = 200, body = ServiceAreas), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[put("/studies/{id}/service-areas")]
async fn put_service_areas(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    id: web::Path<i64>,
    body: web::Json<ServiceAreas>,
) -> Result<web::Json<ServiceAreas>, AppError> {
    let access = StudyAccess::with_role(&state.db, &user, id.into_inner(), LEAD).await?;
    let service_areas = actions::set_service_areas(
        &state.db,
        &origin.by(user.id),
        access.study.id,
        &body.service_areas.join("\n"),
    )
    .await?;
    Ok(web::Json(ServiceAreas { service_areas }))
}
