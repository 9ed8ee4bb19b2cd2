//! What people do with campaigns: write them, preview an email, launch, close; and the schedule that
//! queues reminders and closes campaigns on their closing date.

use std::collections::HashSet;

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::queries::{self, Campaign, CampaignContent, RosterEntry, SendableVersion};
use super::rules::{self, Candidate, EmailTemplates, Placeholders, RecipientFilter, RenderedEmail};
use crate::audit::{self, Origin};
use crate::db::{now, Db};
use crate::error::{AppError, FieldErrors};
use crate::mail::outbox::{self, Kind, Queued};
use crate::studies::preview::rules::MinutesToAnswer;
use crate::studies::rules::{IdentityView, SAMPLE_PERSON};
use crate::studies::versions::rules::Snapshot;

/// A campaign as submitted by a form or the API, before checking.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct CampaignInput {
    #[serde(default)]
    pub name: String,
    /// The id of a published questionnaire version of this study.
    #[serde(default)]
    pub version_id: Option<i64>,
    #[serde(default)]
    pub filter: RecipientFilter,
    #[serde(default)]
    pub invitation_subject: String,
    #[serde(default)]
    pub invitation_body: String,
    #[serde(default)]
    pub reminder_subject: String,
    #[serde(default)]
    pub reminder_body: String,
    /// Days after the invitation, e.g. [7, 14].
    #[serde(default)]
    pub reminder_days: Vec<i32>,
    #[serde(default)]
    pub contact: String,
    /// The last day people can take part (YYYY-MM-DD); links stop working after it.
    #[serde(default)]
    pub closes_on: Option<NaiveDate>,
    /// The version of the campaign the editor started from (for updates).
    #[serde(default)]
    pub lock_version: Option<i32>,
}

impl CampaignInput {
    /// A new campaign as the form first shows it: the suggested emails, reminders after 7 and 14 days.
    pub fn suggested(contact: String) -> Self {
        CampaignInput {
            invitation_subject: rules::DEFAULT_INVITATION_SUBJECT.into(),
            invitation_body: rules::DEFAULT_INVITATION_BODY.into(),
            reminder_subject: rules::DEFAULT_REMINDER_SUBJECT.into(),
            reminder_body: rules::DEFAULT_REMINDER_BODY.into(),
            reminder_days: vec![7, 14],
            contact,
            ..CampaignInput::default()
        }
    }

    pub fn from_campaign(campaign: &Campaign) -> Self {
        CampaignInput {
            name: campaign.name.clone(),
            version_id: Some(campaign.version_id),
            filter: campaign.filter(),
            invitation_subject: campaign.invitation_subject.clone(),
            invitation_body: campaign.invitation_body.clone(),
            reminder_subject: campaign.reminder_subject.clone(),
            reminder_body: campaign.reminder_body.clone(),
            reminder_days: campaign.days(),
            contact: campaign.contact.clone(),
            closes_on: Some(campaign.closes_at.date()),
            lock_version: Some(campaign.lock_version),
        }
    }
}

