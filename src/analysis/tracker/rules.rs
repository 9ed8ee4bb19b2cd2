//! Tracker rules with no storage or HTTP: stages and levels of involvement, how projects, stage
//! records and the study's rule are checked, when a project counts as meaningful, and the monthly
//! series of the run chart.

use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::FieldErrors;

/// The stages of an improvement project, in order.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Idea,
    Aims,
    Understanding,
    Ideas,
    Testing,
    Implementing,
    Sharing,
}

impl Stage {
    pub const ALL: [Stage; 7] = [
        Stage::Idea,
        Stage::Aims,
        Stage::Understanding,
        Stage::Ideas,
        Stage::Testing,
        Stage::Implementing,
        Stage::Sharing,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Stage::Idea => "idea",
            Stage::Aims => "aims",
            Stage::Understanding => "understanding",
            Stage::Ideas => "ideas",
            Stage::Testing => "testing",
            Stage::Implementing => "implementing",
            Stage::Sharing => "sharing",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Stage::Idea => "Idea",
            Stage::Aims => "Setting aims",
            Stage::Understanding => "Understanding the problem",
            Stage::Ideas => "Developing change ideas",
            Stage::Testing => "Testing changes",
            Stage::Implementing => "Putting changes in place",
            Stage::Sharing => "Spreading and sharing learning",
        }
    }

    pub fn parse(code: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| s.code() == code.trim())
    }
}

/// How service users and carers took part, on the ladder from informing to co-producing.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    None,
    Informed,
    Consulted,
    Involved,
    CoProduced,
}

impl Level {
    pub const ALL: [Level; 5] = [
        Level::None,
        Level::Informed,
        Level::Consulted,
        Level::Involved,
        Level::CoProduced,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Level::None => "none",
            Level::Informed => "informed",
            Level::Consulted => "consulted",
            Level::Involved => "involved",
            Level::CoProduced => "co_produced",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Level::None => "Not involved",
            Level::Informed => "Informed",
            Level::Consulted => "Consulted",
            Level::Involved => "Involved",
            Level::CoProduced => "Co-produced",
        }
    }

    pub fn parse(code: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.code() == code.trim())
    }
}

/// What "meaningful involvement" means in this study, and the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Rule {
    /// Stages from this one on count for core membership and level.
    pub meaningful_from: Stage,
    /// Service users and carers who must be core team members at one of those stages.
    pub min_core_members: u32,
    /// Decisions they influenced, across the stages reached.
    pub min_influences: u32,
    /// If set, one of those stages must reach this level or above.
    pub min_level: Option<Level>,
    /// The share of active projects that should meet the rule, in percent.
    pub target_percent: u32,
}

impl Default for Rule {
    fn default() -> Self {
        Rule {
            meaningful_from: Stage::Aims,
            min_core_members: 1,
            min_influences: 1,
            min_level: None,
            target_percent: 80,
        }
    }
}

/// A stage a project reached, as the rule sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageRecord {
    pub stage: Stage,
    pub reached_on: NaiveDate,
    pub level: Level,
    pub core_members: u32,
    pub decisions_influenced: String,
}

/// Decisions influenced: the non-empty lines.
pub fn influences(text: &str) -> u32 {
    text.lines().filter(|l| !l.trim().is_empty()).count() as u32
}

/// Whether a project met the rule on a date, and if not, why not (in words for the register).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Assessment {
    pub meaningful: bool,
    /// Empty when meaningful.
    pub reasons: Vec<String>,
}

fn people(n: u32) -> String {
    if n <= 1 {
        "a service user or carer".into()
    } else {
        format!("{n} service users or carers")
    }
}

