-- Signed-in sessions live on the server: the cookie carries a random secret, stored here only as its
-- SHA-256 hash, so signing out (or an administrator deactivating someone) really ends a session.
CREATE TABLE user_sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
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
CREATE TABLE email_tokens_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL CHECK (purpose IN ('password_reset', 'invitation', 'sign_in')),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
INSERT INTO email_tokens_new (id, user_id, purpose, token_hash, created_at, expires_at, used_at)
    SELECT id, user_id, purpose, token_hash, created_at, expires_at, used_at FROM email_tokens;
DROP TABLE email_tokens;
ALTER TABLE email_tokens_new RENAME TO email_tokens;
CREATE INDEX email_tokens_user ON email_tokens (user_id);
