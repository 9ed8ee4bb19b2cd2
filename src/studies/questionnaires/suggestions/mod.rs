//! Suggestion mode: a co-designer proposes a change to a question or section instead of making it; a
//! lead or the object's author accepts it (an ordinary save, with the same checks and a revision that
//! credits the suggester) or rejects it, and the suggester may withdraw it.

pub mod actions;
pub mod api;
pub mod handlers;
pub mod queries;
pub mod rules;