/// A project is meaningful as of a date when, among the stages reached on or before it from the
/// rule's stage on, one had at least the minimum of SU&C core members (and, if the rule sets a
/// level, one reached it or above), and the decisions influenced across all stages reached by then
/// are at least the minimum.
pub fn assess(rule: &Rule, records: &[StageRecord], as_of: NaiveDate) -> Assessment {
    let reached: Vec<&StageRecord> = records.iter().filter(|r| r.reached_on <= as_of).collect();
    let counted: Vec<&&StageRecord> = reached
        .iter()
        .filter(|r| r.stage >= rule.meaningful_from)
        .collect();
    let mut reasons = Vec::new();
    if !counted
        .iter()
        .any(|r| r.core_members >= rule.min_core_members)
    {
        reasons.push(format!(
            "No stage from {} on had {} in the core team",
            rule.meaningful_from.label().to_lowercase(),
            people(rule.min_core_members)
        ));
    }
    let influenced: u32 = reached
        .iter()
        .map(|r| influences(&r.decisions_influenced))
        .sum();
    if influenced < rule.min_influences {
        reasons.push(format!(
            "{influenced} decision{} influenced recorded; the rule asks for {}",
            if influenced == 1 { "" } else { "s" },
            rule.min_influences
        ));
    }
    if let Some(level) = rule.min_level {
        if !counted.iter().any(|r| r.level >= level) {
            reasons.push(format!(
                "No stage from {} on was {} or more",
                rule.meaningful_from.label().to_lowercase(),
                level.label().to_lowercase()
            ));
        }
    }
    Assessment {
        meaningful: reasons.is_empty(),
        reasons,
    }
}

/// The first and last days of a month.
pub fn month_bounds(any_day: NaiveDate) -> (NaiveDate, NaiveDate) {
    let start = any_day.with_day(1).expect("every month has a first day");
    let end = start
        .checked_add_months(Months::new(1))
        .and_then(|d| d.pred_opt())
        .expect("a month ends");
    (start, end)
}

/// A project is active in a month when it started by the month's end and had not closed before it
/// began.
pub fn active_in(started_on: NaiveDate, closed_on: Option<NaiveDate>, month: NaiveDate) -> bool {
    let (start, end) = month_bounds(month);
    started_on <= end && closed_on.is_none_or(|closed| closed >= start)
}

/// A project as the series sees it.
#[derive(Debug, Clone)]
pub struct ProjectFacts {
    pub service: String,
    pub started_on: NaiveDate,
    pub closed_on: Option<NaiveDate>,
    pub records: Vec<StageRecord>,
}

/// One month of the run chart.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MonthFigure {
    /// 2026-11
    pub month: String,
    /// November 2026
    pub label: String,
    pub active: u32,
    /// Active projects meeting the rule at the month's end.
    pub meaningful: u32,
    /// meaningful / active × 100; none when no project was active.
    pub percent: Option<f64>,
}

/// Month by month from the first project's start to the month of `to`: active projects, those
/// meeting the rule at the month's end, and the percentage.
pub fn series(rule: &Rule, projects: &[ProjectFacts], to: NaiveDate) -> Vec<MonthFigure> {
    let Some(first) = projects.iter().map(|p| p.started_on).min() else {
        return Vec::new();
    };
    let (mut month, last) = (month_bounds(first).0, month_bounds(to).0);
    let mut figures = Vec::new();
    while month <= last {
        let end = month_bounds(month).1;
        let active: Vec<&ProjectFacts> = projects
            .iter()
            .filter(|p| active_in(p.started_on, p.closed_on, month))
            .collect();
        let meaningful = active
            .iter()
            .filter(|p| assess(rule, &p.records, end).meaningful)
            .count() as u32;
        let active = active.len() as u32;
        figures.push(MonthFigure {
            month: month.format("%Y-%m").to_string(),
            label: month.format("%B %Y").to_string(),
            active,
            meaningful,
            percent: (active > 0).then(|| f64::from(meaningful) * 100.0 / f64::from(active)),
        });
        month = month
            .checked_add_months(Months::new(1))
            .expect("months go on");
    }
    figures
}

