//! Exports that other tools read, pseudonymised: responses as CSV (wide or long) and JSON, with
//! labels or codes; the codebook as CSV and as a REFI-QDA codebook; and the REFI-QDA project writer
//! (`.qdpx`) the coding exports build on.

pub mod actions;
pub mod api;
pub mod handlers;
pub mod queries;
pub mod refi;
pub mod rules;
