//! What a participant does from their link: read, consent or decline, say which group they are in,
//! answer page by page, send, withdraw, and ask for a copy of their consent. Every change re-reads the
//! participation inside its own write, so a double click or a second tab sees the first one's result.

use std::sync::Arc;

use super::queries::{self, ConsentRecord, NewConsent, NewResponse, Person, Response};
use super::rules::{self, Answers, Journey, PageInput, Withdrawal};
use crate::audit::{self, Origin};
use crate::config::Settings;
use crate::db::{now, DbConnection};
use crate::distribution::links::actions as open_links;
use crate::distribution::links::queries::{self as links, LinkTarget, OpenLink, Purpose};
use crate::error::AppError;
use crate::mail::Mailer;
use crate::security::hash_token;
use crate::state::AppState;
use crate::studies::preview::rules::audience_for;
use crate::studies::preview::rules::Audience;
use crate::studies::versions::cache::Snapshots;
use crate::studies::versions::rules::Snapshot;

/// Everything a participant's page needs, read in one go.
pub struct Visit {
    pub target: LinkTarget,
    pub snapshot: Arc<Snapshot>,
    /// Where the snapshot came from, which also keeps the questionnaire as each audience meets it.
    published: Arc<Snapshots>,
    pub person: Person,
    pub anonymise: bool,
    pub changes_after_submit: bool,
    /// The decision in force.
    pub consent: Option<ConsentRecord>,
    pub response: Option<Response>,
    pub answers: Answers,
    /// Someone who pressed Start on an open link and has not consented: nothing about them is stored
    /// yet, and the open link they came by.
    pub joining: Option<OpenLink>,
}

/// Whether the link still opens the questionnaire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Open,
    Replaced,
    Closed,
    Withdrawn,
}

impl Visit {
    pub fn standing(&self) -> Standing {
        if self.target.revoked_at.is_some() {
            Standing::Replaced
        } else if self.target.withdrawn_at.is_some() {
            Standing::Withdrawn
        } else if self.target.closes_at.is_some_and(|c| c <= now()) {
            Standing::Closed
        } else {
            Standing::Open
        }
    }

    pub fn consented(&self) -> bool {
        self.consent
            .as_ref()
            .is_some_and(|c| c.consented() && c.withdrawn_at.is_none())
    }

    pub fn declined(&self) -> bool {
        self.consent.as_ref().is_some_and(|c| !c.consented())
    }

    pub fn submitted(&self) -> bool {
        self.target.completed_at.is_some()
    }

    /// Sent, and the answers kept with no link back to the participant.
    pub fn anonymised(&self) -> bool {
        self.submitted() && self.response.is_none()
    }

    /// Answers can be changed until they are sent, or until the link closes if the study allows it.
    pub fn can_change(&self) -> bool {
        self.standing() == Standing::Open
            && self.response.is_some()
            && (!self.submitted() || self.changes_after_submit)
    }

    pub fn audience(&self) -> Option<Audience> {
        match &self.response {
            Some(r) => Audience::parse(&r.audience),
            None => audience_for(&self.person.group, self.person.needs_easy_read()),
        }
    }

    pub fn journey(&self) -> Option<Journey> {
        self.audience().map(|a| {
            Journey::new(
                self.published
                    .preview(self.target.version_id, &self.snapshot, a),
            )
        })
    }

    pub fn withdrawal(&self) -> Withdrawal {
        let days = self.snapshot.information.withdrawal_days;
        rules::withdrawal(
            self.response.is_some(),
            self.anonymised(),
            self.response.as_ref().and_then(|r| r.submitted_at),
            days,
            now(),
        )
    }
}

/// Reads the participation behind `secret` as its page needs it: one statement for a participant's
/// link (a joining link, met only before consent, takes two).
pub fn load(
    conn: &mut DbConnection,
    snapshots: &Arc<Snapshots>,
    settings: &Settings,
    secret: &str,
) -> Result<Visit, AppError> {
    let Some(stored) = queries::stored_visit(conn, &hash_token(secret), Purpose::Respond)? else {
        return load_joining(conn, snapshots, settings, secret);
    };
    let snapshot = snapshots.get(conn, stored.target.version_id)?;
    // A response counts only under a decision to take part; a later decline sets it aside.
    let consented = stored
        .consent
        .as_ref()
        .is_some_and(ConsentRecord::consented);
    let (response, answers) = if consented {
        (stored.response, stored.answers)
    } else {
        (None, Answers::new())
    };
    Ok(Visit {
        target: stored.target,
        snapshot,
        published: snapshots.clone(),
        person: stored.person,
        anonymise: stored.anonymise,
        changes_after_submit: stored.changes_after_submit,
        consent: stored.consent,
        response,
        answers,
        joining: None,
    })
}

