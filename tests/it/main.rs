//! End-to-end tests: real nodes in-process on loopback port 0, each with its own data directory.

// Tests may fail loudly: a panic is how a test reports.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod adaptations;
mod analysis;
mod analysis_network;
mod api;
mod bad_input;
mod browser;
mod federation;
mod federation_inbox;
mod fedify;
mod layering;
mod log;
mod membership;
mod preregistration;
mod support;
mod web;
mod web_compare;
mod web_network;
mod witness;
