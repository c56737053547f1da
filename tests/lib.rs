//! Test support crate (empty).