/// Checks everything and says what is wrong beside each field; templates are checked here, when
/// saved, so that no email fails at send time.
pub fn check(
    input: &CampaignInput,
    versions: &[SendableVersion],
    today: NaiveDate,
) -> Result<CampaignContent, FieldErrors> {
    let mut errors = FieldErrors::new();
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 120 {
        errors.insert("name".into(), "Enter a name of up to 120 characters".into());
    }
    let version = input
        .version_id
        .and_then(|id| versions.iter().find(|v| v.version_id == id));
    if version.is_none() {
        errors.insert(
            "version_id".into(),
            "Choose a published questionnaire version".into(),
        );
    }
    let templates = [
        (
            "invitation_subject",
            &input.invitation_subject,
            rules::SUBJECT_MAX,
        ),
        ("invitation_body", &input.invitation_body, rules::BODY_MAX),
        (
            "reminder_subject",
            &input.reminder_subject,
            rules::SUBJECT_MAX,
        ),
        ("reminder_body", &input.reminder_body, rules::BODY_MAX),
    ];
    for (field, text, max) in templates {
        match rules::check_template(text, max) {
            Ok(used) if field.ends_with("_body") && !used.iter().any(|p| p == "link") => {
                errors.insert(
                    field.into(),
                    "Include {{ link }}, or people will have no way to take part".into(),
                );
            }
            Ok(_) => {}
            Err(message) => {
                errors.insert(field.into(), message);
            }
        }
    }
    if let Err(message) = rules::check_reminder_days(&input.reminder_days) {
        errors.insert("reminder_days".into(), message);
    }
    let contact = input.contact.trim();
    if contact.is_empty() || contact.chars().count() > 300 {
        errors.insert(
            "contact".into(),
            "Enter who people can contact with questions (up to 300 characters)".into(),
        );
    }
    match input.closes_on {
        Some(day) if day > today => {}
        Some(_) => {
            errors.insert(
                "closes_on".into(),
                "The closing date must be after today".into(),
            );
        }
        None => {
            errors.insert(
                "closes_on".into(),
                "Enter the closing date, for example 2027-01-31".into(),
            );
        }
    }
    match (version, input.closes_on, errors.is_empty()) {
        (Some(version), Some(day), true) => Ok(CampaignContent {
            name: name.to_string(),
            version_id: version.version_id,
            questionnaire_id: version.questionnaire_id,
            filter: input.filter.clone(),
            invitation_subject: input.invitation_subject.trim().to_string(),
            invitation_body: input.invitation_body.trim().to_string(),
            reminder_subject: input.reminder_subject.trim().to_string(),
            reminder_body: input.reminder_body.trim().to_string(),
            reminder_days: input.reminder_days.clone(),
            contact: contact.to_string(),
            closes_at: day.and_hms_opt(23, 59, 59).expect("a valid time of day"),
        }),
        _ => Err(errors),
    }
}

pub async fn sendable_versions(db: &Db, study_id: i64) -> Result<Vec<SendableVersion>, AppError> {
    db.read(move |conn| queries::sendable_versions(conn, study_id).map_err(AppError::from))
        .await
}

pub async fn create(
    db: &Db,
    origin: &Origin,
    study_id: i64,
    input: CampaignInput,
) -> Result<i64, AppError> {
    let versions = sendable_versions(db, study_id).await?;
    let content = check(&input, &versions, now().date()).map_err(AppError::Invalid)?;
    let origin = origin.clone();
    let user_id = origin.user_id.ok_or(AppError::Unauthenticated)?;
    db.write(move |conn| {
        let id = queries::insert(conn, study_id, &content, user_id)?;
        audit::record(
            conn,
            &origin,
            "campaign.created",
            "campaign",
            Some(id),
            serde_json::json!({ "study_id": study_id, "version_id": content.version_id }),
        )?;
        Ok(id)
    })
    .await
}

pub async fn find(db: &Db, study_id: i64, id: i64) -> Result<Campaign, AppError> {
    db.read(move |conn| queries::find(conn, study_id, id).map_err(AppError::from))
        .await?
        .ok_or(AppError::NotFound)
}

pub async fn list(db: &Db, study_id: i64) -> Result<Vec<Campaign>, AppError> {
    db.read(move |conn| queries::list(conn, study_id).map_err(AppError::from))
        .await
}

