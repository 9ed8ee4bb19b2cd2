//! Storage for the overview: the counts behind a study's task list and what waits for one person
//! across their studies, each a handful of grouped queries whatever the number of studies. No HTTP here.

use std::collections::HashMap;

use chrono::{NaiveDateTime, NaiveTime};
use diesel::dsl::{count_star, max};
use diesel::prelude::*;

use super::rules::{waiting, LeadingQuestionnaire, StudyFacts, Waiting, WaitingKind};
use crate::db::schema::{
    answers, campaigns, coding_round_sources, coding_rounds, codings, comments,
    interview_follow_ups, interviews, open_links, participants, questionnaire_sign_offs,
    questionnaire_versions, questionnaires, questions, responses, revisions, studies,
    study_members, suggestions, users,
};
use crate::db::{now, DbConnection};
use crate::studies::consent::rules::ConsentStatement;

/// Interviews that are neither done nor called off.
const INTERVIEWS_AHEAD: [&str; 3] = ["scheduled", "in_progress", "paused"];

fn counted<K: std::hash::Hash + Eq>(rows: Vec<(K, i64)>) -> HashMap<K, i64> {
    rows.into_iter().collect()
}

/// `interviewer`: count only this person's interviews (for an interviewer who is not a lead).
pub fn study_facts(
    conn: &mut DbConnection,
    study_id: i64,
    interviewer: Option<i64>,
) -> QueryResult<StudyFacts> {
    type Row = (i64, String, NaiveDateTime, String, String, String, String);
    let sheets: Vec<Row> = questionnaires::table
        .filter(questionnaires::study_id.eq(study_id))
        .select((
            questionnaires::id,
            questionnaires::status,
            questionnaires::updated_at,
            questionnaires::info_summary,
            questionnaires::contact_details,
            questionnaires::distress_signposting,
            questionnaires::consent_statements,
        ))
        .load(conn)?;
    let in_study = questionnaires::table
        .filter(questionnaires::study_id.eq(study_id))
        .select(questionnaires::id);
    let question_counts = counted(
        questions::table
            .filter(questions::questionnaire_id.eq_any(in_study))
            .group_by(questions::questionnaire_id)
            .select((questions::questionnaire_id, count_star()))
            .load::<(i64, i64)>(conn)?,
    );
    let version_counts = counted(
        questionnaire_versions::table
            .filter(questionnaire_versions::questionnaire_id.eq_any(in_study))
            .group_by(questionnaire_versions::questionnaire_id)
            .select((questionnaire_versions::questionnaire_id, count_star()))
            .load::<(i64, i64)>(conn)?,
    );
    let sign_off_counts = counted(
        questionnaire_sign_offs::table
            .filter(questionnaire_sign_offs::questionnaire_id.eq_any(in_study))
            .group_by(questionnaire_sign_offs::questionnaire_id)
            .select((questionnaire_sign_offs::questionnaire_id, count_star()))
            .load::<(i64, i64)>(conn)?,
    );
    let rank = |status: &str| match status {
        "published" => 2,
        "pilot" => 1,
        _ => 0,
    };
    let leading = sheets
        .iter()
        .max_by_key(|(id, status, updated_at, ..)| {
            (version_counts.contains_key(id), rank(status), *updated_at)
        })
        .map(
            |(id, status, _, summary, contact, signposting, statements)| {
                let statements: Vec<ConsentStatement> =
                    serde_json::from_str(statements).unwrap_or_default();
                LeadingQuestionnaire {
                    id: *id,
                    status: status.clone(),
                    questions: question_counts.get(id).copied().unwrap_or(0),
                    information_complete: !summary.is_empty()
                        && !contact.is_empty()
                        && !signposting.is_empty(),
                    information_started: !summary.is_empty()
                        || !contact.is_empty()
                        || !signposting.is_empty(),
                    consent_statements: statements.len() as i64,
                    sign_offs: sign_off_counts.get(id).copied().unwrap_or(0),
                    published_versions: version_counts.get(id).copied().unwrap_or(0),
                }
            },
        );
    let participants = participants::table
        .filter(participants::study_id.eq(study_id))
        .filter(participants::record_erased_at.is_null())
        .count()
        .get_result(conn)?;
    let launched: Vec<Option<NaiveDateTime>> = campaigns::table
        .filter(campaigns::study_id.eq(study_id))
        .select(campaigns::launched_at)
        .load(conn)?;
    let launched_campaigns = launched.iter().filter(|at| at.is_some()).count() as i64;
    let open_links = open_links::table
        .filter(open_links::study_id.eq(study_id))
        .count()
        .get_result(conn)?;
    let mut interviews_query = interviews::table
        .filter(interviews::study_id.eq(study_id))
        .filter(interviews::status.ne_all(["cancelled", "declined"]))
        .group_by(interviews::status)
        .select((interviews::status, count_star()))
        .into_boxed();
    if let Some(person) = interviewer {
        interviews_query = interviews_query.filter(
            interviews::interviewer_id
                .eq(person)
                .or(interviews::note_taker_id.eq(person)),
        );
    }
    let interviews = counted(interviews_query.load::<(String, i64)>(conn)?);
    let responses_sent = responses::table
        .filter(responses::study_id.eq(study_id))
        .filter(responses::submitted_at.is_not_null())
        .count()
        .get_result(conn)?;
    let coded: Vec<(Option<i64>, i64)> = codings::table
        .filter(codings::study_id.eq(study_id))
        .group_by(codings::quote_approved_by)
        .select((codings::quote_approved_by, count_star()))
        .load(conn)?;
    let approved_quotes = coded
        .iter()
        .filter(|(by, _)| by.is_some())
        .map(|(_, n)| n)
        .sum();
    Ok(StudyFacts {
        questionnaires: sheets.len() as i64,
        leading,
        participants,
        draft_campaigns: launched.len() as i64 - launched_campaigns,
        launched_campaigns,
        open_links,
        interviews: interviews.values().sum(),
        interviews_done: interviews.get("completed").copied().unwrap_or(0),
        responses_sent,
        codings: coded.iter().map(|(_, n)| n).sum(),
        approved_quotes,
    })
}

