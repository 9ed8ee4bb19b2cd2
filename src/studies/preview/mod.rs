//! Previewing a questionnaire (the draft or a published version) as a staff member, a service user, a
//! carer or in easy read would meet it, and as the interviewer's printable guide.

pub mod actions;
pub mod api;
pub mod handlers;
pub mod rules;
