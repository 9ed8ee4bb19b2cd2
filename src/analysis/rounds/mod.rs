//! Double coding: a lead gives the same sources to two coders, who code them blind; agreement per
//! code and overall (percentage and Cohen's kappa, by character or by whole answer), the
//! disagreements side by side, and a recorded consensus copied into the study's coding.

pub mod actions;
pub mod api;
pub mod handlers;
pub mod queries;
