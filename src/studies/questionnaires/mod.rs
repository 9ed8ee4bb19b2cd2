//! Questionnaires (interview topic guides): ordered sections and questions with audience wordings,
//! probes, COM-B/TDF tags and conditions, edited by the co-design group.

pub mod actions;
pub mod api;
pub mod handlers;
pub mod history;
pub mod queries;
pub mod rules;
pub mod suggestions;
