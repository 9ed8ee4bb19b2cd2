//! The involvement tracker: a register of improvement projects, how service users and carers took
//! part at each stage, a configurable rule for "meaningful", and the monthly run chart against the
//! target.

pub mod actions;
pub mod api;
pub mod handlers;
pub mod queries;
pub mod rules;
