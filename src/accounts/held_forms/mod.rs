//! Forms kept across a timed-out session: someone who sends a form just after being signed out for
//! inactivity signs in again and sends it then, instead of typing it again.

pub mod actions;
pub mod handlers;
pub mod queries;

/// How long a kept form waits for its person to sign in again.
pub const KEEP_HOURS: i64 = 2;

/// The path a kept form is resumed at; the sign-in page recognises it to explain what happened.
pub const RESUME_PREFIX: &str = "/account/resume/";
