-- Distribution: the study's roster of participants (pseudonymous codes, with identity kept in a table of
-- its own), each participant's participation in a questionnaire with its links, email campaigns, and the
-- durable outbox every email goes through.

-- service_areas: the study's editable list (JSON array of names) that participants are placed in.
-- anonymise_responses: at submission the link between identity and answers is dropped.
-- small_count_threshold: counts below it are suppressed in views shared outside the team.
-- next_participant_number: the next pseudonymous code (P-0001, ...), taken under the write lock.
ALTER TABLE studies ADD COLUMN service_areas TEXT NOT NULL DEFAULT '["Community","Inpatient rehabilitation","Sexual health","Mental health","Health and justice","Addictions"]';
ALTER TABLE studies ADD COLUMN anonymise_responses BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE studies ADD COLUMN small_count_threshold INTEGER NOT NULL DEFAULT 5;
ALTER TABLE studies ADD COLUMN next_participant_number INTEGER NOT NULL DEFAULT 1;

-- The research record of a participant: only pseudonymous attributes. participant_group is '' while
-- unknown (someone who came through an open link and has not said yet). tags: JSON array of strings.
-- source: roster (added by hand), import (CSV), open_link, interview.
CREATE TABLE participants (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    study_id INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    code TEXT NOT NULL,
    participant_group TEXT NOT NULL CHECK (participant_group IN ('', 'staff', 'service_user', 'carer')),
    service_area TEXT NOT NULL DEFAULT '',
    system_level TEXT NOT NULL DEFAULT '' CHECK (system_level IN ('', 'micro', 'meso', 'macro')),
    tags TEXT NOT NULL DEFAULT '[]',
    source TEXT NOT NULL CHECK (source IN ('roster', 'import', 'open_link', 'interview')),
    opted_out_at TIMESTAMP,
    identity_erased_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (study_id, code)
);

-- Who a participant is: seen only by the study's leads (and by an interviewer for their own
-- interviewees). Erasing an identity deletes this row and keeps the participant. email is stored
-- lower-cased so the same address cannot be on one study's roster twice.
-- communication_needs: JSON array of easy_read, large_print, interpreter_bsl, phone_interview.
-- preferred_mode: '', online, in_person, phone, video.
CREATE TABLE participant_identities (
    participant_id INTEGER PRIMARY KEY REFERENCES participants (id) ON DELETE CASCADE,
    study_id INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    name TEXT NOT NULL DEFAULT '',
    email TEXT,
    phone TEXT NOT NULL DEFAULT '',
    communication_needs TEXT NOT NULL DEFAULT '[]',
    preferred_mode TEXT NOT NULL DEFAULT '',
    UNIQUE (study_id, email)
);

-- One participant taking part in one questionnaire: the version they answer, until when, and how far
-- they have come. The answering and interview work sets the later milestones; distribution reads them
-- for tracking. campaign_id: the campaign that last invited them.
CREATE TABLE participations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    participant_id INTEGER NOT NULL REFERENCES participants (id) ON DELETE CASCADE,
    questionnaire_id INTEGER NOT NULL REFERENCES questionnaires (id),
    version_id INTEGER NOT NULL REFERENCES questionnaire_versions (id),
    campaign_id INTEGER,
    closes_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    opened_at TIMESTAMP,
    consented_at TIMESTAMP,
    declined_at TIMESTAMP,
    started_at TIMESTAMP,
    completed_at TIMESTAMP,
    withdrawn_at TIMESTAMP,
    UNIQUE (participant_id, questionnaire_id)
);
CREATE INDEX participations_questionnaire ON participations (questionnaire_id);

