//! Interviews: a lead assigns a participant's interview; the interviewer records verbal consent, takes
//! notes question by question in a live guide that never loses a keystroke, pauses for distress, and
//! closes with field notes. The notes are the participant's response with mode `interview`.

pub mod actions;
pub mod api;
pub mod handlers;
pub mod queries;
pub mod rules;
pub mod views;
