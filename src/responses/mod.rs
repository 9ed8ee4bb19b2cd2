//! Taking part online: information, consent statement by statement, answering page by page with save
//! and resume, review and send, withdrawal; and the team's read-only view of responses and consent.

pub mod actions;
pub mod api;
pub mod handlers;
pub mod queries;
pub mod rules;
pub mod views;
