//! Composes campaign emails at send time, so the outbox never holds link secrets or identities. Each
//! email's links are derived from the server's key and the email's idempotency key: a retried send
//! carries the same links, and only their hashes are stored.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::queries::Campaign;
use super::rules::{self, EmailTemplates, Placeholders};
use crate::db::schema::{campaigns, participant_identities, participants, participations, studies};
use crate::db::{now, DbConnection};
use crate::distribution::links::queries::{record_tokens, Purpose};
use crate::distribution::participants::rules::needs_easy_read;
use crate::mail::outbox::{Composed, Composer, Composition, Kind, OutboxMessage};
use crate::security::derived_token;
use crate::studies::preview::rules::{audience_for, MinutesToAnswer};
use crate::studies::versions::queries::version_snapshot;
use crate::studies::versions::rules::Snapshot;

pub struct CampaignComposer {
    link_key: Vec<u8>,
    base_url: String,
}

impl CampaignComposer {
    /// `secret` is the server's secret key; the link key is derived from it so that the two uses
    /// never share a key.
    pub fn new(secret: &[u8], base_url: &str) -> Self {
        let link_key = derived_token(secret, "voices participant links").secret;
        CampaignComposer {
            link_key: link_key.into_bytes(),
            base_url: base_url.trim_end_matches('/').to_string(),
        }
    }
}

/// What composing needs to know about one participation.
#[derive(Queryable)]
struct Recipient {
    participation_id: i64,
    campaign_id: Option<i64>,
    finished: (
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
    ),
    study_id: i64,
    opted_out_at: Option<NaiveDateTime>,
    group: String,
    name: Option<String>,
    email: Option<String>,
    communication_needs: Option<String>,
}

impl Recipient {
    fn has_finished(&self) -> bool {
        let (completed, declined, withdrawn) = self.finished;
        completed.is_some() || declined.is_some() || withdrawn.is_some()
    }
}

impl Composer for CampaignComposer {
    fn compose(
        &self,
        conn: &mut DbConnection,
        messages: &[OutboxMessage],
    ) -> QueryResult<HashMap<i64, Composition>> {
        let participation_ids: Vec<i64> =
            messages.iter().filter_map(|m| m.participation_id).collect();
        let recipients: HashMap<i64, Recipient> = participations::table
            .inner_join(participants::table.left_join(participant_identities::table))
            .filter(participations::id.eq_any(&participation_ids))
            .select((
                participations::id,
                participations::campaign_id,
                (
                    participations::completed_at,
                    participations::declined_at,
                    participations::withdrawn_at,
                ),
                participants::study_id,
                participants::opted_out_at,
                participants::participant_group,
                participant_identities::name.nullable(),
                participant_identities::email.nullable(),
                participant_identities::communication_needs.nullable(),
            ))
            .load::<Recipient>(conn)?
            .into_iter()
            .map(|r| (r.participation_id, r))
            .collect();
        let campaign_ids: Vec<i64> = messages
            .iter()
            .filter_map(|m| {
                m.campaign_id.or_else(|| {
                    m.participation_id
                        .and_then(|p| recipients.get(&p))
                        .and_then(|r| r.campaign_id)
                })
            })
            .collect();
        let campaigns: HashMap<i64, Campaign> = campaigns::table
            .filter(campaigns::id.eq_any(&campaign_ids))
            .select(Campaign::as_select())
            .load::<Campaign>(conn)?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        let study_ids: Vec<i64> = campaigns.values().map(|c| c.study_id).collect();
        let titles: HashMap<i64, String> = studies::table
            .filter(studies::id.eq_any(&study_ids))
            .select((studies::id, studies::title))
            .load::<(i64, String)>(conn)?
            .into_iter()
            .collect();
        let minutes = minutes_by_campaign(conn, &campaigns)?;

        let mut templates: HashMap<(i64, bool), Result<EmailTemplates, String>> = HashMap::new();
        let mut tokens = Vec::new();
        let mut composed = HashMap::new();
        let at = now();
        for message in messages {
            let outcome = self.compose_one(
                message,
                &recipients,
                &campaigns,
                &titles,
                &minutes,
                &mut templates,
                &mut tokens,
                at,
            );
            composed.insert(message.id, outcome);
        }
        record_tokens(conn, &tokens)?;
        Ok(composed)
    }
}

