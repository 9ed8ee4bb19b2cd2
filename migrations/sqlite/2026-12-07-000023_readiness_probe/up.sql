-- One row that `/readyz` rewrites to show a write can commit (a full disk or a read-only file fails it).
CREATE TABLE readiness_probe (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    checked_at TIMESTAMP NOT NULL
);
INSERT INTO readiness_probe (id, checked_at) VALUES (1, CURRENT_TIMESTAMP);
