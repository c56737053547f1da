//! punte-protocol.
