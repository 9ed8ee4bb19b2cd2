-- Participant information and consent, sign-off, and published versions of questionnaires.

-- The information sheet lives with its questionnaire: one sheet per questionnaire, versioned with it.
-- summary, full text and data use are Markdown. consent_statements is a JSON array of
-- {"text", "required"} in the order participants meet them; new questionnaires start with the usual four.
-- info_lock_version: optimistic concurrency for the sheet, as lock_version is for sections and questions.
ALTER TABLE questionnaires ADD COLUMN info_summary TEXT NOT NULL DEFAULT '';
ALTER TABLE questionnaires ADD COLUMN info_full_text TEXT NOT NULL DEFAULT '';
ALTER TABLE questionnaires ADD COLUMN info_data_use TEXT NOT NULL DEFAULT '';
ALTER TABLE questionnaires ADD COLUMN withdrawal_days INTEGER NOT NULL DEFAULT 14;
ALTER TABLE questionnaires ADD COLUMN withdrawal_after TEXT NOT NULL DEFAULT 'After this, what you have already told us is kept, anonymised, and may still be used in the analysis.';
ALTER TABLE questionnaires ADD COLUMN retention TEXT NOT NULL DEFAULT '';
ALTER TABLE questionnaires ADD COLUMN contact_details TEXT NOT NULL DEFAULT '';
ALTER TABLE questionnaires ADD COLUMN distress_signposting TEXT NOT NULL DEFAULT '';
ALTER TABLE questionnaires ADD COLUMN consent_statements TEXT NOT NULL DEFAULT '[{"text":"I have read the information and I want to take part","required":true},{"text":"I agree to the interview being audio recorded","required":false},{"text":"I agree that anonymised quotes from what I say may be used in reports","required":false},{"text":"I agree to be contacted about future studies","required":false}]';
ALTER TABLE questionnaires ADD COLUMN info_lock_version INTEGER NOT NULL DEFAULT 0;

-- Who must sign off before the lead may publish: named members (a JSON array of study_members ids) and/or
-- at least one service-user or carer advisor and one staff member of the co-design group.
ALTER TABLE questionnaires ADD COLUMN signoff_member_ids TEXT NOT NULL DEFAULT '[]';
ALTER TABLE questionnaires ADD COLUMN signoff_needs_advisor BOOLEAN NOT NULL DEFAULT 1;
ALTER TABLE questionnaires ADD COLUMN signoff_needs_staff BOOLEAN NOT NULL DEFAULT 1;

-- A sign-off is bound to the content hash of the draft as it was signed: once the draft changes, the
-- sign-off no longer matches it and so no longer counts. People sign exactly what gets published.
CREATE TABLE questionnaire_sign_offs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    questionnaire_id INTEGER NOT NULL REFERENCES questionnaires (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id),
    content_hash TEXT NOT NULL,
    signed_at TIMESTAMP NOT NULL,
    UNIQUE (questionnaire_id, user_id, content_hash)
);

-- Published versions: a canonical JSON snapshot of the whole questionnaire and its SHA-256. Responses and
-- interviews will point at id. No cascade from questionnaires: a questionnaire with versions cannot vanish.
-- sign_offs (JSON) records whose sign-offs the publication rested on.
CREATE TABLE questionnaire_versions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    questionnaire_id INTEGER NOT NULL REFERENCES questionnaires (id),
    version_number INTEGER NOT NULL,
    snapshot TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    sign_offs TEXT NOT NULL,
    published_by INTEGER NOT NULL REFERENCES users (id),
    published_at TIMESTAMP NOT NULL,
    UNIQUE (questionnaire_id, version_number)
);

-- Published versions are immutable: not even a bug can change what participants were shown.
CREATE TRIGGER questionnaire_versions_no_update BEFORE UPDATE ON questionnaire_versions
BEGIN
    SELECT RAISE(ABORT, 'questionnaire_versions are immutable: publish a new version instead');
END;
CREATE TRIGGER questionnaire_versions_no_delete BEFORE DELETE ON questionnaire_versions
BEGIN
    SELECT RAISE(ABORT, 'questionnaire_versions are immutable: publish a new version instead');
END;