/// The latest month in words, against the target.
pub fn summary(rule: &Rule, latest: Option<&MonthFigure>) -> String {
    let target = format!("the target is {}%", rule.target_percent);
    match latest {
        None => format!("No projects are in the register yet; {target}."),
        Some(m) if m.active == 0 => format!("No projects were active in {}; {target}.", m.label),
        Some(m) => format!(
            "{} of {} active project{} ({}) met the rule in {}; {target}.",
            m.meaningful,
            m.active,
            if m.active == 1 { "" } else { "s" },
            crate::analysis::charts::percent_text(m.percent.unwrap_or_default()),
            m.label
        ),
    }
}

/// How dates read on pages: 3 March 2026.
pub fn long_date(date: NaiveDate) -> String {
    date.format("%-d %B %Y").to_string()
}

/// Reads a date as every staff form does (`web::dates`), with a message fit to show beside the field.
pub fn parse_date(text: &str, missing: &str) -> Result<NaiveDate, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(missing.to_string());
    }
    let date = crate::web::dates::parse_day(text).ok_or_else(|| {
        format!(
            "Enter a real date, for example {}: check the month and the day",
            crate::web::dates::EXAMPLE
        )
    })?;
    if !(2000..=2100).contains(&date.year()) {
        return Err("Enter a year between 2000 and 2100".into());
    }
    Ok(date)
}

/// Reads a count of people or decisions: a whole number, 0 or more.
pub fn parse_count(text: &str, missing: &str, max: u32) -> Result<u32, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(missing.to_string());
    }
    match text.parse::<i64>() {
        Ok(n) if n < 0 => Err("The number cannot be negative".into()),
        Ok(n) if n > i64::from(max) => Err(format!("Enter a number up to {max}")),
        Ok(n) => Ok(n as u32),
        Err(_) => Err("Enter a whole number, for example 0, 1 or 2".into()),
    }
}

pub const NAME_MAX: usize = 200;
pub const TEXT_MAX: usize = 4_000;

fn too_long(text: &str, max: usize) -> bool {
    text.chars().count() > max
}

/// A project as typed in a form or sent to the API.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct ProjectFields {
    pub name: String,
    pub service: String,
    pub team: String,
    /// Year-month-day.
    pub started_on: String,
    /// Year-month-day; empty or null while the project runs.
    pub closed_on: Option<String>,
    /// idea, aims, understanding, ideas, testing, implementing or sharing.
    pub stage_reached: String,
}

/// A project's fields once checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedProject {
    pub name: String,
    pub service: String,
    pub team: String,
    pub started_on: NaiveDate,
    pub closed_on: Option<NaiveDate>,
    pub stage_reached: Stage,
}

