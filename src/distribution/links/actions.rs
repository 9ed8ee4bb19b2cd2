//! What happens when someone follows a link, opts out, joins by an open link, or a lead reissues a
//! link. Unrecognised links are counted per IP address so that guessing is slowed to a stop.

use chrono::NaiveDateTime;

use super::queries::{self, LinkTarget, NewOpenLink, OpenLink, Purpose};
use crate::audit::{self, Origin};
use crate::config::Settings;
use crate::db::{now, Db, DbConnection};
use crate::distribution::participants::rules::Group;
use crate::error::AppError;
use crate::mail::outbox::{self, Kind, Queued};
use crate::security::{hash_token, new_token, signed_ticket, ticket_payload};
use crate::studies::versions::rules::Snapshot;

type Limits = (crate::config::LinkSettings, i64);

fn limits(settings: &Settings) -> Limits {
    (settings.links.clone(), settings.login.window_minutes)
}

/// Links are looked up by hash; an unknown one is `NotFound`, which `counted` then counts.
fn lookup(
    conn: &mut DbConnection,
    secret: &str,
    purpose: Purpose,
) -> Result<(Box<LinkTarget>, Box<Snapshot>), AppError> {
    let target =
        queries::find_by_hash(conn, &hash_token(secret), purpose)?.ok_or(AppError::NotFound)?;
    let snapshot: Snapshot = serde_json::from_str(
        &crate::studies::versions::queries::version_snapshot(conn, target.version_id)?,
    )
    .map_err(AppError::internal)?;
    Ok((Box::new(target), Box::new(snapshot)))
}

/// The participant an opt-out link is for. Opt-out links keep working whatever else happens.
pub async fn opt_out_target(
    db: &Db,
    settings: &Settings,
    secret: String,
    ip: Option<String>,
) -> Result<(Box<LinkTarget>, Box<Snapshot>), AppError> {
    let found = db
        .read(move |conn| lookup(conn, &secret, Purpose::OptOut))
        .await;
    counted(db, &limits(settings), ip, found).await
}

/// `counted`, for the other pages behind links.
pub(crate) async fn count_unknown<T>(
    db: &Db,
    settings: &Settings,
    ip: Option<String>,
    result: Result<T, AppError>,
) -> Result<T, AppError> {
    counted(db, &limits(settings), ip, result).await
}

/// An unknown link (`NotFound`) counts against the address it came from, in a write of its own (the
/// lookup's own transaction was rolled back by the error), and after too many the answer is "wait".
async fn counted<T>(
    db: &Db,
    limits: &Limits,
    ip: Option<String>,
    result: Result<T, AppError>,
) -> Result<T, AppError> {
    let Err(AppError::NotFound) = result else {
        return result;
    };
    let (limits, login_window_minutes) = limits.clone();
    let verdict = db
        .write(move |conn| {
            use crate::accounts::queries::{at_limit, record_failures};
            let key = format!("link:{}", hash_token(ip.as_deref().unwrap_or("unknown")));
            let at = now();
            let since = at - chrono::Duration::minutes(limits.window_minutes);
            if at_limit(conn, &key, since, limits.unknown_per_ip)? {
                return Ok(AppError::TooManyRequests(format!(
                    "Too many links that we do not recognise have come from your connection. Please wait {} minutes and try again.",
                    limits.window_minutes
                )));
            }
            let keep = limits.window_minutes.max(login_window_minutes);
            record_failures(conn, &[&key], at - chrono::Duration::minutes(keep))?;
            Ok::<_, AppError>(AppError::NotFound)
        })
        .await?;
    Err(verdict)
}

/// Stops emails to this participant about the study. Repeating it changes nothing.
pub async fn opt_out(db: &Db, origin: &Origin, target: &LinkTarget) -> Result<(), AppError> {
    let (participant_id, code, study_id) = (
        target.participant_id,
        target.participant_code.clone(),
        target.study_id,
    );
    let origin = origin.clone().participant();
    db.write(move |conn| {
        if queries::opt_out(conn, participant_id)? {
            audit::record(
                conn,
                &origin,
                "participant.opted_out",
                "participant",
                Some(participant_id),
                serde_json::json!({ "study_id": study_id, "code": code }),
            )?;
        }
        Ok(())
    })
    .await
}

