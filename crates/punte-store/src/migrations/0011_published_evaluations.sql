-- 0011: each version of an evaluation as it left the node — disclosure control applied —
-- written in the same transaction as the version and its log entry. Pages, analysis, IATI
-- and the next version's disclosure read it instead of recomputing every earlier version,
-- and it records the `k` in force when the version was published (raising `disclosure.k`
-- later cannot take back what partners already hold). `body` is the published evaluation
-- (punte-model serde); `reasons` the JSON array of why each value is blank (the
-- organisation's own pages only: it names small sizes, so it never leaves the node).
-- Versions stored before this migration have no row; the node records them (decided again,
-- in order, with the current k) when it opens (`Node::open`), in one transaction.
CREATE TABLE published_evaluations (
    id      TEXT NOT NULL,
    version INTEGER NOT NULL CHECK (version >= 1),
    k       INTEGER NOT NULL,
    body    TEXT NOT NULL,
    reasons TEXT NOT NULL,
    PRIMARY KEY (id, version)
) WITHOUT ROWID;