/// Checks a project. `recorded` are the dates of stages already recorded for it: the start cannot
/// move after them, nor the close before them.
pub fn check_project(
    fields: &ProjectFields,
    recorded: &[(Stage, NaiveDate)],
) -> Result<CheckedProject, FieldErrors> {
    let mut errors = FieldErrors::new();
    let name = fields.name.trim().to_string();
    let service = fields.service.trim().to_string();
    let team = fields.team.trim().to_string();
    if name.is_empty() {
        errors.insert("name".into(), "Enter the project's name".into());
    } else if too_long(&name, NAME_MAX) {
        errors.insert(
            "name".into(),
            format!("The name can be up to {NAME_MAX} characters"),
        );
    }
    if service.is_empty() {
        errors.insert(
            "service".into(),
            "Enter the service the project belongs to".into(),
        );
    } else if too_long(&service, NAME_MAX) {
        errors.insert(
            "service".into(),
            format!("The service can be up to {NAME_MAX} characters"),
        );
    }
    if too_long(&team, NAME_MAX) {
        errors.insert(
            "team".into(),
            format!("The team can be up to {NAME_MAX} characters"),
        );
    }
    let started_on = parse_date(&fields.started_on, "Enter the date the project started")
        .map_err(|m| errors.insert("started_on".into(), m))
        .ok();
    let closed_text = fields.closed_on.clone().unwrap_or_default();
    let closed_on = if closed_text.trim().is_empty() {
        Ok(None)
    } else {
        parse_date(&closed_text, "")
            .map(Some)
            .map_err(|m| errors.insert("closed_on".into(), m))
    };
    let stage_reached = Stage::parse(&fields.stage_reached);
    if stage_reached.is_none() {
        errors.insert(
            "stage_reached".into(),
            "Choose the stage the project has reached".into(),
        );
    }
    let earliest = recorded.iter().map(|(_, d)| *d).min();
    let latest = recorded.iter().map(|(_, d)| *d).max();
    if let Some(started) = started_on {
        if let Some(first) = earliest.filter(|first| *first < started) {
            errors.insert(
                "started_on".into(),
                format!(
                    "A stage is recorded as reached on {}: the project cannot start after it",
                    long_date(first)
                ),
            );
        }
        if let Ok(Some(closed)) = closed_on {
            if closed < started {
                errors.insert(
                    "closed_on".into(),
                    "The project cannot close before it started".into(),
                );
            } else if let Some(last) = latest.filter(|last| *last > closed) {
                errors.insert(
                    "closed_on".into(),
                    format!(
                        "A stage is recorded as reached on {}: the project cannot close before it",
                        long_date(last)
                    ),
                );
            }
        }
    }
    match (started_on, closed_on, stage_reached) {
        (Some(started_on), Ok(closed_on), Some(stage_reached)) if errors.is_empty() => {
            Ok(CheckedProject {
                name,
                service,
                team,
                started_on,
                closed_on,
                stage_reached,
            })
        }
        _ => Err(errors),
    }
}

/// One stage's record as typed in the form (one fieldset per stage) or sent to the API. A record
/// with every field empty means the stage is not reached.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct StageFields {
    pub stage: String,
    /// Year-month-day.
    pub reached_on: String,
    /// none, informed, consulted, involved or co_produced.
    pub involvement_level: String,
    /// A whole number, 0 or more.
    pub suc_core_members: String,
    /// One decision per line.
    pub decisions_influenced: String,
    pub feedback_given: String,
}

impl StageFields {
    fn is_blank(&self) -> bool {
        [
            &self.reached_on,
            &self.involvement_level,
            &self.suc_core_members,
            &self.decisions_influenced,
            &self.feedback_given,
        ]
        .iter()
        .all(|f| f.trim().is_empty())
    }
}

/// A stage record once checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedStage {
    pub stage: Stage,
    pub reached_on: NaiveDate,
    pub level: Level,
    pub core_members: u32,
    pub decisions_influenced: String,
    pub feedback_given: String,
}

pub const CORE_MAX: u32 = 1_000;

