-- 0005: the adaptation workflow (issue #5, docs/protocol.md §5.7). Adaptations of this
-- node's own practices, received from other organisations, and the countersignature (an
-- Attestation activity in this node's log) the origin organisation gave each.

-- One row per received adaptation (by object URL), holding its latest version. `state` is
-- the adaptation's latest state; `deleted` is set by a Delete from the adopter. The
-- countersignature columns are set once, in the transaction that appends the attestation.
CREATE TABLE incoming_adaptations (
    object_id          TEXT PRIMARY KEY,
    adopter            TEXT NOT NULL,
    practice_id        TEXT NOT NULL,
    practice_version   INTEGER NOT NULL CHECK (practice_version >= 1),
    adaptation_version INTEGER NOT NULL CHECK (adaptation_version >= 1),
    country            TEXT NOT NULL,
    state              TEXT NOT NULL,
    object             TEXT NOT NULL,
    activity_id        TEXT NOT NULL,
    received_ms        INTEGER NOT NULL,
    updated_ms         INTEGER NOT NULL,
    deleted            INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    countersign_index  INTEGER CHECK (countersign_index >= 0),
    attestation_id     TEXT,
    attestation_activity TEXT,
    countersigned_ms   INTEGER
);
CREATE INDEX incoming_adaptations_by_practice ON incoming_adaptations (practice_id);
