-- 0002: the signed history (docs/protocol.md §2): log entries with their exact activity
-- bytes, the tree state, signed checkpoints and the identity key history.

-- One row per entry, in index order. `entry` is the encoded punte-entry/v1 envelope and
-- `leaf_hash` = SHA-256(0x00 || entry). `activity` holds the exact bytes the entry's
-- activity_hash commits to; it becomes NULL when redacted, and `redaction_reason` and
-- `redacted_by` (index of the redaction entry) say why. Rows are never deleted, and only
-- `activity`, `redaction_reason` and `redacted_by` are ever changed (by a redaction).
CREATE TABLE log_entries (
    idx              INTEGER PRIMARY KEY CHECK (idx >= 0),
    entry            BLOB NOT NULL,
    leaf_hash        BLOB NOT NULL CHECK (length(leaf_hash) = 32),
    activity_id      TEXT NOT NULL UNIQUE,
    kind             INTEGER NOT NULL CHECK (kind BETWEEN 1 AND 4),
    timestamp_ms     INTEGER NOT NULL,
    activity         BLOB,
    redaction_reason TEXT,
    redacted_by      INTEGER,
    CHECK ((activity IS NULL) = (redaction_reason IS NOT NULL))
);
-- The outbox pages over activities (kind 1) that were not redacted.
CREATE INDEX log_entries_outbox ON log_entries (kind, idx) WHERE activity IS NOT NULL;

-- The tree after the last append: one row. `frontier` is the compact tree (the roots of its
-- perfect subtrees, largest first) as concatenated 32-byte hashes. `origin` is fixed when
-- the first entry is written.
CREATE TABLE log_state (
    id                INTEGER PRIMARY KEY CHECK (id = 1),
    origin            TEXT NOT NULL,
    size              INTEGER NOT NULL CHECK (size >= 0),
    root              BLOB NOT NULL CHECK (length(root) = 32),
    frontier          BLOB NOT NULL CHECK (length(frontier) % 32 = 0),
    last_timestamp_ms INTEGER NOT NULL
);

-- Every signed checkpoint, by tree size: the C2SP signed note text.
CREATE TABLE log_checkpoints (
    size       INTEGER PRIMARY KEY CHECK (size >= 1),
    note       TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- The identity key history, oldest first: `valid_from` is the first index the key signs;
-- `retired_at` is the index of the rotation entry (signed by this key) that named its
-- successor. Exactly one key has `retired_at` NULL once the log has started.
CREATE TABLE log_keys (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    public_key BLOB NOT NULL UNIQUE CHECK (length(public_key) = 32),
    valid_from INTEGER NOT NULL CHECK (valid_from >= 0),
    retired_at INTEGER,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX log_keys_current ON log_keys (retired_at IS NULL) WHERE retired_at IS NULL;
