//! Coding: analysts read sent answers and interview notes by question or by participant, under
//! pseudonyms, and code passages with the codebook's codes, each with a valence.

pub mod actions;
pub mod api;
pub mod handlers;
pub mod queries;
pub mod rules;
