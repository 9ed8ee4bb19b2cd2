//! Studies and members in the JSON API. A study someone is not a member of answers 404.

use actix_web::{delete, get, post, put, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;
use validator::Validate;

use super::access::StudyAccess;
use super::actions;
use super::forms::{MemberForm, StudyForm};
use super::invitations::{self, queries::Invitation};
use super::plain_language::{self, PlainLanguageReport};
use super::queries::{self, Member, Study};
use super::rules::{co_design_balance, CoDesignBalance, Roles, StudyRole};
use crate::audit::Origin;
use crate::error::AppError;
use crate::error::ErrorBody;
use crate::state::AppState;
use crate::web::CurrentUser;

pub fn routes<C: crate::web::ApiRoutes>(cfg: &mut C) {
    cfg.service(list_studies)
        .service(create_study)
        .service(get_study)
        .service(update_study)
        .service(list_members)
        .service(add_member)
        .service(update_member)
        .service(remove_member)
        .service(get_jargon)
        .service(put_jargon)
        .service(analyse_text);
}

const LEAD: &[StudyRole] = &[StudyRole::Lead];

#[derive(Serialize, ToSchema)]
pub struct MyStudy {
    pub study: Study,
    /// Your roles in it.
    pub roles: Roles,
}

/// The studies you are a member of.
#[utoipa::path(tag = "studies", responses((status = 200, body = [MyStudy]), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
#[get("/studies")]
async fn list_studies(
    user: CurrentUser,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<MyStudy>>, AppError> {
    let studies = state
        .db
        .read(move |conn| queries::studies_of(conn, user.id).map_err(AppError::from))
        .await?;
    Ok(web::Json(
        studies
            .into_iter()
            .map(|(study, roles)| MyStudy { study, roles })
            .collect(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct StudyDetail {
    pub study: Study,
    pub members: Vec<Member>,
    pub co_design_balance: CoDesignBalance,
}

async fn detail(state: &AppState, study: Study) -> Result<StudyDetail, AppError> {
    let study_id = study.id;
    let members = state
        .db
        .read(move |conn| queries::members(conn, study_id).map_err(AppError::from))
        .await?;
    let co_design_balance = co_design_balance(members.iter().map(|m| (&m.roles, m.perspective)));
    Ok(StudyDetail {
        study,
        members,
        co_design_balance,
    })
}

/// Creates a study; you become its lead and a co-designer.
#[utoipa::path(
    tag = "studies",
    request_body = StudyForm,
    responses((status = 201, body = StudyDetail), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies")]
async fn create_study(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    body: web::Json<StudyForm>,
) -> Result<HttpResponse, AppError> {
    body.validate()?;
    let id = actions::create_study(&state.db, &origin, user.id, &body).await?;
    let access = StudyAccess::open(&state.db, &user, id).await?;
    Ok(HttpResponse::Created().json(detail(&state, access.study).await?))
}

/// A study with its members and the balance of its co-design group.
#[utoipa::path(
    tag = "studies",
    params(("id" = i64, Path, description = "Study id")),
    responses((status = 200, body = StudyDetail), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}")]
async fn get_study(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<web::Json<StudyDetail>, AppError> {
    let access = StudyAccess::open(&state.db, &user, id.into_inner()).await?;
    Ok(web::Json(detail(&state, access.study).await?))
}

/// Changes a study's title and summary (leads only).
#[utoipa::path(
    tag = "studies",
    params(("id" = i64, Path, description = "Study id")),
    request_body = StudyForm,
    responses(
        (status = 200, body = StudyDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)
    ),
    security(("bearer" = []))
)]
#[put("/studies/{id}")]
async fn update_study(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    id: web::Path<i64>,
    body: web::Json<StudyForm>,
) -> Result<web::Json<StudyDetail>, AppError> {
    let study_id = id.into_inner();
    StudyAccess::with_role(&state.db, &user, study_id, LEAD).await?;
    body.validate()?;
    actions::update_study(&state.db, &origin.by(user.id), study_id, &body).await?;
    let access = StudyAccess::open(&state.db, &user, study_id).await?;
    Ok(web::Json(detail(&state, access.study).await?))
}

/// The study's members.
#[utoipa::path(
    tag = "studies",
    params(("id" = i64, Path, description = "Study id")),
    responses((status = 200, body = [Member]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/members")]
async fn list_members(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<web::Json<Vec<Member>>, AppError> {
    let access = StudyAccess::open(&state.db, &user, id.into_inner()).await?;
    Ok(web::Json(detail(&state, access.study).await?.members))
}

/// Invites someone to the study by email and name (leads only). They become a member when they accept;
/// until then the invitation is listed at `GET /studies/{id}/invitations`. The answer is the same whether
/// or not the address has a Voices account (someone new is emailed a link to choose a password, someone
/// known a notice). Invitation emails are limited per person and per site each hour (429).
#[utoipa::path(
    tag = "studies",
    params(("id" = i64, Path, description = "Study id")),
    request_body = MemberForm,
    responses(
        (status = 202, body = Invitation), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "Too many invitations in the last hour")
    ),
    security(("bearer" = []))
)]
#[post("/studies/{id}/members")]
async fn add_member(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    id: web::Path<i64>,
    body: web::Json<MemberForm>,
) -> Result<HttpResponse, AppError> {
    let access = StudyAccess::with_role(&state.db, &user, id.into_inner(), LEAD).await?;
    body.validate()?;
    let invitation =
        invitations::actions::invite(&state, &origin.by(user.id), access.study.id, &body).await?;
    Ok(HttpResponse::Accepted().json(invitation))
}

/// Changes a member's roles and perspective (leads only). The last lead cannot stop being one.
#[utoipa::path(
    tag = "studies",
    params(("id" = i64, Path, description = "Study id"), ("member_id" = i64, Path, description = "Membership id")),
    request_body = MemberForm,
    responses(
        (status = 200, body = Member), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)
    ),
    security(("bearer" = []))
)]
#[put("/studies/{id}/members/{member_id}")]
async fn update_member(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    body: web::Json<MemberForm>,
) -> Result<web::Json<Member>, AppError> {
    let (study_id, member_id) = path.into_inner();
    StudyAccess::with_role(&state.db, &user, study_id, LEAD).await?;
    body.validate()?;
    Ok(web::Json(
        actions::update_member(&state.db, &origin.by(user.id), study_id, member_id, &body).await?,
    ))
}

/// Removes a member (leads only). The last lead cannot be removed.
#[utoipa::path(
    tag = "studies",
    params(("id" = i64, Path, description = "Study id"), ("member_id" = i64, Path, description = "Membership id")),
    responses(
        (status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)
    ),
    security(("bearer" = []))
)]
#[delete("/studies/{id}/members/{member_id}")]
async fn remove_member(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, member_id) = path.into_inner();
    StudyAccess::with_role(&state.db, &user, study_id, LEAD).await?;
    actions::remove_member(&state.db, &origin.by(user.id), study_id, member_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Serialize, serde::Deserialize, ToSchema)]
