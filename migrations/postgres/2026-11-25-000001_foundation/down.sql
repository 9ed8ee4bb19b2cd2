DROP TRIGGER audit_events_no_change ON audit_events;
DROP FUNCTION audit_events_append_only();
DROP TABLE audit_events;
DROP TABLE login_failures;
DROP TABLE email_tokens;
DROP TABLE api_tokens;
DROP TABLE users;
