-- Signed-in sessions live on the server: the cookie carries a random secret, stored here only as its
-- SHA-256 hash, so signing out (or an administrator deactivating someone) really ends a session.
CREATE TABLE user_sessions (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    ip_address TEXT,
    -- "Firefox on Windows": enough for a person to recognise their own devices, no more.
    device TEXT NOT NULL
);
CREATE INDEX user_sessions_user ON user_sessions (user_id);

-- Replaced by user_sessions: ending sessions now deletes their rows.
ALTER TABLE users DROP COLUMN session_epoch;

-- A right password for an account whose sign-in is paused gets an emailed link to continue (sign_in).
ALTER TABLE email_tokens DROP CONSTRAINT email_tokens_purpose_check;
ALTER TABLE email_tokens ADD CONSTRAINT email_tokens_purpose_check
    CHECK (purpose IN ('password_reset', 'invitation', 'sign_in'));