pub struct Jargon {
    /// Words and phrases to avoid in participant-facing text.
    pub terms: Vec<String>,
}

/// The study's words to avoid.
#[utoipa::path(
    tag = "studies",
    params(("id" = i64, Path, description = "Study id")),
    responses((status = 200, body = Jargon), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/jargon")]
async fn get_jargon(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<web::Json<Jargon>, AppError> {
    let access = StudyAccess::open(&state.db, &user, id.into_inner()).await?;
    let study_id = access.study.id;
    let terms = state
        .db
        .read(move |conn| queries::jargon(conn, study_id).map_err(AppError::from))
        .await?;
    Ok(web::Json(Jargon { terms }))
}

/// Replaces the study's words to avoid (leads and co-designers).
#[utoipa::path(
    tag = "studies",
    params(("id" = i64, Path, description = "Study id")),
    request_body = Jargon,
    responses((status = 200, body = Jargon), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[put("/studies/{id}/jargon")]
async fn put_jargon(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    id: web::Path<i64>,
    body: web::Json<Jargon>,
) -> Result<web::Json<Jargon>, AppError> {
    let access = StudyAccess::with_role(
        &state.db,
        &user,
        id.into_inner(),
        &[StudyRole::Lead, StudyRole::CoDesigner],
    )
    .await?;
    let terms =
        actions::set_jargon(&state.db, &origin.by(user.id), access.study.id, &body.terms).await?;
    Ok(web::Json(Jargon { terms }))
}

#[derive(serde::Deserialize, ToSchema)]
pub struct TextToAnalyse {
    pub text: String,
}

/// How plain a text is: reading ease and age, sentence length, passive voice and the study's jargon.
#[utoipa::path(
    tag = "studies",
    params(("id" = i64, Path, description = "Study id")),
    request_body = TextToAnalyse,
    responses((status = 200, body = PlainLanguageReport), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/plain-language")]
async fn analyse_text(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<TextToAnalyse>,
) -> Result<web::Json<PlainLanguageReport>, AppError> {
    let access = StudyAccess::open(&state.db, &user, id.into_inner()).await?;
    let study_id = access.study.id;
    let jargon = state
        .db
        .read(move |conn| queries::jargon(conn, study_id).map_err(AppError::from))
        .await?;
    Ok(web::Json(plain_language::report(&body.text, &jargon)))
}
