-- Follower-side trust in partners' histories (issue 7, items 3 and 4).
--
-- `replicas.awaiting`: why a replica holds back entries it could verify (the partner's
-- checkpoint does not meet `[federation] require_partner_witnesses`); NULL when it does not.
ALTER TABLE replicas ADD COLUMN awaiting TEXT;

-- Signed checkpoints of followed partners as they arrived here (stapled to a delivery, or
-- read by a replica sync), kept so an auditor can compare them with what the partner and its
-- witnesses serve (`GET /federation/checkpoints`). One row per (origin, size, root): two
-- roots of one size are equivocation, and such rows are not pruned (at most 2000 rows per
-- origin; see punte-store federation::checkpoints).
CREATE TABLE partner_checkpoints (
    origin      TEXT NOT NULL,
    actor       TEXT NOT NULL,
    size        INTEGER NOT NULL CHECK (size >= 0),
    root        BLOB NOT NULL CHECK (length(root) = 32),
    note        TEXT NOT NULL,
    via         TEXT NOT NULL CHECK (via IN ('delivery', 'sync')),
    received_ms INTEGER NOT NULL,
    PRIMARY KEY (origin, size, root)
);
