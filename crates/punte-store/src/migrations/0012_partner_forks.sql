-- 0012: a followed partner's log seen to fork (docs/protocol.md "Forks a partner sees").
-- Recorded at once, on the first delivery or sync that conflicts with what the replica
-- holds: two signed checkpoints of one size with different roots (`checkpoint`), or two
-- entries at one index with different bytes, both signed by the partner's key (`entry`).
-- `held` and `received` are the signed notes, or the base64 entries. While a row exists the
-- replica applies nothing more from the partner and this node, as its witness, cosigns
-- nothing more of its log. One row per partner (the first evidence is kept); the node never
-- removes it (docs/operating.md, "A partner's log forked").
CREATE TABLE partner_forks (
    actor       TEXT PRIMARY KEY,
    origin      TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('checkpoint', 'entry')),
    at          INTEGER NOT NULL CHECK (at >= 0),
    held        TEXT NOT NULL,
    received    TEXT NOT NULL,
    via         TEXT NOT NULL CHECK (via IN ('delivery', 'sync')),
    detected_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX partner_forks_origin ON partner_forks (origin);
