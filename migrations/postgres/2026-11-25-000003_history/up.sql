-- The history of every question and section: one row per change, with the whole content before and after
-- as JSON, so any earlier text can be shown beside the next and put back. object_id has no foreign key:
-- the history of a deleted question or section outlives it.
-- author_user_id is NULL only for a change made on the server itself (the command line).
CREATE TABLE revisions (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    object_type TEXT NOT NULL CHECK (object_type IN ('question', 'section')),
    object_id BIGINT NOT NULL,
    questionnaire_id BIGINT NOT NULL REFERENCES questionnaires (id) ON DELETE CASCADE,
    author_user_id BIGINT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    action TEXT NOT NULL CHECK (action IN ('created', 'duplicated', 'changed', 'restored', 'deleted')),
    before TEXT,
    after TEXT
);
CREATE INDEX revisions_object ON revisions (object_type, object_id);
CREATE INDEX revisions_questionnaire ON revisions (questionnaire_id);
