//! Distribution: the study's roster of participants (pseudonymous research records, identities kept
//! apart), email campaigns with reminders, participant links and opt-out, and tracking who has been
//! reached, started and finished.

pub mod campaigns;
pub mod links;
pub mod participants;
pub mod tracking;

use std::borrow::Cow;

/// A cell for a CSV file people open in a spreadsheet: text that starts like a formula (`= + - @`, or a
/// tab or carriage return) gets a leading apostrophe, so it is shown, never run.
pub fn csv_cell(text: &str) -> Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}
