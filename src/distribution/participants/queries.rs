//! Storage for the roster: participants, their identities (a table of their own), the study's service
//! areas and imports waiting for confirmation. No HTTP here.

use std::collections::{BTreeMap, HashSet};

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::rules::{
    participant_code, Attributes, CommunicationNeed, Group, Identity, InterviewMode,
    NewParticipant, SystemLevel,
};
use crate::db::schema::{
    outbox_messages, participant_identities, participant_imports, participants, participations,
    studies,
};
use crate::db::{now, on_backend, DbConnection, MultiBackend};
use crate::studies::rules::IdentityView;

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// A participant's research record: a pseudonymous code and research attributes, never who they are.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Participant {
    pub id: i64,
    /// P-0001, P-0002, …: the name used in research data and exports.
    pub code: String,
    /// Absent while unknown (someone who came through an open link and has not said).
    pub group: Option<Group>,
    /// One of the study's service areas, or empty.
    pub service_area: String,
    pub system_level: Option<SystemLevel>,
    pub tags: Vec<String>,
    /// roster (added by hand), import (CSV), open_link or interview.
    pub source: String,
    #[serde(with = "crate::db::utc::option")]
    pub opted_out_at: Option<NaiveDateTime>,
    /// When the identity was erased; the research record stays.
    #[serde(with = "crate::db::utc::option")]
    pub identity_erased_at: Option<NaiveDateTime>,
    #[serde(with = "crate::db::utc")]
    pub created_at: NaiveDateTime,
    /// When everything held about them was erased on their request: only their code, group and
    /// consent decisions remain.
    #[serde(with = "crate::db::utc::option")]
    pub record_erased_at: Option<NaiveDateTime>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = participants)]
struct ParticipantRow {
    id: i64,
    code: String,
    participant_group: String,
    service_area: String,
    system_level: String,
    tags: String,
    source: String,
    opted_out_at: Option<NaiveDateTime>,
    identity_erased_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
    record_erased_at: Option<NaiveDateTime>,
}

impl From<ParticipantRow> for Participant {
    fn from(row: ParticipantRow) -> Self {
        Participant {
            id: row.id,
            code: row.code,
            group: Group::parse(&row.participant_group),
            service_area: row.service_area,
            system_level: SystemLevel::parse(&row.system_level),
            tags: serde_json::from_str(&row.tags).unwrap_or_default(),
            source: row.source,
            opted_out_at: row.opted_out_at,
            identity_erased_at: row.identity_erased_at,
            created_at: row.created_at,
            record_erased_at: row.record_erased_at,
        }
    }
}

/// Which participants to list; empty fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, IntoParams, ToSchema)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct RosterFilter {
    /// staff, service_user or carer.
    pub group: String,
    /// A service area, as on the study's list.
    pub service: String,
    /// micro, meso or macro.
    pub level: String,
    /// One tag.
    pub tag: String,
    /// Part of a participant code; for the study's leads, also part of a name or email address.
    pub q: String,
}

impl RosterFilter {
    pub fn is_empty(&self) -> bool {
        self == &RosterFilter::default()
    }

    /// The filter as a query string, without the empty fields.
    pub fn query_string(&self) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(
                [
                    ("group", &self.group),
                    ("service", &self.service),
                    ("level", &self.level),
                    ("tag", &self.tag),
                    ("q", &self.q),
                ]
                .into_iter()
                .filter(|(_, value)| !value.is_empty()),
            )
            .finish()
    }
}

/// Which page of a list, from 1.
#[derive(Debug, Clone, Copy, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    #[serde(default = "first_page")]
    pub page: i64,
}

fn first_page() -> i64 {
    1
}

