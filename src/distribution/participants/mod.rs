//! The roster: participants with pseudonymous codes and research attributes, and their identities,
//! seen only by leads.

pub mod rules;
