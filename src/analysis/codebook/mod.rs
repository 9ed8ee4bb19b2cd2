//! Each study's codebook: hierarchical codes seeded with the six COM-B sub-components, mapped to TDF
//! domains, with inductive (emergent) codes beside them; every change a numbered version.

pub mod actions;
pub mod api;
pub mod handlers;
pub mod queries;
pub mod rules;
