-- One row that `/readyz` rewrites to show a write can commit.
CREATE TABLE readiness_probe (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    checked_at TIMESTAMP NOT NULL
);
INSERT INTO readiness_probe (id, checked_at) VALUES (1, CURRENT_TIMESTAMP);
