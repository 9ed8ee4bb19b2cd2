//! Running the service: the health check and metrics, backups, the outbox and the audit log for administrators;
//! subject access and retention schedules for a study's leads.

pub mod audit_log;
pub mod backup;
pub mod check;
pub mod health;
pub mod metrics;
pub mod outbox;
pub mod retention;
pub mod subject_access;
pub mod upgrade;
