//! The outbox for administrators: how many emails are where, failures, and sending again.

pub mod api;
pub mod handlers;