/// Escapes LIKE's wildcards, for `ESCAPE '\'`.
fn like_escaped(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

fn filtered(
    study_id: i64,
    filter: &RosterFilter,
    identities: IdentityView,
) -> participants::BoxedQuery<'static, MultiBackend> {
    let mut query = participants::table
        .filter(participants::study_id.eq(study_id))
        .into_boxed();
    if let Some(group) = Group::parse(&filter.group) {
        query = query.filter(participants::participant_group.eq(group.as_str()));
    }
    if !filter.service.trim().is_empty() {
        query = query.filter(participants::service_area.eq(filter.service.trim().to_string()));
    }
    if let Some(level) = SystemLevel::parse(&filter.level) {
        query = query.filter(participants::system_level.eq(level.as_str()));
    }
    if !filter.tag.trim().is_empty() {
        // Tags are stored as a JSON array, each in the study's one spelling (see `TagSpellings`), so
        // the tag's JSON string, quotes included, matches that tag and no other.
        let needle = serde_json::to_string(filter.tag.trim()).unwrap_or_default();
        query = query.filter(
            participants::tags
                .like(format!("%{}%", like_escaped(&needle)))
                .escape('\\'),
        );
    }
    let text = filter.q.trim();
    if !text.is_empty() {
        let pattern = format!("%{}%", like_escaped(&text.to_lowercase()));
        let by_code = lower(participants::code).like(pattern.clone()).escape('\\');
        // Only someone who sees every participant's identity finds people by name or email: for
        // anyone else, a match would tell them who is on the roster.
        query = match identities {
            IdentityView::OwnInterviewees | IdentityView::Nobody => query.filter(by_code),
            IdentityView::Everyone => {
                let by_identity = participant_identities::table
                    .filter(
                        lower(participant_identities::name)
                            .like(pattern.clone())
                            .escape('\\')
                            .or(lower(participant_identities::email.assume_not_null())
                                .like(pattern)
                                .escape('\\')),
                    )
                    .select(participant_identities::participant_id);
                query.filter(by_code.or(participants::id.eq_any(by_identity)))
            }
        };
    }
    query
}

/// One page of the roster in code order (all of it with `page` None), and how many match in all.
pub fn list(
    conn: &mut DbConnection,
    study_id: i64,
    filter: &RosterFilter,
    identities: IdentityView,
    page: Option<(i64, i64)>,
) -> QueryResult<(Vec<Participant>, i64)> {
    let total = filtered(study_id, filter, identities)
        .count()
        .get_result(conn)?;
    let mut query = filtered(study_id, filter, identities)
        .order(participants::id.asc())
        .select(ParticipantRow::as_select());
    if let Some((limit, offset)) = page {
        query = query.limit(limit).offset(offset);
    }
    let rows = query.load::<ParticipantRow>(conn)?;
    Ok((rows.into_iter().map(Participant::from).collect(), total))
}

pub fn find(
    conn: &mut DbConnection,
    study_id: i64,
    participant_id: i64,
) -> QueryResult<Option<Participant>> {
    participants::table
        .filter(participants::study_id.eq(study_id))
        .filter(participants::id.eq(participant_id))
        .select(ParticipantRow::as_select())
        .first::<ParticipantRow>(conn)
        .optional()
        .map(|row| row.map(Participant::from))
}

/// Someone found by their name or email address, for a subject access request.
#[derive(Debug, Clone, Queryable, Serialize, ToSchema)]
pub struct FoundPerson {
    pub participant_id: i64,
    pub code: String,
    pub name: String,
    pub email: Option<String>,
}

/// The study's participants whose name or email address contains `text`, ignoring case; erased
/// identities cannot be found this way.
pub fn find_by_name_or_email(
    conn: &mut DbConnection,
    study_id: i64,
    text: &str,
) -> QueryResult<Vec<FoundPerson>> {
    let pattern = format!("%{}%", like_escaped(&text.to_lowercase()));
    participant_identities::table
        .inner_join(participants::table)
        .filter(participants::study_id.eq(study_id))
        .filter(
            lower(participant_identities::name)
                .like(&pattern)
                .escape('\\')
                .or(lower(participant_identities::email.assume_not_null())
                    .like(&pattern)
                    .escape('\\')),
        )
        .order(participants::id)
        .limit(50)
        .select((
            participants::id,
            participants::code,
            participant_identities::name,
            participant_identities::email,
        ))
        .load(conn)
}

