-- Who runs this Voices: the trust's name, logo, privacy notice and contact, shown on every page and in
-- the accessibility statement. One row, edited by administrators (first at setup).
CREATE TABLE organisation (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    name TEXT NOT NULL DEFAULT '',
    logo BYTEA,
    logo_type TEXT NOT NULL DEFAULT '',
    privacy_url TEXT NOT NULL DEFAULT '',
    privacy_text TEXT NOT NULL DEFAULT '',
    contact_email TEXT NOT NULL DEFAULT '',
    contact_phone TEXT NOT NULL DEFAULT '',
    mail_checked_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL
);
INSERT INTO organisation (id, updated_at) VALUES (1, CURRENT_TIMESTAMP);
