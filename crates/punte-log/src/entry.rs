//! The signed entry envelope `punte-entry/v1`: layout, signing, strict decoding, payloads.
//!
//! Layout (all integers big-endian, `str` = u32 length then UTF-8 bytes):
//!
//! ```text
//! magic          14 bytes  "punte-entry/v1"
//! origin         str       1..=2048 bytes, e.g. "example.org/punte-log"
//! index          u64
//! prev_root      32 bytes  root of the tree of the `index` earlier entries
//! timestamp      i64       unix milliseconds
//! kind           u8        1 activity, 2 key rotation, 3 redaction, 4 membership
//! activity_id    str       1..=2048 bytes (an IRI)
//! activity_hash  32 bytes  SHA-256 of the exact activity bytes
//! signer         32 bytes  Ed25519 public key of the signer
//! signature      64 bytes  Ed25519 over every preceding byte
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

use crate::hash::{HASH_LEN, Hash, leaf_hash, sha256};

/// The first bytes of every entry.
pub const ENTRY_MAGIC: &[u8; 14] = b"punte-entry/v1";
/// Maximum length in bytes of the origin field.
pub const MAX_ORIGIN_LEN: usize = 2048;
/// Maximum length in bytes of the activity id field.
pub const MAX_ACTIVITY_ID_LEN: usize = 2048;
/// Length of an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;
/// Length of an Ed25519 public key.
pub const PUBLIC_KEY_LEN: usize = 32;

/// What an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum EntryKind {
    /// An ActivityStreams activity emitted by the node.
    Activity = 1,
    /// A key rotation; the activity bytes are a [`KeyRotation`] payload.
    KeyRotation = 2,
    /// A redaction record; the activity bytes are a [`Redaction`] payload.
    Redaction = 3,
    /// Membership and other reserved records.
    Membership = 4,
}

impl EntryKind {
    /// The wire byte.
    pub fn to_byte(self) -> u8 {
        self as u8
    }

    /// Parses the wire byte; unknown kinds are an error.
    pub fn from_byte(byte: u8) -> Result<EntryKind, EntryError> {
        match byte {
            1 => Ok(EntryKind::Activity),
            2 => Ok(EntryKind::KeyRotation),
            3 => Ok(EntryKind::Redaction),
            4 => Ok(EntryKind::Membership),
            other => Err(EntryError::UnknownKind(other)),
        }
    }
}

/// Errors building, decoding or verifying entries and their payloads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    #[error("entry does not start with the punte-entry/v1 magic")]
    BadMagic,
    #[error("entry is truncated")]
    Truncated,
    #[error("entry has {0} trailing bytes")]
    TrailingBytes(usize),
    #[error("{field} is {len} bytes, outside 1..={max}")]
    BadFieldLength {
        field: &'static str,
        len: usize,
        max: usize,
    },
    #[error("{0} is not valid utf-8")]
    NotUtf8(&'static str),
    #[error("unknown entry kind {0}")]
    UnknownKind(u8),
    #[error("signing key does not match the signer field")]
    SignerMismatch,
    #[error("signer public key is not a valid ed25519 point")]
    InvalidPublicKey,
    #[error("signature does not verify")]
    BadSignature,
    #[error("malformed {0} payload")]
    BadPayload(&'static str),
}

/// The unsigned fields of an entry, in wire order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryBody {
    pub origin: String,
    pub index: u64,
    pub prev_root: Hash,
    pub timestamp_ms: i64,
    pub kind: EntryKind,
    pub activity_id: String,
    pub activity_hash: Hash,
    /// The signer's Ed25519 public key bytes.
    pub signer: [u8; PUBLIC_KEY_LEN],
}

