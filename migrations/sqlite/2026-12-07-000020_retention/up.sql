-- When a lead closed the study; NULL while it runs. Retention periods count from this moment.
ALTER TABLE studies ADD COLUMN closed_at TIMESTAMP;

-- A study's retention schedule, in months after it closes. No row: the defaults in
-- operations::retention::rules. Consent records outlive the research data they allowed.
CREATE TABLE retention_schedules (
    study_id INTEGER PRIMARY KEY REFERENCES studies (id) ON DELETE CASCADE,
    identities_months INTEGER NOT NULL,
    responses_months INTEGER NOT NULL,
    interview_notes_months INTEGER NOT NULL,
    consent_months INTEGER NOT NULL,
    audit_months INTEGER NOT NULL,
    updated_by INTEGER REFERENCES users (id),
    updated_at TIMESTAMP NOT NULL,
    CHECK (consent_months >= responses_months AND consent_months >= interview_notes_months)
);

-- What the daily check found due in a study: the ids per kind (JSON) as the lead reviews them, so
-- approving deletes exactly that list. One a study a day, whichever instance looks first; an open
-- review is replaced by the next day's, and dropped when the schedule changes.
CREATE TABLE retention_reviews (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    study_id INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    review_day DATE NOT NULL,
    found_at TIMESTAMP NOT NULL,
    items TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'purged')),
    decided_by INTEGER REFERENCES users (id),
    decided_at TIMESTAMP,
    UNIQUE (study_id, review_day)
);