/// Checks a project's stage records (all of them: stages not sent are not reached). Errors are keyed
/// `{stage}-{field}`, for example `aims-reached_on`, as the form's fields are named.
pub fn check_stages(
    started_on: NaiveDate,
    closed_on: Option<NaiveDate>,
    fields: &[StageFields],
) -> Result<Vec<CheckedStage>, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut checked: Vec<CheckedStage> = Vec::new();
    let mut seen = Vec::new();
    for f in fields.iter().filter(|f| !f.is_blank()) {
        let Some(stage) = Stage::parse(&f.stage) else {
            errors.insert(
                "stages".into(),
                format!(
                    "“{}” is not a stage: use idea, aims, understanding, ideas, testing, implementing or sharing",
                    f.stage
                ),
            );
            continue;
        };
        if seen.contains(&stage) {
            errors.insert(
                "stages".into(),
                format!("{} is sent twice: send each stage once", stage.label()),
            );
            continue;
        }
        seen.push(stage);
        let key = |field: &str| format!("{}-{field}", stage.code());
        let reached_on = parse_date(
            &f.reached_on,
            "Enter the date this stage was reached, or clear this stage if it has not been",
        )
        .map_err(|m| errors.insert(key("reached_on"), m))
        .ok();
        if let Some(date) = reached_on {
            if date < started_on {
                errors.insert(
                    key("reached_on"),
                    format!(
                        "This stage cannot be reached before the project started on {}",
                        long_date(started_on)
                    ),
                );
            } else if let Some(closed) = closed_on.filter(|closed| date > *closed) {
                errors.insert(
                    key("reached_on"),
                    format!(
                        "This stage cannot be reached after the project closed on {}",
                        long_date(closed)
                    ),
                );
            }
        }
        let level = Level::parse(&f.involvement_level);
        if level.is_none() {
            errors.insert(
                key("involvement_level"),
                "Choose how service users and carers were involved at this stage".into(),
            );
        }
        let core_members = parse_count(
            &f.suc_core_members,
            "Enter how many service users or carers were core team members, 0 if none",
            CORE_MAX,
        )
        .map_err(|m| errors.insert(key("suc_core_members"), m))
        .ok();
        for (field, text) in [
            ("decisions_influenced", &f.decisions_influenced),
            ("feedback_given", &f.feedback_given),
        ] {
            if too_long(text, TEXT_MAX) {
                errors.insert(key(field), "This can be up to 4,000 characters".into());
            }
        }
        if let (Some(reached_on), Some(level), Some(core_members)) =
            (reached_on, level, core_members)
        {
            checked.push(CheckedStage {
                stage,
                reached_on,
                level,
                core_members,
                decisions_influenced: f.decisions_influenced.trim().to_string(),
                feedback_given: f.feedback_given.trim().to_string(),
            });
        }
    }
    checked.sort_by_key(|c| c.stage);
    // Stages come in order: a later stage cannot be reached before an earlier one.
    for pair in checked.windows(2) {
        if pair[1].reached_on < pair[0].reached_on {
            errors
                .entry(format!("{}-reached_on", pair[1].stage.code()))
                .or_insert_with(|| {
                    format!(
                        "This stage comes after {}, reached on {}: it cannot be reached before it",
                        pair[0].stage.label().to_lowercase(),
                        long_date(pair[0].reached_on)
                    )
                });
        }
    }
    if errors.is_empty() {
        Ok(checked)
    } else {
        Err(errors)
    }
}

/// The rule as typed in the form or sent to the API (numbers as text, checked here).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RuleFields {
    pub meaningful_from: String,
    pub min_core_members: String,
    pub min_influences: String,
    /// Empty for no minimum level.
    pub min_level: String,
    pub target_percent: String,
}

impl From<&Rule> for RuleFields {
    fn from(rule: &Rule) -> Self {
        RuleFields {
            meaningful_from: rule.meaningful_from.code().into(),
            min_core_members: rule.min_core_members.to_string(),
            min_influences: rule.min_influences.to_string(),
            min_level: rule.min_level.map(Level::code).unwrap_or_default().into(),
            target_percent: rule.target_percent.to_string(),
        }
    }
}

