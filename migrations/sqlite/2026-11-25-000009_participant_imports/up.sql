-- A CSV import of participants waiting for a lead to confirm it. The preview stores the rows it
-- accepted (accepted_rows, JSON), so confirming imports exactly what was shown, and nothing reaches the
-- roster before. summary: JSON of what the preview page shows (counts, problems, the first rows).
-- Both hold identities: the row is deleted on confirm or cancel, and any older than a day is purged
-- when the next import starts.
CREATE TABLE participant_imports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    study_id INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    created_by INTEGER NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    accepted_rows TEXT NOT NULL,
    summary TEXT NOT NULL
);
CREATE INDEX participant_imports_created ON participant_imports (created_at);
