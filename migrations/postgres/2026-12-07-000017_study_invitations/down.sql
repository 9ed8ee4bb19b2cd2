DROP INDEX audit_events_action_time;
DROP TABLE study_invitations;
