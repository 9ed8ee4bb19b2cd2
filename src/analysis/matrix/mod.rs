//! The framework matrix: participants or groups against COM-B sub-components (or codes), split into
//! barriers and enablers, with counts, written summaries and the quotes behind them; and the tables
//! beside it (COM-B × valence × group, code co-occurrence).

pub mod actions;
pub mod api;
pub mod handlers;
pub mod queries;
pub mod rules;
