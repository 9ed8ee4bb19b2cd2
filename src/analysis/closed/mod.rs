//! Closed questions: counts and percentages per option, overall and per group, Likert distributions
//! ready for a diverging stacked bar, and the response funnel; small counts suppressed in shared
//! outputs. Tables only here: the SVG charts (`crate::analysis::charts`) draw from the same figures.

pub mod actions;
pub mod api;
pub mod handlers;
pub mod queries;
pub mod rules;
