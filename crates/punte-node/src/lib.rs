//! punte-node.
