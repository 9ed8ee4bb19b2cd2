ALTER TABLE participants DROP COLUMN record_erased_at;
