-- Adding someone to a study invites them: they become a member only when they accept. The lead sees the
-- name they typed (invited_name) until then, never the account's own name, so the answer to "add this
-- address" is the same whether or not the address has an account.
CREATE TABLE study_invitations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    study_id INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    invited_name TEXT NOT NULL,
    is_lead BOOLEAN NOT NULL,
    is_co_designer BOOLEAN NOT NULL,
    is_interviewer BOOLEAN NOT NULL,
    is_analyst BOOLEAN NOT NULL,
    perspective TEXT NOT NULL,
    invited_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (study_id, user_id)
);
CREATE INDEX study_invitations_user ON study_invitations (user_id);
-- Invitations sent in the last hour are counted from the audit log, per person and for the whole site.
CREATE INDEX audit_events_action_time ON audit_events (action, occurred_at);
