//! Participant information and consent, per questionnaire: the layered information sheet, the consent
//! statements, the withdrawal rule, data retention, contact details and signposting. Edited by the
//! co-design group; frozen with the questions when a version is published.

pub mod actions;
pub mod api;
pub mod handlers;
pub mod queries;
pub mod rules;
