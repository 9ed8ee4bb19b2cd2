DROP TRIGGER sections_delete_suggestions;
DROP TRIGGER questions_delete_suggestions;
DROP TABLE suggestions;
