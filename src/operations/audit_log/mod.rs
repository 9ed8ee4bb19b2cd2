//! The audit log for administrators: who changed what, and who looked at personal data.

pub mod api;
pub mod handlers;