impl EntryBody {
    /// Builds a body for `activity_bytes`, hashing them.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        origin: impl Into<String>,
        index: u64,
        prev_root: Hash,
        timestamp_ms: i64,
        kind: EntryKind,
        activity_id: impl Into<String>,
        activity_bytes: &[u8],
        signer: &VerifyingKey,
    ) -> EntryBody {
        EntryBody {
            origin: origin.into(),
            index,
            prev_root,
            timestamp_ms,
            kind,
            activity_id: activity_id.into(),
            activity_hash: sha256(activity_bytes),
            signer: signer.to_bytes(),
        }
    }

    /// Checks the field length limits.
    pub fn validate(&self) -> Result<(), EntryError> {
        check_len("origin", self.origin.len(), MAX_ORIGIN_LEN)?;
        check_len("activity id", self.activity_id.len(), MAX_ACTIVITY_ID_LEN)
    }

    /// The bytes the signature covers: everything before the signature.
    pub fn to_signing_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            ENTRY_MAGIC.len()
                + 4
                + self.origin.len()
                + 8
                + HASH_LEN
                + 8
                + 1
                + 4
                + self.activity_id.len()
                + HASH_LEN
                + PUBLIC_KEY_LEN
                + SIGNATURE_LEN,
        );
        out.extend_from_slice(ENTRY_MAGIC);
        put_str(&mut out, &self.origin);
        out.extend_from_slice(&self.index.to_be_bytes());
        out.extend_from_slice(&self.prev_root.0);
        out.extend_from_slice(&self.timestamp_ms.to_be_bytes());
        out.push(self.kind.to_byte());
        put_str(&mut out, &self.activity_id);
        out.extend_from_slice(&self.activity_hash.0);
        out.extend_from_slice(&self.signer);
        out
    }
}

fn check_len(field: &'static str, len: usize, max: usize) -> Result<(), EntryError> {
    if len == 0 || len > max {
        return Err(EntryError::BadFieldLength { field, len, max });
    }
    Ok(())
}

fn put_str(out: &mut Vec<u8>, text: &str) {
    // Lengths are validated to at most 2048 before encoding, so they fit in u32.
    out.extend_from_slice(&(text.len() as u32).to_be_bytes());
    out.extend_from_slice(text.as_bytes());
}

/// An entry with its signature. Holding one does not mean it verified: see
/// [`SignedEntry::verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedEntry {
    pub body: EntryBody,
    pub signature: [u8; SIGNATURE_LEN],
}

impl SignedEntry {
    /// Signs `body` with `key`, whose public key must equal `body.signer`.
    pub fn sign(body: EntryBody, key: &SigningKey) -> Result<SignedEntry, EntryError> {
        body.validate()?;
        if key.verifying_key().to_bytes() != body.signer {
            return Err(EntryError::SignerMismatch);
        }
        let signature = key.sign(&body.to_signing_bytes()).to_bytes();
        Ok(SignedEntry { body, signature })
    }

    /// The wire bytes (signing bytes followed by the signature).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.body.to_signing_bytes();
        out.extend_from_slice(&self.signature);
        out
    }

    /// Strictly decodes wire bytes: exact magic, bounded lengths, valid UTF-8, known kind,
    /// no trailing bytes. Does not verify the signature.
    pub fn decode(bytes: &[u8]) -> Result<SignedEntry, EntryError> {
        let mut reader = Reader { rest: bytes };
        if reader.take(ENTRY_MAGIC.len())? != ENTRY_MAGIC {
            return Err(EntryError::BadMagic);
        }
        let origin = reader.str("origin", MAX_ORIGIN_LEN)?;
        let index = u64::from_be_bytes(reader.array()?);
        let prev_root = Hash(reader.array()?);
        let timestamp_ms = i64::from_be_bytes(reader.array()?);
        let [kind] = reader.array::<1>()?;
        let kind = EntryKind::from_byte(kind)?;
        let activity_id = reader.str("activity id", MAX_ACTIVITY_ID_LEN)?;
        let activity_hash = Hash(reader.array()?);
        let signer = reader.array()?;
        let signature = reader.array()?;
        if !reader.rest.is_empty() {
            return Err(EntryError::TrailingBytes(reader.rest.len()));
        }
        Ok(SignedEntry {
            body: EntryBody {
                origin,
                index,
                prev_root,
                timestamp_ms,
                kind,
                activity_id,
                activity_hash,
                signer,
            },
            signature,
        })
    }

    /// The leaf hash of this entry in the log tree: `leaf_hash(encode())`.
    pub fn leaf_hash(&self) -> Hash {
        leaf_hash(&self.encode())
    }

    /// Verifies the signature with `key` (strict Ed25519: rejects weak keys, small-order
    /// and non-canonical points), checking `key` is the one named in the entry.
    pub fn verify(&self, key: &VerifyingKey) -> Result<VerifiedEntry, EntryError> {
        if key.to_bytes() != self.body.signer {
            return Err(EntryError::SignerMismatch);
        }
        let signature = Signature::from_bytes(&self.signature);
        key.verify_strict(&self.body.to_signing_bytes(), &signature)
            .map_err(|_| EntryError::BadSignature)?;
        Ok(VerifiedEntry {
            leaf_hash: self.leaf_hash(),
            entry: self.clone(),
        })
    }
}

