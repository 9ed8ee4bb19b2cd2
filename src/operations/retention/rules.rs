//! Retention schedules: how long each kind of data is kept after a study closes, the bounds a lead may
//! set them within, and when each kind falls due. Pure: no storage, no HTTP.

use chrono::{Months, NaiveDateTime};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::analysis::tracker::rules::parse_count;
use crate::error::FieldErrors;

/// A study's schedule, in months after the study closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Schedule {
    /// Names and contact details (the roster's identities).
    pub identities_months: u32,
    /// Answers given online, and the codings of them.
    pub responses_months: u32,
    /// Interview notes, quick notes, corrections and field notes, and the codings of them.
    pub interview_notes_months: u32,
    /// Each consent decision, with the statements as worded. Never shorter than the two above.
    pub consent_months: u32,
    /// The study's entries in the audit log (removed by the operator: see the README).
    pub audit_months: u32,
}

/// The defaults we chose (the README's "Retention" says why): contact details a year, pseudonymised
/// research data five years, consent a year longer than the data it allowed, the audit log six years.
pub const DEFAULT: Schedule = Schedule {
    identities_months: 12,
    responses_months: 60,
    interview_notes_months: 60,
    consent_months: 72,
    audit_months: 72,
};

/// Contact details: at least a month (to finish follow-ups), at most ten years.
const IDENTITIES: (u32, u32) = (1, 120);
/// Research data, consent and the audit log: at least a year, at most 25 years (the period clinical
/// trial records are commonly kept for; nothing here needs longer).
const RECORDS: (u32, u32) = (12, 300);

/// The schedule as typed in the form or sent to the API (numbers as text, checked here).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ScheduleFields {
    pub identities_months: String,
    pub responses_months: String,
    pub interview_notes_months: String,
    pub consent_months: String,
    pub audit_months: String,
}

impl From<&Schedule> for ScheduleFields {
    fn from(s: &Schedule) -> Self {
        ScheduleFields {
            identities_months: s.identities_months.to_string(),
            responses_months: s.responses_months.to_string(),
            interview_notes_months: s.interview_notes_months.to_string(),
            consent_months: s.consent_months.to_string(),
            audit_months: s.audit_months.to_string(),
        }
    }
}

fn months(
    errors: &mut FieldErrors,
    field: &str,
    text: &str,
    what: &str,
    (min, max): (u32, u32),
) -> u32 {
    let missing = format!("Enter how many months to keep {what}");
    match parse_count(text, &missing, max) {
        Ok(n) if n >= min => n,
        Ok(_) => {
            errors.insert(
                field.into(),
                format!(
                    "Keep {what} for at least {min} month{}",
                    if min == 1 { "" } else { "s" }
                ),
            );
            0
        }
        Err(message) => {
            errors.insert(field.into(), message);
            0
        }
    }
}

/// Checks a schedule: each period within its bounds, consent records kept at least as long as the
/// answers and interview notes they allowed.
pub fn check(fields: &ScheduleFields) -> Result<Schedule, FieldErrors> {
    let mut errors = FieldErrors::new();
    let schedule = Schedule {
        identities_months: months(
            &mut errors,
            "identities_months",
            &fields.identities_months,
            "names and contact details",
            IDENTITIES,
        ),
        responses_months: months(
            &mut errors,
            "responses_months",
            &fields.responses_months,
            "answers",
            RECORDS,
        ),
        interview_notes_months: months(
            &mut errors,
            "interview_notes_months",
            &fields.interview_notes_months,
            "interview notes",
            RECORDS,
        ),
        consent_months: months(
            &mut errors,
            "consent_months",
            &fields.consent_months,
            "consent records",
            RECORDS,
        ),
        audit_months: months(
            &mut errors,
            "audit_months",
            &fields.audit_months,
            "the audit log",
            RECORDS,
        ),
    };
    let longest_data = schedule
        .responses_months
        .max(schedule.interview_notes_months);
    if !errors.contains_key("consent_months") && schedule.consent_months < longest_data {
        errors.insert(
            "consent_months".into(),
            format!(
                "Keep consent records at least as long as the answers and interview notes they allowed: {longest_data} months or more"
            ),
        );
    }
    if errors.is_empty() {
        Ok(schedule)
    } else {
        Err(errors)
    }
}

/// The kinds of data a purge deletes, in the order the page lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Identities,
    Responses,
    InterviewNotes,
    ConsentRecords,
}

impl Kind {
    pub const ALL: [Kind; 4] = [
        Kind::Identities,
        Kind::Responses,
        Kind::InterviewNotes,
        Kind::ConsentRecords,
    ];

    pub fn months(self, schedule: &Schedule) -> u32 {
        match self {
            Kind::Identities => schedule.identities_months,
            Kind::Responses => schedule.responses_months,
            Kind::InterviewNotes => schedule.interview_notes_months,
            Kind::ConsentRecords => schedule.consent_months,
        }
    }
}

/// When data kept for `months` after a study closed at `closed_at` falls due for deletion.
pub fn due_at(closed_at: NaiveDateTime, months: u32) -> NaiveDateTime {
    closed_at
        .checked_add_months(Months::new(months))
        .unwrap_or(NaiveDateTime::MAX)
}

/// Whether that kind is due at `now`.
pub fn is_due(
    schedule: &Schedule,
    kind: Kind,
    closed_at: NaiveDateTime,
    now: NaiveDateTime,
) -> bool {
    now >= due_at(closed_at, kind.months(schedule))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(values: [&str; 5]) -> ScheduleFields {
        ScheduleFields {
            identities_months: values[0].into(),
            responses_months: values[1].into(),
            interview_notes_months: values[2].into(),
            consent_months: values[3].into(),
            audit_months: values[4].into(),
        }
    }

    #[test]
    fn the_defaults_pass_their_own_check() {
        assert_eq!(check(&ScheduleFields::from(&DEFAULT)), Ok(DEFAULT));
    }

    #[test]
    fn consent_may_not_be_dropped_before_the_data_it_allowed() {
        let errors = check(&fields(["12", "60", "84", "72", "72"])).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert!(errors["consent_months"].contains("84 months or more"));
    }

    #[test]
    fn each_period_has_bounds_and_a_message_of_its_own() {
        let errors = check(&fields(["0", "6", "x", "", "301"])).unwrap_err();
        assert!(errors["identities_months"].contains("at least 1 month"));
        assert!(errors["responses_months"].contains("at least 12 months"));
        assert!(errors["interview_notes_months"].contains("whole number"));
        assert!(errors["consent_months"].contains("Enter how many months"));
        assert!(errors["audit_months"].contains("up to 300"));
    }

    #[test]
    fn a_kind_falls_due_on_the_same_day_of_the_month_its_months_later() {
        let closed = chrono::NaiveDate::from_ymd_opt(2026, 1, 31)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap();
        // 31 January plus a month is the last day of February.
        assert_eq!(due_at(closed, 1).date().to_string(), "2026-02-28");
        let schedule = DEFAULT;
        let a_year_on = due_at(closed, 12);
        assert!(is_due(&schedule, Kind::Identities, closed, a_year_on));
        assert!(!is_due(&schedule, Kind::Responses, closed, a_year_on));
        assert!(!is_due(
            &schedule,
            Kind::Identities,
            closed,
            a_year_on - chrono::Duration::seconds(1)
        ));
    }
}
