//! punte-log integration tests: one binary, one module per area.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod audit;
mod entry;
mod note;
mod proptests;
mod support;
mod tree;
