-- Studies, their members and study roles, questionnaires with sections and questions, and the COM-B /
-- Theoretical Domains Framework reference taxonomy that questions are tagged with.

CREATE TABLE studies (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title TEXT NOT NULL,
    summary TEXT NOT NULL DEFAULT '',
    created_by BIGINT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- One row per person per study; the four study roles are independent, one person may hold several.
-- perspective says whose experience a member brings: staff, or a service-user or carer advisor.
CREATE TABLE study_members (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    study_id BIGINT NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id),
    is_lead BOOLEAN NOT NULL DEFAULT FALSE,
    is_co_designer BOOLEAN NOT NULL DEFAULT FALSE,
    is_interviewer BOOLEAN NOT NULL DEFAULT FALSE,
    is_analyst BOOLEAN NOT NULL DEFAULT FALSE,
    perspective TEXT NOT NULL DEFAULT 'staff' CHECK (perspective IN ('staff', 'service_user', 'carer')),
    added_at TIMESTAMP NOT NULL,
    UNIQUE (study_id, user_id)
);
CREATE INDEX study_members_user ON study_members (user_id);

CREATE TABLE questionnaires (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    study_id BIGINT NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'pilot', 'published')),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX questionnaires_study ON questionnaires (study_id);

-- lock_version: optimistic concurrency; a save names the version it started from.
CREATE TABLE sections (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    questionnaire_id BIGINT NOT NULL REFERENCES questionnaires (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    title TEXT NOT NULL,
    introduction TEXT NOT NULL DEFAULT '',
    lock_version INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX sections_questionnaire ON sections (questionnaire_id, position);

-- options, probes and show_if_answers are JSON arrays of strings.
CREATE TABLE questions (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    questionnaire_id BIGINT NOT NULL REFERENCES questionnaires (id) ON DELETE CASCADE,
    section_id BIGINT NOT NULL REFERENCES sections (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('long_text', 'short_text', 'single_choice', 'multiple_choice', 'likert',
        'scale_0_10', 'yes_no_not_sure', 'number', 'date')),
    text TEXT NOT NULL,
    help_text TEXT NOT NULL DEFAULT '',
    required BOOLEAN NOT NULL DEFAULT FALSE,
    for_staff BOOLEAN NOT NULL DEFAULT TRUE,
    for_service_users BOOLEAN NOT NULL DEFAULT TRUE,
    for_carers BOOLEAN NOT NULL DEFAULT TRUE,
    wording_staff TEXT NOT NULL DEFAULT '',
    wording_service_user TEXT NOT NULL DEFAULT '',
    wording_carer TEXT NOT NULL DEFAULT '',
    wording_easy_read TEXT NOT NULL DEFAULT '',
    options TEXT NOT NULL DEFAULT '[]',
    likert_not_applicable BOOLEAN NOT NULL DEFAULT FALSE,
    probes TEXT NOT NULL DEFAULT '[]',
    system_level TEXT CHECK (system_level IN ('micro', 'meso', 'macro')),
    provenance TEXT NOT NULL DEFAULT '',
    show_if_question_id BIGINT REFERENCES questions (id) ON DELETE SET NULL,
    show_if_answers TEXT NOT NULL DEFAULT '[]',
    lock_version INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX questions_section ON questions (section_id, position);
CREATE INDEX questions_questionnaire ON questions (questionnaire_id);

CREATE TABLE taxonomy_terms (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    scheme TEXT NOT NULL CHECK (scheme IN ('comb', 'tdf')),
    code TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    position INTEGER NOT NULL
);

CREATE TABLE taxonomy_links (
    comb_term_id BIGINT NOT NULL REFERENCES taxonomy_terms (id) ON DELETE CASCADE,
    tdf_term_id BIGINT NOT NULL REFERENCES taxonomy_terms (id) ON DELETE CASCADE,
    PRIMARY KEY (comb_term_id, tdf_term_id)
);

CREATE TABLE question_tags (
    question_id BIGINT NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
    term_id BIGINT NOT NULL REFERENCES taxonomy_terms (id) ON DELETE CASCADE,
    PRIMARY KEY (question_id, term_id)
);
CREATE INDEX question_tags_term ON question_tags (term_id);

INSERT INTO taxonomy_terms (scheme, code, label, description, position) VALUES
('comb', 'C-PHY', 'Physical capability', 'Physical skill, strength or stamina.', 1),
('comb', 'C-PSY', 'Psychological capability', 'Knowledge or psychological skills, strength or stamina to engage in the necessary mental processes.', 2),
('comb', 'O-PHY', 'Physical opportunity', 'Opportunity afforded by the environment: time, resources, locations, cues, physical affordance.', 3),
('comb', 'O-SOC', 'Social opportunity', 'Opportunity afforded by interpersonal influences, social cues and cultural norms.', 4),
('comb', 'M-REF', 'Reflective motivation', 'Reflective processes: plans (self-conscious intentions) and evaluations (beliefs about what is good and bad).', 5),
('comb', 'M-AUT', 'Automatic motivation', 'Automatic processes: desires and impulses arising from associative learning and physiological states.', 6),
('tdf', 'TDF-KNO', 'Knowledge', 'An awareness of the existence of something.', 1),
('tdf', 'TDF-SKI', 'Skills', 'An ability or proficiency acquired through practice.', 2),
('tdf', 'TDF-ROL', 'Social/professional role and identity', 'A coherent set of behaviours and displayed personal qualities of an individual in a social or work setting.', 3),
('tdf', 'TDF-BCA', 'Beliefs about capabilities', 'Acceptance of the truth, reality or validity about an ability, talent or facility that a person can put to constructive use.', 4),
('tdf', 'TDF-OPT', 'Optimism', 'The confidence that things will happen for the best or that desired goals will be attained.', 5),
('tdf', 'TDF-BCO', 'Beliefs about consequences', 'Acceptance of the truth, reality or validity about outcomes of a behaviour in a given situation.', 6),
('tdf', 'TDF-REI', 'Reinforcement', 'Increasing the probability of a response by arranging a dependent relationship between the response and a given stimulus.', 7),
('tdf', 'TDF-INT', 'Intentions', 'A conscious decision to perform a behaviour or a resolve to act in a certain way.', 8),
('tdf', 'TDF-GOA', 'Goals', 'Mental representations of outcomes or end states that an individual wants to achieve.', 9),
('tdf', 'TDF-MAD', 'Memory, attention and decision processes', 'The ability to retain information, focus selectively on aspects of the environment and choose between alternatives.', 10),
('tdf', 'TDF-ENV', 'Environmental context and resources', 'Any circumstance of a situation or environment that discourages or encourages skills, abilities, independence, social competence and adaptive behaviour.', 11),
('tdf', 'TDF-SOC', 'Social influences', 'Interpersonal processes that can cause individuals to change their thoughts, feelings or behaviours.', 12),
('tdf', 'TDF-EMO', 'Emotion', 'A complex reaction pattern by which an individual attempts to deal with a personally significant matter or event.', 13),
('tdf', 'TDF-BRE', 'Behavioural regulation', 'Anything aimed at managing or changing objectively observed or measured actions.', 14);

-- TDF domains under COM-B sub-components (Cane, O'Connor and Michie 2012; Atkins et al. 2017).
-- Skills, role and identity, and optimism each sit under two.
INSERT INTO taxonomy_links (comb_term_id, tdf_term_id)
SELECT c.id, t.id FROM taxonomy_terms c, taxonomy_terms t WHERE (c.code, t.code) IN (
    ('C-PHY', 'TDF-SKI'),
    ('C-PSY', 'TDF-KNO'), ('C-PSY', 'TDF-SKI'), ('C-PSY', 'TDF-MAD'), ('C-PSY', 'TDF-BRE'),
    ('O-PHY', 'TDF-ENV'),
    ('O-SOC', 'TDF-SOC'),
    ('M-REF', 'TDF-ROL'), ('M-REF', 'TDF-BCA'), ('M-REF', 'TDF-OPT'), ('M-REF', 'TDF-BCO'), ('M-REF', 'TDF-INT'), ('M-REF', 'TDF-GOA'),
    ('M-AUT', 'TDF-ROL'), ('M-AUT', 'TDF-OPT'), ('M-AUT', 'TDF-REI'), ('M-AUT', 'TDF-EMO')
);
