//! Closed questions: counts and percentages per option, overall and per group, Likert distributions
//! ready for a diverging stacked bar, and the response funnel; small counts suppressed in shared
//! outputs; and their charts (`figures`, drawn with `crate::analysis::charts` from the same counts).

pub mod actions;
pub mod api;
pub mod figures;
pub mod handlers;
pub mod queries;
pub mod rules;
