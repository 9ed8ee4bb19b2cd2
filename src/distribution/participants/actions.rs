//! What the roster pages and the API do: each change is checked, made and audited in one transaction.
//! Audit details name participants by code only, never by name, email or phone.

use std::collections::HashSet;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::import::{self, AcceptedRow, ImportSummary};
use super::queries::{self, FoundPerson, Participant, RosterFilter};
use super::rules::{
    check_removals, check_service_areas, Identity, NewParticipant, ParticipantInput, Problems,
    TagSpellings,
};
use crate::audit::{self, Origin};
use crate::db::{Db, DbConnection};
use crate::distribution::csv_cell;
use crate::error::{AppError, FieldErrors};
use crate::studies::rules::IdentityView;

pub const PER_PAGE: i64 = 100;

/// Problems from the rules, as a form shows them: one message per field.
fn field_errors(problems: Problems) -> AppError {
    let mut fields = FieldErrors::new();
    for (field, message) in problems {
        fields.entry(field.to_string()).or_insert(message);
    }
    AppError::Invalid(fields)
}

/// A unique email per study is the database's promise too: a clash that slipped past the check (two
/// writers at once on PostgreSQL) is the same problem for the person, not a server error.
fn clash_or(error: diesel::result::Error, field: &str, message: &str) -> AppError {
    match error {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ) => AppError::invalid(field, message),
        other => other.into(),
    }
}

const EMAIL_CLASH: &str = "This email address is already on the study's roster";

/// One page of the roster.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RosterPage {
    /// The filter as applied: a tag in the study's spelling of it.
    pub filter: RosterFilter,
    pub participants: Vec<Participant>,
    /// Participants matching the filter, on all pages.
    pub total: i64,
    pub page: i64,
    pub pages: i64,
    pub per_page: i64,
}

/// One page of the roster as `identities` (the caller's `Roles::identities`) allows searching it. A
/// search that looked in names and email addresses is audited with the codes it found, never with
/// what was typed.
pub async fn roster(
    db: &Db,
    origin: &Origin,
    study_id: i64,
    filter: &RosterFilter,
    page: i64,
    identities: IdentityView,
) -> Result<RosterPage, AppError> {
    let filter = filter.clone();
    let page = page.max(1);
    let (filter, participants, total) = db
        .read(move |conn| {
            let filter = applied(conn, study_id, filter)?;
            let (participants, total) = queries::list(
                conn,
                study_id,
                &filter,
                identities,
                Some((PER_PAGE, (page - 1).saturating_mul(PER_PAGE))),
            )?;
            Ok::<_, AppError>((filter, participants, total))
        })
        .await?;
    if identities == IdentityView::Everyone && !filter.q.trim().is_empty() {
        let codes: Vec<&str> = participants.iter().map(|p| p.code.as_str()).collect();
        audit::looked(
            db,
            origin,
            "identity_searched",
            Some(study_id),
            json!({ "participants": codes, "purpose": "roster" }),
        )
        .await?;
    }
    Ok(RosterPage {
        filter,
        participants,
        total,
        page,
        pages: ((total + PER_PAGE - 1) / PER_PAGE).max(1),
        per_page: PER_PAGE,
    })
}

/// A tag however it was typed finds the participants with the study's spelling of it.
fn applied(
    conn: &mut DbConnection,
    study_id: i64,
    mut filter: RosterFilter,
) -> Result<RosterFilter, AppError> {
    if !filter.tag.trim().is_empty() {
        let mut tag = [filter.tag.trim().to_string()];
        TagSpellings::new(queries::tags_in_use(conn, study_id)?).apply(&mut tag);
        filter.tag = tag.concat();
    }
    Ok(filter)
}

/// The study's participants with this name or email address (part of either), for a lead who does not
/// know their code (the caller has checked that a lead asks): a subject access request, an interview
/// to assign. The search is audited with the codes found and why, never with what was typed.
pub async fn find_person(
    db: &Db,
    origin: &Origin,
    study_id: i64,
    text: &str,
    purpose: &'static str,
) -> Result<Vec<FoundPerson>, AppError> {
    let text = text.trim().to_string();
    if text.chars().count() < 3 {
        return Err(AppError::invalid(
            "q",
            "Type at least 3 letters of their name or email address",
        ));
    }
    let found = db
        .read(move |conn| {
            queries::find_by_name_or_email(conn, study_id, &text).map_err(AppError::from)
        })
        .await?;
    let codes: Vec<&str> = found.iter().map(|p| p.code.as_str()).collect();
    audit::looked(
        db,
        origin,
        "identity_searched",
        Some(study_id),
        json!({ "participants": codes, "purpose": purpose }),
    )
    .await?;
    Ok(found)
}

