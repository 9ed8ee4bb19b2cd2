-- Analysis: passages of online answers and interview notes coded with the codebook, memos, belief
-- statements built on coded passages, and the framework matrix's written summaries.

-- Double coding: a lead gives the same sources (answers) to two coders, who code them blind; their
-- codings carry the round. unit: how agreement is counted (character or answer).
CREATE TABLE coding_rounds (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    study_id BIGINT NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    unit TEXT NOT NULL CHECK (unit IN ('character', 'answer')),
    first_coder_id BIGINT NOT NULL REFERENCES users (id),
    second_coder_id BIGINT NOT NULL REFERENCES users (id),
    created_by BIGINT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL
);
CREATE TABLE coding_round_sources (
    round_id BIGINT NOT NULL REFERENCES coding_rounds (id) ON DELETE CASCADE,
    answer_id BIGINT NOT NULL REFERENCES answers (id) ON DELETE CASCADE,
    PRIMARY KEY (round_id, answer_id)
);

-- A coded passage. field: 'answer' (the participant's own words, answers.value) or 'notes' (the
-- interviewer's notes). start_char/end_char count Unicode characters (not bytes), end exclusive, so
-- they mean the same in every export and every tool. quote: the passage as it read when coded; a
-- later correction of the text is noticed by comparing with it.
-- valence: whether the passage describes a barrier, an enabler, both (mixed) or neither (neutral).
-- round_id: set for a coder's blind work in a double-coding round, which only agreement and consensus
-- read; null for the study's coding, which everything else reads.
-- quote_approved_*: a lead's approval to quote the passage in shared reports (the participant's
-- consent to quotes is checked as well, when the report is made).
CREATE TABLE codings (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    study_id BIGINT NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    answer_id BIGINT NOT NULL REFERENCES answers (id) ON DELETE CASCADE,
    field TEXT NOT NULL CHECK (field IN ('answer', 'notes')),
    start_char INTEGER NOT NULL CHECK (start_char >= 0),
    end_char INTEGER NOT NULL CHECK (end_char > start_char),
    quote TEXT NOT NULL,
    code_id BIGINT NOT NULL REFERENCES codes (id),
    valence TEXT NOT NULL CHECK (valence IN ('barrier', 'enabler', 'mixed', 'neutral')),
    coder_id BIGINT NOT NULL REFERENCES users (id),
    quote_approved_by BIGINT REFERENCES users (id),
    quote_approved_at TIMESTAMP,
    round_id BIGINT REFERENCES coding_rounds (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL
);
-- A coder codes a passage with a code once, in the main coding and once in each round.
CREATE UNIQUE INDEX codings_once ON codings (answer_id, field, start_char, end_char, code_id, coder_id, COALESCE(round_id, 0));
CREATE INDEX codings_study ON codings (study_id, code_id);
CREATE INDEX codings_answer ON codings (answer_id);

-- A lead's consensus on what two coders of a round did with one code in one text: keep the first
-- coder's passages, the second's, both, or neither. The passages kept are copied into the study's
-- coding; a decision is final.
CREATE TABLE round_consensus (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    round_id BIGINT NOT NULL REFERENCES coding_rounds (id) ON DELETE CASCADE,
    answer_id BIGINT NOT NULL REFERENCES answers (id) ON DELETE CASCADE,
    field TEXT NOT NULL CHECK (field IN ('answer', 'notes')),
    code_id BIGINT NOT NULL REFERENCES codes (id),
    decision TEXT NOT NULL CHECK (decision IN ('first', 'second', 'both', 'neither')),
    note TEXT NOT NULL DEFAULT '',
    decided_by BIGINT NOT NULL REFERENCES users (id),
    decided_at TIMESTAMP NOT NULL,
    UNIQUE (round_id, answer_id, field, code_id)
);

-- Memos: an analyst's thinking, about the study, a code, a coded passage or a response
-- (subject_id is null for the study).
CREATE TABLE memos (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    study_id BIGINT NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    subject TEXT NOT NULL CHECK (subject IN ('study', 'code', 'coding', 'response')),
    subject_id BIGINT,
    body TEXT NOT NULL,
    author_id BIGINT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX memos_study ON memos (study_id, subject, subject_id);

-- Belief statements (the TDF way of summarising a code: "I am confident I can ...") and the coded
-- passages that support each.
CREATE TABLE beliefs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    study_id BIGINT NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    code_id BIGINT NOT NULL REFERENCES codes (id),
    statement TEXT NOT NULL,
    created_by BIGINT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX beliefs_study ON beliefs (study_id);
CREATE TABLE belief_passages (
    belief_id BIGINT NOT NULL REFERENCES beliefs (id) ON DELETE CASCADE,
    coding_id BIGINT NOT NULL REFERENCES codings (id) ON DELETE CASCADE,
    PRIMARY KEY (belief_id, coding_id)
);

-- The framework matrix's summaries, one per cell: row_key names the row (participant:P-0001,
-- group:carer, ...), column_key the column (a COM-B code such as C-PSY:barrier, or code:12:enabler).
CREATE TABLE matrix_summaries (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    study_id BIGINT NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    row_key TEXT NOT NULL,
    column_key TEXT NOT NULL,
    body TEXT NOT NULL,
    updated_by BIGINT NOT NULL REFERENCES users (id),
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (study_id, row_key, column_key)
);

-- Whether co-designers may read the analysis (the matrix and the tables); only leads decide.
ALTER TABLE studies ADD COLUMN co_designers_read_analysis BOOLEAN NOT NULL DEFAULT FALSE;
