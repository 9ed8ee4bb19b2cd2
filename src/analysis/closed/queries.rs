//! Storage for closed-question counts: how far each person invited to a questionnaire got (the
//! answers themselves come through the exports' queries). No HTTP here.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::rules::Reached;
use crate::db::schema::participations;
use crate::db::DbConnection;

type Milestones = (
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
);

/// Every participation in the questionnaire (invited by a campaign or joined by an open link), in one
/// query; with `version_id`, those given that version only.
pub fn reached(
    conn: &mut DbConnection,
    questionnaire_id: i64,
    version_id: Option<i64>,
) -> QueryResult<Vec<Reached>> {
    let mut query = participations::table
        .filter(participations::questionnaire_id.eq(questionnaire_id))
        .into_boxed();
    if let Some(version) = version_id {
        query = query.filter(participations::version_id.eq(version));
    }
    Ok(query
        .select((
            participations::opened_at,
            participations::consented_at,
            participations::started_at,
            participations::completed_at,
        ))
        .load::<Milestones>(conn)?
        .into_iter()
        .map(|(opened, consented, started, completed)| Reached {
            opened: opened.is_some(),
            consented: consented.is_some(),
            started: started.is_some(),
            submitted: completed.is_some(),
        })
        .collect())
}
