-- Analysis: the involvement tracker, a register of improvement projects and, for each stage a project
-- reached, how service users and carers (SU&C) were involved.

-- stage_reached and project_stages.stage: idea, aims, understanding, ideas, testing, implementing,
-- sharing (in that order). closed_on: NULL while the project runs.
CREATE TABLE improvement_projects (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    study_id BIGINT NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    service TEXT NOT NULL,
    team TEXT NOT NULL DEFAULT '',
    started_on DATE NOT NULL,
    closed_on DATE,
    stage_reached TEXT NOT NULL CHECK (stage_reached IN ('idea', 'aims', 'understanding', 'ideas', 'testing', 'implementing', 'sharing')),
    created_by BIGINT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK (closed_on IS NULL OR closed_on >= started_on)
);
CREATE INDEX improvement_projects_study ON improvement_projects (study_id);

-- One row per stage a project reached. suc_core_members: service users and carers who were core members
-- of the project team at that stage. decisions_influenced: one decision per line.
CREATE TABLE project_stages (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES improvement_projects (id) ON DELETE CASCADE,
    stage TEXT NOT NULL CHECK (stage IN ('idea', 'aims', 'understanding', 'ideas', 'testing', 'implementing', 'sharing')),
    reached_on DATE NOT NULL,
    involvement_level TEXT NOT NULL CHECK (involvement_level IN ('none', 'informed', 'consulted', 'involved', 'co_produced')),
    suc_core_members INTEGER NOT NULL DEFAULT 0 CHECK (suc_core_members >= 0),
    decisions_influenced TEXT NOT NULL DEFAULT '',
    feedback_given TEXT NOT NULL DEFAULT '',
    recorded_by BIGINT REFERENCES users (id),
    recorded_at TIMESTAMP NOT NULL,
    UNIQUE (project_id, stage)
);

-- The study's rule for "meaningful involvement" and its target; no row means the defaults: at least one
-- SU&C core member at a stage from setting aims on, at least one recorded influence, target 80%.
-- min_level: '' for none, or the lowest involvement level a stage from meaningful_from on must reach.
CREATE TABLE tracker_rules (
    study_id BIGINT PRIMARY KEY REFERENCES studies (id) ON DELETE CASCADE,
    meaningful_from TEXT NOT NULL DEFAULT 'aims',
    min_core_members INTEGER NOT NULL DEFAULT 1 CHECK (min_core_members >= 0),
    min_influences INTEGER NOT NULL DEFAULT 1 CHECK (min_influences >= 0),
    min_level TEXT NOT NULL DEFAULT '',
    target_percent INTEGER NOT NULL DEFAULT 80 CHECK (target_percent BETWEEN 0 AND 100),
    updated_by BIGINT REFERENCES users (id),
    updated_at TIMESTAMP NOT NULL
);
