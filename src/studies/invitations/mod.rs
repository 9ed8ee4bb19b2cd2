//! Inviting people to a study: they become members only when they accept.

pub mod actions;
pub mod api;
pub mod handlers;
pub mod queries;
pub mod rules;
