//! Campaigns: a published questionnaire version sent to part of the roster, with invitation and
//! reminder emails written as templates by the co-design group.

pub mod actions;
pub mod api;
pub mod compose;
pub mod handlers;
pub mod queries;
pub mod rules;
pub mod schedule;