/// Saves changes. Once launched, the questionnaire version stays as it was sent.
pub async fn update(
    db: &Db,
    origin: &Origin,
    campaign: &Campaign,
    input: CampaignInput,
    by_lead: bool,
) -> Result<(), AppError> {
    // Co-designers write the emails; who gets them and when stays the lead's decision.
    let input = if by_lead {
        input
    } else {
        CampaignInput {
            invitation_subject: input.invitation_subject,
            invitation_body: input.invitation_body,
            reminder_subject: input.reminder_subject,
            reminder_body: input.reminder_body,
            lock_version: input.lock_version,
            ..CampaignInput::from_campaign(campaign)
        }
    };
    if campaign.status == "closed" {
        return Err(AppError::invalid(
            "__all__",
            "This campaign is closed and can no longer be changed.",
        ));
    }
    let versions = sendable_versions(db, campaign.study_id).await?;
    let mut content = check(&input, &versions, now().date()).map_err(AppError::Invalid)?;
    if campaign.status != "draft" && content.version_id != campaign.version_id {
        return Err(AppError::invalid(
            "version_id",
            "Invitations have gone out for this version, so it cannot change now. Start a new campaign for another version.",
        ));
    }
    if campaign.status != "draft" {
        content.filter = campaign.filter();
    }
    let lock_version = input.lock_version.unwrap_or(campaign.lock_version);
    let (origin, campaign) = (origin.clone(), campaign.clone());
    db.write(move |conn| {
        if !queries::update(conn, &campaign, &content, lock_version)? {
            return Err(AppError::invalid(
                "__all__",
                "Someone else saved this campaign while you were editing it. Reload the page to see their changes, then make yours again.",
            ));
        }
        audit::record(
            conn,
            &origin,
            "campaign.updated",
            "campaign",
            Some(campaign.id),
            serde_json::json!({ "study_id": campaign.study_id }),
        )?;
        Ok(())
    })
    .await
}

/// Who a campaign would reach now: matching the filter, with an email address, not opted out, and
/// not already in it.
fn selectable<'a>(
    campaign: &Campaign,
    roster: &'a [RosterEntry],
    already: &HashSet<i64>,
) -> Vec<&'a RosterEntry> {
    let filter = campaign.filter();
    roster
        .iter()
        .filter(|entry| {
            entry.has_email
                && !entry.opted_out
                && !already.contains(&entry.participant_id)
                && filter.matches(&Candidate {
                    group: &entry.group,
                    service: &entry.service_area,
                    level: &entry.system_level,
                    tags: &entry.tags,
                    progress: entry.progress(),
                })
        })
        .collect()
}

/// How many people launching (or launching again) would invite now.
pub async fn count_selectable(db: &Db, campaign: &Campaign) -> Result<usize, AppError> {
    let campaign = campaign.clone();
    db.read(move |conn| {
        let roster = queries::roster(conn, campaign.study_id, campaign.questionnaire_id)?;
        let already: HashSet<i64> = queries::recipient_ids(conn, campaign.id)?
            .into_iter()
            .collect();
        Ok(selectable(&campaign, &roster, &already).len())
    })
    .await
}

/// Queues an invitation for everyone the filter selects who is not yet in the campaign, in one
/// transaction: all of them or none. Launching again later invites people added to the roster since.
pub async fn launch(
    db: &Db,
    origin: &Origin,
    campaign: &Campaign,
    message_domain: String,
) -> Result<usize, AppError> {
    if campaign.closes_at <= now() {
        return Err(AppError::invalid(
            "__all__",
            "The closing date has passed. Change it before sending invitations.",
        ));
    }
    let (origin, campaign) = (origin.clone(), campaign.clone());
    db.write(move |conn| {
        if !queries::activate(conn, campaign.id)? {
            return Err(AppError::invalid(
                "__all__",
                "This campaign is closed. Start a new campaign to invite more people.",
            ));
        }
        let roster = queries::roster(conn, campaign.study_id, campaign.questionnaire_id)?;
        let already: HashSet<i64> = queries::recipient_ids(conn, campaign.id)?
            .into_iter()
            .collect();
        let chosen = selectable(&campaign, &roster, &already);
        let invitations: Vec<Queued> = queries::enrol(conn, &campaign, &chosen)?
            .into_iter()
            .map(|(participant, participation)| Queued {
                key: format!(
                    "campaign:{}:participant:{participant}:invitation",
                    campaign.id
                ),
                kind: Kind::Invitation,
                study_id: Some(campaign.study_id),
                campaign_id: Some(campaign.id),
                participation_id: Some(participation),
                prepared: None,
            })
            .collect();
        outbox::queue_new(conn, &invitations, &message_domain)?;
        audit::record(
            conn,
            &origin,
            "campaign.launched",
            "campaign",
            Some(campaign.id),
            serde_json::json!({ "study_id": campaign.study_id, "invited": chosen.len() }),
        )?;
        Ok(chosen.len())
    })
    .await
}

