-- Analysts see participant-level rows unless a lead says they get the shared view (counts under the threshold hidden, approved quotes only).
ALTER TABLE studies ADD COLUMN analysts_see_participants BOOLEAN NOT NULL DEFAULT TRUE;