/// A new link for a participant: every earlier one stops working. The new link is returned to show
/// once; with `send_email`, an email carrying a link of its own is queued too.
pub async fn reissue(
    db: &Db,
    origin: &Origin,
    study_id: i64,
    participant_id: i64,
    questionnaire_id: i64,
    send_email: bool,
    message_domain: String,
) -> Result<(String, bool), AppError> {
    let origin = origin.clone();
    db.write(move |conn| {
        let (participation_id, code, campaign_id) =
            queries::participation_of(conn, study_id, participant_id, questionnaire_id)?
                .ok_or(AppError::NotFound)?;
        let revoked = queries::revoke_respond_tokens(conn, participation_id)?;
        let token = new_token("");
        queries::insert_token(conn, participation_id, Purpose::Respond, &token.hash)?;
        let emailed = send_email && campaign_id.is_some();
        if emailed {
            outbox::queue(
                conn,
                &Queued {
                    key: format!(
                        "participation:{participation_id}:new-link:{}",
                        &token.hash[..16]
                    ),
                    kind: Kind::NewLink,
                    study_id: Some(study_id),
                    campaign_id,
                    participation_id: Some(participation_id),
                    prepared: None,
                },
                &message_domain,
            )?;
        }
        audit::record(
            conn,
            &origin,
            "participant.link_reissued",
            "participant",
            Some(participant_id),
            serde_json::json!({
                "study_id": study_id, "code": code, "questionnaire_id": questionnaire_id,
                "links_revoked": revoked, "emailed": emailed,
            }),
        )?;
        Ok((token.secret, emailed))
    })
    .await
}

pub async fn open_links(db: &Db, questionnaire_id: i64) -> Result<Vec<OpenLink>, AppError> {
    db.read(move |conn| queries::open_links_of(conn, questionnaire_id).map_err(AppError::from))
        .await
}

/// Makes an open link for the newest published version; returns its secret, shown once.
pub async fn create_open_link(
    db: &Db,
    origin: &Origin,
    study_id: i64,
    questionnaire_id: i64,
    group: Option<Group>,
    closes_at: NaiveDateTime,
) -> Result<String, AppError> {
    let origin = origin.clone();
    let user_id = origin.user_id.ok_or(AppError::Unauthenticated)?;
    db.write(move |conn| {
        let version_id =
            crate::distribution::campaigns::queries::sendable_versions(conn, study_id)?
                .into_iter()
                .find(|v| v.questionnaire_id == questionnaire_id)
                .map(|v| v.version_id)
                .ok_or_else(|| {
                    AppError::invalid(
                        "__all__",
                        "Publish a version of this questionnaire before making an open link.",
                    )
                })?;
        let token = new_token("");
        let id = queries::insert_open_link(
            conn,
            &NewOpenLink {
                study_id,
                questionnaire_id,
                version_id,
                group: group.map_or("", Group::as_str),
                hash: &token.hash,
                closes_at,
                created_by: user_id,
            },
        )?;
        audit::record(
            conn,
            &origin,
            "open_link.created",
            "open_link",
            Some(id),
            serde_json::json!({ "study_id": study_id, "questionnaire_id": questionnaire_id }),
        )?;
        Ok(token.secret)
    })
    .await
}

pub async fn revoke_open_link(
    db: &Db,
    origin: &Origin,
    questionnaire_id: i64,
    id: i64,
) -> Result<(), AppError> {
    let origin = origin.clone();
    db.write(move |conn| {
        if queries::revoke_open_link(conn, questionnaire_id, id)? {
            audit::record(
                conn,
                &origin,
                "open_link.revoked",
                "open_link",
                Some(id),
                serde_json::json!({ "questionnaire_id": questionnaire_id }),
            )?;
        }
        Ok(())
    })
    .await
}

/// An open link as a visitor meets it: open (with its study's id and title), or closed.
pub enum Joining {
    Open(OpenLink, i64, String),
    Closed(String),
}

