//! Invitation pages: accepting or declining your own (listed on the studies page), and a lead withdrawing
//! one. Inviting is the study's "Add a member" form.

use actix_web::{web, HttpResponse};

use super::actions;
use crate::audit::Origin;
use crate::error::AppError;
use crate::studies::access::StudyAccess;
use crate::studies::rules::StudyRole;
use crate::web::page::see_other;
use crate::web::{CurrentUser, Page};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/invitations/{id}/accept", web::post().to(accept))
        .route("/invitations/{id}/decline", web::post().to(decline))
        .route(
            "/studies/{id}/invitations/{invitation}/withdraw",
            web::post().to(withdraw),
        );
}

async fn accept(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let study_id = actions::accept(&page.state().db, &origin, user.id, id.into_inner()).await?;
    page.flash("success", "You have joined the study.");
    Ok(see_other(&format!("/studies/{study_id}")))
}

async fn decline(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    actions::decline(&page.state().db, &origin, user.id, id.into_inner()).await?;
    page.flash("success", "You have declined the invitation.");
    Ok(see_other("/studies"))
}

async fn withdraw(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, invitation_id) = path.into_inner();
    StudyAccess::with_role(&page.state().db, &user, study_id, &[StudyRole::Lead]).await?;
    actions::withdraw(
        &page.state().db,
        &origin.by(user.id),
        study_id,
        invitation_id,
    )
    .await?;
    page.flash("success", "The invitation is withdrawn.");
    Ok(see_other(&format!("/studies/{study_id}#members")))
}
