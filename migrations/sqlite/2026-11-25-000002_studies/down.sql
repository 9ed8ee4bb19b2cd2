DROP TABLE question_tags;
DROP TABLE taxonomy_links;
DROP TABLE taxonomy_terms;
DROP TABLE questions;
DROP TABLE sections;
DROP TABLE questionnaires;
DROP TABLE study_members;
DROP TABLE studies;
