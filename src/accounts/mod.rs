//! Accounts: people who sign in, their passwords, personal access tokens, invitations and roles; and
//! setting Voices up (the first administrator, the organisation's details, a test email).

pub mod actions;
pub mod admin;
pub mod api;
pub mod forms;
pub mod handlers;
pub mod held_forms;
pub mod passwords;
pub mod queries;
pub mod rules;
pub mod setup;
pub mod sso;
pub mod two_factor;
