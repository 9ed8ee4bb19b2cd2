//! Running the service: the health check, the outbox and the audit log for administrators.

pub mod audit_log;
pub mod health;
pub mod outbox;
