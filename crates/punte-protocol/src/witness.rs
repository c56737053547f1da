//! What a node's witness serves for monitoring (`BASE/witness/checkpoints`), read by the
//! node's own restore check and by the network audit (`punte-audit`).

use serde::Deserialize;

/// Path of the witness prefix (submission and monitoring) under a node's base URL.
pub const WITNESS_PREFIX: &str = "/witness";

/// The witness key name of a node: `HOST[:PORT]/punte-witness`.
pub fn witness_name(origin: &str) -> String {
    format!(
        "{}/punte-witness",
        origin.strip_suffix("/punte-log").unwrap_or(origin)
    )
}

/// One entry of `GET BASE/witness/checkpoints`: the latest checkpoint of `origin` this
/// witness cosigned.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct WitnessedWire {
    pub origin: String,
    pub size: u64,
    pub checkpoint: String,
}

/// The body of `GET BASE/witness/checkpoints`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct WitnessedList {
    pub items: Vec<WitnessedWire>,
}
