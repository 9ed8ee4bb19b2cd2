//! Storage for codebooks: codes and the numbered history of their changes. No HTTP here.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::rules::{CodeFields, Known};
use crate::db::schema::{code_changes, codes, studies};
use crate::db::{now, DbConnection};

#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = codes)]
pub struct Code {
    pub id: i64,
    #[serde(skip)]
    pub study_id: i64,
    pub parent_id: Option<i64>,
    pub name: String,
    pub definition: String,
    pub inclusion: String,
    pub exclusion: String,
    pub example: String,
    pub colour: String,
    pub comb: String,
    #[serde(skip)]
    pub tdf: String,
    /// comb (the COM-B sub-components and codes under them) or emergent.
    pub branch: String,
    pub position: i32,
    /// Set when merged into another code: it has left the live codebook.
    pub merged_into: Option<i64>,
    #[serde(with = "crate::db::utc")]
    pub created_at: NaiveDateTime,
    #[serde(with = "crate::db::utc")]
    pub updated_at: NaiveDateTime,
}

impl Code {
    pub fn tdf(&self) -> Vec<String> {
        serde_json::from_str(&self.tdf).unwrap_or_default()
    }

    pub fn fields(&self) -> CodeFields {
        CodeFields {
            name: self.name.clone(),
            parent_id: self.parent_id,
            definition: self.definition.clone(),
            inclusion: self.inclusion.clone(),
            exclusion: self.exclusion.clone(),
            example: self.example.clone(),
            colour: self.colour.clone(),
            comb: self.comb.clone(),
            tdf: self.tdf(),
        }
    }

    pub fn known(&self) -> Known {
        Known {
            id: self.id,
            parent_id: self.parent_id,
            name: self.name.clone(),
            live: self.merged_into.is_none(),
        }
    }
}

/// Every code of the study, merged ones too, in the order they were made.
pub fn codes_of(conn: &mut DbConnection, study_id: i64) -> QueryResult<Vec<Code>> {
    codes::table
        .filter(codes::study_id.eq(study_id))
        .order((codes::position, codes::id))
        .select(Code::as_select())
        .load(conn)
}

/// Holds the study's row until the transaction ends, so two people changing one codebook at once on
/// PostgreSQL number their changes in turn (SQLite's writes already take turns).
pub fn lock_codebook(conn: &mut DbConnection, study_id: i64) -> QueryResult<()> {
    if let DbConnection::Postgres(pg) = conn {
        studies::table
            .find(study_id)
            .select(studies::id)
            .for_update()
            .first::<i64>(pg)
            .optional()?;
    }
    Ok(())
}

pub fn insert_code(
    conn: &mut DbConnection,
    study_id: i64,
    fields: &CodeFields,
    branch: &str,
    by: Option<i64>,
) -> QueryResult<Code> {
    let at = now();
    let position: i32 = codes::table
        .filter(codes::study_id.eq(study_id))
        .count()
        .get_result::<i64>(conn)? as i32
        + 1;
    let id: i64 = diesel::insert_into(codes::table)
        .values((
            codes::study_id.eq(study_id),
            codes::parent_id.eq(fields.parent_id),
            codes::name.eq(&fields.name),
            codes::definition.eq(&fields.definition),
            codes::inclusion.eq(&fields.inclusion),
            codes::exclusion.eq(&fields.exclusion),
            codes::example.eq(&fields.example),
            codes::colour.eq(&fields.colour),
            codes::comb.eq(&fields.comb),
            codes::tdf.eq(serde_json::to_string(&fields.tdf).expect("plain data")),
            codes::branch.eq(branch),
            codes::position.eq(position),
            codes::created_by.eq(by),
            codes::created_at.eq(at),
            codes::updated_at.eq(at),
        ))
        .returning(codes::id)
        .get_result(conn)?;
    codes::table.find(id).select(Code::as_select()).first(conn)
}

pub fn update_code(conn: &mut DbConnection, code_id: i64, fields: &CodeFields) -> QueryResult<()> {
    diesel::update(codes::table.find(code_id))
        .set((
            codes::parent_id.eq(fields.parent_id),
            codes::name.eq(&fields.name),
            codes::definition.eq(&fields.definition),
            codes::inclusion.eq(&fields.inclusion),
            codes::exclusion.eq(&fields.exclusion),
            codes::example.eq(&fields.example),
            codes::colour.eq(&fields.colour),
            codes::comb.eq(&fields.comb),
            codes::tdf.eq(serde_json::to_string(&fields.tdf).expect("plain data")),
            codes::updated_at.eq(now()),
        ))
        .execute(conn)
        .map(|_| ())
}

/// `from` leaves the live codebook pointing at `into`; the codes under it move under `into`.
pub fn merge(conn: &mut DbConnection, from: i64, into: i64) -> QueryResult<()> {
    let at = now();
    diesel::update(codes::table.filter(codes::parent_id.eq(from)))
        .set((codes::parent_id.eq(into), codes::updated_at.eq(at)))
        .execute(conn)?;
    diesel::update(codes::table.find(from))
        .set((codes::merged_into.eq(into), codes::updated_at.eq(at)))
        .execute(conn)
        .map(|_| ())
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = code_changes)]
#[schema(as = CodebookChange)]
pub struct Change {
    /// The codebook's version this change made.
    pub version: i32,
    pub code_id: i64,
    /// seeded, created, changed or merged.
    pub action: String,
    /// The code's fields before and after, as JSON text.
    pub old_fields: String,
    pub new_fields: String,
    pub changed_by: Option<i64>,
    #[serde(with = "crate::db::utc")]
    pub changed_at: NaiveDateTime,
}

/// Records a change as the codebook's next version; returns that version.
pub fn record_change(
    conn: &mut DbConnection,
    study_id: i64,
    code_id: i64,
    action: &str,
    before: Option<&CodeFields>,
    after: Option<&CodeFields>,
    by: Option<i64>,
) -> QueryResult<i32> {
    let version = version(conn, study_id)? + 1;
    let json = |f: Option<&CodeFields>| {
        f.map_or_else(
            || "{}".to_string(),
            |f| serde_json::to_string(f).expect("plain data"),
        )
    };
    diesel::insert_into(code_changes::table)
        .values((
            code_changes::study_id.eq(study_id),
            code_changes::version.eq(version),
            code_changes::code_id.eq(code_id),
            code_changes::action.eq(action),
            code_changes::old_fields.eq(json(before)),
            code_changes::new_fields.eq(json(after)),
            code_changes::changed_by.eq(by),
            code_changes::changed_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(version)
}

/// The codebook's version: how many changes it has had (0 before it is seeded).
pub fn version(conn: &mut DbConnection, study_id: i64) -> QueryResult<i32> {
    code_changes::table
        .filter(code_changes::study_id.eq(study_id))
        .select(diesel::dsl::max(code_changes::version))
        .first::<Option<i32>>(conn)
        .map(Option::unwrap_or_default)
}

pub fn changes_of(conn: &mut DbConnection, study_id: i64) -> QueryResult<Vec<Change>> {
    code_changes::table
        .filter(code_changes::study_id.eq(study_id))
        .order(code_changes::version.desc())
        .select(Change::as_select())
        .load(conn)
}