/// An entry whose signature verified under a given key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedEntry {
    entry: SignedEntry,
    leaf_hash: Hash,
}

impl VerifiedEntry {
    /// The verified entry.
    pub fn entry(&self) -> &SignedEntry {
        &self.entry
    }
    /// Its leaf hash in the log tree.
    pub fn leaf_hash(&self) -> Hash {
        self.leaf_hash
    }
    /// Unwraps.
    pub fn into_entry(self) -> SignedEntry {
        self.entry
    }
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], EntryError> {
        if self.rest.len() < n {
            return Err(EntryError::Truncated);
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], EntryError> {
        let bytes = self.take(N)?;
        bytes.try_into().map_err(|_| EntryError::Truncated)
    }

    fn str(&mut self, field: &'static str, max: usize) -> Result<String, EntryError> {
        let len = u32::from_be_bytes(self.array()?) as usize;
        check_len(field, len, max)?;
        let bytes = self.take(len)?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| EntryError::NotUtf8(field))
    }
}

/// The activity bytes of a key rotation entry: `punte-key-rotation/v1\n<base64 key>\n`,
/// naming the new key; the entry itself is signed by the old key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyRotation {
    pub new_key: VerifyingKey,
}

const ROTATION_HEADER: &str = "punte-key-rotation/v1\n";

impl KeyRotation {
    /// The canonical payload bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        format!(
            "{ROTATION_HEADER}{}\n",
            BASE64.encode(self.new_key.as_bytes())
        )
        .into_bytes()
    }

    /// Parses the canonical payload; rejects anything else, and weak keys.
    pub fn parse(bytes: &[u8]) -> Result<KeyRotation, EntryError> {
        let bad = EntryError::BadPayload("key rotation");
        let text = std::str::from_utf8(bytes).map_err(|_| bad.clone())?;
        let encoded = text
            .strip_prefix(ROTATION_HEADER)
            .and_then(|rest| rest.strip_suffix('\n'))
            .ok_or_else(|| bad.clone())?;
        let raw: [u8; PUBLIC_KEY_LEN] = BASE64
            .decode(encoded)
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| bad.clone())?;
        let new_key = VerifyingKey::from_bytes(&raw).map_err(|_| EntryError::InvalidPublicKey)?;
        if new_key.is_weak() {
            return Err(EntryError::InvalidPublicKey);
        }
        let rotation = KeyRotation { new_key };
        // Canonical form only (rejects e.g. non-canonical base64 that decoded anyway).
        if rotation.to_bytes() != bytes {
            return Err(bad);
        }
        Ok(rotation)
    }
}

/// The activity bytes of a redaction entry:
/// `punte-redaction/v1\nindex <decimal>\nreason <text>\n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redaction {
    /// Index of the entry whose activity bytes were erased.
    pub index: u64,
    /// Human-readable reason: one line of 1..=1024 bytes without control characters.
    pub reason: String,
}

const REDACTION_HEADER: &str = "punte-redaction/v1\n";
/// Maximum length of a redaction reason in bytes.
pub const MAX_REDACTION_REASON_LEN: usize = 1024;

impl Redaction {
    /// Checks the reason is one line of allowed length.
    pub fn validate(&self) -> Result<(), EntryError> {
        let bad = EntryError::BadPayload("redaction");
        if self.reason.is_empty()
            || self.reason.len() > MAX_REDACTION_REASON_LEN
            || self.reason.chars().any(char::is_control)
        {
            return Err(bad);
        }
        Ok(())
    }

