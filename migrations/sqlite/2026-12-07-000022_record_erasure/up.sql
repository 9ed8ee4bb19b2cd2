-- When everything held about a participant was erased on their request: only their code, group and
-- consent decisions remain.
ALTER TABLE participants ADD COLUMN record_erased_at TIMESTAMP;
