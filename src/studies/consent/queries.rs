//! Storage for a questionnaire's information sheet and consent statements: columns on `questionnaires`.
//! No HTTP here.

use diesel::prelude::*;

use super::rules::{ConsentStatement, Information};
use crate::db::schema::questionnaires;
use crate::db::{now, DbConnection};

#[derive(Queryable, Selectable)]
#[diesel(table_name = questionnaires)]
struct InformationRow {
    info_summary: String,
    info_full_text: String,
    info_data_use: String,
    withdrawal_days: i32,
    withdrawal_after: String,
    retention: String,
    contact_details: String,
    distress_signposting: String,
    consent_statements: String,
    info_lock_version: i32,
}

/// The sheet and the version it is at (for optimistic concurrency).
pub fn information(
    conn: &mut DbConnection,
    questionnaire_id: i64,
) -> QueryResult<(Information, i32)> {
    let row: InformationRow = questionnaires::table
        .find(questionnaire_id)
        .select(InformationRow::as_select())
        .first(conn)?;
    let statements: Vec<ConsentStatement> =
        serde_json::from_str(&row.consent_statements).unwrap_or_default();
    Ok((
        Information {
            summary: row.info_summary,
            full_text: row.info_full_text,
            data_use: row.info_data_use,
            withdrawal_days: row.withdrawal_days,
            withdrawal_after: row.withdrawal_after,
            retention: row.retention,
            contact: row.contact_details,
            signposting: row.distress_signposting,
            consent_statements: statements,
        },
        row.info_lock_version,
    ))
}

/// Saves the sheet if nobody saved it since `lock_version`; false when someone did.
pub fn update_information(
    conn: &mut DbConnection,
    questionnaire_id: i64,
    lock_version: i32,
    info: &Information,
) -> QueryResult<bool> {
    let statements =
        serde_json::to_string(&info.consent_statements).unwrap_or_else(|_| "[]".into());
    diesel::update(
        questionnaires::table
            .filter(questionnaires::id.eq(questionnaire_id))
            .filter(questionnaires::info_lock_version.eq(lock_version)),
    )
    .set((
        questionnaires::info_summary.eq(&info.summary),
        questionnaires::info_full_text.eq(&info.full_text),
        questionnaires::info_data_use.eq(&info.data_use),
        questionnaires::withdrawal_days.eq(info.withdrawal_days),
        questionnaires::withdrawal_after.eq(&info.withdrawal_after),
        questionnaires::retention.eq(&info.retention),
        questionnaires::contact_details.eq(&info.contact),
        questionnaires::distress_signposting.eq(&info.signposting),
        questionnaires::consent_statements.eq(statements),
        questionnaires::info_lock_version.eq(lock_version + 1),
        questionnaires::updated_at.eq(now()),
    ))
    .execute(conn)
    .map(|n| n == 1)
}
