-- Interviews: a lead assigns a participant's interview to an interviewer (and perhaps a note-taker);
-- the interviewer records verbal consent, takes notes question by question in a live guide, and closes
-- with field notes. The notes are the participant's response (mode 'interview'), so analysis reads
-- online answers and interview notes alike.

-- status: scheduled → in_progress ⇄ paused → completed; declined when verbal consent is refused;
-- cancelled by a lead. paused_seconds: time spent paused (a distress pause), left out of the duration.
-- field_notes: JSON of the COREQ items (setting, people_present, interruptions, rapport,
-- recording_quality, reflections), required before completion.
CREATE TABLE interviews (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    study_id BIGINT NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    participation_id BIGINT NOT NULL UNIQUE REFERENCES participations (id) ON DELETE CASCADE,
    interviewer_id BIGINT NOT NULL REFERENCES users (id),
    note_taker_id BIGINT REFERENCES users (id),
    scheduled_at TIMESTAMP NOT NULL,
    mode TEXT NOT NULL CHECK (mode IN ('in_person', 'phone', 'video')),
    status TEXT NOT NULL DEFAULT 'scheduled'
        CHECK (status IN ('scheduled', 'in_progress', 'paused', 'completed', 'declined', 'cancelled')),
    response_id BIGINT REFERENCES responses (id) ON DELETE SET NULL,
    started_at TIMESTAMP,
    paused_at TIMESTAMP,
    paused_seconds INTEGER NOT NULL DEFAULT 0,
    ended_at TIMESTAMP,
    field_notes TEXT NOT NULL DEFAULT '{}',
    created_by BIGINT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX interviews_study ON interviews (study_id);
CREATE INDEX interviews_interviewer ON interviews (interviewer_id);

-- What an interview adds to an answer: the interviewer's notes, whether the question was asked,
-- the seconds spent on it, and a revision that every save must name, so two tabs or two devices
-- never silently overwrite each other. Online answers keep the defaults.
ALTER TABLE answers ADD COLUMN notes TEXT NOT NULL DEFAULT '';
ALTER TABLE answers ADD COLUMN status TEXT NOT NULL DEFAULT ''
    CHECK (status IN ('', 'asked', 'skipped', 'declined', 'out_of_time'));
ALTER TABLE answers ADD COLUMN elapsed_seconds INTEGER NOT NULL DEFAULT 0;
ALTER TABLE answers ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;

-- Timestamped quick notes, flagged quotes and distress pauses during an interview. client_key is made
-- up by the device that wrote it, so a note resent after a dropped connection is kept once.
CREATE TABLE interview_moments (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    interview_id BIGINT NOT NULL REFERENCES interviews (id) ON DELETE CASCADE,
    client_key TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('note', 'quote', 'distress')),
    question_id BIGINT,
    elapsed_seconds INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_by BIGINT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    UNIQUE (interview_id, client_key)
);

-- Things an interviewer must do after an interview (after a distress pause: check on the participant).
CREATE TABLE interview_follow_ups (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    interview_id BIGINT NOT NULL REFERENCES interviews (id) ON DELETE CASCADE,
    assigned_to BIGINT NOT NULL REFERENCES users (id),
    reason TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    done_at TIMESTAMP,
    done_by BIGINT REFERENCES users (id)
);
CREATE INDEX interview_follow_ups_interview ON interview_follow_ups (interview_id);

-- Changes made after an interview was completed: who, when, and the text before and after.
-- question_id is empty for field notes; field names the item changed.
CREATE TABLE interview_edits (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    interview_id BIGINT NOT NULL REFERENCES interviews (id) ON DELETE CASCADE,
    question_id BIGINT,
    field TEXT NOT NULL,
    old_text TEXT NOT NULL,
    new_text TEXT NOT NULL,
    edited_by BIGINT NOT NULL REFERENCES users (id),
    edited_at TIMESTAMP NOT NULL
);
CREATE INDEX interview_edits_interview ON interview_edits (interview_id);
