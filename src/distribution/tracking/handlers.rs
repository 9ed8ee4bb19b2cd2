//! Tracking pages for leads: one participant's timeline and reissuing their link; and the tracking
//! figures and CSV the campaign pages and the API share.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::queries::{self, TimelineEvent};
use super::rules::{self, RecipientStatus, Summary};
use crate::audit::Origin;
use crate::db::Db;
use crate::distribution::campaigns::queries::Campaign;
use crate::distribution::links;
use crate::error::AppError;
use crate::studies::access::StudyAccess;
use crate::studies::rules::StudyRole;
use crate::web::{CurrentUser, Page};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/studies/{id}/participants/{pid}/timeline",
        web::get().to(timeline_page),
    )
    .route(
        "/studies/{id}/participants/{pid}/questionnaires/{q}/reissue",
        web::post().to(reissue),
    );
}

const LEAD: &[StudyRole] = &[StudyRole::Lead];

/// A campaign's recipients and their counts; `suppress_below` hides small counts for shared views.
pub async fn campaign_tracking(
    db: &Db,
    campaign: &Campaign,
    suppress_below: Option<i64>,
) -> Result<(Summary, Vec<RecipientStatus>), AppError> {
    let campaign_id = campaign.id;
    let recipients = db
        .read(move |conn| queries::recipients(conn, campaign_id).map_err(AppError::from))
        .await?;
    Ok((rules::summarise(&recipients, suppress_below), recipients))
}

/// Codes and statuses only: never identities, never answers. Cells are neutralised against formulas.
pub fn statuses_csv(recipients: &[RecipientStatus]) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let header = [
        "code",
        "group",
        "service_area",
        "system_level",
        "email",
        "status",
        "reminders_sent",
    ];
    let _ = writer.write_record(header);
    for r in recipients {
        let reminders = r.reminders_sent.to_string();
        let cells = [
            r.code.as_str(),
            r.group.as_str(),
            r.service_area.as_str(),
            r.system_level.as_str(),
            r.delivery.as_str(),
            r.progress.as_str(),
            reminders.as_str(),
        ];
        let _ = writer.write_record(
            cells
                .iter()
                .map(|c| crate::distribution::csv_cell(c).into_owned()),
        );
    }
    String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
}

pub struct Timeline {
    pub code: String,
    pub events: Vec<TimelineEvent>,
    pub questionnaires: Vec<(i64, String)>,
}

/// Records that a participant's timeline (every email, visit and answer, by date) was read.
pub async fn audit_timeline_seen(
    db: &Db,
    origin: &Origin,
    study_id: i64,
    code: &str,
) -> Result<(), AppError> {
    let details = serde_json::json!({ "participants": [code] });
    crate::audit::looked(db, origin, "timeline_viewed", Some(study_id), details).await
}

pub async fn timeline(db: &Db, study_id: i64, participant_id: i64) -> Result<Timeline, AppError> {
    db.read(move |conn| {
        let (code, opted_out_at) =
            queries::participant(conn, study_id, participant_id)?.ok_or(AppError::NotFound)?;
        Ok(Timeline {
            code,
            events: queries::timeline(conn, participant_id, opted_out_at)?,
            questionnaires: queries::participations_of(conn, participant_id)?,
        })
    })
    .await
}

async fn timeline_page(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, participant_id) = path.into_inner();
    let access = StudyAccess::with_role(&page.state().db, &user, study_id, LEAD).await?;
    let found = timeline(&page.state().db, study_id, participant_id).await?;
    audit_timeline_seen(&page.state().db, &origin.by(user.id), study_id, &found.code).await?;
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("participant_id", &participant_id);
    context.insert("code", &found.code);
    context.insert("events", &found.events);
    context.insert("questionnaires", &found.questionnaires);
    page.render("tracking/timeline.html", context)
}

#[derive(Deserialize)]
struct ReissueForm {
    #[serde(default)]
    send_email: Option<String>,
}

async fn reissue(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64, i64)>,
    form: web::Form<ReissueForm>,
) -> Result<HttpResponse, AppError> {
    let (study_id, participant_id, questionnaire_id) = path.into_inner();
    let access = StudyAccess::with_role(&page.state().db, &user, study_id, LEAD).await?;
    let state = page.state();
    let (secret, emailed) = links::actions::reissue(
        &state.db,
        &origin.by(user.id),
        study_id,
        participant_id,
        questionnaire_id,
        form.send_email.is_some(),
        state.settings.message_domain(),
    )
    .await?;
    if emailed {
        state.outbox.wake();
    }
    let found = timeline(&state.db, study_id, participant_id).await?;
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("participant_id", &participant_id);
    context.insert("code", &found.code);
    context.insert("link", &format!("{}/p/{secret}", state.settings.base_url));
    context.insert("emailed", &emailed);
    let mut response = page.render("tracking/reissued.html", context)?;
    // The new link is shown this once: never kept by a browser or proxy cache.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}
