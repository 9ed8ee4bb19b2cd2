-- Two-step sign-in with an authenticator app (TOTP, RFC 6238). The shared secret is stored encrypted with
-- the service's secret key; it is set when enrolment starts and counts only once totp_enabled_at is set.
-- totp_last_step is the last 30-second step a code was accepted for, so no code works twice.
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_enabled_at TIMESTAMP;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;

-- Ten single-use recovery codes per person, stored only as hashes.
CREATE TABLE recovery_codes (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);

-- When this session last proved the second factor (at sign-in or since, to see identities or export).
ALTER TABLE user_sessions ADD COLUMN second_factor_at TIMESTAMP;
