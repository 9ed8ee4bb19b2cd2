//! Memos: what leads and analysts think as they analyse, written about the study, a code, a coded
//! passage or a participant's response. Everyone analysing reads them all; the author or a lead
//! changes or removes one.

pub mod actions;
pub mod api;
pub mod handlers;
pub mod queries;
pub mod rules;
