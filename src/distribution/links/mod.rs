//! Participant links: `BASE/p/<token>` to take part, `BASE/o/<token>` to stop emails, open links for
//! posters; and the lead's reissuing of a link. Tokens are 256 bits and only their hashes are stored.

pub mod actions;
pub mod api;
pub mod handlers;
pub mod queries;
