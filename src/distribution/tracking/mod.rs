//! Tracking: who a campaign has reached, who started and who finished, as counts, a funnel, a CSV of
//! codes and statuses, and one participant's timeline.

pub mod handlers;
pub mod queries;
pub mod rules;
