//! punte-log.
