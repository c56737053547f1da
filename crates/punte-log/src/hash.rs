//! RFC 9162 tree hashing: the `Hash` newtype, leaf and node hashes, the empty-tree root.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest as _, Sha256};

/// Length in bytes of a SHA-256 hash.
pub const HASH_LEN: usize = 32;

/// A SHA-256 output: a leaf hash, a node hash, a tree root or an activity hash.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash(pub [u8; HASH_LEN]);

/// A byte string that is not a 32-byte hash (wrong length or bad base64/hex).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid hash: {0}")]
pub struct HashParseError(&'static str);

impl Hash {
    /// The hash as bytes.
    pub fn as_bytes(&self) -> &[u8; HASH_LEN] {
        &self.0
    }

    /// Takes exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Hash, HashParseError> {
        let array: [u8; HASH_LEN] = bytes
            .try_into()
            .map_err(|_| HashParseError("length is not 32 bytes"))?;
        Ok(Hash(array))
    }

    /// Standard (RFC 4648 §4, padded) base64, as used in checkpoints and proofs.
    pub fn to_base64(&self) -> String {
        BASE64.encode(self.0)
    }

    /// Parses standard padded base64 of exactly 32 bytes.
    pub fn from_base64(text: &str) -> Result<Hash, HashParseError> {
        let bytes = BASE64
            .decode(text)
            .map_err(|_| HashParseError("bad base64"))?;
        Hash::from_slice(&bytes)
    }

    /// Lowercase hexadecimal.
    pub fn to_hex(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::with_capacity(HASH_LEN * 2);
        for byte in self.0 {
            let _ = write!(out, "{byte:02x}");
        }
        out
    }
}

impl std::fmt::Debug for Hash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl std::fmt::Display for Hash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// Plain SHA-256 of `bytes` (used for activity hashes; not domain separated).
pub fn sha256(bytes: &[u8]) -> Hash {
    Hash(Sha256::digest(bytes).into())
}

/// RFC 9162 §2.1.1 leaf hash: `SHA-256(0x00 || bytes)`.
pub fn leaf_hash(bytes: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x00]);
    hasher.update(bytes);
    Hash(hasher.finalize().into())
}

/// RFC 9162 §2.1.1 interior node hash: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut buffer = [0u8; 1 + 2 * HASH_LEN];
    buffer[0] = 0x01;
    buffer[1..1 + HASH_LEN].copy_from_slice(&left.0);
    buffer[1 + HASH_LEN..].copy_from_slice(&right.0);
    Hash(Sha256::digest(buffer).into())
}

/// Root of the empty tree: `SHA-256("")`.
pub fn empty_root() -> Hash {
    sha256(&[])
}