/// What the roster's filters offer: the study's service areas and the tags in use.
pub async fn filter_choices(
    db: &Db,
    study_id: i64,
) -> Result<(Vec<String>, Vec<String>), AppError> {
    db.read(move |conn| {
        Ok::<_, AppError>((
            queries::service_areas(conn, study_id)?,
            queries::tags_in_use(conn, study_id)?,
        ))
    })
    .await
}

/// The roster (matching the filter) as CSV: codes and research attributes, never identities, every
/// cell made safe to open in a spreadsheet. Starts with a byte order mark, so Excel reads it as UTF-8.
pub async fn roster_csv(
    db: &Db,
    study_id: i64,
    filter: &RosterFilter,
    identities: IdentityView,
) -> Result<Vec<u8>, AppError> {
    let filter = filter.clone();
    let (participants, _) = db
        .read(move |conn| {
            let filter = applied(conn, study_id, filter)?;
            Ok::<_, AppError>(queries::list(conn, study_id, &filter, identities, None)?)
        })
        .await?;
    let mut writer = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let write = |writer: &mut csv::Writer<Vec<u8>>, cells: &[&str]| {
        writer
            .write_record(cells.iter().map(|c| csv_cell(c).into_owned()))
            .map_err(AppError::internal)
    };
    write(
        &mut writer,
        &[
            "code",
            "group",
            "service_area",
            "system_level",
            "tags",
            "source",
            "opted_out",
            "identity_erased",
        ],
    )?;
    for p in &participants {
        write(
            &mut writer,
            &[
                &p.code,
                p.group.map_or("", |g| g.as_str()),
                &p.service_area,
                p.system_level.map_or("", |l| l.as_str()),
                &p.tags.join("|"),
                &p.source,
                if p.opted_out_at.is_some() {
                    "yes"
                } else {
                    "no"
                },
                if p.identity_erased_at.is_some() {
                    "yes"
                } else {
                    "no"
                },
            ],
        )?;
    }
    writer.into_inner().map_err(AppError::internal)
}

pub async fn service_areas(db: &Db, study_id: i64) -> Result<Vec<String>, AppError> {
    db.read(move |conn| queries::service_areas(conn, study_id).map_err(AppError::from))
        .await
}

/// Replaces the study's list of service areas (one per line), keeping any still in use.
pub async fn set_service_areas(
    db: &Db,
    origin: &Origin,
    study_id: i64,
    lines: &str,
) -> Result<Vec<String>, AppError> {
    let after = check_service_areas(lines)
        .map_err(|message| AppError::invalid("service_areas", &message))?;
    let origin = origin.clone();
    db.write(move |conn| {
        let before = queries::service_areas(conn, study_id)?;
        let in_use = queries::service_area_counts(conn, study_id)?;
        check_removals(&before, &after, &in_use)
            .map_err(|message| AppError::invalid("service_areas", &message))?;
        replace_service_areas(conn, &origin, study_id, &before, &after)?;
        Ok(after)
    })
    .await
}

fn replace_service_areas(
    conn: &mut DbConnection,
    origin: &Origin,
    study_id: i64,
    before: &[String],
    after: &[String],
) -> Result<(), AppError> {
    if before != after {
        queries::set_service_areas(conn, study_id, after)?;
        audit::record(
            conn,
            origin,
            "service_areas_changed",
            "study",
            Some(study_id),
            json!({ "before": before, "after": after }),
        )?;
    }
    Ok(())
}

