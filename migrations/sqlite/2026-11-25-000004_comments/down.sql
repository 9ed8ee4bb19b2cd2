DROP TRIGGER sections_delete_comments;
DROP TRIGGER questions_delete_comments;
DROP TABLE comments;
