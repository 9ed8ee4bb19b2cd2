//! The history of every question and section: who changed what, when and why, shown as a word-level
//! diff, and any earlier version restored as a new change. Revisions are written by the questionnaire
//! actions, in the same transaction as the change they describe.

pub mod actions;
pub mod api;
pub mod diff;
pub mod handlers;
pub mod queries;
pub mod rules;
