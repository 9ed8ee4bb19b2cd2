DROP INDEX audit_events_action_id;
DROP INDEX audit_events_actor;
DROP INDEX audit_events_study;
ALTER TABLE audit_events DROP COLUMN study_id;
