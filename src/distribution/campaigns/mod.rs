//! Campaigns: a published questionnaire version sent to part of the roster, with invitation and
//! reminder emails written as templates by the co-design group.

pub mod compose;