/// The rows an import puts on the roster, and how many rows of the file it leaves out. Rows that need a
/// service area the study's list lacks come in only when the person importing chose to add those
/// areas, which are added here, in the import's transaction.
fn rows_to_import(
    conn: &mut DbConnection,
    origin: &Origin,
    study_id: i64,
    rows: Vec<AcceptedRow>,
    summary: &ImportSummary,
    add_new_areas: bool,
) -> Result<(Vec<AcceptedRow>, usize), AppError> {
    let mut left_out = summary.rows_with_problems;
    if summary.new_service_areas.is_empty() {
        return Ok((rows, left_out));
    }
    if !add_new_areas {
        left_out += summary.rows_needing_new_areas;
        let ready = rows
            .into_iter()
            .filter(|row| row.new_service_area.is_none())
            .collect();
        return Ok((ready, left_out));
    }
    let before = queries::service_areas(conn, study_id)?;
    let lines = before
        .iter()
        .chain(summary.new_service_areas.iter().map(|area| &area.name))
        .cloned()
        .collect::<Vec<_>>()
        .join("\n");
    let after = check_service_areas(&lines)
        .map_err(|message| AppError::invalid("add_service_areas", &message))?;
    replace_service_areas(conn, origin, study_id, &before, &after)?;
    Ok((rows, left_out))
}

/// A participant as stored, and who they are when the caller may know.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ParticipantDetail {
    #[serde(flatten)]
    pub participant: Participant,
    /// For the study's leads, until erased.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<Identity>,
}

impl ParticipantDetail {
    /// What is stored, as a form or a partial change starts from.
    pub fn input(&self) -> ParticipantInput {
        let p = &self.participant;
        let identity = self.identity.clone().unwrap_or_default();
        ParticipantInput {
            name: identity.name,
            email: identity.email.unwrap_or_default(),
            phone: identity.phone,
            group: p.group.map_or("", |g| g.as_str()).into(),
            service_area: p.service_area.clone(),
            system_level: p.system_level.map_or("", |l| l.as_str()).into(),
            tags: p.tags.clone(),
            communication_needs: identity
                .communication_needs
                .iter()
                .map(|n| n.as_str().to_string())
                .collect(),
            preferred_mode: identity.preferred_mode.map_or("", |m| m.as_str()).into(),
        }
    }
}

fn detail(
    conn: &mut DbConnection,
    study_id: i64,
    participant_id: i64,
    with_identity: bool,
) -> Result<ParticipantDetail, AppError> {
    let participant = queries::find(conn, study_id, participant_id)?.ok_or(AppError::NotFound)?;
    let identity = if with_identity {
        queries::identity(conn, participant_id)?
    } else {
        None
    };
    Ok(ParticipantDetail {
        participant,
        identity,
    })
}

/// A participant, with their identity only when `with_identity` (the caller is a lead).
pub async fn participant(
    db: &Db,
    study_id: i64,
    participant_id: i64,
    with_identity: bool,
) -> Result<ParticipantDetail, AppError> {
    db.read(move |conn| detail(conn, study_id, participant_id, with_identity))
        .await
}

/// Checks a participant against the study as it is inside the transaction: its service areas, and
/// no one else on the roster with the same email address.
fn checked(
    conn: &mut DbConnection,
    study_id: i64,
    input: &ParticipantInput,
    except: Option<i64>,
) -> Result<NewParticipant, AppError> {
    let areas = queries::service_areas(conn, study_id)?;
    let mut new = input.check(&areas).map_err(field_errors)?;
    if let Some(email) = &new.identity.email {
        if let Some(code) = queries::code_with_email(conn, study_id, email, except)? {
            return Err(AppError::invalid(
                "email",
                &format!("{EMAIL_CLASH}, as {code}"),
            ));
        }
    }
    TagSpellings::new(queries::tags_in_use(conn, study_id)?).apply(&mut new.attributes.tags);
    Ok(new)
}

/// Adds one participant by hand; returns their detail with the new code.
pub async fn add(
    db: &Db,
    origin: &Origin,
    study_id: i64,
    input: &ParticipantInput,
) -> Result<ParticipantDetail, AppError> {
    let (input, origin) = (input.clone(), origin.clone());
    db.write(move |conn| {
        let (id, _) = add_in(conn, &origin, study_id, &input, "roster")?;
        detail(conn, study_id, id, true)
    })
    .await
}

