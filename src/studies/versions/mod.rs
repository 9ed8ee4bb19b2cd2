//! Sign-off and published versions: a questionnaire moves draft → pilot → published; the members the
//! lead names sign off the exact draft; publishing freezes an immutable, hashed snapshot vN of it.

pub mod actions;
pub mod api;
pub mod cache;
pub mod handlers;
pub mod queries;
pub mod rules;
