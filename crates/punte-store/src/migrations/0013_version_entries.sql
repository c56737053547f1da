-- 0013: the log entry that published each document version (docs/protocol.md "What a node
-- serves"). Written in the transaction that stores the version and appends its entry; the
-- node checks a version against that entry's object before it serves it (AS2 and HTML), so
-- a row edited in the database, with no entry, is refused instead of served unsigned.
-- Versions stored before this migration are matched with their entries when the node opens
-- (`Node::open`); a version no entry published stays NULL and is refused as unlogged.
ALTER TABLE document_versions ADD COLUMN log_index INTEGER CHECK (log_index >= 0);