pub fn identity(conn: &mut DbConnection, participant_id: i64) -> QueryResult<Option<Identity>> {
    let row: Option<(String, Option<String>, String, String, String)> =
        participant_identities::table
            .find(participant_id)
            .select((
                participant_identities::name,
                participant_identities::email,
                participant_identities::phone,
                participant_identities::communication_needs,
                participant_identities::preferred_mode,
            ))
            .first(conn)
            .optional()?;
    Ok(row.map(|(name, email, phone, needs, mode)| Identity {
        name,
        email,
        phone,
        communication_needs: serde_json::from_str::<Vec<String>>(&needs)
            .unwrap_or_default()
            .iter()
            .filter_map(|n| CommunicationNeed::parse(n))
            .collect(),
        preferred_mode: InterviewMode::parse(&mode),
    }))
}

/// Every tag used in the study, each once, sorted as people read them.
pub fn tags_in_use(conn: &mut DbConnection, study_id: i64) -> QueryResult<Vec<String>> {
    let lists: Vec<String> = participants::table
        .filter(participants::study_id.eq(study_id))
        .select(participants::tags)
        .distinct()
        .load(conn)?;
    let mut tags: BTreeMap<String, String> = BTreeMap::new();
    for list in lists {
        for tag in serde_json::from_str::<Vec<String>>(&list).unwrap_or_default() {
            tags.entry(tag.to_lowercase()).or_insert(tag);
        }
    }
    Ok(tags.into_values().collect())
}

pub fn service_areas(conn: &mut DbConnection, study_id: i64) -> QueryResult<Vec<String>> {
    let text: String = studies::table
        .find(study_id)
        .select(studies::service_areas)
        .first(conn)?;
    Ok(serde_json::from_str(&text).unwrap_or_default())
}

pub fn set_service_areas(
    conn: &mut DbConnection,
    study_id: i64,
    areas: &[String],
) -> QueryResult<()> {
    diesel::update(studies::table.find(study_id))
        .set(studies::service_areas.eq(json(areas)))
        .execute(conn)
        .map(|_| ())
}

/// Participants per service area (areas with none are left out).
pub fn service_area_counts(
    conn: &mut DbConnection,
    study_id: i64,
) -> QueryResult<BTreeMap<String, i64>> {
    let counts: Vec<(String, i64)> = participants::table
        .filter(participants::study_id.eq(study_id))
        .filter(participants::service_area.ne(""))
        .group_by(participants::service_area)
        .select((participants::service_area, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(counts.into_iter().collect())
}

/// Every email address on the study's roster, in one query (the import checks thousands at once).
pub fn emails(conn: &mut DbConnection, study_id: i64) -> QueryResult<HashSet<String>> {
    let emails: Vec<Option<String>> = participant_identities::table
        .filter(participant_identities::study_id.eq(study_id))
        .filter(participant_identities::email.is_not_null())
        .select(participant_identities::email)
        .load(conn)?;
    Ok(emails.into_iter().flatten().collect())
}

/// The code of the participant with this email address in the study, other than `except`.
pub fn code_with_email(
    conn: &mut DbConnection,
    study_id: i64,
    email: &str,
    except: Option<i64>,
) -> QueryResult<Option<String>> {
    participant_identities::table
        .inner_join(participants::table)
        .filter(participant_identities::study_id.eq(study_id))
        .filter(participant_identities::email.eq(email))
        .filter(participants::id.ne(except.unwrap_or(0)))
        .select(participants::code)
        .first(conn)
        .optional()
}

fn json<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "[]".into())
}

fn level_text(level: Option<SystemLevel>) -> &'static str {
    level.map_or("", SystemLevel::as_str)
}

fn mode_text(mode: Option<InterviewMode>) -> &'static str {
    mode.map_or("", InterviewMode::as_str)
}

fn needs_json(needs: &[CommunicationNeed]) -> String {
    json(&needs.iter().map(|n| n.as_str()).collect::<Vec<_>>())
}

// Rows per INSERT: 8 values a participant keeps a statement under SQLite's 32,766 bound parameters.
const CHUNK: usize = 1000;

