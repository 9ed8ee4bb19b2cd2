//! Retention schedules: how long a study keeps identities, answers, interview notes, consent records
//! and its audit entries after it closes. A daily check lists what falls due; a lead reviews the list
//! (a dry run) and approves it; only then is exactly that list deleted, in one transaction, audited.

pub mod actions;
pub mod api;
pub mod handlers;
pub mod queries;
pub mod rules;
pub mod schedule;
