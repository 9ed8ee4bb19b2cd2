DROP TABLE answers;
DROP TABLE responses;
DROP TABLE consent_records;
ALTER TABLE studies DROP COLUMN changes_after_submit;
