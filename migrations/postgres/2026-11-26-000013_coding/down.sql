ALTER TABLE studies DROP COLUMN co_designers_read_analysis;
DROP TABLE matrix_summaries;
DROP TABLE belief_passages;
DROP TABLE beliefs;
DROP TABLE memos;
DROP TABLE round_consensus;
DROP TABLE codings;
DROP TABLE coding_round_sources;
DROP TABLE coding_rounds;
