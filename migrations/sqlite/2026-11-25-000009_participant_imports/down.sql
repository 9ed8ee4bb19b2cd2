DROP TABLE participant_imports;
