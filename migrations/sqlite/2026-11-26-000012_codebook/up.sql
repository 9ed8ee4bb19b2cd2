-- Analysis: each study's codebook, the codes analysts apply to online answers and interview notes.

-- Codes form a tree (parent_id). branch: comb for the six COM-B sub-components seeded with every
-- codebook and the codes analysts put under them (deductive), emergent for inductive codes.
-- comb: the COM-B sub-component the code maps to (a taxonomy_terms code such as C-PSY, or '').
-- tdf: JSON array of Theoretical Domains Framework codes (TDF-KNO, ...).
-- colour: one of the codebook's palette names, shown with the name (never colour alone).
-- merged_into: a code merged into another leaves the live codebook but keeps its row, so codings
-- made with it follow the merge and nothing that pointed at it breaks.
CREATE TABLE codes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    study_id INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    parent_id INTEGER REFERENCES codes (id),
    name TEXT NOT NULL,
    definition TEXT NOT NULL DEFAULT '',
    inclusion TEXT NOT NULL DEFAULT '',
    exclusion TEXT NOT NULL DEFAULT '',
    example TEXT NOT NULL DEFAULT '',
    colour TEXT NOT NULL DEFAULT 'blue',
    comb TEXT NOT NULL DEFAULT '',
    tdf TEXT NOT NULL DEFAULT '[]',
    branch TEXT NOT NULL CHECK (branch IN ('comb', 'emergent')),
    position INTEGER NOT NULL,
    merged_into INTEGER REFERENCES codes (id),
    created_by INTEGER REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX codes_study ON codes (study_id);

-- The codebook's history: one row per change, numbered per study (the codebook's version).
-- old_fields/new_fields: the code's fields as JSON ('{}' when there was none).
CREATE TABLE code_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    study_id INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    code_id INTEGER NOT NULL REFERENCES codes (id) ON DELETE CASCADE,
    action TEXT NOT NULL CHECK (action IN ('seeded', 'created', 'changed', 'merged')),
    old_fields TEXT NOT NULL DEFAULT '{}',
    new_fields TEXT NOT NULL DEFAULT '{}',
    changed_by INTEGER REFERENCES users (id),
    changed_at TIMESTAMP NOT NULL,
    UNIQUE (study_id, version)
);