/// Adds one participant inside a write already open; `source` says how they came (roster, interview).
/// Returns their id and new code.
pub fn add_in(
    conn: &mut DbConnection,
    origin: &Origin,
    study_id: i64,
    input: &ParticipantInput,
    source: &str,
) -> Result<(i64, String), AppError> {
    let new = checked(conn, study_id, input, None)?;
    let created = queries::insert(conn, study_id, source, std::slice::from_ref(&new))
        .map_err(|e| clash_or(e, "email", EMAIL_CLASH))?;
    let (id, code) = created.into_iter().next().ok_or_else(|| {
        AppError::internal(anyhow::anyhow!("a participant was added without an id"))
    })?;
    audit::record(
        conn,
        origin,
        "participant_added",
        "participant",
        Some(id),
        json!({ "study_id": study_id, "code": code, "source": source }),
    )?;
    Ok((id, code))
}

/// The names of the fields that differ, for the audit log (values stay out of it).
fn changed_fields(before: &ParticipantInput, after: &ParticipantInput) -> Vec<&'static str> {
    let pairs: [(&'static str, bool); 9] = [
        ("name", before.name != after.name),
        ("email", before.email != after.email),
        ("phone", before.phone != after.phone),
        ("group", before.group != after.group),
        ("service_area", before.service_area != after.service_area),
        ("system_level", before.system_level != after.system_level),
        ("tags", before.tags != after.tags),
        (
            "communication_needs",
            before.communication_needs != after.communication_needs,
        ),
        (
            "preferred_mode",
            before.preferred_mode != after.preferred_mode,
        ),
    ];
    pairs
        .into_iter()
        .filter_map(|(field, changed)| changed.then_some(field))
        .collect()
}

/// Changes a participant. Once their identity is erased only research attributes can change: an
/// identity cannot be put back.
pub async fn update(
    db: &Db,
    origin: &Origin,
    study_id: i64,
    participant_id: i64,
    input: &ParticipantInput,
) -> Result<ParticipantDetail, AppError> {
    let (input, origin) = (input.clone(), origin.clone());
    db.write(move |conn| {
        let current = detail(conn, study_id, participant_id, true)?;
        let erased = current.participant.identity_erased_at.is_some();
        let before = current.input();
        if erased && input.check_identity().ok() != Some(Identity::default()) {
            return Err(AppError::invalid(
                "name",
                "This participant's identity was erased: it cannot be added back",
            ));
        }
        let new = checked(conn, study_id, &input, Some(participant_id))?;
        queries::update_attributes(conn, participant_id, &new.attributes)?;
        if !erased {
            queries::update_identity(conn, participant_id, &new.identity)
                .map_err(|e| clash_or(e, "email", EMAIL_CLASH))?;
        }
        let after = detail(conn, study_id, participant_id, true)?;
        let changed = changed_fields(&before, &after.input());
        if !changed.is_empty() {
            audit::record(
                conn,
                &origin,
                "participant_changed",
                "participant",
                Some(participant_id),
                json!({ "study_id": study_id, "code": after.participant.code, "changed": changed }),
            )?;
        }
        Ok(after)
    })
    .await
}

/// Deletes who the participant is and keeps their pseudonymous research record.
/// Records that a participant's identity was shown (nothing is recorded when it was not: erased, or
/// withheld from someone who is not a lead).
pub async fn audit_identity_shown(
    db: &Db,
    origin: &Origin,
    study_id: i64,
    shown: &ParticipantDetail,
    via: &str,
) -> Result<(), AppError> {
    if shown.identity.is_none() {
        return Ok(());
    }
    let details = json!({ "participants": [shown.participant.code], "via": via });
    audit::looked(db, origin, "identity_viewed", Some(study_id), details).await
}

pub async fn erase_identity(
    db: &Db,
    origin: &Origin,
    study_id: i64,
    participant_id: i64,
) -> Result<ParticipantDetail, AppError> {
    let origin = origin.clone();
    let erased = db
        .write(move |conn| {
            let current = detail(conn, study_id, participant_id, false)?;
            if current.participant.identity_erased_at.is_some() {
                return Ok(current);
            }
            queries::erase_identity(conn, participant_id)?;
            audit::record(
                conn,
                &origin,
                "participant_identity_erased",
                "participant",
                Some(participant_id),
                json!({ "study_id": study_id, "code": current.participant.code }),
            )?;
            detail(conn, study_id, participant_id, false)
        })
        .await?;
    // The erasure stands either way; what is left is making the old row unreadable on disk now rather
    // than at the database's next housekeeping.
    if let Err(error) = db.reclaim("participant_identities").await {
        tracing::warn!(%error, "could not reclaim the erased identity's space yet");
    }
    Ok(erased)
}

