-- Proposed changes to a question or section ("suggestion mode"): a co-designer proposes, a lead or the
-- object's author accepts or rejects, the suggester may withdraw. `proposed` is the full content, in the
-- same JSON shape as a revision's snapshot, so accepting is an ordinary save of it. object_id names a
-- question or a section by object_type, so it cannot be a foreign key: the triggers below take the
-- suggestions away with the question or section they are about.
CREATE TABLE suggestions (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    questionnaire_id BIGINT NOT NULL REFERENCES questionnaires (id) ON DELETE CASCADE,
    object_type TEXT NOT NULL CHECK (object_type IN ('question', 'section')),
    object_id BIGINT NOT NULL,
    author_user_id BIGINT NOT NULL REFERENCES users (id),
    proposed TEXT NOT NULL,
    reason TEXT NOT NULL,
    based_on_lock_version INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'accepted', 'rejected', 'withdrawn')),
    decided_by BIGINT REFERENCES users (id),
    decided_at TIMESTAMP,
    decision_note TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    -- A decision names who made it and when; an open suggestion has neither.
    CHECK ((status = 'open') = (decided_at IS NULL)),
    CHECK ((decided_by IS NULL) = (decided_at IS NULL))
);
CREATE INDEX suggestions_object ON suggestions (questionnaire_id, object_type, object_id);

CREATE FUNCTION suggestions_follow_their_object() RETURNS trigger AS $$
BEGIN
    DELETE FROM suggestions WHERE object_type = TG_ARGV[0] AND object_id = OLD.id;
    RETURN OLD;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER questions_delete_suggestions AFTER DELETE ON questions
FOR EACH ROW EXECUTE FUNCTION suggestions_follow_their_object('question');

CREATE TRIGGER sections_delete_suggestions AFTER DELETE ON sections
FOR EACH ROW EXECUTE FUNCTION suggestions_follow_their_object('section');