fn lookup_open_link(conn: &mut DbConnection, secret: &str) -> Result<Joining, AppError> {
    let (link, study_id, title) =
        queries::find_open_link(conn, &hash_token(secret))?.ok_or(AppError::NotFound)?;
    if link.revoked_at.is_some() || link.closes_at <= now() {
        Ok(Joining::Closed(title))
    } else {
        Ok(Joining::Open(link, study_id, title))
    }
}

pub async fn find_open_link(
    db: &Db,
    settings: &Settings,
    secret: String,
    ip: Option<String>,
) -> Result<Joining, AppError> {
    let found = db.read(move |conn| lookup_open_link(conn, &secret)).await;
    counted(db, &limits(settings), ip, found).await
}

/// Someone presses Start on an open link: they get a link of their own to read about the study and
/// decide, but nothing is stored until they consent (`admit`), so an abandoned join or a flood of
/// presses makes nobody. The link is a ticket signed with the service's key, naming the open link.
/// None when the open link has closed.
pub async fn join(
    db: &Db,
    settings: &Settings,
    secret: String,
    ip: Option<String>,
) -> Result<Option<String>, AppError> {
    let key = settings.secret_key_bytes().map_err(AppError::internal)?;
    let found = db.read(move |conn| lookup_open_link(conn, &secret)).await;
    let ticket = match counted(db, &limits(settings), ip, found).await? {
        Joining::Open(link, _, _) => Some(signed_ticket(&key, &joining_payload(link.id))),
        Joining::Closed(_) => None,
    };
    Ok(ticket)
}

fn joining_payload(open_link_id: i64) -> String {
    format!("join-{open_link_id}")
}

/// Someone holding a joining link (see `join`) who has not consented yet: what their link leads to,
/// as if they were a participant with no answers, and the open link they came by. None for any
/// other secret.
pub fn joining(
    conn: &mut DbConnection,
    key: &[u8],
    secret: &str,
) -> Result<Option<(LinkTarget, OpenLink)>, AppError> {
    let Some(id) = ticket_payload(key, secret)
        .and_then(|payload| payload.strip_prefix("join-"))
        .and_then(|id| id.parse::<i64>().ok())
    else {
        return Ok(None);
    };
    let Some((link, study_id, study_title)) = queries::open_link_by_id(conn, id)? else {
        return Ok(None);
    };
    let closes_at = link
        .revoked_at
        .map_or(link.closes_at, |r| r.min(link.closes_at));
    let target = LinkTarget {
        token_id: 0,
        revoked_at: None,
        participation_id: 0,
        questionnaire_id: link.questionnaire_id,
        version_id: link.version_id,
        closes_at: Some(closes_at),
        opened_at: Some(link.created_at),
        completed_at: None,
        withdrawn_at: None,
        participant_id: 0,
        participant_code: String::new(),
        opted_out_at: None,
        study_id,
        study_title,
    };
    Ok(Some((target, link)))
}

/// Someone who came by an open link consents: they become an anonymous participant whose link is the
/// one they hold (`link_hash`). Each admission makes a participant, so a flood from one address is
/// asked to wait. Runs inside the consent's own write.
pub fn admit(
    conn: &mut DbConnection,
    settings: &Settings,
    ip: Option<&str>,
    link: &OpenLink,
    study_id: i64,
    link_hash: &str,
) -> Result<(), AppError> {
    use crate::accounts::queries::{at_limit, record_failures};
    let (links, _) = limits(settings);
    let join_key = format!("join:{}", hash_token(ip.unwrap_or("unknown")));
    let at = now();
    let since = at - chrono::Duration::minutes(links.window_minutes);
    if at_limit(conn, &join_key, since, links.joins_per_ip)? {
        return Err(AppError::TooManyRequests(format!(
            "Many people have just joined from your connection. Please wait {} minutes and try again.",
            links.window_minutes
        )));
    }
    record_failures(conn, &[&join_key], since)?;
    let participation_id = queries::create_anonymous(conn, link, study_id)?;
    queries::insert_token(conn, participation_id, Purpose::Respond, link_hash)?;
    Ok(())
}
