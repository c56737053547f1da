-- 0004: witnessing (docs/protocol.md §6). Two roles: this node as a C2SP tlog-witness for
-- the partners it follows, and this node collecting cosignatures from its own witnesses.

-- Witness side: the latest checkpoint this node cosigned for each origin it witnesses.
-- `checkpoint` is the signed note as submitted with this node's cosignature stapled.
-- Checking the old size and writing the new state happen in one transaction.
CREATE TABLE witness_state (
    origin      TEXT PRIMARY KEY,
    actor       TEXT NOT NULL,
    size        INTEGER NOT NULL CHECK (size >= 0),
    root        BLOB NOT NULL CHECK (length(root) = 32),
    checkpoint  TEXT NOT NULL,
    cosigned_ms INTEGER NOT NULL
);

-- Witness side: validly signed checkpoints that conflict with the one cosigned before
-- (same size, other root; or a consistency proof that failed), kept as evidence with the
-- cosigned checkpoint they conflict with and the proof as submitted.
CREATE TABLE witness_evidence (
    id          INTEGER PRIMARY KEY,
    origin      TEXT NOT NULL,
    actor       TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('same-size-other-root', 'proof-failed')),
    cosigned    TEXT NOT NULL,
    submitted   TEXT NOT NULL,
    old_size    INTEGER NOT NULL,
    proof       TEXT NOT NULL,
    received_ms INTEGER NOT NULL,
    UNIQUE (origin, submitted)
);

-- Log side: this node's witnesses (its accepted followers that are Punte nodes), with the
-- submission prefix, the cosignature/v1 verifier key fetched from `BASE/witness/key`, the
-- witness's country (from its actor document) and the size it last cosigned for us.
CREATE TABLE log_witnesses (
    actor           TEXT PRIMARY KEY,
    url             TEXT NOT NULL,
    vkey            TEXT,
    country         TEXT,
    size            INTEGER NOT NULL DEFAULT 0 CHECK (size >= 0),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL DEFAULT 0,
    last_ok_ms      INTEGER,
    last_error      TEXT
);

-- Log side: the cosignature lines received, per checkpoint size and witness.
CREATE TABLE log_cosignatures (
    size        INTEGER NOT NULL CHECK (size >= 0),
    witness     TEXT NOT NULL,
    line        TEXT NOT NULL,
    timestamp   INTEGER NOT NULL,
    received_ms INTEGER NOT NULL,
    PRIMARY KEY (size, witness)
) WITHOUT ROWID;

-- Log side: set when a witness has cosigned more of this log than the node holds (restored
-- from an old backup) or another checkpoint of the same size (a fork). While a row exists
-- the node refuses to append.
CREATE TABLE log_append_guard (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    witness     TEXT NOT NULL,
    local_size  INTEGER NOT NULL,
    cosigned    TEXT NOT NULL,
    reason      TEXT NOT NULL,
    detected_ms INTEGER NOT NULL
);
