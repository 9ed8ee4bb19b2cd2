//! The audit log for administrators (the whole site) and for a study's leads (that study's trail):
//! who changed what and who looked at personal data, filtered, paged by event id, and as CSV.

pub mod actions;
pub mod api;
pub mod handlers;
pub mod queries;
pub mod rules;
