//! Study invitations in the JSON API: a study's open invitations and withdrawing one (leads), and your
//! own invitations, accepted or declined. Inviting is `POST /studies/{id}/members`.

use actix_web::{delete, get, post, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::actions;
use super::queries::{Invitation, MyInvitation};
use crate::audit::Origin;
use crate::error::{AppError, ErrorBody};
use crate::state::AppState;
use crate::studies::access::StudyAccess;
use crate::studies::rules::StudyRole;
use crate::web::CurrentUser;

pub fn routes<C: crate::web::ApiRoutes>(cfg: &mut C) {
    cfg.service(study_invitations)
        .service(withdraw)
        .service(my_invitations)
        .service(accept)
        .service(decline);
}

/// The study's invitations not yet accepted (leads only), with the name each was invited as.
#[utoipa::path(
    tag = "studies",
    params(("id" = i64, Path, description = "Study id")),
    responses((status = 200, body = [Invitation]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/invitations")]
async fn study_invitations(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<web::Json<Vec<Invitation>>, AppError> {
    let access =
        StudyAccess::with_role(&state.db, &user, id.into_inner(), &[StudyRole::Lead]).await?;
    Ok(web::Json(
        actions::for_study(&state.db, access.study.id).await?,
    ))
}

/// Withdraws an invitation not yet accepted (leads only).
#[utoipa::path(
    tag = "studies",
    params(("id" = i64, Path, description = "Study id"), ("invitation_id" = i64, Path, description = "Invitation id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[delete("/studies/{id}/invitations/{invitation_id}")]
async fn withdraw(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, invitation_id) = path.into_inner();
    StudyAccess::with_role(&state.db, &user, study_id, &[StudyRole::Lead]).await?;
    actions::withdraw(&state.db, &origin.by(user.id), study_id, invitation_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Your invitations to studies, newest first.
#[utoipa::path(tag = "studies", responses((status = 200, body = [MyInvitation]), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
#[get("/me/invitations")]
async fn my_invitations(
    user: CurrentUser,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<MyInvitation>>, AppError> {
    Ok(web::Json(actions::for_person(&state.db, user.id).await?))
}

#[derive(Serialize, ToSchema)]
pub struct Joined {
    pub study_id: i64,
}

/// Accepts an invitation: you are a member of the study with the roles offered.
#[utoipa::path(
    tag = "studies",
    params(("id" = i64, Path, description = "Invitation id")),
    responses((status = 200, body = Joined), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/me/invitations/{id}/accept")]
async fn accept(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    id: web::Path<i64>,
) -> Result<web::Json<Joined>, AppError> {
    let study_id = actions::accept(&state.db, &origin, user.id, id.into_inner()).await?;
    Ok(web::Json(Joined { study_id }))
}

/// Declines an invitation.
#[utoipa::path(
    tag = "studies",
    params(("id" = i64, Path, description = "Invitation id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/me/invitations/{id}/decline")]
async fn decline(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    actions::decline(&state.db, &origin, user.id, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