/// Adds participants with the next codes of the study, taken in one update, and their identities, in a
/// fixed number of statements per thousand rows. Returns (id, code) in the order given.
pub fn insert(
    conn: &mut DbConnection,
    study_id: i64,
    source: &str,
    new: &[NewParticipant],
) -> QueryResult<Vec<(i64, String)>> {
    let count = i32::try_from(new.len()).map_err(|_| {
        diesel::result::Error::QueryBuilderError("too many participants at once".into())
    })?;
    let next: i32 = diesel::update(studies::table.find(study_id))
        .set(studies::next_participant_number.eq(studies::next_participant_number + count))
        .returning(studies::next_participant_number)
        .get_result(conn)?;
    let first = next - count;
    let at = now();
    let mut created = Vec::with_capacity(new.len());
    for (chunk_index, chunk) in new.chunks(CHUNK).enumerate() {
        let codes: Vec<String> = (0..chunk.len())
            .map(|i| participant_code(first + (chunk_index * CHUNK + i) as i32))
            .collect();
        let tags: Vec<String> = chunk.iter().map(|p| json(&p.attributes.tags)).collect();
        let rows: Vec<_> = chunk
            .iter()
            .zip(&codes)
            .zip(&tags)
            .map(|((p, code), tags)| {
                (
                    participants::study_id.eq(study_id),
                    participants::code.eq(code.as_str()),
                    participants::participant_group.eq(p.attributes.group.as_str()),
                    participants::service_area.eq(p.attributes.service_area.as_str()),
                    participants::system_level.eq(level_text(p.attributes.system_level)),
                    participants::tags.eq(tags.as_str()),
                    participants::source.eq(source),
                    participants::created_at.eq(at),
                )
            })
            .collect();
        // RETURNING from a many-row insert comes in no promised order: match ids to codes.
        let ids: BTreeMap<String, i64> =
            on_backend!(conn, |c| diesel::insert_into(participants::table)
                .values(&rows)
                .returning((participants::code, participants::id))
                .get_results::<(String, i64)>(c))?
            .into_iter()
            .collect();
        let ids: Vec<i64> = codes
            .iter()
            .map(|code| {
                ids.get(code).copied().ok_or_else(|| {
                    diesel::result::Error::QueryBuilderError(
                        format!("no id came back for {code}").into(),
                    )
                })
            })
            .collect::<QueryResult<_>>()?;
        let needs: Vec<String> = chunk
            .iter()
            .map(|p| needs_json(&p.identity.communication_needs))
            .collect();
        let identities: Vec<_> = chunk
            .iter()
            .zip(&ids)
            .zip(&needs)
            .map(|((p, id), needs)| {
                (
                    participant_identities::participant_id.eq(*id),
                    participant_identities::study_id.eq(study_id),
                    participant_identities::name.eq(p.identity.name.as_str()),
                    participant_identities::email.eq(p.identity.email.as_deref()),
                    participant_identities::phone.eq(p.identity.phone.as_str()),
                    participant_identities::communication_needs.eq(needs.as_str()),
                    participant_identities::preferred_mode.eq(mode_text(p.identity.preferred_mode)),
                )
            })
            .collect();
        on_backend!(conn, |c| diesel::insert_into(participant_identities::table)
            .values(&identities)
            .execute(c))?;
        created.extend(ids.into_iter().zip(codes));
    }
    Ok(created)
}

