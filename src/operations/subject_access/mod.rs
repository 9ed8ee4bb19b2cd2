//! Subject access: everything Voices holds about one participant, for the study's lead to give them
//! (UK GDPR article 15) as a page to print and a JSON file: who they are, what they agreed to and the
//! words they agreed with, their answers, interview notes about them, the codes their words were given,
//! and every email, visit and milestone. Assembled from each task's own queries; reading it is audited.

pub mod actions;
pub mod api;
pub mod handlers;
pub mod queries;
