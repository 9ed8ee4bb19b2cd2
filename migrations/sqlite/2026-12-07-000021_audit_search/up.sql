-- Which study an event belongs to, so a lead can read their study's trail and an administrator can
-- filter by study. No foreign key: the trail outlives what it describes.
ALTER TABLE audit_events ADD COLUMN study_id INTEGER;

-- Events recorded before this column named their study as the object. The log refuses UPDATE, so the
-- guard is lifted for this one backfill, inside this migration's transaction, and put back as it was.
DROP TRIGGER audit_events_no_update;
UPDATE audit_events SET study_id = CAST(object_id AS INTEGER)
WHERE object_type = 'study' AND object_id <> '' AND object_id NOT GLOB '*[^0-9]*';
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;

-- The log pages newest first by id (keyset), so each filter has an index ending in id: a page is one
-- range read, however deep. Dates become an id range through audit_events_time.
CREATE INDEX audit_events_study ON audit_events (study_id, id);
CREATE INDEX audit_events_actor ON audit_events (actor_user_id, id);
CREATE INDEX audit_events_action_id ON audit_events (action, id);
