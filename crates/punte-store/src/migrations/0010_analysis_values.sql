-- 0010: what the comparative analysis needs of each replicated evaluation, per indicator
-- code, so an analysis reads only the rows of its indicator instead of parsing every
-- replicated object again. Derived from `replica_objects`: written in the same transaction
-- as the object it comes from (`federation::upsert_replica_object` /
-- `delete_replica_object`), never edited on its own.
--
-- One row per (indicator code, replicated evaluation) with at least one whole-population
-- value of that code; an evaluation that failed parsing and validation has one row with
-- code '' and the reason in `refused`. `vals` is the JSON array of the whole-population
-- values of the code, in the object's order (punte-model serde).
CREATE TABLE analysis_values (
    code           TEXT NOT NULL,
    actor          TEXT NOT NULL,
    object_id      TEXT NOT NULL,
    log_index      INTEGER NOT NULL,
    activity_id    TEXT NOT NULL,
    updates        INTEGER NOT NULL,
    evaluation_id  TEXT,
    is_plan        INTEGER,
    evidence_level INTEGER,
    practice       TEXT,
    adaptation     TEXT,
    plan           TEXT,
    vals           TEXT,
    refused        TEXT,
    PRIMARY KEY (code, actor, object_id)
) WITHOUT ROWID;
CREATE INDEX analysis_values_by_object ON analysis_values (object_id);

-- Parsing needs Rust: the store fills the table for existing replicas when it opens
-- (`analysis::rebuild_if_pending`), in one transaction that also removes this marker.
INSERT INTO node_meta (key, value)
    SELECT 'analysis_values_rebuild', 'pending'
    WHERE EXISTS (SELECT 1 FROM replica_objects WHERE kind = 'evaluation');
