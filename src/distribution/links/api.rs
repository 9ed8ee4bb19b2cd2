//! Links in the JSON API, for leads: reissue a participant's link, a participant's timeline, and open
//! links. Secrets are returned once, when made.

use actix_web::{get, post, web, HttpResponse};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::actions;
use super::queries::OpenLink;
use crate::audit::Origin;
use crate::distribution::participants::rules::Group;
use crate::distribution::tracking::handlers::{audit_timeline_seen, timeline};
use crate::distribution::tracking::queries::TimelineEvent;
use crate::error::AppError;
use crate::error::ErrorBody;
use crate::state::AppState;
use crate::studies::access::StudyAccess;
use crate::studies::rules::StudyRole;
use crate::web::CurrentUser;

pub fn routes<C: crate::web::ApiRoutes>(cfg: &mut C) {
    cfg.service(reissue_link)
        .service(participant_timeline)
        .service(list_open_links)
        .service(create_open_link)
        .service(revoke_open_link);
}

const LEAD: &[StudyRole] = &[StudyRole::Lead];

#[derive(Deserialize, ToSchema)]
pub struct ReissueBody {
    /// Also email a new link to the participant (when their campaign and email address allow).
    #[serde(default)]
    pub send_email: bool,
}

#[derive(Serialize, ToSchema)]
pub struct NewLink {
    /// Shown this once: only its hash is kept.
    pub link: String,
    pub emailed: bool,
}

/// Gives a participant a new link to a questionnaire; every earlier link stops working (leads).
#[utoipa::path(
    tag = "distribution",
    params(("id" = i64, Path, description = "Study id"), ("participant_id" = i64, Path, description = "Participant id"),
        ("questionnaire_id" = i64, Path, description = "Questionnaire id")),
    request_body = ReissueBody,
    responses((status = 201, body = NewLink), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/participants/{participant_id}/questionnaires/{questionnaire_id}/reissue")]
async fn reissue_link(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<(i64, i64, i64)>,
    body: web::Json<ReissueBody>,
) -> Result<HttpResponse, AppError> {
    let (study_id, participant_id, questionnaire_id) = path.into_inner();
    StudyAccess::with_role(&state.db, &user, study_id, LEAD).await?;
    let (secret, emailed) = actions::reissue(
        &state.db,
        &origin.by(user.id),
        study_id,
        participant_id,
        questionnaire_id,
        body.send_email,
        state.settings.message_domain(),
    )
    .await?;
    if emailed {
        state.outbox.wake();
    }
    Ok(HttpResponse::Created()
        .insert_header(("Cache-Control", "no-store"))
        .json(NewLink {
            link: format!("{}/p/{secret}", state.settings.base_url),
            emailed,
        }))
}

#[derive(Serialize, ToSchema)]
pub struct Timeline {
    pub code: String,
    pub events: Vec<TimelineEvent>,
}

/// What happened to one participant: emails queued, sent or failed, links opened and reissued, consent,
/// completion, withdrawal, opting out (leads).
#[utoipa::path(
    tag = "distribution",
    params(("id" = i64, Path, description = "Study id"), ("participant_id" = i64, Path, description = "Participant id")),
    responses((status = 200, body = Timeline), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/participants/{participant_id}/timeline")]
async fn participant_timeline(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<(i64, i64)>,
) -> Result<web::Json<Timeline>, AppError> {
    let (study_id, participant_id) = path.into_inner();
    StudyAccess::with_role(&state.db, &user, study_id, LEAD).await?;
    let found = timeline(&state.db, study_id, participant_id).await?;
    audit_timeline_seen(&state.db, &origin.by(user.id), study_id, &found.code).await?;
    Ok(web::Json(Timeline {
        code: found.code,
        events: found.events,
    }))
}

/// A questionnaire's open links (their secrets are not kept).
#[utoipa::path(
    tag = "distribution",
    params(("id" = i64, Path, description = "Study id"), ("questionnaire_id" = i64, Path, description = "Questionnaire id")),
    responses((status = 200, body = Vec<OpenLink>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/questionnaires/{questionnaire_id}/open-links")]
async fn list_open_links(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
) -> Result<web::Json<Vec<OpenLink>>, AppError> {
    let (study_id, questionnaire_id) = path.into_inner();
    StudyAccess::with_role(&state.db, &user, study_id, LEAD).await?;
    crate::studies::consent::actions::questionnaire(&state.db, study_id, questionnaire_id).await?;
    Ok(web::Json(
        actions::open_links(&state.db, questionnaire_id).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct OpenLinkBody {
    /// When the poster is for one group; people joining are placed in it.
    pub group: Option<Group>,
    /// The last day the link works.
    pub closes_on: NaiveDate,
}

/// Makes an open link to the newest published version, for posters and newsletters: each person who
/// joins through it becomes an anonymous participant with a link of their own (leads).
#[utoipa::path(
    tag = "distribution",
    params(("id" = i64, Path, description = "Study id"), ("questionnaire_id" = i64, Path, description = "Questionnaire id")),
    request_body = OpenLinkBody,
    responses((status = 201, body = NewLink), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/questionnaires/{questionnaire_id}/open-links")]
async fn create_open_link(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    body: web::Json<OpenLinkBody>,
) -> Result<HttpResponse, AppError> {
    let (study_id, questionnaire_id) = path.into_inner();
    StudyAccess::with_role(&state.db, &user, study_id, LEAD).await?;
    crate::studies::consent::actions::questionnaire(&state.db, study_id, questionnaire_id).await?;
    if body.closes_on <= crate::db::now().date() {
        return Err(AppError::invalid(
            "closes_on",
            "The closing date must be after today",
        ));
    }
    let closes_at = body
        .closes_on
        .and_hms_opt(23, 59, 59)
        .expect("a valid time of day");
    let secret = actions::create_open_link(
        &state.db,
        &origin.by(user.id),
        study_id,
        questionnaire_id,
        body.group,
        closes_at,
    )
    .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Cache-Control", "no-store"))
        .json(NewLink {
            link: format!("{}/join/{secret}", state.settings.base_url),
            emailed: false,
        }))
}

/// Switches an open link off; people who joined through it keep their own links (leads).
#[utoipa::path(
    tag = "distribution",
    params(("id" = i64, Path, description = "Study id"), ("questionnaire_id" = i64, Path, description = "Questionnaire id"),
        ("link_id" = i64, Path, description = "Open link id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/questionnaires/{questionnaire_id}/open-links/{link_id}/revoke")]
async fn revoke_open_link(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<(i64, i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, questionnaire_id, link_id) = path.into_inner();
    StudyAccess::with_role(&state.db, &user, study_id, LEAD).await?;
    crate::studies::consent::actions::questionnaire(&state.db, study_id, questionnaire_id).await?;
    actions::revoke_open_link(&state.db, &origin.by(user.id), questionnaire_id, link_id).await?;
    Ok(HttpResponse::NoContent().finish())
}
