//! punte-store.
