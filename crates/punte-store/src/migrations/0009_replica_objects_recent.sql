-- 0009: partners' objects of one kind, most recently received first (the pages of partners'
-- practices read them 20 at a time instead of parsing every replicated practice).
CREATE INDEX replica_objects_recent ON replica_objects (kind, updated_ms DESC, object_id DESC);
