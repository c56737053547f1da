//! The single integration test binary of punte-protocol: known-answer tests from published
//! vectors (see `tests/vectors/README.md`), round trips and property tests.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod activity;
mod actor;
mod context;
mod httpsig;
mod jcs;
mod keys;
mod multikey;
mod objects;
mod proof;
mod samples;
mod urls;
mod webfinger;

use std::path::PathBuf;

/// Reads `tests/vectors/<path>` as UTF-8.
pub fn vector(path: &str) -> String {
    let full: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "vectors", path]
        .iter()
        .collect();
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// Reads `tests/vectors/<path>` as JSON.
pub fn vector_json(path: &str) -> serde_json::Value {
    serde_json::from_str(&vector(path)).unwrap()
}
