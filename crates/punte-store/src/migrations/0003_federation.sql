-- 0003: federation (docs/protocol.md §5): remote actors, follow relations in both
-- directions, the delivery queue, per-host delivery state, received activities, and the
-- verified replicas of partners' logs.

-- Actor documents fetched from other servers, as fetched (exact bytes), with what the node
-- needs of them. `is_punte` is set when the actor advertises the Punte context, which makes
-- proofs mandatory and enables log replication.
CREATE TABLE remote_actors (
    id            TEXT PRIMARY KEY,
    host          TEXT NOT NULL,
    inbox         TEXT NOT NULL,
    shared_inbox  TEXT,
    username      TEXT,
    document      BLOB NOT NULL,
    is_punte      INTEGER NOT NULL CHECK (is_punte IN (0, 1)),
    fetched_ms    INTEGER NOT NULL
);

-- Who follows this node. A request is `pending` until an admin approves or rejects it
-- (or at once `accepted` when follow requests are approved automatically).
CREATE TABLE followers (
    actor         TEXT PRIMARY KEY REFERENCES remote_actors (id),
    follow_id     TEXT NOT NULL,
    follow        BLOB NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('pending', 'accepted', 'rejected')),
    requested_ms  INTEGER NOT NULL,
    decided_ms    INTEGER
);

-- Whom this node follows: `pending` until the partner's Accept or Reject arrives.
CREATE TABLE following (
    actor         TEXT PRIMARY KEY REFERENCES remote_actors (id),
    follow_id     TEXT NOT NULL UNIQUE,
    state         TEXT NOT NULL CHECK (state IN ('pending', 'accepted', 'rejected')),
    requested_ms  INTEGER NOT NULL,
    decided_ms    INTEGER
);

-- One row per (log entry, inbox), written in the transaction of the entry. The worker
-- delivers the oldest pending row of each inbox first (in order per partner).
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY,
    log_index       INTEGER NOT NULL REFERENCES log_entries (idx),
    inbox           TEXT NOT NULL,
    host            TEXT NOT NULL,
    recipient       TEXT,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_ms      INTEGER NOT NULL,
    next_attempt_ms INTEGER NOT NULL,
    last_attempt_ms INTEGER,
    last_status     INTEGER,
    last_error      TEXT,
    done_ms         INTEGER,
    UNIQUE (log_index, inbox)
);
CREATE INDEX deliveries_pending ON deliveries (inbox, id) WHERE state = 'pending';
CREATE INDEX deliveries_by_entry ON deliveries (log_index);

-- Per remote host: the signature scheme that last worked and the circuit breaker.
CREATE TABLE delivery_hosts (
    host                 TEXT PRIMARY KEY,
    scheme               TEXT CHECK (scheme IN ('rfc9421', 'cavage')),
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    paused_until_ms      INTEGER NOT NULL DEFAULT 0,
    last_success_ms      INTEGER,
    last_failure_ms      INTEGER,
    last_error           TEXT
);

-- Every activity accepted by the inbox, once (idempotent on id): the exact bytes received,
-- the verification evidence (JSON) and what the node did with it.
CREATE TABLE inbox_activities (
    seq          INTEGER PRIMARY KEY,
    activity_id  TEXT NOT NULL UNIQUE,
    actor        TEXT NOT NULL,
    type         TEXT NOT NULL,
    received_ms  INTEGER NOT NULL,
    body         BLOB NOT NULL,
    evidence     TEXT NOT NULL,
    outcome      TEXT NOT NULL
);

-- A verified replica of a followed Punte partner's log: the verified prefix (size, root,
-- compact tree, the key valid for the next entry) and the latest checkpoint it matched.
-- `wanted_size` is the largest size the partner announced; a replica below it backfills.
CREATE TABLE replicas (
    actor            TEXT PRIMARY KEY REFERENCES remote_actors (id),
    base_url         TEXT NOT NULL,
    origin           TEXT NOT NULL,
    size             INTEGER NOT NULL CHECK (size >= 0),
    root             BLOB NOT NULL CHECK (length(root) = 32),
    frontier         BLOB NOT NULL CHECK (length(frontier) % 32 = 0),
    current_key      BLOB NOT NULL CHECK (length(current_key) = 32),
    max_timestamp_ms INTEGER,
    checkpoint       TEXT,
    checkpoint_size  INTEGER NOT NULL DEFAULT 0,
    wanted_size      INTEGER NOT NULL DEFAULT 0,
    last_sync_ms     INTEGER,
    last_error       TEXT
);

-- The partner's entries, verified: the envelope, the exact activity bytes (NULL when the
-- partner redacted them), and the checkpoint size that vouched for them.
CREATE TABLE replica_entries (
    actor           TEXT NOT NULL REFERENCES replicas (actor),
    idx             INTEGER NOT NULL CHECK (idx >= 0),
    entry           BLOB NOT NULL,
    activity        BLOB,
    activity_id     TEXT NOT NULL,
    kind            INTEGER NOT NULL,
    timestamp_ms    INTEGER NOT NULL,
    checkpoint_size INTEGER NOT NULL,
    via             TEXT NOT NULL CHECK (via IN ('delivery', 'backfill')),
    received_ms     INTEGER NOT NULL,
    PRIMARY KEY (actor, idx)
) WITHOUT ROWID;

-- The partner's objects as of the replica: the latest version of each, with the log entry
-- that carried it. Deleted objects keep their row with `deleted` = 1.
CREATE TABLE replica_objects (
    object_id   TEXT PRIMARY KEY,
    actor       TEXT NOT NULL REFERENCES replicas (actor),
    kind        TEXT NOT NULL,
    log_index   INTEGER NOT NULL,
    activity_id TEXT NOT NULL,
    object      TEXT NOT NULL,
    updates     INTEGER NOT NULL DEFAULT 1,
    deleted     INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    updated_ms  INTEGER NOT NULL
);
CREATE INDEX replica_objects_by_actor ON replica_objects (actor, kind);