-- Secrets in links are never stored: only their SHA-256. purpose: respond (BASE/p/<token>) or opt_out
-- (BASE/o/<token>). A participation may have several live respond tokens (one per email sent, so the
-- invitation and every reminder work); reissuing revokes them all.
CREATE TABLE link_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    participation_id INTEGER NOT NULL REFERENCES participations (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL CHECK (purpose IN ('respond', 'opt_out')),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE INDEX link_tokens_participation ON link_tokens (participation_id);

-- An open link per questionnaire for posters and newsletters: each visit through it makes an anonymous
-- participant (of participant_group, when the poster is for one group) with a link of their own.
CREATE TABLE open_links (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    study_id INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    questionnaire_id INTEGER NOT NULL REFERENCES questionnaires (id),
    version_id INTEGER NOT NULL REFERENCES questionnaire_versions (id),
    participant_group TEXT NOT NULL DEFAULT '' CHECK (participant_group IN ('', 'staff', 'service_user', 'carer')),
    token_hash TEXT NOT NULL UNIQUE,
    closes_at TIMESTAMP NOT NULL,
    created_by INTEGER NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);

-- A campaign sends one published questionnaire version to the chosen part of the roster.
-- recipient_filter: JSON {"groups":[],"services":[],"levels":[],"tags":[],"statuses":[]} (empty = all).
-- The four email texts are Tera templates checked when saved. reminder_days: JSON array of days after
-- the invitation, one reminder each; only to those who have not finished; none after closing.
-- status: draft, active (invitations queued, reminders running), closed.
CREATE TABLE campaigns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    study_id INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    questionnaire_id INTEGER NOT NULL REFERENCES questionnaires (id),
    version_id INTEGER NOT NULL REFERENCES questionnaire_versions (id),
    name TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'active', 'closed')),
    recipient_filter TEXT NOT NULL DEFAULT '{}',
    invitation_subject TEXT NOT NULL,
    invitation_body TEXT NOT NULL,
    reminder_subject TEXT NOT NULL,
    reminder_body TEXT NOT NULL,
    reminder_days TEXT NOT NULL DEFAULT '[7,14]',
    contact TEXT NOT NULL DEFAULT '',
    closes_at TIMESTAMP NOT NULL,
    lock_version INTEGER NOT NULL DEFAULT 0,
    created_by INTEGER NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    launched_at TIMESTAMP,
    closed_at TIMESTAMP
);
CREATE INDEX campaigns_study ON campaigns (study_id);

CREATE TABLE campaign_recipients (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    participant_id INTEGER NOT NULL REFERENCES participants (id) ON DELETE CASCADE,
    participation_id INTEGER NOT NULL REFERENCES participations (id) ON DELETE CASCADE,
    invited_at TIMESTAMP NOT NULL,
    reminders_queued INTEGER NOT NULL DEFAULT 0,
    UNIQUE (campaign_id, participant_id)
);

-- Every email, durably: queued here in the same transaction as the change that causes it, then sent by
-- a background worker. idempotency_key names what the message is for (e.g. campaign 3, participant 9,
-- reminder 2), so the same email can never be queued twice; message_id is fixed at queueing, so a
-- retried send is recognisably the same message. Campaign emails are composed at send time from the
-- campaign and the participant, so neither link secrets nor identities are copied here; other emails
-- (accounts) carry their prepared text, cleared once sent. status: queued, sending (claimed by a worker
-- until locked_until), sent, failed (last_error holds the server's reply), cancelled (opted out,
-- identity erased, campaign closed).
CREATE TABLE outbox_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT NOT NULL UNIQUE,
    message_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('invitation', 'reminder', 'new_link', 'prepared')),
    study_id INTEGER REFERENCES studies (id) ON DELETE CASCADE,
    campaign_id INTEGER REFERENCES campaigns (id) ON DELETE CASCADE,
    participation_id INTEGER REFERENCES participations (id) ON DELETE CASCADE,
    to_address TEXT,
    subject TEXT,
    body_text TEXT,
    body_html TEXT,
    status TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'cancelled')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    locked_until TIMESTAMP,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);
CREATE INDEX outbox_messages_due ON outbox_messages (status, next_attempt_at);
CREATE INDEX outbox_messages_campaign ON outbox_messages (campaign_id);
CREATE INDEX outbox_messages_participation ON outbox_messages (participation_id);
