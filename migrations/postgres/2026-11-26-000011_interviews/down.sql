DROP TABLE interview_edits;
DROP TABLE interview_follow_ups;
DROP TABLE interview_moments;
ALTER TABLE answers DROP COLUMN revision;
ALTER TABLE answers DROP COLUMN elapsed_seconds;
ALTER TABLE answers DROP COLUMN status;
ALTER TABLE answers DROP COLUMN notes;
DROP TABLE interviews;