pub fn update_attributes(
    conn: &mut DbConnection,
    participant_id: i64,
    attributes: &Attributes,
) -> QueryResult<()> {
    diesel::update(participants::table.find(participant_id))
        .set((
            participants::participant_group.eq(attributes.group.as_str()),
            participants::service_area.eq(attributes.service_area.as_str()),
            participants::system_level.eq(level_text(attributes.system_level)),
            participants::tags.eq(json(&attributes.tags)),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn update_identity(
    conn: &mut DbConnection,
    participant_id: i64,
    identity: &Identity,
) -> QueryResult<()> {
    diesel::update(participant_identities::table.find(participant_id))
        .set((
            participant_identities::name.eq(identity.name.as_str()),
            participant_identities::email.eq(identity.email.as_deref()),
            participant_identities::phone.eq(identity.phone.as_str()),
            participant_identities::communication_needs
                .eq(needs_json(&identity.communication_needs)),
            participant_identities::preferred_mode.eq(mode_text(identity.preferred_mode)),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Deletes who the participant is, keeps the research record, cancels emails still waiting to go to
/// them (campaign emails are addressed when sent, from the identity that is now gone) and blanks the
/// address and words of those already sent.
pub fn erase_identity(conn: &mut DbConnection, participant_id: i64) -> QueryResult<NaiveDateTime> {
    let at = now();
    diesel::delete(participant_identities::table.find(participant_id)).execute(conn)?;
    diesel::update(participants::table.find(participant_id))
        .set(participants::identity_erased_at.eq(at))
        .execute(conn)?;
    let theirs = participations::table
        .filter(participations::participant_id.eq(participant_id))
        .select(participations::id.nullable());
    diesel::update(
        outbox_messages::table
            .filter(outbox_messages::participation_id.eq_any(theirs))
            .filter(outbox_messages::status.eq("queued")),
    )
    .set(outbox_messages::status.eq("cancelled"))
    .execute(conn)?;
    // Emails already sent keep when and that they went (tracking counts them), not to whom or what
    // they said: the address and the greeting by name are the identity too.
    let gone: Option<String> = None;
    diesel::update(outbox_messages::table.filter(outbox_messages::participation_id.eq_any(theirs)))
        .set((
            outbox_messages::to_address.eq(&gone),
            outbox_messages::subject.eq(&gone),
            outbox_messages::body_text.eq(&gone),
            outbox_messages::body_html.eq(&gone),
            outbox_messages::last_error.eq(&gone),
        ))
        .execute(conn)?;
    Ok(at)
}

/// An import waiting for confirmation.
pub struct StoredImport {
    pub id: i64,
    pub created_at: NaiveDateTime,
    /// JSON of the accepted rows.
    pub accepted_rows: String,
    /// JSON of the `ImportSummary`.
    pub summary: String,
}

pub fn insert_import(
    conn: &mut DbConnection,
    study_id: i64,
    created_by: i64,
    accepted_rows: &str,
    summary: &str,
) -> QueryResult<i64> {
    diesel::insert_into(participant_imports::table)
        .values((
            participant_imports::study_id.eq(study_id),
            participant_imports::created_by.eq(created_by),
            participant_imports::created_at.eq(now()),
            participant_imports::accepted_rows.eq(accepted_rows),
            participant_imports::summary.eq(summary),
        ))
        .returning(participant_imports::id)
        .get_result(conn)
}

/// The import with or without its rows (the preview page needs only the summary).
pub fn find_import(
    conn: &mut DbConnection,
    study_id: i64,
    import_id: i64,
    with_rows: bool,
) -> QueryResult<Option<StoredImport>> {
    let base = participant_imports::table
        .filter(participant_imports::study_id.eq(study_id))
        .filter(participant_imports::id.eq(import_id));
    let found: Option<(i64, NaiveDateTime, String)> = base
        .select((
            participant_imports::id,
            participant_imports::created_at,
            participant_imports::summary,
        ))
        .first(conn)
        .optional()?;
    let Some((id, created_at, summary)) = found else {
        return Ok(None);
    };
    let accepted_rows = if with_rows {
        base.select(participant_imports::accepted_rows)
            .first(conn)?
    } else {
        String::new()
    };
    Ok(Some(StoredImport {
        id,
        created_at,
        accepted_rows,
        summary,
    }))
}

pub fn delete_import(conn: &mut DbConnection, study_id: i64, import_id: i64) -> QueryResult<usize> {
    diesel::delete(
        participant_imports::table
            .filter(participant_imports::study_id.eq(study_id))
            .filter(participant_imports::id.eq(import_id)),
    )
    .execute(conn)
}

/// Forgets imports nobody confirmed within a day: they hold identities that were never imported.
pub fn purge_stale_imports(conn: &mut DbConnection) -> QueryResult<usize> {
    diesel::delete(
        participant_imports::table
            .filter(participant_imports::created_at.lt(now() - Duration::days(1))),
    )
    .execute(conn)
}
