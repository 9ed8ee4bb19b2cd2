DROP TABLE retention_reviews;
DROP TABLE retention_schedules;
ALTER TABLE studies DROP COLUMN closed_at;
