//! The roster: participants with pseudonymous codes and research attributes, and their identities,
//! seen only by leads.

pub mod actions;
pub mod api;
pub mod forms;
pub mod handlers;
pub mod import;
pub mod queries;
pub mod rules;
