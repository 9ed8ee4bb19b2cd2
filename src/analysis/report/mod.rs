//! The learning report: a printable page to share what the study found (participation, COM-B
//! barriers and enablers with approved, consented quotes, closed questions, involvement against the
//! target, and methods), with small counts hidden. And the leads' approval of quotes for it.

pub mod actions;
pub mod api;
pub mod handlers;
pub mod queries;
pub mod rules;
