DELETE FROM email_tokens WHERE purpose = 'sign_in';
CREATE TABLE email_tokens_old (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL CHECK (purpose IN ('password_reset', 'invitation')),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
INSERT INTO email_tokens_old SELECT id, user_id, purpose, token_hash, created_at, expires_at, used_at FROM email_tokens;
DROP TABLE email_tokens;
ALTER TABLE email_tokens_old RENAME TO email_tokens;
CREATE INDEX email_tokens_user ON email_tokens (user_id);
ALTER TABLE users ADD COLUMN session_epoch INTEGER NOT NULL DEFAULT 0;
DROP TABLE user_sessions;