pub fn check_rule(fields: &RuleFields) -> Result<Rule, FieldErrors> {
    let mut errors = FieldErrors::new();
    let meaningful_from = Stage::parse(&fields.meaningful_from);
    if meaningful_from.is_none() {
        errors.insert(
            "meaningful_from".into(),
            "Choose the stage from which involvement counts".into(),
        );
    }
    let mut count = |field: &str, text: &str, missing: &str, max: u32| {
        parse_count(text, missing, max)
            .map_err(|m| errors.insert(field.into(), m))
            .ok()
    };
    let min_core_members = count(
        "min_core_members",
        &fields.min_core_members,
        "Enter how many service users or carers must be core team members",
        CORE_MAX,
    );
    let min_influences = count(
        "min_influences",
        &fields.min_influences,
        "Enter how many decisions they must have influenced, 0 if none",
        CORE_MAX,
    );
    let target_percent = count(
        "target_percent",
        &fields.target_percent,
        "Enter the target, a percentage from 0 to 100",
        100,
    );
    let min_level = if fields.min_level.trim().is_empty() {
        Some(None)
    } else {
        Level::parse(&fields.min_level).map(Some)
    };
    if min_level.is_none() {
        errors.insert(
            "min_level".into(),
            "Choose a level of involvement, or no minimum".into(),
        );
    }
    match (
        meaningful_from,
        min_core_members,
        min_influences,
        min_level,
        target_percent,
    ) {
        (
            Some(meaningful_from),
            Some(min_core_members),
            Some(min_influences),
            Some(min_level),
            Some(target_percent),
        ) if errors.is_empty() => Ok(Rule {
            meaningful_from,
            min_core_members,
            min_influences,
            min_level,
            target_percent,
        }),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn record(stage: Stage, on: &str, core: u32, decisions: &str) -> StageRecord {
        StageRecord {
            stage,
            reached_on: day(on),
            level: Level::Involved,
            core_members: core,
            decisions_influenced: decisions.into(),
        }
    }

    #[test]
    fn meaningful_needs_a_core_member_from_aims_and_an_influence() {
        let rule = Rule::default();
        let records = vec![
            record(Stage::Idea, "2026-01-10", 2, "Chose the topic"),
            record(Stage::Aims, "2026-02-10", 0, ""),
            record(Stage::Understanding, "2026-03-10", 1, "\n  \n"),
        ];
        // Core members at the idea stage only do not count; the influence there does.
        let feb = assess(&rule, &records, day("2026-02-28"));
        assert!(!feb.meaningful);
        assert_eq!(
            feb.reasons,
            ["No stage from setting aims on had a service user or carer in the core team"]
        );
        // From March, one core member at understanding the problem.
        assert!(assess(&rule, &records, day("2026-03-10")).meaningful);
        assert!(!assess(&rule, &records, day("2026-03-09")).meaningful);
        // Without any influence recorded it is not.
        let none: Vec<_> = records
            .iter()
            .cloned()
            .map(|mut r| {
                r.decisions_influenced = " ".into();
                r
            })
            .collect();
        let a = assess(&rule, &none, day("2026-12-31"));
        assert_eq!(
            a.reasons,
            ["0 decisions influenced recorded; the rule asks for 1"]
        );
    }

    #[test]
    fn the_rule_is_configurable() {
        let records = vec![
            record(Stage::Aims, "2026-02-10", 1, "Aim wording\nMeasures"),
            StageRecord {
                level: Level::CoProduced,
                ..record(Stage::Testing, "2026-05-01", 3, "")
            },
        ];
        let strict = Rule {
            meaningful_from: Stage::Idea,
            min_core_members: 2,
            min_influences: 3,
            min_level: Some(Level::CoProduced),
            target_percent: 90,
        };
        let a = assess(&strict, &records, day("2026-12-31"));
        assert_eq!(
            a.reasons,
            ["2 decisions influenced recorded; the rule asks for 3"]
        );
        let two = Rule {
            min_influences: 2,
            ..strict
        };
        assert!(assess(&two, &records, day("2026-05-01")).meaningful);
        let april = assess(&two, &records, day("2026-04-30"));
        assert_eq!(
            april.reasons,
            [
                "No stage from idea on had 2 service users or carers in the core team",
                "No stage from idea on was co-produced or more"
            ]
        );
        // From testing on, the aims stage no longer counts for core members.
        let late = Rule {
            meaningful_from: Stage::Implementing,
            ..Rule::default()
        };
        assert!(!assess(&late, &records, day("2026-12-31")).meaningful);
        let zero = Rule {
            min_core_members: 0,
            min_influences: 0,
            ..Rule::default()
        };
        assert!(assess(&zero, &records, day("2026-02-10")).meaningful);
        assert!(
            !assess(&zero, &records, day("2026-02-09")).meaningful,
            "a stage from aims on must still be reached"
        );
    }

    #[test]
    fn active_months_include_the_start_and_close_months() {
        let start = day("2026-03-31");
        assert!(!active_in(start, None, day("2026-02-15")));
        assert!(active_in(start, None, day("2026-03-01")));
        assert!(active_in(start, Some(day("2026-05-01")), day("2026-05-20")));
        assert!(!active_in(
            start,
            Some(day("2026-05-01")),
            day("2026-06-01")
        ));
        assert_eq!(
            month_bounds(day("2028-02-10")),
            (day("2028-02-01"), day("2028-02-29"))
        );
    }

    #[test]
    fn the_series_counts_active_and_meaningful_projects_by_month() {
        let rule = Rule::default();
        let good = vec![record(Stage::Aims, "2026-08-05", 1, "Chose the measure")];
        let projects = vec![
            ProjectFacts {
                service: "Community".into(),
                started_on: day("2026-08-01"),
                closed_on: None,
                records: good.clone(),
            },
            ProjectFacts {
                service: "Community".into(),
                started_on: day("2026-08-20"),
                closed_on: Some(day("2026-09-15")),
                records: vec![],
            },
            ProjectFacts {
                service: "Addictions".into(),
                started_on: day("2026-09-01"),
                closed_on: None,
                records: vec![record(Stage::Aims, "2026-10-02", 2, "Outcome\nTiming")],
            },
        ];
        let months = series(&rule, &projects, day("2026-11-26"));
        let got: Vec<(&str, u32, u32, Option<f64>)> = months
            .iter()
            .map(|m| (m.month.as_str(), m.active, m.meaningful, m.percent))
            .collect();
        assert_eq!(
            got,
            [
                ("2026-08", 2, 1, Some(50.0)),
                ("2026-09", 3, 1, Some(100.0 / 3.0)),
                ("2026-10", 2, 2, Some(100.0)),
                ("2026-11", 2, 2, Some(100.0)),
            ]
        );
        assert_eq!(months[0].label, "August 2026");
        assert_eq!(
            summary(&rule, months.last()),
            "2 of 2 active projects (100%) met the rule in November 2026; the target is 80%."
        );
        // A gap: nothing active in a month between two projects.
        let gap = vec![
            ProjectFacts {
                closed_on: Some(day("2026-01-31")),
                started_on: day("2026-01-01"),
                ..projects[0].clone()
            },
            ProjectFacts {
                started_on: day("2026-03-01"),
                ..projects[0].clone()
            },
        ];
        let months = series(&rule, &gap, day("2026-03-01"));
        assert_eq!(months[1].active, 0);
        assert_eq!(months[1].percent, None);
        assert_eq!(
            summary(&rule, months.get(1)),
            "No projects were active in February 2026; the target is 80%."
        );
        assert!(series(&rule, &[], day("2026-03-01")).is_empty());
    }

    #[test]
    fn dates_and_counts_get_clear_messages() {
        assert_eq!(parse_date("2026-03-01", "m"), Ok(day("2026-03-01")));
        assert_eq!(parse_date(" ", "missing"), Err("missing".into()));
        assert_eq!(
            parse_date("2026-13-01", "m"),
            Err("Enter a real date, for example 27 3 2026: check the month and the day".into())
        );
        // Written as in the UK, like every staff date.
        assert_eq!(parse_date("1/3/2026", "m"), Ok(day("2026-03-01")));
        assert!(parse_date("1890-01-01", "m").is_err());
        assert_eq!(parse_count("3", "m", 10), Ok(3));
        assert_eq!(
            parse_count("-1", "m", 10),
            Err("The number cannot be negative".into())
        );
        assert!(parse_count("two", "m", 10).is_err());
        assert!(parse_count("11", "m", 10).is_err());
        assert_eq!(influences("a\n\n b \n"), 2);
    }

    #[test]
    fn projects_are_checked() {
        let fields = ProjectFields {
            name: " Safer discharge ".into(),
            service: "Community".into(),
            team: String::new(),
            started_on: "2026-03-01".into(),
            closed_on: Some(String::new()),
            stage_reached: "aims".into(),
        };
        let project = check_project(&fields, &[]).unwrap();
        assert_eq!(project.name, "Safer discharge");
        assert_eq!(project.closed_on, None);
        let bad = ProjectFields {
            name: String::new(),
            started_on: "2026-13-01".into(),
            closed_on: Some("2026-02-30".into()),
            stage_reached: "finished".into(),
            ..fields.clone()
        };
        let errors = check_project(&bad, &[]).unwrap_err();
        assert_eq!(
            errors.keys().collect::<Vec<_>>(),
            ["closed_on", "name", "stage_reached", "started_on"]
        );
        let early_close = ProjectFields {
            closed_on: Some("2026-02-01".into()),
            ..fields.clone()
        };
        assert_eq!(
            check_project(&early_close, &[]).unwrap_err()["closed_on"],
            "The project cannot close before it started"
        );
        let late_start = ProjectFields {
            started_on: "2026-04-01".into(),
            ..fields.clone()
        };
        assert!(
            check_project(&late_start, &[(Stage::Aims, day("2026-03-15"))])
                .unwrap_err()
                .contains_key("started_on")
        );
    }

    #[test]
    fn stage_records_are_checked() {
        let stage = |stage: &str, on: &str, level: &str, core: &str| StageFields {
            stage: stage.into(),
            reached_on: on.into(),
            involvement_level: level.into(),
            suc_core_members: core.into(),
            ..StageFields::default()
        };
        let start = day("2026-03-01");
        let ok = check_stages(
            start,
            None,
            &[
                stage("understanding", "2026-04-01", "consulted", "0"),
                stage("aims", "2026-03-01", "co_produced", "2"),
                StageFields {
                    stage: "testing".into(),
                    ..StageFields::default()
                },
            ],
        )
        .unwrap();
        assert_eq!(ok.len(), 2, "a blank stage is not reached");
        assert_eq!(ok[0].stage, Stage::Aims);
        assert_eq!(ok[0].level, Level::CoProduced);

        let errors = check_stages(
            start,
            Some(day("2026-06-30")),
            &[
                stage("idea", "2026-02-01", "informed", "-1"),
                stage("aims", "2026-13-01", "", "1"),
                stage("testing", "2026-07-01", "involved", "1"),
                StageFields {
                    stage: "sharing".into(),
                    feedback_given: "Told the group".into(),
                    ..StageFields::default()
                },
            ],
        )
        .unwrap_err();
        assert_eq!(
            errors["idea-reached_on"],
            "This stage cannot be reached before the project started on 1 March 2026"
        );
        assert_eq!(
            errors["idea-suc_core_members"],
            "The number cannot be negative"
        );
        assert!(errors["aims-reached_on"].contains("Enter a real date"));
        assert!(errors.contains_key("aims-involvement_level"));
        assert!(errors["testing-reached_on"].contains("after the project closed"));
        assert!(errors["sharing-reached_on"].starts_with("Enter the date"));

        let backwards = check_stages(
            start,
            None,
            &[
                stage("aims", "2026-05-01", "involved", "1"),
                stage("ideas", "2026-04-01", "involved", "1"),
            ],
        )
        .unwrap_err();
        assert_eq!(
            backwards["ideas-reached_on"],
            "This stage comes after setting aims, reached on 1 May 2026: it cannot be reached before it"
        );
        let unknown = check_stages(
            start,
            None,
            &[stage("launch", "2026-05-01", "involved", "1")],
        )
        .unwrap_err();
        assert!(unknown.contains_key("stages"));
    }

    #[test]
    fn rules_are_checked() {
        let rule = check_rule(&RuleFields::from(&Rule::default())).unwrap();
        assert_eq!(rule, Rule::default());
        let errors = check_rule(&RuleFields {
            meaningful_from: "later".into(),
            min_core_members: "-2".into(),
            min_influences: String::new(),
            min_level: "loud".into(),
            target_percent: "120".into(),
        })
        .unwrap_err();
        assert_eq!(
            errors.keys().collect::<Vec<_>>(),
            [
                "meaningful_from",
                "min_core_members",
                "min_influences",
                "min_level",
                "target_percent"
            ]
        );
    }
}