/// Closes a campaign: no more reminders, and emails not yet sent are not sent.
/// What closing a campaign now would do, for the lead to confirm: how many people have started
/// answering and may still finish (until `finish_by`), and how many links nobody has started with
/// would stop.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Closing {
    pub mid_way: i64,
    pub not_started: i64,
    #[serde(with = "crate::db::utc")]
    pub finish_by: NaiveDateTime,
}

/// The day people who have started may finish by when a campaign closes now: the grace period from
/// the settings, never past the campaign's own closing date.
fn finish_by(campaign: &Campaign, grace_days: i64) -> NaiveDateTime {
    (now() + chrono::Duration::days(grace_days.max(0))).min(campaign.closes_at)
}

pub async fn closing(db: &Db, campaign: &Campaign, grace_days: i64) -> Result<Closing, AppError> {
    let id = campaign.id;
    let finish_by = finish_by(campaign, grace_days);
    let (mid_way, not_started) = db
        .read(move |conn| queries::closing_counts(conn, id).map_err(AppError::from))
        .await?;
    Ok(Closing {
        mid_way,
        not_started,
        finish_by,
    })
}

pub async fn close(
    db: &Db,
    origin: &Origin,
    campaign: &Campaign,
    grace_days: i64,
) -> Result<(), AppError> {
    let (origin, campaign) = (origin.clone(), campaign.clone());
    let finish_by = finish_by(&campaign, grace_days);
    db.write(move |conn| {
        if queries::close(conn, campaign.id, finish_by)? {
            queries::cancel_unsent(conn, campaign.id, "the campaign was closed")?;
            audit::record(
                conn,
                &origin,
                "campaign.closed",
                "campaign",
                Some(campaign.id),
                serde_json::json!({ "study_id": campaign.study_id, "finish_by": finish_by }),
            )?;
        }
        Ok(())
    })
    .await
}

/// Both emails of a campaign as one participant would get them. The links are examples: real ones are
/// made when each email is sent.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = CampaignPreview)]
pub struct Preview {
    pub participant_code: String,
    pub invitation: RenderedEmail,
    pub reminder: RenderedEmail,
    pub plain_language: crate::studies::plain_language::PlainLanguageReport,
}

