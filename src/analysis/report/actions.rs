//! What leads do to share learning: approve coded passages for quoting (only where the participant
//! agreed to quotes), and read the learning report, which shows only what may leave the team.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::queries;
use crate::analysis::charts::Figure;
use crate::analysis::closed::{self, actions::ClosedOptions};
use crate::analysis::codebook::actions::{self as codebook, comb_of_codes, live_code, CODERS};
use crate::analysis::coding::queries::{self as coding, ResponseRow};
use crate::analysis::coding::rules::Valence;
use crate::analysis::matrix::actions::Heading;
use crate::analysis::matrix::queries::coded_rows;
use crate::analysis::rounds;
use crate::analysis::tracker;
use crate::audit::{self, Origin};
use crate::distribution::participants::rules::Group;
use crate::error::AppError;
use crate::interviews::rules::{FieldNotes, Mode};
use crate::state::AppState;
use crate::studies::access::StudyAccess;
use crate::studies::queries::Study;
use crate::studies::rules::{SharedCount, StudyRole};
use crate::web::CurrentUser;

/// Approves a coded passage for quoting in shared reports (leads), or takes the approval back.
pub async fn approve(
    state: &AppState,
    origin: &Origin,
    user: &CurrentUser,
    study_id: i64,
    coding_id: i64,
    approved: bool,
) -> Result<(), AppError> {
    let (approve, withdraw) = if approved {
        (vec![coding_id], Vec::new())
    } else {
        (Vec::new(), vec![coding_id])
    };
    set_approvals(state, origin, user, study_id, approve, withdraw)
        .await
        .map(|_| ())
}

/// Approves some coded passages for quoting and withdraws approval from others (leads), in one
/// transaction, each change audited; a passage already so is left alone. Refused whole, naming the
/// passage, when one comes from a participant who did not agree to quotes. Answers how many changed.
pub async fn set_approvals(
    state: &AppState,
    origin: &Origin,
    user: &CurrentUser,
    study_id: i64,
    approve: Vec<i64>,
    withdraw: Vec<i64>,
) -> Result<usize, AppError> {
    StudyAccess::with_role(&state.db, user, study_id, &[StudyRole::Lead]).await?;
    let (origin, user_id) = (origin.clone(), user.id);
    state
        .db
        .write(move |conn| {
            let consent = queries::quote_consent(conn, study_id)?;
            let wanted = approve
                .iter()
                .map(|id| (*id, true))
                .chain(withdraw.iter().map(|id| (*id, false)));
            let mut changed = 0;
            for (coding_id, approved) in wanted {
                let coded = coding::coding(conn, study_id, coding_id)?
                    .filter(|c| c.round_id.is_none())
                    .ok_or(AppError::NotFound)?;
                if coded.quote_approved_at.is_some() == approved {
                    continue;
                }
                if approved {
                    let source = coding::source(conn, study_id, coded.answer_id)?
                        .ok_or(AppError::NotFound)?;
                    if consent.get(&source.response_id) != Some(&true) {
                        return Err(AppError::invalid(
                            "approved",
                            "This participant did not agree to be quoted: their words stay out of shared reports",
                        ));
                    }
                }
                queries::set_approval(conn, coding_id, approved.then_some(user_id))?;
                audit::record(
                    conn,
                    &origin,
                    if approved {
                        "quote.approved"
                    } else {
                        "quote.unapproved"
                    },
                    "coding",
                    Some(coding_id),
                    json!({ "study_id": study_id }),
                )?;
                changed += 1;
            }
            Ok(changed)
        })
        .await
}

/// The responses that are an interviewer's notes, so a quote from one can say so.
fn interviewed(responses: &[ResponseRow]) -> HashSet<i64> {
    responses
        .iter()
        .filter(|r| r.mode == "interview")
        .map(|r| r.response_id)
        .collect()
}

