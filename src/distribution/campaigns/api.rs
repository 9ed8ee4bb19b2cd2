//! Campaigns and their tracking in the JSON API: the same rules as the pages. Leads write, launch and
//! close; co-designers edit the email texts; the team reads tracking, with small counts hidden from all
//! but leads.

use actix_web::{get, post, put, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::actions::{self, CampaignInput, Closing, Preview};
use super::handlers::{LEAD, VIEWERS, WRITERS};
use super::queries::Campaign;
use super::rules::RecipientFilter;
use crate::audit::Origin;
use crate::distribution::tracking;
use crate::distribution::tracking::rules::{RecipientStatus, Summary};
use crate::error::AppError;
use crate::error::ErrorBody;
use crate::state::AppState;
use crate::studies::access::StudyAccess;
use crate::web::CurrentUser;

pub fn routes<C: crate::web::ApiRoutes>(cfg: &mut C) {
    cfg.service(list_campaigns)
        .service(create_campaign)
        .service(get_campaign)
        .service(update_campaign)
        .service(preview_campaign)
        .service(launch_campaign)
        .service(campaign_closing)
        .service(close_campaign)
        .service(campaign_tracking);
}

/// A campaign with its recipient filter and reminder schedule.
#[derive(Serialize, ToSchema)]
pub struct CampaignView {
    #[serde(flatten)]
    pub campaign: Campaign,
    pub filter: RecipientFilter,
    pub reminder_days: Vec<i32>,
}

impl From<Campaign> for CampaignView {
    fn from(campaign: Campaign) -> Self {
        CampaignView {
            filter: campaign.filter(),
            reminder_days: campaign.days(),
            campaign,
        }
    }
}

/// The study's campaigns, newest first.
#[utoipa::path(
    tag = "distribution",
    params(("id" = i64, Path, description = "Study id")),
    responses((status = 200, body = Vec<CampaignView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/campaigns")]
async fn list_campaigns(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<web::Json<Vec<CampaignView>>, AppError> {
    let access = StudyAccess::with_role(&state.db, &user, *path, VIEWERS).await?;
    let campaigns = actions::list(&state.db, access.study.id).await?;
    Ok(web::Json(
        campaigns.into_iter().map(CampaignView::from).collect(),
    ))
}

/// Creates a draft campaign (leads). Templates are checked now: an unknown placeholder or a mistake in
/// one is a 422 naming the field.
#[utoipa::path(
    tag = "distribution",
    params(("id" = i64, Path, description = "Study id")),
    request_body = CampaignInput,
    responses((status = 201, body = CampaignView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/campaigns")]
async fn create_campaign(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<i64>,
    body: web::Json<CampaignInput>,
) -> Result<HttpResponse, AppError> {
    let access = StudyAccess::with_role(&state.db, &user, *path, LEAD).await?;
    let id = actions::create(
        &state.db,
        &origin.by(user.id),
        access.study.id,
        body.into_inner(),
    )
    .await?;
    let campaign = actions::find(&state.db, access.study.id, id).await?;
    Ok(HttpResponse::Created().json(CampaignView::from(campaign)))
}

#[utoipa::path(
    tag = "distribution",
    params(("id" = i64, Path, description = "Study id"), ("campaign_id" = i64, Path, description = "Campaign id")),
    responses((status = 200, body = CampaignView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/campaigns/{campaign_id}")]
async fn get_campaign(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
) -> Result<web::Json<CampaignView>, AppError> {
    let (study_id, campaign_id) = path.into_inner();
    StudyAccess::with_role(&state.db, &user, study_id, VIEWERS).await?;
    Ok(web::Json(
        actions::find(&state.db, study_id, campaign_id)
            .await?
            .into(),
    ))
}

/// Replaces a campaign's content (leads; co-designers may change only the four email texts, the rest
/// of what they send is ignored). Send `lock_version` from your copy: 422 if someone saved in between.
#[utoipa::path(
    tag = "distribution",
    params(("id" = i64, Path, description = "Study id"), ("campaign_id" = i64, Path, description = "Campaign id")),
    request_body = CampaignInput,
    responses((status = 200, body = CampaignView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[put("/studies/{id}/campaigns/{campaign_id}")]
async fn update_campaign(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    body: web::Json<CampaignInput>,
) -> Result<web::Json<CampaignView>, AppError> {
    let (study_id, campaign_id) = path.into_inner();
    let access = StudyAccess::with_role(&state.db, &user, study_id, WRITERS).await?;
    let campaign = actions::find(&state.db, study_id, campaign_id).await?;
    actions::update(
        &state.db,
        &origin.by(user.id),
        &campaign,
        body.into_inner(),
        access.me.roles.lead,
    )
    .await?;
    Ok(web::Json(
        actions::find(&state.db, study_id, campaign_id)
            .await?
            .into(),
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
struct PreviewQuery {
    /// A participant code, e.g. P-0001; the first on the roster when left out.
    participant: Option<String>,
}

/// Both emails as one participant would get them, with a plain-language report (leads, co-designers).
/// Only a lead previews a real participant (audited); for co-designers every preview is the sample
/// person, "Alex Sample" (P-0000).
#[utoipa::path(
    tag = "distribution",
    params(("id" = i64, Path, description = "Study id"), ("campaign_id" = i64, Path, description = "Campaign id"), PreviewQuery),
    responses((status = 200, body = Preview), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/campaigns/{campaign_id}/preview")]
async fn preview_campaign(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    query: web::Query<PreviewQuery>,
) -> Result<web::Json<Preview>, AppError> {
    let (study_id, campaign_id) = path.into_inner();
    let access = StudyAccess::with_role(&state.db, &user, study_id, WRITERS).await?;
    let campaign = actions::find(&state.db, study_id, campaign_id).await?;
    Ok(web::Json(
        actions::preview(
            &state.db,
            &origin.by(user.id),
            &campaign,
            query.into_inner().participant,
            &state.settings.base_url,
            access.me.roles.identities(),
        )
        .await?,
    ))
}

#[derive(Serialize, ToSchema)]
pub struct Launched {
    /// Invitations queued now (people already invited by this campaign are not invited again).
    pub invited: usize,
}

/// Queues invitations for everyone the campaign selects who has not been invited by it yet (leads).
/// Calling it again later invites people added to the roster since.
#[utoipa::path(
    tag = "distribution",
    params(("id" = i64, Path, description = "Study id"), ("campaign_id" = i64, Path, description = "Campaign id")),
    responses((status = 200, body = Launched), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/campaigns/{campaign_id}/launch")]
async fn launch_campaign(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<(i64, i64)>,
) -> Result<web::Json<Launched>, AppError> {
    let (study_id, campaign_id) = path.into_inner();
    StudyAccess::with_role(&state.db, &user, study_id, LEAD).await?;
    let campaign = actions::find(&state.db, study_id, campaign_id).await?;
    let invited = actions::launch(
        &state.db,
        &origin.by(user.id),
        &campaign,
        state.settings.message_domain(),
    )
    .await?;
    if invited > 0 {
        state.outbox.wake();
    }
    Ok(web::Json(Launched { invited }))
}

/// What closing a campaign now would do (leads): how many people have started answering and may
/// still finish, until when, and how many unused links would stop.
#[utoipa::path(
    tag = "distribution",
    params(("id" = i64, Path, description = "Study id"), ("campaign_id" = i64, Path, description = "Campaign id")),
    responses((status = 200, body = Closing), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/campaigns/{campaign_id}/closing")]
async fn campaign_closing(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
) -> Result<web::Json<Closing>, AppError> {
    let (study_id, campaign_id) = path.into_inner();
    StudyAccess::with_role(&state.db, &user, study_id, LEAD).await?;
    let campaign = actions::find(&state.db, study_id, campaign_id).await?;
    let grace_days = state.settings.campaigns.close_grace_days;
    Ok(web::Json(
        actions::closing(&state.db, &campaign, grace_days).await?,
    ))
}

/// Closes a campaign (leads): no more reminders, unsent emails are not sent, links nobody has
/// started with stop; people who have started answering may finish within the grace period
/// (`campaigns.close_grace_days`, never past the closing date).
#[utoipa::path(
    tag = "distribution",
    params(("id" = i64, Path, description = "Study id"), ("campaign_id" = i64, Path, description = "Campaign id")),
    responses((status = 200, body = CampaignView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/campaigns/{campaign_id}/close")]
async fn close_campaign(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<(i64, i64)>,
) -> Result<web::Json<CampaignView>, AppError> {
    let (study_id, campaign_id) = path.into_inner();
    StudyAccess::with_role(&state.db, &user, study_id, LEAD).await?;
    let campaign = actions::find(&state.db, study_id, campaign_id).await?;
    let grace_days = state.settings.campaigns.close_grace_days;
    actions::close(&state.db, &origin.by(user.id), &campaign, grace_days).await?;
    Ok(web::Json(
        actions::find(&state.db, study_id, campaign_id)
            .await?
            .into(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct Tracking {
    pub summary: Summary,
    /// Each recipient's code and statuses (leads only; empty for everyone else).
    pub recipients: Vec<RecipientStatus>,
}

#[derive(Deserialize, utoipa::IntoParams)]
struct TrackingQuery {
    /// true: hide small counts as in views shared beyond the leads.
    shared: Option<bool>,
}

/// Counts, funnel and per-recipient statuses of a campaign. Leads see recipients' codes; everyone else
/// counts only. Counts follow the study's rule for shared views: leads (and analysts, unless the study
/// says otherwise) see every count, anyone else sees counts under the threshold as
/// `{"count": null, "suppressed": true}`.
#[utoipa::path(
    tag = "distribution",
    params(("id" = i64, Path, description = "Study id"), ("campaign_id" = i64, Path, description = "Campaign id"), TrackingQuery),
    responses((status = 200, body = Tracking), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/campaigns/{campaign_id}/tracking")]
async fn campaign_tracking(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
    query: web::Query<TrackingQuery>,
) -> Result<web::Json<Tracking>, AppError> {
    let (study_id, campaign_id) = path.into_inner();
    let access = StudyAccess::with_role(&state.db, &user, study_id, VIEWERS).await?;
    let campaign = actions::find(&state.db, study_id, campaign_id).await?;
    let shared = !access.me.roles.lead || query.shared == Some(true);
    let threshold = if query.shared == Some(true) {
        Some(i64::from(access.study.small_count_threshold))
    } else {
        access.view().threshold()
    };
    let (summary, recipients) =
        tracking::handlers::campaign_tracking(&state.db, &campaign, threshold).await?;
    Ok(web::Json(Tracking {
        summary,
        recipients: if shared { Vec::new() } else { recipients },
    }))
}
