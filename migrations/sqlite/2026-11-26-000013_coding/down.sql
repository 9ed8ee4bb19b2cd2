ALTER TABLE studies DROP COLUMN co_designers_read_analysis;
DROP TABLE matrix_summaries;
DROP TABLE belief_passages;
DROP TABLE beliefs;
DROP TABLE memos;
DROP TABLE codings;
