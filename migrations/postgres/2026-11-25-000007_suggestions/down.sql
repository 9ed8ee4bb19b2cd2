DROP TRIGGER sections_delete_suggestions ON sections;
DROP TRIGGER questions_delete_suggestions ON questions;
DROP FUNCTION suggestions_follow_their_object();
DROP TABLE suggestions;
