-- 0001: the organisation, versioned documents (practices, evaluations, adaptations),
-- the indicator catalogue, search indexes and API tokens.

CREATE TABLE node_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- One row per document; `seq` orders lists and pages.
CREATE TABLE documents (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT NOT NULL CHECK (kind IN ('practice', 'evaluation', 'adaptation')),
    id              TEXT NOT NULL,
    current_version INTEGER NOT NULL CHECK (current_version >= 1),
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    deleted_at      TEXT,
    UNIQUE (kind, id)
);

-- Every version ever stored; versions are never changed.
CREATE TABLE document_versions (
    kind       TEXT NOT NULL,
    id         TEXT NOT NULL,
    version    INTEGER NOT NULL,
    body       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (kind, id, version),
    FOREIGN KEY (kind, id) REFERENCES documents (kind, id)
) WITHOUT ROWID;

-- Filter columns of the current version of each practice.
CREATE TABLE practice_index (
    id                TEXT PRIMARY KEY,
    country           TEXT NOT NULL,
    maturity          TEXT NOT NULL,
    original_language TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX practice_index_country ON practice_index (country);

CREATE TABLE practice_themes (
    id    TEXT NOT NULL,
    theme TEXT NOT NULL,
    PRIMARY KEY (id, theme)
) WITHOUT ROWID;
CREATE INDEX practice_themes_theme ON practice_themes (theme);

CREATE TABLE practice_sdgs (
    id     TEXT NOT NULL,
    target TEXT NOT NULL,
    PRIMARY KEY (id, target)
) WITHOUT ROWID;
CREATE INDEX practice_sdgs_target ON practice_sdgs (target);

CREATE TABLE practice_languages (
    id       TEXT NOT NULL,
    language TEXT NOT NULL,
    PRIMARY KEY (id, language)
) WITHOUT ROWID;
CREATE INDEX practice_languages_language ON practice_languages (language);

-- Full-text search, one row per practice and language; diacritics folded (ș = s).
CREATE VIRTUAL TABLE practice_fts USING fts5 (
    id UNINDEXED,
    language UNINDEXED,
    title,
    body,
    tokenize = 'unicode61 remove_diacritics 2'
);

-- Which indicator versions each evaluation's current version uses.
CREATE TABLE evaluation_values (
    evaluation_id     TEXT NOT NULL,
    indicator_code    TEXT NOT NULL,
    indicator_version INTEGER NOT NULL,
    PRIMARY KEY (evaluation_id, indicator_code, indicator_version)
) WITHOUT ROWID;
CREATE INDEX evaluation_values_indicator ON evaluation_values (indicator_code, indicator_version);

CREATE TABLE evaluation_subjects (
    evaluation_id TEXT PRIMARY KEY,
    practice_id   TEXT,
    adaptation_id TEXT
) WITHOUT ROWID;
CREATE INDEX evaluation_subjects_practice ON evaluation_subjects (practice_id);

-- The indicator catalogue: `code@version` rows are immutable once created.
CREATE TABLE indicators (
    code       TEXT NOT NULL,
    version    INTEGER NOT NULL CHECK (version >= 1),
    body       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    deleted_at TEXT,
    PRIMARY KEY (code, version)
) WITHOUT ROWID;

-- Bearer tokens, stored as SHA-256 of the token; the token itself is shown once.
CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    token_hash   BLOB NOT NULL UNIQUE,
    role         TEXT NOT NULL CHECK (role IN ('admin', 'editor', 'reader')),
    label        TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
) WITHOUT ROWID;
