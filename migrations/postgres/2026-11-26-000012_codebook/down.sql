DROP TABLE code_changes;
DROP TABLE codes;
