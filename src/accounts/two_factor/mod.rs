//! Two-step sign-in with an authenticator app (TOTP) and single-use recovery codes.

pub mod actions;
pub mod api;
pub mod handlers;
pub mod queries;
pub mod rules;