/// A joining link (someone from an open link who has not consented), or `NotFound`.
fn load_joining(
    conn: &mut DbConnection,
    snapshots: &Arc<Snapshots>,
    settings: &Settings,
    secret: &str,
) -> Result<Visit, AppError> {
    let key = settings.secret_key_bytes().map_err(AppError::internal)?;
    let (target, link) = open_links::joining(conn, &key, secret)?.ok_or(AppError::NotFound)?;
    let snapshot = snapshots.get(conn, target.version_id)?;
    let (anonymise, changes_after_submit) = queries::study_terms(conn, target.study_id)?;
    Ok(Visit {
        target,
        snapshot,
        published: snapshots.clone(),
        person: Person {
            group: link.participant_group.clone(),
            service_area: String::new(),
            system_level: String::new(),
            communication_needs: None,
            email: None,
        },
        anonymise,
        changes_after_submit,
        consent: None,
        response: None,
        answers: Answers::new(),
        joining: Some(link),
    })
}

/// The participation behind a link, as it stands. Unknown links are counted against the address.
pub async fn visit(
    state: &AppState,
    secret: String,
    ip: Option<String>,
) -> Result<Visit, AppError> {
    let snapshots = state.caches.get::<Snapshots>();
    let settings = state.settings.clone();
    let found = state
        .db
        .read(move |conn| load(conn, &snapshots, &settings, &secret))
        .await;
    let visit =
        crate::distribution::links::actions::count_unknown(&state.db, &state.settings, ip, found)
            .await?;
    if visit.target.opened_at.is_none() && visit.standing() == Standing::Open {
        // (A joining link has no participation to mark: `opened_at` is the open link's.)
        let participation_id = visit.target.participation_id;
        state
            .db
            .write(move |conn| links::mark_opened(conn, participation_id).map_err(AppError::from))
            .await?;
    }
    Ok(visit)
}

/// Runs `change` on the participation as it stands inside one write, holding it on PostgreSQL (`queries::hold_link`).
/// A link that no longer opens the questionnaire changes nothing: `Gone` with its standing. A joining
/// link has no participation to change: only consenting (`consent`) may go on with one.
async fn changing<T, F>(state: &AppState, secret: String, change: F) -> Result<T, AppError>
where
    F: FnOnce(&mut DbConnection, Visit) -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    changing_or_joining(state, secret, move |conn, visit| {
        if visit.joining.is_some() {
            return Err(NOT_NOW);
        }
        change(conn, visit)
    })
    .await
}

async fn changing_or_joining<T, F>(
    state: &AppState,
    secret: String,
    change: F,
) -> Result<T, AppError>
where
    F: FnOnce(&mut DbConnection, Visit) -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    let snapshots = state.caches.get::<Snapshots>();
    let settings = state.settings.clone();
    state
        .db
        .write(move |conn| {
            queries::hold_link(conn, &hash_token(&secret))?;
            let visit = load(conn, &snapshots, &settings, &secret)?;
            change(conn, visit)
        })
        .await
}

/// A change refused because the link no longer opens the questionnaire, or the step does not fit
/// where the participant is (e.g. answering before consenting): the handler shows where they are.
pub const NOT_NOW: AppError = AppError::Forbidden;

fn open_only(visit: &Visit) -> Result<(), AppError> {
    if visit.standing() == Standing::Open {
        Ok(())
    } else {
        Err(NOT_NOW)
    }
}

/// Starts the participant's online response in this audience's wording.
fn insert_online_response(
    conn: &mut DbConnection,
    visit: &Visit,
    audience: Audience,
) -> Result<(), AppError> {
    queries::insert_response(
        conn,
        &NewResponse {
            participation_id: visit.target.participation_id,
            participant_id: visit.target.participant_id,
            study_id: visit.target.study_id,
            questionnaire_id: visit.target.questionnaire_id,
            version_id: visit.target.version_id,
            mode: "online",
            audience: audience.as_str(),
            person: &visit.person,
        },
    )?;
    Ok(())
}

