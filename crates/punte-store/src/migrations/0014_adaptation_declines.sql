-- 0014: the origin organisation may decline a received adaptation, with a reason (the
-- transfer loop in the web interface). The decline is this node's own record: it is not
-- published, and a countersignature given later supersedes it. `declined_version` is the
-- adaptation version the organisation saw when it declined.
ALTER TABLE incoming_adaptations ADD COLUMN declined_ms INTEGER;
ALTER TABLE incoming_adaptations ADD COLUMN declined_version INTEGER CHECK (declined_version >= 1);
ALTER TABLE incoming_adaptations ADD COLUMN decline_reason TEXT;