/// A coded passage that may be quoted in shared reports: its participant agreed to quotes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuoteCandidate {
    pub coding_id: i64,
    pub quote: String,
    /// The code's name, and whether the passage is a barrier, an enabler or either.
    pub code: String,
    pub valence: String,
    /// Who said it, as a group only: "Carer".
    pub who: String,
    pub from_interview: bool,
    pub approved: bool,
}

/// The passages a lead may approve as quotes, in one list instead of cell by cell.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuoteList {
    pub candidates: Vec<QuoteCandidate>,
    /// Coded passages left out because their participant did not agree to quotes.
    pub not_agreed: usize,
}

pub async fn quote_list(
    state: &AppState,
    user: &CurrentUser,
    study_id: i64,
) -> Result<(StudyAccess, QuoteList), AppError> {
    let access = StudyAccess::with_role(&state.db, user, study_id, &[StudyRole::Lead]).await?;
    let codebook = codebook::load_codebook(&state.db, study_id).await?;
    let (responses, codings, consent) = state
        .db
        .read(move |conn| {
            Ok::<_, AppError>((
                coding::sent_responses(conn, study_id, None)?,
                coded_rows(conn, study_id, None)?,
                queries::quote_consent(conn, study_id)?,
            ))
        })
        .await?;
    let interviewed = interviewed(&responses);
    let (agreed, not_agreed): (Vec<_>, Vec<_>) = codings
        .into_iter()
        .partition(|c| consent.get(&c.response_id) == Some(&true));
    let candidates = agreed
        .into_iter()
        .map(|c| QuoteCandidate {
            coding_id: c.coding_id,
            code: live_code(&codebook, c.code_id)
                .map_or_else(String::new, |code| code.name.clone()),
            valence: Valence::parse(&c.valence).map_or_else(String::new, |v| v.label().into()),
            who: Group::parse(&c.group).map_or_else(String::new, |g| g.label().into()),
            from_interview: interviewed.contains(&c.response_id),
            approved: c.quote_approved_at.is_some(),
            quote: c.quote,
        })
        .collect();
    Ok((
        access,
        QuoteList {
            candidates,
            not_agreed: not_agreed.len(),
        },
    ))
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GroupLine {
    pub group: String,
    pub online: SharedCount,
    pub interviews: SharedCount,
    pub total: SharedCount,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReportQuote {
    pub quote: String,
    /// Who said it, as a group only: "Carer".
    pub who: String,
    /// From an interviewer's notes of what was said, rather than the participant's own typed words.
    pub from_interview: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CombSection {
    pub comb: Heading,
    /// Per group (in `groups` order): participants describing a barrier, and an enabler.
    pub counts: Vec<[SharedCount; 2]>,
    pub barriers: Vec<ReportQuote>,
    pub enablers: Vec<ReportQuote>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RoundLine {
    pub name: String,
    pub unit: String,
    pub percent: f64,
    pub kappa: Option<f64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Methods {
    pub interviews: SharedCount,
    /// (mode, interviews) as shared counts.
    pub modes: Vec<(String, SharedCount)>,
    pub shortest_minutes: Option<i64>,
    pub median_minutes: Option<i64>,
    pub longest_minutes: Option<i64>,
    /// Where interviews took place and who else was there, as interviewers recorded them.
    pub settings: Vec<String>,
    pub present: Vec<String>,
    pub online: SharedCount,
    pub codebook_version: i32,
    pub codes: usize,
    pub coded_passages: usize,
    pub rounds: Vec<RoundLine>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Report {
    pub study: Study,
    pub generated_on: String,
    pub threshold: i32,
    pub groups: Vec<Heading>,
    pub participation: Vec<GroupLine>,
    pub total: SharedCount,
    pub comb: Vec<CombSection>,
    /// The latest month of involvement against the target, in words, with the run chart.
    pub involvement: Option<String>,
    pub involvement_chart: Option<Figure>,
    /// The questionnaire whose closed questions are charted, with small counts hidden.
    pub closed_title: Option<String>,
    pub closed: Vec<Figure>,
    pub methods: Methods,
}

/// Quotes per COM-B part and side: at most this many, the longest first.
const QUOTES_EACH: usize = 3;

fn median(mut values: Vec<i64>) -> Option<i64> {
    values.sort_unstable();
    values.get(values.len() / 2).copied()
}

/// Records that the learning report was read: it quotes participants' own words.
pub async fn audit_report_read(
    db: &crate::db::Db,
    origin: &Origin,
    study_id: i64,
) -> Result<(), AppError> {
    audit::looked(db, origin, "report_viewed", Some(study_id), json!({})).await
}

/// The learning report: nothing in it names anyone, counts under the study's threshold are hidden,
/// and quotes come only from participants who agreed to quotes and only once a lead approved them.
pub async fn report(
    state: &AppState,
    user: &CurrentUser,
    study_id: i64,
) -> Result<(StudyAccess, Report), AppError> {
    let access = StudyAccess::with_role(&state.db, user, study_id, CODERS).await?;
    let codebook = codebook::load_codebook(&state.db, study_id).await?;
    let (responses, codings, consent, interviews, round_list) = state
        .db
        .read(move |conn| {
            let responses = coding::sent_responses(conn, study_id, None)?;
            let codings = coded_rows(conn, study_id, None)?;
            let consent = queries::quote_consent(conn, study_id)?;
            let interviews = queries::completed_interviews(conn, study_id)?;
            let rounds = rounds::queries::rounds_of(conn, study_id)?;
            Ok::<_, AppError>((responses, codings, consent, interviews, rounds))
        })
        .await?;
    let threshold = access.study.small_count_threshold;
    // The report leaves the team: every reader gets the shared view's counts, leads included.
    let shared = |n: usize| SharedCount::of(n as i64, Some(i64::from(threshold)));
    let groups: Vec<Heading> = Group::ALL
        .iter()
        .map(|g| Heading {
            key: g.as_str().into(),
            label: g.label().into(),
        })
        .collect();
    let count_of = |group: &str, interview: Option<bool>| {
        responses
            .iter()
            .filter(|r| r.group == group)
            .filter(|r| interview.is_none_or(|i| (r.mode == "interview") == i))
            .count()
    };
    let participation = groups
        .iter()
        .map(|g| GroupLine {
            group: g.label.clone(),
            online: shared(count_of(&g.key, Some(false))),
            interviews: shared(count_of(&g.key, Some(true))),
            total: shared(count_of(&g.key, None)),
        })
        .collect();

    // COM-B barriers and enablers: participants per group and side, and the approved quotes.
    let interviewed = interviewed(&responses);
    let combs = comb_of_codes(&codebook);
    let mut people: BTreeMap<(String, String, usize), BTreeSet<i64>> = BTreeMap::new();
    let mut quotes: BTreeMap<(String, usize), Vec<ReportQuote>> = BTreeMap::new();
    for c in &codings {
        let Some(code) = live_code(&codebook, c.code_id) else {
            continue;
        };
        let (response, group) = (c.response_id, c.group.as_str());
        let Some(comb) = combs.get(&code.id).filter(|c| !c.is_empty()) else {
            continue;
        };
        let sides: &[usize] = match c.valence.as_str() {
            "barrier" => &[0],
            "enabler" => &[1],
            "mixed" => &[0, 1],
            _ => &[],
        };
        for &side in sides {
            people
                .entry((comb.clone(), group.to_string(), side))
                .or_default()
                .insert(response);
            let quotable = c.quote_approved_at.is_some() && consent.get(&response) == Some(&true);
            if quotable {
                quotes
                    .entry((comb.clone(), side))
                    .or_default()
                    .push(ReportQuote {
                        quote: c.quote.clone(),
                        who: Group::parse(group).map_or_else(String::new, |g| g.label().into()),
                        from_interview: interviewed.contains(&response),
                    });
            }
        }
    }
    let mut take = |comb: &str, side: usize| {
        let mut list = quotes.remove(&(comb.to_string(), side)).unwrap_or_default();
        list.sort_by_key(|q| std::cmp::Reverse(q.quote.chars().count()));
        list.dedup_by(|a, b| a.quote == b.quote);
        list.truncate(QUOTES_EACH);
        list
    };
    let comb = codebook
        .taxonomy
        .iter()
        .filter(|t| t.scheme == "comb")
        .map(|t| CombSection {
            counts: groups
                .iter()
                .map(|g| {
                    [0, 1].map(|side| {
                        shared(
                            people
                                .get(&(t.code.clone(), g.key.clone(), side))
                                .map_or(0, |s| s.len()),
                        )
                    })
                })
                .collect(),
            barriers: take(&t.code, 0),
            enablers: take(&t.code, 1),
            comb: Heading {
                key: t.code.clone(),
                label: t.label.clone(),
            },
        })
        .collect();

    let (_, tracked) = tracker::actions::tracker(&state.db, user, study_id, None, None).await?;
    let (involvement, involvement_chart) = if tracked.projects.is_empty() {
        (None, None)
    } else {
        (
            Some(tracked.summary.clone()),
            Some(tracker::handlers::run_chart(&tracked)),
        )
    };

    let for_sharing = ClosedOptions {
        shared: true,
        ..ClosedOptions::default()
    };
    let (closed_title, closed) =
        match closed::actions::summary(&state.db, user, study_id, &for_sharing).await {
            Ok((_, _, summary)) => (
                Some(summary.questionnaire_title.clone()),
                summary
                    .questions
                    .iter()
                    .map(|q| closed::figures::figure(q, summary.threshold))
                    .collect(),
            ),
            Err(AppError::NotFound) => (None, Vec::new()),
            Err(other) => return Err(other),
        };

    let mut round_lines = Vec::new();
    for round in &round_list {
        let compared = rounds::actions::compare(state, user, study_id, round.id).await?;
        round_lines.push(RoundLine {
            name: round.name.clone(),
            unit: round.unit.clone(),
            percent: compared.overall.percent,
            kappa: compared.overall.kappa,
        });
    }
    let minutes: Vec<i64> = interviews.iter().filter_map(|(_, m, _)| *m).collect();
    let mut modes: BTreeMap<String, usize> = BTreeMap::new();
    let (mut settings, mut present) = (Vec::new(), Vec::new());
    for (mode, _, notes) in &interviews {
        *modes
            .entry(Mode::parse(mode).map_or_else(|| mode.clone(), |m| m.label().to_string()))
            .or_default() += 1;
        if let Ok(notes) = serde_json::from_str::<FieldNotes>(notes) {
            for (list, item) in [(&mut settings, "setting"), (&mut present, "people_present")] {
                let value = notes.get(item).trim().to_string();
                if !value.is_empty() && !list.contains(&value) {
                    list.push(value);
                }
            }
        }
    }
    let methods = Methods {
        interviews: shared(interviews.len()),
        modes: modes.into_iter().map(|(m, n)| (m, shared(n))).collect(),
        shortest_minutes: minutes.iter().min().copied(),
        median_minutes: median(minutes.clone()),
        longest_minutes: minutes.iter().max().copied(),
        settings,
        present,
        online: shared(responses.iter().filter(|r| r.mode != "interview").count()),
        codebook_version: codebook.version,
        codes: codebook.codes.len(),
        coded_passages: codings.len(),
        rounds: round_lines,
    };
    let report = Report {
        generated_on: tracker::rules::long_date(tracker::actions::today()),
        threshold,
        groups,
        participation,
        total: shared(responses.len()),
        comb,
        involvement,
        involvement_chart,
        closed_title,
        closed,
        methods,
        study: access.study.clone(),
    };
    Ok((access, report))
}
