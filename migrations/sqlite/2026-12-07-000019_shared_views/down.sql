ALTER TABLE studies DROP COLUMN analysts_see_participants;
