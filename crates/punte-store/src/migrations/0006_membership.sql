-- 0006: signed network membership (issue #7, docs/protocol.md §1.10). Every version of the
-- membership list this node published as a coordinator, append-only: the row is written in
-- the transaction of the log entry (kind 4, membership) that publishes it. The latest row is
-- the list in force.
CREATE TABLE membership_versions (
    version      INTEGER PRIMARY KEY CHECK (version >= 1),
    log_index    INTEGER NOT NULL UNIQUE CHECK (log_index >= 0),
    activity_id  TEXT NOT NULL,
    action       TEXT NOT NULL CHECK (action IN ('admit', 'remove', 'update')),
    actor        TEXT NOT NULL,
    object       TEXT NOT NULL,
    published_ms INTEGER NOT NULL
);

-- The outbox lists activities (kind 1) and membership lists (kind 4) in index order.
CREATE INDEX log_entries_outbox_with_membership ON log_entries (idx)
    WHERE activity IS NOT NULL AND kind IN (1, 4);