/// What waits for `user_id` in the studies they belong to, but quotes to approve (the report's rule on
/// who agreed to be quoted decides those: `unapproved_passages`).
/// `only`: one study's page asks about that study alone; home about them all.
pub fn waiting_for(
    conn: &mut DbConnection,
    user_id: i64,
    only: Option<i64>,
) -> QueryResult<Vec<Waiting>> {
    let mut found = Vec::new();
    let (first, last) = only.map_or((i64::MIN, i64::MAX), |study| (study, study));
    let membership = study_members::table
        .filter(study_members::user_id.eq(user_id))
        .filter(study_members::study_id.between(first, last));
    let mine = membership.select(study_members::study_id);
    let designing = membership
        .filter(study_members::is_lead.or(study_members::is_co_designer))
        .select(study_members::study_id);
    let leading = membership
        .filter(study_members::is_lead)
        .select(study_members::study_id);

    // Sign-off: a questionnaire in pilot changed since this person last signed it (or never signed).
    let pilots: Vec<(i64, i64)> = questionnaires::table
        .filter(questionnaires::status.eq("pilot"))
        .filter(questionnaires::study_id.eq_any(designing))
        .select((questionnaires::id, questionnaires::study_id))
        .load(conn)?;
    if !pilots.is_empty() {
        let ids: Vec<i64> = pilots.iter().map(|(id, _)| *id).collect();
        let changed: HashMap<i64, Option<NaiveDateTime>> = revisions::table
            .filter(revisions::questionnaire_id.eq_any(&ids))
            .group_by(revisions::questionnaire_id)
            .select((revisions::questionnaire_id, max(revisions::created_at)))
            .load(conn)?
            .into_iter()
            .collect();
        let signed: HashMap<i64, Option<NaiveDateTime>> = questionnaire_sign_offs::table
            .filter(questionnaire_sign_offs::questionnaire_id.eq_any(&ids))
            .filter(questionnaire_sign_offs::user_id.eq(user_id))
            .group_by(questionnaire_sign_offs::questionnaire_id)
            .select((
                questionnaire_sign_offs::questionnaire_id,
                max(questionnaire_sign_offs::signed_at),
            ))
            .load(conn)?
            .into_iter()
            .collect();
        for (questionnaire, study) in pilots {
            let last_signed = signed.get(&questionnaire).copied().flatten();
            let last_change = changed.get(&questionnaire).copied().flatten();
            let current = matches!((last_signed, last_change), (Some(s), Some(c)) if s >= c)
                || (last_signed.is_some() && last_change.is_none());
            if !current {
                found.push(waiting(study, WaitingKind::SignOff, questionnaire, 1));
            }
        }
    }

    // The study of each questionnaire this person can see, to file suggestions and replies under.
    let study_of: HashMap<i64, i64> = questionnaires::table
        .filter(questionnaires::study_id.eq_any(mine))
        .select((questionnaires::id, questionnaires::study_id))
        .load::<(i64, i64)>(conn)?
        .into_iter()
        .collect();
    let mut file = |kind: WaitingKind, rows: Vec<(i64, i64)>| {
        for (questionnaire, count) in rows {
            if let Some(study) = study_of.get(&questionnaire) {
                found.push(waiting(*study, kind, questionnaire, count));
            }
        }
    };
    let lead_questionnaires = questionnaires::table
        .filter(questionnaires::study_id.eq_any(leading))
        .select(questionnaires::id);
    file(
        WaitingKind::Suggestions,
        suggestions::table
            .filter(suggestions::questionnaire_id.eq_any(lead_questionnaires))
            .filter(suggestions::status.eq("open"))
            .filter(suggestions::author_user_id.ne(user_id))
            .group_by(suggestions::questionnaire_id)
            .select((suggestions::questionnaire_id, count_star()))
            .load(conn)?,
    );
    let parents = diesel::alias!(comments as parent_comments);
    file(
        WaitingKind::Replies,
        comments::table
            .inner_join(parents.on(comments::parent_id.eq(parents.field(comments::id).nullable())))
            .filter(parents.field(comments::author_user_id).eq(user_id))
            .filter(parents.field(comments::resolved_at).is_null())
            .filter(comments::author_user_id.ne(user_id))
            .group_by(comments::questionnaire_id)
            .select((comments::questionnaire_id, count_star()))
            .load(conn)?,
    );

    let today = now().date().and_time(NaiveTime::MIN);
    let tomorrow = today + chrono::Duration::days(1);
    let today_interviews: Vec<(i64, i64)> = interviews::table
        .filter(
            interviews::interviewer_id
                .eq(user_id)
                .or(interviews::note_taker_id.eq(user_id)),
        )
        .filter(interviews::status.eq_any(INTERVIEWS_AHEAD))
        .filter(interviews::study_id.between(first, last))
        .filter(interviews::scheduled_at.ge(today))
        .filter(interviews::scheduled_at.lt(tomorrow))
        .group_by(interviews::study_id)
        .select((interviews::study_id, count_star()))
        .load(conn)?;
    for (study, count) in today_interviews {
        found.push(waiting(study, WaitingKind::InterviewsToday, study, count));
    }

    let follow_ups: Vec<(i64, i64)> = interview_follow_ups::table
        .inner_join(interviews::table)
        .filter(interview_follow_ups::assigned_to.eq(user_id))
        .filter(interview_follow_ups::done_at.is_null())
        .filter(interviews::study_id.between(first, last))
        .group_by(interviews::study_id)
        .select((interviews::study_id, count_star()))
        .load(conn)?;
    for (study, count) in follow_ups {
        found.push(waiting(study, WaitingKind::FollowUps, study, count));
    }

    let rounds: Vec<(i64, i64, i64)> = coding_rounds::table
        .inner_join(coding_round_sources::table)
        .filter(
            coding_rounds::first_coder_id
                .eq(user_id)
                .or(coding_rounds::second_coder_id.eq(user_id)),
        )
        .filter(coding_rounds::study_id.between(first, last))
        .group_by((coding_rounds::id, coding_rounds::study_id))
        .select((coding_rounds::id, coding_rounds::study_id, count_star()))
        .load(conn)?;
    if !rounds.is_empty() {
        let ids: Vec<i64> = rounds.iter().map(|(id, ..)| *id).collect();
        let mut coded: HashMap<i64, i64> = HashMap::new();
        let sources_coded: Vec<(Option<i64>, i64)> = codings::table
            .filter(codings::round_id.eq_any(ids.iter().map(|id| Some(*id))))
            .filter(codings::coder_id.eq(user_id))
            .select((codings::round_id, codings::answer_id))
            .distinct()
            .load(conn)?;
        for (round, _) in sources_coded {
            *coded.entry(round.unwrap_or_default()).or_default() += 1;
        }
        for (round, study, sources) in rounds {
            let left = sources - coded.get(&round).copied().unwrap_or(0);
            if left > 0 {
                found.push(waiting(study, WaitingKind::DoubleCoding, round, left));
            }
        }
    }
    Ok(found)
}

/// Per coded response of the study: how many of its passages are not approved as quotes yet.
pub fn unapproved_passages(conn: &mut DbConnection, study_id: i64) -> QueryResult<Vec<(i64, i64)>> {
    codings::table
        .inner_join(answers::table)
        .filter(codings::study_id.eq(study_id))
        .filter(codings::quote_approved_by.is_null())
        .filter(codings::round_id.is_null())
        .group_by(answers::response_id)
        .select((answers::response_id, count_star()))
        .load(conn)
}

/// Accounts and studies, for the setup checklist.
pub fn install_counts(conn: &mut DbConnection) -> QueryResult<(i64, i64)> {
    Ok((
        users::table.count().get_result(conn)?,
        studies::table.count().get_result(conn)?,
    ))
}
