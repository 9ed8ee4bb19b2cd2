//! Comment threads on questions and sections: how the co-design group drafts together. Every study
//! member may start a thread and reply; the thread's author, a lead or a co-designer resolves and reopens it.

pub mod actions;
pub mod api;
pub mod handlers;
pub mod queries;
pub mod rules;
