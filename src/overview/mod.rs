//! What to do next: the study page's task list, from an empty study to a shared report, and what waits
//! for each person across their studies. It reads every other task's tables, so it sits after them.

pub mod actions;
pub mod api;
pub mod handlers;
pub mod queries;
pub mod rules;