/// Reads a file against the study as it is now; nothing is stored.
fn preview_in(
    conn: &mut DbConnection,
    study_id: i64,
    bytes: &[u8],
) -> Result<import::Preview, AppError> {
    let areas = queries::service_areas(conn, study_id)?;
    let on_roster = queries::emails(conn, study_id)?;
    import::read(bytes, &areas, &on_roster).map_err(|message| AppError::invalid("file", &message))
}

/// Checks a file and shows what importing it would do, storing nothing (the API's dry run).
pub async fn dry_run(db: &Db, study_id: i64, bytes: Vec<u8>) -> Result<ImportSummary, AppError> {
    db.read(move |conn| Ok(preview_in(conn, study_id, &bytes)?.summary))
        .await
}

/// What is kept of a preview besides its rows: the summary, and the first rows for the page to show
/// (so a wrong encoding or separator is seen before anything is imported).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingImport {
    #[serde(skip)]
    pub id: i64,
    #[serde(skip)]
    pub created_at: Option<NaiveDateTime>,
    pub summary: ImportSummary,
    pub first_rows: Vec<AcceptedRow>,
}

const FIRST_ROWS: usize = 5;

/// Checks a file and keeps its accepted rows until a lead confirms or cancels; returns the id of
/// the waiting import. Nothing reaches the roster here.
pub async fn start_import(
    db: &Db,
    study_id: i64,
    user_id: i64,
    bytes: Vec<u8>,
) -> Result<i64, AppError> {
    // Reading the file and writing thousands of rows as JSON is work for a blocking thread.
    let (rows, kept) = db
        .read(move |conn| {
            let preview = preview_in(conn, study_id, &bytes)?;
            let rows = serde_json::to_string(&preview.accepted).map_err(AppError::internal)?;
            let kept = PendingImport {
                id: 0,
                created_at: None,
                // Rows waiting for a new service area are listed by area, not among the ready ones.
                first_rows: preview
                    .accepted
                    .into_iter()
                    .filter(|row| row.new_service_area.is_none())
                    .take(FIRST_ROWS)
                    .collect(),
                summary: preview.summary,
            };
            let kept = serde_json::to_string(&kept).map_err(AppError::internal)?;
            Ok::<_, AppError>((rows, kept))
        })
        .await?;
    db.write(move |conn| {
        queries::purge_stale_imports(conn)?;
        Ok(queries::insert_import(
            conn, study_id, user_id, &rows, &kept,
        )?)
    })
    .await
}

pub async fn pending_import(
    db: &Db,
    study_id: i64,
    import_id: i64,
) -> Result<PendingImport, AppError> {
    let found = db
        .read(move |conn| {
            queries::find_import(conn, study_id, import_id, false).map_err(AppError::from)
        })
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(PendingImport {
        id: found.id,
        created_at: Some(found.created_at),
        ..serde_json::from_str(&found.summary).map_err(AppError::internal)?
    })
}

/// What an import put on the roster.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = ParticipantsImported)]
pub struct Imported {
    pub imported: usize,
    /// The codes given, first and last (they run in sequence); absent when nothing was imported.
    pub first_code: Option<String>,
    pub last_code: Option<String>,
}

