-- 0007: which full-text rows belong to which practice. `practice_fts.id` is UNINDEXED, so
-- `DELETE FROM practice_fts WHERE id = ?` scans the whole table: every update of a practice
-- cost a scan of the index of all practices. FTS5 deletes by rowid are cheap, so the rowids
-- of each practice's rows are kept here, written in the same transaction as the rows.
CREATE TABLE practice_fts_rows (
    fts_rowid INTEGER PRIMARY KEY,
    id        TEXT NOT NULL
);
CREATE INDEX practice_fts_rows_id ON practice_fts_rows (id);
INSERT INTO practice_fts_rows (fts_rowid, id) SELECT rowid, id FROM practice_fts;
