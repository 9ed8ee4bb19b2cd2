//! Exporting a questionnaire as a documented JSON file (docs/questionnaire-format.md) and importing such
//! a file as a new draft, checked with the editor's rules first.

pub mod actions;
pub mod api;
pub mod handlers;
pub mod rules;
