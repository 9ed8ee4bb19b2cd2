//! Belief statements: per code, what participants believe in their own voice ("I am confident I
//! can speak up in meetings"), each linked to the coded passages that support it.

pub mod actions;
pub mod api;
pub mod handlers;
pub mod queries;
pub mod rules;