impl CampaignComposer {
    #[allow(clippy::too_many_arguments)]
    fn compose_one(
        &self,
        message: &OutboxMessage,
        recipients: &HashMap<i64, Recipient>,
        campaigns: &HashMap<i64, Campaign>,
        titles: &HashMap<i64, String>,
        minutes: &HashMap<i64, MinutesToAnswer>,
        templates: &mut HashMap<(i64, bool), Result<EmailTemplates, String>>,
        tokens: &mut Vec<(i64, Purpose, String)>,
        at: NaiveDateTime,
    ) -> Composition {
        let cancel = |reason: &str| Composition::Cancel(reason.to_string());
        let Some(recipient) = message.participation_id.and_then(|p| recipients.get(&p)) else {
            return cancel("the participant was removed");
        };
        if recipient.opted_out_at.is_some() {
            return cancel("opted out");
        }
        let Some(email) = recipient.email.clone() else {
            return cancel("no email address (identity erased or never given)");
        };
        let campaign_id = message.campaign_id.or(recipient.campaign_id);
        let Some(campaign) = campaign_id.and_then(|id| campaigns.get(&id)) else {
            return cancel("the campaign no longer exists");
        };
        if campaign.status == "closed" || campaign.closes_at <= at {
            return cancel("the campaign closed");
        }
        let kind = Kind::parse(&message.kind);
        if kind == Some(Kind::Reminder) && recipient.has_finished() {
            return cancel("already finished");
        }
        let reminder = kind == Some(Kind::Reminder);
        let email_templates = templates.entry((campaign.id, reminder)).or_insert_with(|| {
            if reminder {
                EmailTemplates::new(&campaign.reminder_subject, &campaign.reminder_body)
            } else {
                EmailTemplates::new(&campaign.invitation_subject, &campaign.invitation_body)
            }
        });
        let email_templates = match email_templates {
            Ok(t) => t,
            Err(problem) => return Composition::Cancel(format!("the template failed: {problem}")),
        };
        let respond = derived_token(
            &self.link_key,
            &format!("respond:{}", message.idempotency_key),
        );
        let opt_out = derived_token(
            &self.link_key,
            &format!("opt_out:{}", message.idempotency_key),
        );
        let values = Placeholders {
            name: recipient
                .name
                .clone()
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| "there".into()),
            link: format!("{}/p/{}", self.base_url, respond.secret),
            closing_date: rules::closing_date_words(campaign.closes_at),
            study: titles.get(&recipient.study_id).cloned().unwrap_or_default(),
            contact: campaign.contact.clone(),
            opt_out_link: format!("{}/o/{}", self.base_url, opt_out.secret),
            minutes: minutes.get(&campaign.id).map_or(1, |m| {
                m.for_audience(audience_for(
                    &recipient.group,
                    needs_easy_read(recipient.communication_needs.as_deref()),
                ))
            }),
        };
        match email_templates.render(&values) {
            Ok(rendered) => {
                tokens.push((recipient.participation_id, Purpose::Respond, respond.hash));
                tokens.push((recipient.participation_id, Purpose::OptOut, opt_out.hash));
                Composition::Send(Composed {
                    to: email,
                    subject: rendered.subject,
                    text: rendered.text,
                    html: rendered.html,
                    opt_out_url: Some(values.opt_out_link),
                })
            }
            Err(problem) => Composition::Cancel(format!("the template failed: {problem}")),
        }
    }
}

/// The time each audience needs for each campaign's version, worked out once per batch.
fn minutes_by_campaign(
    conn: &mut DbConnection,
    campaigns: &HashMap<i64, Campaign>,
) -> QueryResult<HashMap<i64, MinutesToAnswer>> {
    let mut by_version: HashMap<i64, Option<MinutesToAnswer>> = HashMap::new();
    let mut found = HashMap::new();
    for campaign in campaigns.values() {
        let minutes = match by_version.entry(campaign.version_id) {
            std::collections::hash_map::Entry::Occupied(known) => known.into_mut(),
            std::collections::hash_map::Entry::Vacant(slot) => {
                let text = version_snapshot(conn, campaign.version_id)?;
                // A snapshot that cannot be read leaves the estimate out rather than the email.
                slot.insert(
                    serde_json::from_str::<Snapshot>(&text)
                        .ok()
                        .map(|snapshot| MinutesToAnswer::of(&snapshot)),
                )
            }
        };
        if let Some(minutes) = minutes {
            found.insert(campaign.id, minutes.clone());
        }
    }
    Ok(found)
}
