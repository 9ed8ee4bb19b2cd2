//! What a reviewer asks of the audit log: which events (person, study, kind, dates), where in the list
//! (keyset: older or newer than an event), and the CSV columns.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use crate::audit::AuditEvent;
use crate::distribution::csv_cell;
use crate::error::FieldErrors;

/// The filters as typed into the form or the query string. Text, so that a wrong value gets a message
/// beside its field and is shown again, rather than a bare 400.
#[derive(Debug, Clone, Default, Deserialize, Serialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FilterInput {
    /// Only events by this person (account id).
    #[serde(default)]
    pub person: String,
    /// Only events belonging to this study (id). Ignored on a study's own trail.
    #[serde(default)]
    pub study: String,
    /// Only events of this kind, e.g. `participant_identity_viewed`.
    #[serde(default)]
    pub action: String,
    /// Only events on or after this day (UTC), `YYYY-MM-DD`.
    #[serde(default)]
    pub from: String,
    /// Only events on or before this day (UTC), `YYYY-MM-DD`.
    #[serde(default)]
    pub to: String,
    /// Events older than this event id (the next page: the last id received).
    #[serde(default)]
    pub before: String,
    /// Events newer than this event id (the page before).
    #[serde(default)]
    pub after: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub actor: Option<i64>,
    pub study: Option<i64>,
    pub action: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

/// Where a page starts. Pages go by event id, never by counting rows from the top, so the thousandth
/// page costs what the first does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    Newest,
    OlderThan(i64),
    NewerThan(i64),
}

fn id(text: &str) -> Result<Option<i64>, ()> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<i64>().map(Some).map_err(|_| ())
}

fn day(text: &str) -> Result<Option<NaiveDate>, ()> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    crate::web::dates::parse_day(text).map(Some).ok_or(())
}

/// The value, or nothing with `message` noted against `field`.
fn checked<T>(
    errors: &mut FieldErrors,
    field: &str,
    result: Result<Option<T>, ()>,
    message: &str,
) -> Option<T> {
    result.unwrap_or_else(|()| {
        errors.insert(field.into(), message.into());
        None
    })
}

impl FilterInput {
    /// The filter and the page asked for, or a message for each field that is wrong.
    pub fn parse(&self) -> Result<(Filter, Cursor), FieldErrors> {
        let mut errors = FieldErrors::new();
        let actor = checked(
            &mut errors,
            "person",
            id(&self.person),
            "Choose a person from the list",
        );
        let study = checked(
            &mut errors,
            "study",
            id(&self.study),
            "Choose a study from the list",
        );
        let from = checked(
            &mut errors,
            "from",
            day(&self.from),
            "Enter the first day as a date, for example 7 12 2026",
        );
        let to = checked(
            &mut errors,
            "to",
            day(&self.to),
            "Enter the last day as a date, for example 31 12 2026",
        );
        let before = checked(
            &mut errors,
            "before",
            id(&self.before),
            "This page link is not right",
        );
        let after = checked(
            &mut errors,
            "after",
            id(&self.after),
            "This page link is not right",
        );
        if let (Some(from), Some(to)) = (from, to) {
            if to < from {
                errors.insert(
                    "to".into(),
                    "The last day must be the same as or after the first day".into(),
                );
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let action = Some(self.action.trim().to_string()).filter(|a| !a.is_empty());
        let cursor = match (before, after) {
            (Some(id), _) => Cursor::OlderThan(id),
            (None, Some(id)) => Cursor::NewerThan(id),
            (None, None) => Cursor::Newest,
        };
        Ok((
            Filter {
                actor,
                study,
                action,
                from,
                to,
            },
            cursor,
        ))
    }

    /// The filters (not the page) as a query string, for page links, the CSV link and the audit record.
    pub fn query_string(&self) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(
                [
                    ("person", &self.person),
                    ("study", &self.study),
                    ("action", &self.action),
                    ("from", &self.from),
                    ("to", &self.to),
                ]
                .into_iter()
                .map(|(name, value)| (name, value.trim()))
                .filter(|(_, value)| !value.is_empty()),
            )
            .finish()
    }

    pub fn is_filtered(&self) -> bool {
        !self.query_string().is_empty()
    }
}

/// The CSV's columns. People appear by account id only: a CSV travels further than the page does.
pub const CSV_HEADER: [&str; 10] = [
    "id",
    "occurred_at_utc",
    "actor_user_id",
    "action",
    "object_type",
    "object_id",
    "study_id",
    "ip_address",
    "request_id",
    "details",
];

/// One event as a CSV row, every text cell made safe to open in a spreadsheet.
pub fn csv_row(event: &AuditEvent) -> [String; 10] {
    let text = |value: &Option<String>| csv_cell(value.as_deref().unwrap_or("")).into_owned();
    let number = |value: Option<i64>| value.map(|v| v.to_string()).unwrap_or_default();
    [
        event.id.to_string(),
        event.occurred_at.format("%Y-%m-%d %H:%M:%S").to_string(),
        number(event.actor_user_id),
        csv_cell(&event.action).into_owned(),
        csv_cell(&event.object_type).into_owned(),
        text(&event.object_id),
        number(event.study_id),
        text(&event.ip_address),
        text(&event.request_id),
        csv_cell(&event.details).into_owned(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(pairs: &[(&str, &str)]) -> FilterInput {
        serde_urlencoded::from_str(&serde_urlencoded::to_string(pairs).unwrap()).unwrap()
    }

    #[test]
    fn filters_parse_and_bad_ones_get_a_message_each() {
        let (filter, cursor) = input(&[
            ("person", "4"),
            ("action", "signed_in"),
            ("from", "2026-12-01"),
            ("before", "90"),
        ])
        .parse()
        .unwrap();
        assert_eq!(filter.actor, Some(4));
        assert_eq!(filter.action.as_deref(), Some("signed_in"));
        assert_eq!(filter.from, NaiveDate::from_ymd_opt(2026, 12, 1));
        assert_eq!(cursor, Cursor::OlderThan(90));
        assert_eq!(
            input(&[]).parse().unwrap(),
            (Filter::default(), Cursor::Newest)
        );

        let errors = input(&[("person", "x"), ("from", "7/13/2026"), ("after", "?")])
            .parse()
            .unwrap_err();
        assert_eq!(
            errors.keys().collect::<Vec<_>>(),
            ["after", "from", "person"]
        );
        let errors = input(&[("from", "2026-12-07"), ("to", "2026-12-01")])
            .parse()
            .unwrap_err();
        assert!(errors["to"].contains("after the first day"));
    }

    #[test]
    fn the_query_string_keeps_filters_and_drops_the_page() {
        let typed = input(&[("action", "a&b"), ("before", "5"), ("to", "2026-12-07")]);
        assert_eq!(typed.query_string(), "action=a%26b&to=2026-12-07");
        assert!(typed.is_filtered());
        assert!(!input(&[("after", "3")]).is_filtered());
    }
}
