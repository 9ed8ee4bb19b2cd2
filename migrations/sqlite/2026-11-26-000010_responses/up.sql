-- Taking part online: the consent record, then the response and its answers.

-- changes_after_submit: participants may change submitted answers until their link closes.
ALTER TABLE studies ADD COLUMN changes_after_submit BOOLEAN NOT NULL DEFAULT 0;

-- What a participant agreed to, kept apart from what they answered. A new revision is added each
-- time they decide again (declined, then later consented); the newest is the one in force.
-- information_hash: SHA-256 of the canonical JSON of the information sheet and statements shown.
-- statements: JSON [{"text":..,"required":..,"agreed":..}] in the order shown.
-- method: online (ticked by the participant) or verbal (read out and recorded by recorded_by).
CREATE TABLE consent_records (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    participation_id INTEGER NOT NULL REFERENCES participations (id) ON DELETE CASCADE,
    revision INTEGER NOT NULL,
    version_id INTEGER NOT NULL REFERENCES questionnaire_versions (id),
    information_hash TEXT NOT NULL,
    statements TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('consented', 'declined')),
    method TEXT NOT NULL CHECK (method IN ('online', 'verbal')),
    recorded_by INTEGER REFERENCES users (id),
    recorded_at TIMESTAMP NOT NULL,
    withdrawn_at TIMESTAMP,
    UNIQUE (participation_id, revision)
);

-- One participant's answers to one published version. participation_id and participant_id are
-- cleared when the study anonymises responses at submission; the pseudonymous attributes analysis
-- needs (group, service area, level) are copied here so they survive that.
-- audience: whose wording was shown (staff, service_user, carer, easy_read).
-- page: the page to continue from (1-based).
CREATE TABLE responses (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    participation_id INTEGER UNIQUE REFERENCES participations (id) ON DELETE SET NULL,
    participant_id INTEGER REFERENCES participants (id) ON DELETE SET NULL,
    study_id INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    questionnaire_id INTEGER NOT NULL REFERENCES questionnaires (id),
    version_id INTEGER NOT NULL REFERENCES questionnaire_versions (id),
    mode TEXT NOT NULL CHECK (mode IN ('online', 'interview')),
    audience TEXT NOT NULL CHECK (audience IN ('staff', 'service_user', 'carer', 'easy_read')),
    participant_group TEXT NOT NULL DEFAULT '',
    service_area TEXT NOT NULL DEFAULT '',
    system_level TEXT NOT NULL DEFAULT '',
    page INTEGER NOT NULL DEFAULT 1,
    started_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    submitted_at TIMESTAMP
);
CREATE INDEX responses_study ON responses (study_id);

-- One answer to one question of the response's frozen version (question_id is the question's id in
-- that version's snapshot). value: the text, the chosen label, or chosen labels one per line.
-- skipped: the participant chose to skip an optional question.
CREATE TABLE answers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    response_id INTEGER NOT NULL REFERENCES responses (id) ON DELETE CASCADE,
    question_id INTEGER NOT NULL,
    value TEXT NOT NULL DEFAULT '',
    skipped BOOLEAN NOT NULL DEFAULT 0,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (response_id, question_id)
);