/// Previews for a member who may see every identity (`identities`: a lead) use the participant asked
/// for, and the look at their name is audited; everyone else gets the sample person whatever they ask
/// for, so stepping through codes reveals no names.
pub async fn preview(
    db: &Db,
    origin: &Origin,
    campaign: &Campaign,
    participant_code: Option<String>,
    base_url: &str,
    identities: IdentityView,
) -> Result<Preview, AppError> {
    let (study_id, code, version_id) = (campaign.study_id, participant_code, campaign.version_id);
    let real_person = identities == IdentityView::Everyone;
    let origin = origin.clone();
    let (study_title, jargon, snapshot, person) = db
        .write(move |conn| {
            let title = crate::studies::queries::study_title(conn, study_id)?;
            let jargon = crate::studies::queries::jargon(conn, study_id)?;
            let snapshot = crate::studies::versions::queries::version_snapshot(conn, version_id)?;
            let person = if real_person {
                let person = crate::distribution::links::queries::preview_person(
                    conn,
                    study_id,
                    code.as_deref(),
                )?;
                if let Some((code, Some(_))) = &person {
                    audit::record(
                        conn,
                        &origin,
                        "identity_viewed",
                        "study",
                        Some(study_id),
                        serde_json::json!({ "participants": [code], "via": "campaign email preview" }),
                    )?;
                }
                person
            } else {
                let (code, name) = SAMPLE_PERSON;
                Some((code.to_string(), Some(name.to_string())))
            };
            Ok::<_, AppError>((title, jargon, snapshot, person))
        })
        .await?;
    let snapshot: Snapshot = serde_json::from_str(&snapshot).map_err(AppError::internal)?;
    let (code, name) = person.ok_or_else(|| {
        AppError::invalid(
            "participant",
            "There is no participant with that code in this study",
        )
    })?;
    let values = Placeholders {
        name: name.unwrap_or_else(|| "there".into()),
        link: format!("{base_url}/p/example-link-made-when-sent"),
        closing_date: rules::closing_date_words(campaign.closes_at),
        study: study_title,
        contact: campaign.contact.clone(),
        opt_out_link: format!("{base_url}/o/example-opt-out-link"),
        // The sample person's group is not known: the longest any group needs.
        minutes: MinutesToAnswer::of(&snapshot).for_audience(None),
    };
    let render = |subject: &str, body: &str| {
        EmailTemplates::new(subject, body)
            .and_then(|t| t.render(&values))
            .map_err(|message| AppError::invalid("__all__", &message))
    };
    let invitation = render(&campaign.invitation_subject, &campaign.invitation_body)?;
    let reminder = render(&campaign.reminder_subject, &campaign.reminder_body)?;
    let plain_language = crate::studies::plain_language::report(&invitation.text, &jargon);
    Ok(Preview {
        participant_code: code,
        invitation,
        reminder,
        plain_language,
    })
}

/// What one pass of the schedule did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ScheduleRun {
    pub reminders_queued: usize,
    pub campaigns_closed: usize,
}

/// Queues the reminders that are due and closes campaigns past their closing time. Safe to run in every
/// instance at once: each reminder is claimed by a conditional update that only one can win.
pub async fn run_schedule(
    db: &Db,
    at: NaiveDateTime,
    message_domain: String,
) -> Result<ScheduleRun, AppError> {
    db.write(move |conn| {
        let mut run = ScheduleRun::default();
        for (campaign_id, study_id) in queries::overdue(conn, at)? {
            // Its date was known to everyone: no grace period after it.
            if queries::close(conn, campaign_id, now())? {
                queries::cancel_unsent(conn, campaign_id, "the campaign closed")?;
                audit::record(
                    conn,
                    &Origin::system().in_study(study_id),
                    "campaign.closed",
                    "campaign",
                    Some(campaign_id),
                    serde_json::json!({ "reason": "closing date passed" }),
                )?;
                run.campaigns_closed += 1;
            }
        }
        for campaign in queries::active(conn)? {
            let days = campaign.days();
            if days.is_empty() {
                continue;
            }
            let schedule_length = i32::try_from(days.len()).unwrap_or(i32::MAX);
            for candidate in queries::reminder_candidates(conn, campaign.id, schedule_length)? {
                let Some(number) = rules::due_reminder(
                    &days,
                    candidate.invited_at,
                    candidate.reminders_queued,
                    at,
                ) else {
                    continue;
                };
                if !queries::claim_reminder(
                    conn,
                    candidate.recipient_id,
                    candidate.reminders_queued,
                )? {
                    continue;
                }
                outbox::queue(
                    conn,
                    &Queued {
                        key: format!(
                            "campaign:{}:participant:{}:reminder:{number}",
                            campaign.id, candidate.participant_id
                        ),
                        kind: Kind::Reminder,
                        study_id: Some(campaign.study_id),
                        campaign_id: Some(campaign.id),
                        participation_id: Some(candidate.participation_id),
                        prepared: None,
                    },
                    &message_domain,
                )?;
                run.reminders_queued += 1;
            }
        }
        Ok::<_, AppError>(run)
    })
    .await
}
