//! Studies: their members and study roles (lead, co-designer, interviewer, analyst), and the balance of
//! staff and service-user and carer advisors in the co-design group.

pub mod access;
pub mod actions;
pub mod api;
pub mod comments;
pub mod consent;
pub mod forms;
pub mod handlers;
pub mod invitations;
pub mod plain_language;
pub mod preview;
pub mod queries;
pub mod questionnaires;
pub mod rules;
pub mod transfer;
pub mod versions;
