//! Both databases keep timestamps in UTC without an offset (`Timestamp`), so a bare `NaiveDateTime`
//! would leave as `2026-12-06T22:01:25.651523`, which no client can place in time and which is not the
//! RFC 3339 `date-time` the OpenAPI document promises. Fields sent as JSON say so with
//! `#[serde(with = "crate::db::utc")]` (or `utc::option`): `2026-12-06T22:01:25.651523Z`.
//!
//! Reading accepts any RFC 3339 offset (converted to UTC) and, for JSON written before this existed
//! (sign-offs kept inside published versions), the bare form, which was always UTC.

use chrono::{DateTime, NaiveDateTime, SecondsFormat};
use serde::{Deserialize, Deserializer, Serializer};

pub fn serialize<S: Serializer>(at: &NaiveDateTime, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format(at))
}

pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NaiveDateTime, D::Error> {
    read(&String::deserialize(deserializer)?)
}

fn read<E: serde::de::Error>(text: &str) -> Result<NaiveDateTime, E> {
    parse(text).ok_or_else(|| {
        E::custom(format!(
            "{text:?} is not a date and time like 2026-12-06T22:01:25Z"
        ))
    })
}

/// RFC 3339 in UTC with `Z`, with as many fractional digits as the value needs (none, 3, 6 or 9).
pub fn format(at: &NaiveDateTime) -> String {
    at.and_utc().to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A timestamp in RFC 3339 (any offset, kept as UTC), or the bare UTC form older JSON holds.
pub fn parse(text: &str) -> Option<NaiveDateTime> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.naive_utc())
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f"))
        .ok()
}

/// The same for `Option<NaiveDateTime>`: `null` when absent.
pub mod option {
    use chrono::NaiveDateTime;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        at: &Option<NaiveDateTime>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => super::serialize(at, serializer),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<NaiveDateTime>, D::Error> {
        Option::<String>::deserialize(deserializer)?
            .map(|text| super::read(&text))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sent_as_rfc_3339_in_utc_and_read_back_in_either_form() {
        let at = parse("2026-12-06T22:01:25.651523").unwrap();
        assert_eq!(format(&at), "2026-12-06T22:01:25.651523Z");
        assert_eq!(parse("2026-12-06T22:01:25.651523Z"), Some(at));
        assert_eq!(parse("2026-12-06T23:01:25.651523+01:00"), Some(at));
        let whole = parse("2026-12-06T22:01:25").unwrap();
        assert_eq!(format(&whole), "2026-12-06T22:01:25Z");
        assert_eq!(parse("6 December"), None);
    }
}
