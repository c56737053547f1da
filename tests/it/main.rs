//! End-to-end tests: real nodes in-process on loopback port 0, each with its own data directory.

mod api;
mod bad_input;
mod log;
mod browser;
mod support;
mod web;