/// Puts accepted rows on the roster in the caller's transaction, all or none. The roster may have
/// changed since the rows were checked: a row that now clashes stops the whole import.
fn import_rows(
    conn: &mut DbConnection,
    origin: &Origin,
    study_id: i64,
    rows: Vec<AcceptedRow>,
    skipped_rows: usize,
) -> Result<Imported, AppError> {
    let areas = queries::service_areas(conn, study_id)?;
    let on_roster = queries::emails(conn, study_id)?;
    let clashes = clashes(&rows, &areas, &on_roster);
    if !clashes.is_empty() {
        return Err(AppError::invalid("file", &clash_message(&clashes)));
    }
    let mut spellings = TagSpellings::new(queries::tags_in_use(conn, study_id)?);
    let mut new: Vec<NewParticipant> = rows.into_iter().map(|r| r.participant).collect();
    for participant in &mut new {
        spellings.apply(&mut participant.attributes.tags);
    }
    let created = queries::insert(conn, study_id, "import", &new).map_err(|e| {
        clash_or(
            e,
            "file",
            &clash_message(&[
                "an email address in the file was added to the roster while it was being imported"
                    .into(),
            ]),
        )
    })?;
    let imported = Imported {
        imported: created.len(),
        first_code: created.first().map(|(_, code)| code.clone()),
        last_code: created.last().map(|(_, code)| code.clone()),
    };
    audit::record(
        conn,
        origin,
        "participants_imported",
        "study",
        Some(study_id),
        json!({ "imported": imported.imported, "skipped_rows": skipped_rows,
                "first_code": imported.first_code, "last_code": imported.last_code }),
    )?;
    Ok(imported)
}

fn clashes(rows: &[AcceptedRow], areas: &[String], on_roster: &HashSet<String>) -> Vec<String> {
    rows.iter()
        .filter_map(|r| {
            let p = &r.participant;
            if p.identity
                .email
                .as_ref()
                .is_some_and(|e| on_roster.contains(e))
            {
                Some(format!(
                    "row {}: its email address is now on the roster",
                    r.row
                ))
            } else if !p.attributes.service_area.is_empty()
                && !areas.contains(&p.attributes.service_area)
            {
                Some(format!(
                    "row {}: “{}” is no longer on the list of service areas",
                    r.row, p.attributes.service_area
                ))
            } else {
                None
            }
        })
        .collect()
}

fn clash_message(clashes: &[String]) -> String {
    const SHOWN: usize = 5;
    let more = match clashes.len().saturating_sub(SHOWN) {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    format!(
        "Nothing was imported: the roster changed after the file was checked ({}{more}). Upload the file again to check it against the roster as it is now.",
        clashes[..clashes.len().min(SHOWN)].join("; ")
    )
}

/// Imports exactly the rows the preview accepted, in one transaction, and forgets the waiting import.
pub async fn confirm_import(
    db: &Db,
    origin: &Origin,
    study_id: i64,
    import_id: i64,
    add_new_areas: bool,
) -> Result<Imported, AppError> {
    let origin = origin.clone();
    db.write(move |conn| {
        let pending =
            queries::find_import(conn, study_id, import_id, true)?.ok_or(AppError::NotFound)?;
        let rows: Vec<AcceptedRow> =
            serde_json::from_str(&pending.accepted_rows).map_err(AppError::internal)?;
        let kept: PendingImport =
            serde_json::from_str(&pending.summary).map_err(AppError::internal)?;
        let (rows, left_out) =
            rows_to_import(conn, &origin, study_id, rows, &kept.summary, add_new_areas)?;
        let imported = import_rows(conn, &origin, study_id, rows, left_out)?;
        queries::delete_import(conn, study_id, import_id)?;
        Ok(imported)
    })
    .await
}

pub async fn cancel_import(db: &Db, study_id: i64, import_id: i64) -> Result<(), AppError> {
    db.write(move |conn| {
        queries::delete_import(conn, study_id, import_id)?;
        Ok(())
    })
    .await
}

/// The API's import: checks the file and imports its accepted rows at once, in one transaction.
pub async fn import_now(
    db: &Db,
    origin: &Origin,
    study_id: i64,
    bytes: Vec<u8>,
    add_new_areas: bool,
) -> Result<(ImportSummary, Imported), AppError> {
    let origin = origin.clone();
    db.write(move |conn| {
        let preview = preview_in(conn, study_id, &bytes)?;
        let (rows, left_out) = rows_to_import(
            conn,
            &origin,
            study_id,
            preview.accepted,
            &preview.summary,
            add_new_areas,
        )?;
        let imported = import_rows(conn, &origin, study_id, rows, left_out)?;
        Ok((preview.summary, imported))
    })
    .await
}
