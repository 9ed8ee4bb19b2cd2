DELETE FROM email_tokens WHERE purpose = 'sign_in';
ALTER TABLE email_tokens DROP CONSTRAINT email_tokens_purpose_check;
ALTER TABLE email_tokens ADD CONSTRAINT email_tokens_purpose_check
    CHECK (purpose IN ('password_reset', 'invitation'));
ALTER TABLE users ADD COLUMN session_epoch INTEGER NOT NULL DEFAULT 0;
DROP TABLE user_sessions;
