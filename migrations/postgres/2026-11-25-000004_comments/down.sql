DROP TRIGGER sections_delete_comments ON sections;
DROP TRIGGER questions_delete_comments ON questions;
DROP FUNCTION comments_follow_their_object();
DROP TABLE comments;
