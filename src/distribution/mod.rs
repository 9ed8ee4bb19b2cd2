//! Distribution: the study's roster of participants (pseudonymous research records, identities kept
//! apart), email campaigns with reminders, participant links and opt-out, and tracking who has been
//! reached, started and finished.

pub mod campaigns;
mod csv_export;
pub mod links;
pub mod participants;
pub mod tracking;

pub use csv_export::csv_cell;