fn record_decision(
    conn: &mut DbConnection,
    origin: &Origin,
    visit: &Visit,
    statements: &[rules::StatementAnswer],
    consented: bool,
) -> Result<(), AppError> {
    let participation_id = visit.target.participation_id;
    let record = queries::insert_consent(
        conn,
        &NewConsent {
            participation_id,
            version_id: visit.target.version_id,
            information_hash: &rules::information_hash(&visit.snapshot.information),
            statements,
            consented,
            recorded_by: None,
        },
    )?;
    if consented {
        queries::mark_consented(conn, participation_id)?;
    } else {
        queries::mark_declined(conn, participation_id)?;
    }
    audit::record(
        conn,
        &origin.clone().participant(),
        if consented {
            "participant.consented"
        } else {
            "participant.declined"
        },
        "consent_record",
        Some(record.id),
        serde_json::json!({
            "study_id": visit.target.study_id, "code": visit.target.participant_code,
            "revision": record.revision, "method": record.method,
        }),
    )?;
    Ok(())
}

/// Records consent, statement by statement; then answering can start. Consenting twice (a double
/// click) records it once. Someone joining by an open link becomes a participant only now, under the
/// link they hold (`ip` counts them against their address).
pub async fn consent(
    state: &AppState,
    origin: &Origin,
    secret: String,
    ticked: Vec<bool>,
    ip: Option<String>,
) -> Result<(), AppError> {
    let origin = origin.clone();
    let snapshots = state.caches.get::<Snapshots>();
    let settings = state.settings.clone();
    changing_or_joining(state, secret.clone(), move |conn, visit| {
        open_only(&visit)?;
        if visit.consented() || visit.submitted() {
            return Ok(());
        }
        let statements =
            rules::check_consent(&visit.snapshot.information.consent_statements, &ticked)
                .map_err(AppError::Invalid)?;
        let visit = match &visit.joining {
            Some(link) => {
                // A second press of "I agree" waited for the first (`hold_link`) and finds it
                // admitted, above.
                open_links::admit(
                    conn,
                    &settings,
                    ip.as_deref(),
                    link,
                    visit.target.study_id,
                    &hash_token(&secret),
                )?;
                load(conn, &snapshots, &settings, &secret)?
            }
            None => visit,
        };
        record_decision(conn, &origin, &visit, &statements, true)?;
        // Answering starts now when the participant's group is known; otherwise they say it first.
        match visit.audience() {
            Some(audience) if visit.response.is_none() => {
                insert_online_response(conn, &visit, audience)
            }
            _ => Ok(()),
        }
    })
    .await
}

/// "I do not want to take part": the decision is recorded and nothing else is stored. Someone joining
/// by an open link is not yet anyone: nothing at all is stored.
pub async fn decline(state: &AppState, origin: &Origin, secret: String) -> Result<(), AppError> {
    let origin = origin.clone();
    changing_or_joining(state, secret, move |conn, visit| {
        open_only(&visit)?;
        if visit.joining.is_some() || visit.consented() || visit.declined() || visit.submitted() {
            return Ok(());
        }
        let statements = rules::declined(&visit.snapshot.information.consent_statements);
        record_decision(conn, &origin, &visit, &statements, false)
    })
    .await
}

/// Someone who came by an open link says which group they are in; answering starts in its wording.
pub async fn choose_group(
    state: &AppState,
    secret: String,
    group: &'static str,
    easy_read: bool,
) -> Result<(), AppError> {
    changing(state, secret, move |conn, mut visit| {
        open_only(&visit)?;
        if !visit.consented() || visit.response.is_some() {
            return Err(NOT_NOW);
        }
        queries::set_group(conn, visit.target.participant_id, group)?;
        visit.person.group = group.to_string();
        let audience =
            audience_for(group, easy_read).ok_or_else(|| AppError::invalid("group", ""))?;
        insert_online_response(conn, &visit, audience)
    })
    .await
}

/// What saving a page found, for the handler to go on or show the page again.
pub struct Saved {
    pub input: PageInput,
    pub visit: Visit,
    pub journey: Journey,
}

