-- Discussion threads on questions and sections. A thread is its first comment (parent_id NULL); replies
-- point at that first comment, never at another reply, so a thread is one level deep. Replies repeat the
-- thread's questionnaire and object, so one indexed query loads a whole discussion or counts a questionnaire.
-- object_id names a question or a section by object_type, so it cannot be a foreign key: the triggers below
-- take a thread away with the question or section it is about.
CREATE TABLE comments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    questionnaire_id INTEGER NOT NULL REFERENCES questionnaires (id) ON DELETE CASCADE,
    object_type TEXT NOT NULL CHECK (object_type IN ('question', 'section')),
    object_id INTEGER NOT NULL,
    parent_id INTEGER REFERENCES comments (id) ON DELETE CASCADE,
    author_user_id INTEGER NOT NULL REFERENCES users (id),
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    resolved_at TIMESTAMP,
    resolved_by INTEGER REFERENCES users (id),
    -- Only a thread (its first comment) is resolved, and resolving names who did it.
    CHECK (parent_id IS NULL OR resolved_at IS NULL),
    CHECK ((resolved_at IS NULL) = (resolved_by IS NULL))
);
CREATE INDEX comments_object ON comments (questionnaire_id, object_type, object_id);
CREATE INDEX comments_parent ON comments (parent_id);

CREATE TRIGGER questions_delete_comments AFTER DELETE ON questions
BEGIN
    DELETE FROM comments WHERE object_type = 'question' AND object_id = OLD.id;
END;

CREATE TRIGGER sections_delete_comments AFTER DELETE ON sections
BEGIN
    DELETE FROM comments WHERE object_type = 'section' AND object_id = OLD.id;
END;
