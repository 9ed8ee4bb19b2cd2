//! Exports that other tools read, pseudonymised: responses as CSV (wide or long) and JSON, with
//! labels or codes; the codebook as CSV and as a REFI-QDA codebook; and the study's coding as a
//! REFI-QDA project (`.qdpx`) and as coded passages (CSV). The big files are sent as they are written.

pub mod actions;
pub mod api;
pub mod coded;
pub mod handlers;
pub mod queries;
pub mod refi;
pub mod rules;
pub mod stream;
