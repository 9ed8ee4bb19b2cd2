//! Running the service: the health check, backups, the outbox and the audit log for administrators.

pub mod audit_log;
pub mod backup;
pub mod health;
pub mod outbox;
pub mod subject_access;