    /// The canonical payload bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EntryError> {
        self.validate()?;
        Ok(format!(
            "{REDACTION_HEADER}index {}\nreason {}\n",
            self.index, self.reason
        )
        .into_bytes())
    }

    /// Parses the canonical payload.
    pub fn parse(bytes: &[u8]) -> Result<Redaction, EntryError> {
        let bad = EntryError::BadPayload("redaction");
        let text = std::str::from_utf8(bytes).map_err(|_| bad.clone())?;
        let rest = text
            .strip_prefix(REDACTION_HEADER)
            .ok_or_else(|| bad.clone())?;
        let rest = rest.strip_prefix("index ").ok_or_else(|| bad.clone())?;
        let (index, rest) = rest.split_once('\n').ok_or_else(|| bad.clone())?;
        let index: u64 = index.parse().map_err(|_| bad.clone())?;
        let reason = rest
            .strip_prefix("reason ")
            .and_then(|r| r.strip_suffix('\n'))
            .ok_or_else(|| bad.clone())?;
        let redaction = Redaction {
            index,
            reason: reason.to_owned(),
        };
        if redaction.to_bytes()? != bytes {
            return Err(bad);
        }
        Ok(redaction)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    fn sample(key: &SigningKey) -> SignedEntry {
        let body = EntryBody::new(
            "example.org/punte-log",
            7,
            Hash([3; 32]),
            1_700_000_000_123,
            EntryKind::Activity,
            "https://example.org/activities/7",
            b"{\"type\":\"Create\"}",
            &key.verifying_key(),
        );
        SignedEntry::sign(body, key).unwrap()
    }

    #[test]
    fn encode_decode_round_trip() {
        let key = SigningKey::from_bytes(&[1; 32]);
        let entry = sample(&key);
        let bytes = entry.encode();
        assert!(bytes.starts_with(ENTRY_MAGIC));
        assert_eq!(SignedEntry::decode(&bytes).unwrap(), entry);
        let verified = entry.verify(&key.verifying_key()).unwrap();
        assert_eq!(verified.leaf_hash(), leaf_hash(&bytes));
        assert_eq!(
            bytes.len(),
            199 + entry.body.origin.len() + entry.body.activity_id.len()
        );
    }

    #[test]
    fn every_byte_flip_fails_decode_or_verification() {
        let key = SigningKey::from_bytes(&[1; 32]);
        let bytes = sample(&key).encode();
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut flipped = bytes.clone();
                flipped[i] ^= 1 << bit;
                let outcome = SignedEntry::decode(&flipped)
                    .and_then(|e| e.verify(&key.verifying_key()).map(|_| ()));
                assert!(outcome.is_err(), "flip of byte {i} bit {bit} accepted");
            }
        }
    }

    #[test]
    fn decode_is_strict() {
        let key = SigningKey::from_bytes(&[1; 32]);
        let bytes = sample(&key).encode();
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert_eq!(
            SignedEntry::decode(&trailing),
            Err(EntryError::TrailingBytes(1))
        );
        for cut in 0..bytes.len() {
            assert!(SignedEntry::decode(&bytes[..cut]).is_err());
        }
        let mut kind = bytes.clone();
        let kind_at = ENTRY_MAGIC.len() + 4 + 21 + 8 + 32 + 8;
        kind[kind_at] = 9;
        assert_eq!(SignedEntry::decode(&kind), Err(EntryError::UnknownKind(9)));
        let long = "x".repeat(MAX_ORIGIN_LEN + 1);
        let mut body = sample(&key).body;
        body.origin = long;
        assert!(SignedEntry::sign(body, &key).is_err());
    }

    #[test]
    fn signer_must_match() {
        let key = SigningKey::from_bytes(&[1; 32]);
        let other = SigningKey::from_bytes(&[2; 32]);
        let entry = sample(&key);
        assert_eq!(
            entry.verify(&other.verifying_key()),
            Err(EntryError::SignerMismatch)
        );
        assert_eq!(
            SignedEntry::sign(entry.body.clone(), &other),
            Err(EntryError::SignerMismatch)
        );
    }

    #[test]
    fn payloads_round_trip_and_are_canonical() {
        let new_key = SigningKey::from_bytes(&[5; 32]).verifying_key();
        let rotation = KeyRotation { new_key };
        let bytes = rotation.to_bytes();
        assert!(bytes.starts_with(b"punte-key-rotation/v1\n"));
        assert_eq!(KeyRotation::parse(&bytes).unwrap(), rotation);
        assert!(KeyRotation::parse(&bytes[..bytes.len() - 1]).is_err());

        let redaction = Redaction {
            index: 12,
            reason: "gdpr erasure request".into(),
        };
        let bytes = redaction.to_bytes().unwrap();
        assert_eq!(
            bytes,
            b"punte-redaction/v1\nindex 12\nreason gdpr erasure request\n"
        );
        assert_eq!(Redaction::parse(&bytes).unwrap(), redaction);
        assert!(Redaction::parse(b"punte-redaction/v1\nindex 012\nreason x\n").is_err());
        assert!(
            Redaction {
                index: 1,
                reason: "a\nb".into()
            }
            .to_bytes()
            .is_err()
        );
    }
}
