//! FEP-521a / W3C Multikey encoding of Ed25519 keys: multibase base58-btc (`z` prefix) of a
//! multicodec prefix and the raw key (`0xed 0x01` for a public key, giving `z6Mk…`;
//! `0x80 0x26` for a private key, giving `z3u2…`). Decoding is strict.

use ed25519_dalek::{SigningKey, VerifyingKey};

/// Multicodec `ed25519-pub` (0xed) as an unsigned varint.
pub const ED25519_PUBLIC_PREFIX: [u8; 2] = [0xed, 0x01];
/// Multicodec `ed25519-priv` (0x1300) as an unsigned varint.
pub const ED25519_PRIVATE_PREFIX: [u8; 2] = [0x80, 0x26];

/// Why a multibase or Multikey string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MultikeyError {
    /// Only base58-btc (`z`) multibase is accepted.
    #[error("multibase value must start with 'z' (base58-btc)")]
    NotBase58Btc,
    /// Characters outside the Bitcoin base58 alphabet.
    #[error("invalid base58-btc: {0}")]
    Base58(String),
    /// The multicodec prefix is not the expected one.
    #[error("unexpected multicodec prefix {found:02x?}, expected {expected:02x?}")]
    WrongCodec {
        /// The prefix required.
        expected: [u8; 2],
        /// The first bytes found.
        found: Vec<u8>,
    },
    /// The decoded key has the wrong length.
    #[error("ed25519 key must be 32 bytes, found {0}")]
    WrongLength(usize),
    /// The bytes are not a valid Ed25519 public key (not a curve point).
    #[error("bytes are not a valid ed25519 public key")]
    InvalidPublicKey,
}

/// Multibase base58-btc encoding: `z` followed by base58 of `bytes`.
pub fn encode_base58btc(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(1 + bytes.len() * 138 / 100 + 1);
    out.push('z');
    out.push_str(&bs58::encode(bytes).into_string());
    out
}

/// Decodes a multibase base58-btc string (must start with `z`).
pub fn decode_base58btc(value: &str) -> Result<Vec<u8>, MultikeyError> {
    let rest = value.strip_prefix('z').ok_or(MultikeyError::NotBase58Btc)?;
    bs58::decode(rest)
        .into_vec()
        .map_err(|e| MultikeyError::Base58(e.to_string()))
}

/// The `publicKeyMultibase` value of an Ed25519 public key (`z6Mk…`).
pub fn encode_ed25519_public(key: &VerifyingKey) -> String {
    let mut bytes = Vec::with_capacity(34);
    bytes.extend_from_slice(&ED25519_PUBLIC_PREFIX);
    bytes.extend_from_slice(key.as_bytes());
    encode_base58btc(&bytes)
}

/// Decodes a `publicKeyMultibase` value that must hold an Ed25519 public key.
pub fn decode_ed25519_public(value: &str) -> Result<VerifyingKey, MultikeyError> {
    let raw = strip_codec(&decode_base58btc(value)?, ED25519_PUBLIC_PREFIX)?;
    VerifyingKey::from_bytes(&raw).map_err(|_| MultikeyError::InvalidPublicKey)
}

/// The `secretKeyMultibase` value of an Ed25519 private key (`z3u2…`). Handle with care:
/// this is the secret seed.
pub fn encode_ed25519_private(key: &SigningKey) -> String {
    let mut bytes = Vec::with_capacity(34);
    bytes.extend_from_slice(&ED25519_PRIVATE_PREFIX);
    bytes.extend_from_slice(key.as_bytes());
    encode_base58btc(&bytes)
}

/// Decodes a `secretKeyMultibase` value holding an Ed25519 private key (32-byte seed).
pub fn decode_ed25519_private(value: &str) -> Result<SigningKey, MultikeyError> {
    let raw = strip_codec(&decode_base58btc(value)?, ED25519_PRIVATE_PREFIX)?;
    Ok(SigningKey::from_bytes(&raw))
}

fn strip_codec(bytes: &[u8], prefix: [u8; 2]) -> Result<[u8; 32], MultikeyError> {
    let rest = bytes
        .strip_prefix(&prefix[..])
        .ok_or_else(|| MultikeyError::WrongCodec {
            expected: prefix,
            found: bytes.iter().take(2).copied().collect(),
        })?;
    <[u8; 32]>::try_from(rest).map_err(|_| MultikeyError::WrongLength(rest.len()))
}
