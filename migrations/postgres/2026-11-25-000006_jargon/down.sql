ALTER TABLE studies DROP COLUMN jargon;
