//! punte-model.
