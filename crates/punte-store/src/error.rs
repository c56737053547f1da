//! Store errors.

/// What can go wrong in the store. `NotFound`, `Gone` and `Conflict` are expected outcomes
/// that callers map to 404, 410 and 412/409; `Sqlite` and `Corrupt` are failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{what} not found")]
    NotFound { what: String },
    #[error("{what} was deleted")]
    Gone { what: String },
    #[error("version conflict: expected version {expected}, current is {current}")]
    VersionConflict { expected: u32, current: u32 },
    #[error("{0}")]
    Conflict(String),
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("cannot open database at {path}: {source}")]
    Open {
        path: String,
        source: rusqlite::Error,
    },
    #[error(
        "database schema version {found} is newer than this program supports ({supported}); upgrade punte"
    )]
    SchemaTooNew { found: i64, supported: i64 },
}

impl StoreError {
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound { what: what.into() }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