/// Stores the answers on page `index` (from 0) that are valid, whatever else is wrong with the page,
/// and notes `next_page` (from 0) as where to continue.
pub async fn save_page(
    state: &AppState,
    secret: String,
    index: usize,
    form: Vec<(String, String)>,
    going_on: bool,
) -> Result<Saved, AppError> {
    changing(state, secret, move |conn, mut visit| {
        if !visit.can_change() {
            return Err(NOT_NOW);
        }
        let journey = visit.journey().ok_or(NOT_NOW)?;
        if journey.page(index).is_none() {
            return Err(AppError::NotFound);
        }
        let input = rules::read_page(&journey, index, &form, &visit.answers);
        rules::apply(&mut visit.answers, &input.changes);
        let stay = !input.invalid.is_empty() || (going_on && !input.missing.is_empty());
        let continue_from = if stay || !going_on {
            index
        } else {
            journey
                .next_page(index, &visit.answers)
                .unwrap_or(journey.pages().len())
        };
        let response = visit.response.as_mut().ok_or(NOT_NOW)?;
        response.updated_at = queries::save_answers(
            conn,
            response.id,
            &input.changes,
            i32::try_from(continue_from + 1).unwrap_or(i32::MAX),
        )?;
        Ok(Saved {
            input,
            visit,
            journey,
        })
    })
    .await
}

/// Sends the answers: every required question put to the participant must be answered. Returns the
/// questions still needing an answer (page from 0, question id), empty when sent. Sending twice sends
/// once.
pub async fn submit(state: &AppState, secret: String) -> Result<Vec<(usize, i64)>, AppError> {
    changing(state, secret, move |conn, visit| {
        open_only(&visit)?;
        if visit.submitted() {
            return Ok(Vec::new());
        }
        let journey = visit.journey().ok_or(NOT_NOW)?;
        let response = visit.response.as_ref().ok_or(NOT_NOW)?;
        let missing = journey.unanswered_required(&visit.answers);
        if !missing.is_empty() {
            return Ok(missing);
        }
        let at = if visit.anonymise {
            now().date().and_hms_opt(0, 0, 0).expect("midnight exists")
        } else {
            now()
        };
        queries::submit(conn, response, at, visit.anonymise)?;
        queries::mark_completed(conn, visit.target.participation_id, at)?;
        Ok(Vec::new())
    })
    .await
}

/// Withdraws the participant: their answers are deleted before the cut-off, kept under the study's
/// stated policy after it; the consent record and participation are marked, and the team sees that it
/// happened (never what was deleted). Returns what was done.
pub async fn withdraw(
    state: &AppState,
    origin: &Origin,
    secret: String,
) -> Result<Withdrawal, AppError> {
    let origin = origin.clone().participant();
    changing(state, secret, move |conn, visit| {
        if !matches!(visit.standing(), Standing::Open | Standing::Closed) {
            return Err(NOT_NOW);
        }
        let effect = visit.withdrawal();
        let at = now();
        let deleted = match (&effect, &visit.response) {
            (Withdrawal::DeleteAnswers { .. }, Some(response)) => {
                Some(queries::delete_response(conn, response.id)?)
            }
            _ => None,
        };
        let participation_id = visit.target.participation_id;
        queries::mark_consent_withdrawn(conn, participation_id, at)?;
        queries::mark_withdrawn(conn, participation_id, at)?;
        crate::distribution::links::queries::cancel_queued_emails(conn, participation_id)?;
        audit::record(
            conn,
            &origin,
            "participant.withdrew",
            "participant",
            Some(visit.target.participant_id),
            serde_json::json!({
                "study_id": visit.target.study_id, "code": visit.target.participant_code,
                "questionnaire_id": visit.target.questionnaire_id,
                "answers_deleted": deleted.is_some(),
                "effect": effect,
            }),
        )?;
        Ok(effect)
    })
    .await
}

/// Queues a copy of the consent record to the participant's email address, when one is kept. Returns
/// false when there is no address to send it to.
pub async fn email_consent_copy(
    state: &AppState,
    secret: String,
    base_url: String,
) -> Result<bool, AppError> {
    let mailer = Mailer::new(state);
    let sent = changing(state, secret, move |conn, visit| {
        let (Some(record), Some(email)) = (&visit.consent, &visit.person.email) else {
            return Ok(false);
        };
        let mut context = tera::Context::new();
        context.insert("study_title", &visit.target.study_title);
        context.insert("questionnaire_title", &visit.snapshot.title);
        context.insert("statements", &record.statements());
        context.insert("record", record);
        context.insert("contact", &visit.snapshot.information.contact);
        context.insert("base_url", &base_url);
        // One copy per record a minute, however often the button is pressed.
        let key = format!(
            "participation:{}:consent-copy:{}:{}",
            visit.target.participation_id,
            record.revision,
            now().format("%Y%m%d%H%M")
        );
        mailer
            .queue(conn, key, "consent_copy", email, &context)
            .map_err(AppError::internal)?;
        Ok(true)
    })
    .await?;
    if sent {
        state.outbox.wake();
    }
    Ok(sent)
}
