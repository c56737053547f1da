//! punte-server.
