//! The punte binary.
fn main() {}
