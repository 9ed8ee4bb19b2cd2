-- A form someone sent just after their session ran out (30 minutes idle, say) is kept here, briefly,
-- so that after signing in again they can send it instead of typing it again. Only the hash of the
-- link's secret is stored; a kept form is used once and is gone after two hours at most.
CREATE TABLE held_forms (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX held_forms_created ON held_forms (created_at);
