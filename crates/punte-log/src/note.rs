//! C2SP signed notes (<https://c2sp.org/signed-note>) with Ed25519 (type 0x01) and
//! timestamped `cosignature/v1` (type 0x04, <https://c2sp.org/tlog-cosignature>) keys.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest as _, Sha256};

/// Signature type byte of plain Ed25519 note signatures.
pub const ALG_ED25519: u8 = 0x01;
/// Signature type byte of timestamped Ed25519 witness cosignatures.
pub const ALG_COSIGNATURE_V1: u8 = 0x04;
/// Notes with more signature lines than this are rejected as malformed.
pub const MAX_SIGNATURES: usize = 100;
/// Prefix of the signer key string.
const PRIVATE_KEY_PREFIX: &str = "PRIVATE+KEY+";
/// Start of every signature line: em dash and space.
const SIGNATURE_LINE_PREFIX: &str = "\u{2014} ";

/// Errors parsing keys, signing and opening notes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("malformed note")]
    Malformed,
    #[error("invalid key name")]
    InvalidName,
    #[error("malformed key: {0}")]
    MalformedKey(&'static str),
    #[error("unsupported signature type {0:#04x}")]
    UnknownAlgorithm(u8),
    #[error("key id does not match the key")]
    KeyIdMismatch,
    #[error("note has no verifiable signatures")]
    NoVerifiedSignature,
    #[error("invalid signature for key {name}+{key_id:08x}")]
    InvalidSignature { name: String, key_id: u32 },
    #[error("ambiguous key {name}+{key_id:08x}")]
    AmbiguousKey { name: String, key_id: u32 },
    #[error("timestamp out of range")]
    TimestampOutOfRange,
}

/// The two key types this crate signs and verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// Signature type 0x01: Ed25519 over the note text.
    Ed25519,
    /// Signature type 0x04: `cosignature/v1`, timestamped Ed25519 over a checkpoint.
    CosignatureV1,
}

impl KeyType {
    /// The signature type byte.
    pub fn alg_byte(self) -> u8 {
        match self {
            KeyType::Ed25519 => ALG_ED25519,
            KeyType::CosignatureV1 => ALG_COSIGNATURE_V1,
        }
    }

    fn from_alg_byte(byte: u8) -> Result<KeyType, NoteError> {
        match byte {
            ALG_ED25519 => Ok(KeyType::Ed25519),
            ALG_COSIGNATURE_V1 => Ok(KeyType::CosignatureV1),
            other => Err(NoteError::UnknownAlgorithm(other)),
        }
    }
}

/// Whether `name` is a valid key name: non-empty, no Unicode spaces, no `+`.
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

/// Key ID: the first four bytes (big-endian) of `SHA-256(name || 0x0A || alg || public key)`.
pub fn key_id(name: &str, alg: u8, public_key: &[u8]) -> u32 {
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update([0x0a, alg]);
    hasher.update(public_key);
    let digest: [u8; 32] = hasher.finalize().into();
    let [a, b, c, d, ..] = digest;
    u32::from_be_bytes([a, b, c, d])
}

/// A public key that verifies note signatures, with its name and key ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key_id: u32,
    key_type: KeyType,
    key: VerifyingKey,
}

impl NoteVerifier {
    /// A verifier for `key` under `name`.
    pub fn new(
        name: &str,
        key_type: KeyType,
        key: VerifyingKey,
    ) -> Result<NoteVerifier, NoteError> {
        if !is_valid_key_name(name) {
            return Err(NoteError::InvalidName);
        }
        Ok(NoteVerifier {
            name: name.to_owned(),
            key_id: key_id(name, key_type.alg_byte(), key.as_bytes()),
            key_type,
            key,
        })
    }

    /// Parses a verifier key string `name+hex key ID+base64(type || public key)`.
    pub fn parse(vkey: &str) -> Result<NoteVerifier, NoteError> {
        let (name, id, key_b64) = split_key_string(vkey)?;
        let raw = BASE64
            .decode(key_b64)
            .map_err(|_| NoteError::MalformedKey("bad base64"))?;
        let (&alg, public) = raw
            .split_first()
            .ok_or(NoteError::MalformedKey("empty key"))?;
        let key_type = KeyType::from_alg_byte(alg)?;
        let public: [u8; 32] = public
            .try_into()
            .map_err(|_| NoteError::MalformedKey("wrong key length"))?;
        if key_id(name, alg, &public) != id {
            return Err(NoteError::KeyIdMismatch);
        }
        let key = VerifyingKey::from_bytes(&public)
            .map_err(|_| NoteError::MalformedKey("not an ed25519 point"))?;
        NoteVerifier::new(name, key_type, key)
    }

    /// The verifier key string `name+hex key ID+base64(type || public key)`.
    pub fn to_vkey(&self) -> String {
        let mut raw = Vec::with_capacity(33);
        raw.push(self.key_type.alg_byte());
        raw.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}", self.name, self.key_id, BASE64.encode(raw))
    }

    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn key_id(&self) -> u32 {
        self.key_id
    }
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }
    pub fn public_key(&self) -> &VerifyingKey {
        &self.key
    }

    /// Verifies one signature (the bytes after the key ID) over `text`; returns the
    /// cosignature timestamp for `cosignature/v1` keys.
    fn verify(&self, text: &str, signature: &[u8]) -> Result<Option<u64>, ()> {
        match self.key_type {
            KeyType::Ed25519 => {
                let sig = Signature::from_slice(signature).map_err(|_| ())?;
                self.key
                    .verify_strict(text.as_bytes(), &sig)
                    .map_err(|_| ())?;
                Ok(None)
            }
            KeyType::CosignatureV1 => {
                let (ts, sig) = signature.split_at_checked(8).ok_or(())?;
                let ts: [u8; 8] = ts.try_into().map_err(|_| ())?;
                let timestamp = u64::from_be_bytes(ts);
                if timestamp > i64::MAX as u64 {
                    return Err(());
                }
                let sig = Signature::from_slice(sig).map_err(|_| ())?;
                let message = cosignature_message(text, timestamp);
                self.key.verify_strict(&message, &sig).map_err(|_| ())?;
                Ok(Some(timestamp))
            }
        }
    }
}

fn split_key_string(s: &str) -> Result<(&str, u32, &str), NoteError> {
    // The base64 key may itself contain '+', so split off only the name and the ID.
    let mut parts = s.splitn(3, '+');
    let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(NoteError::MalformedKey("expected name+id+key"));
    };
    if !is_valid_key_name(name) {
        return Err(NoteError::InvalidName);
    }
    if id.len() != 8 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(NoteError::MalformedKey("key id is not 8 hex digits"));
    }
    let id = u32::from_str_radix(id, 16).map_err(|_| NoteError::MalformedKey("bad key id"))?;
    Ok((name, id, key))
}

/// The message a `cosignature/v1` signature covers.
pub fn cosignature_message(text: &str, timestamp: u64) -> Vec<u8> {
    format!("cosignature/v1\ntime {timestamp}\n{text}").into_bytes()
}

/// A private key that signs notes (type 0x01) or cosignatures (type 0x04) under a name.
pub struct NoteSigner {
    verifier: NoteVerifier,
    key: SigningKey,
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NoteSigner")
            .field("verifier", &self.verifier)
            .finish_non_exhaustive()
    }
}

impl NoteSigner {
    /// A signer of `key_type` for `key` under `name`.
    pub fn new(name: &str, key_type: KeyType, key: SigningKey) -> Result<NoteSigner, NoteError> {
        let verifier = NoteVerifier::new(name, key_type, key.verifying_key())?;
        Ok(NoteSigner { verifier, key })
    }

    /// Parses `PRIVATE+KEY+name+hex key ID+base64(type || 32-byte seed)`.
    pub fn parse(skey: &str) -> Result<NoteSigner, NoteError> {
        let rest = skey
            .strip_prefix(PRIVATE_KEY_PREFIX)
            .ok_or(NoteError::MalformedKey("missing PRIVATE+KEY+ prefix"))?;
        let (name, id, key_b64) = split_key_string(rest)?;
        let raw = BASE64
            .decode(key_b64)
            .map_err(|_| NoteError::MalformedKey("bad base64"))?;
        let (&alg, seed) = raw
            .split_first()
            .ok_or(NoteError::MalformedKey("empty key"))?;
        let key_type = KeyType::from_alg_byte(alg)?;
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| NoteError::MalformedKey("wrong seed length"))?;
        let key = SigningKey::from_bytes(&seed);
        let signer = NoteSigner::new(name, key_type, key)?;
        if signer.verifier.key_id != id {
            return Err(NoteError::KeyIdMismatch);
        }
        Ok(signer)
    }

    /// The signer key string `PRIVATE+KEY+name+hex key ID+base64(type || seed)`. Secret.
    pub fn to_skey(&self) -> String {
        let mut raw = Vec::with_capacity(33);
        raw.push(self.verifier.key_type.alg_byte());
        raw.extend_from_slice(self.key.as_bytes());
        format!(
            "{PRIVATE_KEY_PREFIX}{}+{:08x}+{}",
            self.verifier.name,
            self.verifier.key_id,
            BASE64.encode(raw)
        )
    }

    /// The matching verifier.
    pub fn verifier(&self) -> &NoteVerifier {
        &self.verifier
    }

    /// Signs `text` as a plain Ed25519 note signature. Fails for cosignature keys (use
    /// [`NoteSigner::cosign`]) and for invalid note text.
    pub fn sign(&self, text: &str) -> Result<NoteSignature, NoteError> {
        check_note_text(text)?;
        if self.verifier.key_type != KeyType::Ed25519 {
            return Err(NoteError::UnknownAlgorithm(
                self.verifier.key_type.alg_byte(),
            ));
        }
        let signature = self.key.sign(text.as_bytes()).to_bytes().to_vec();
        Ok(NoteSignature {
            name: self.verifier.name.clone(),
            key_id: self.verifier.key_id,
            signature,
        })
    }

    /// Cosigns a checkpoint `text` at `timestamp` (POSIX seconds) as `cosignature/v1`.
    /// Fails for plain Ed25519 keys.
    pub fn cosign(&self, text: &str, timestamp: u64) -> Result<NoteSignature, NoteError> {
        check_note_text(text)?;
        if self.verifier.key_type != KeyType::CosignatureV1 {
            return Err(NoteError::UnknownAlgorithm(
                self.verifier.key_type.alg_byte(),
            ));
        }
        if timestamp > i64::MAX as u64 {
            return Err(NoteError::TimestampOutOfRange);
        }
        let sig = self.key.sign(&cosignature_message(text, timestamp));
        let mut signature = Vec::with_capacity(72);
        signature.extend_from_slice(&timestamp.to_be_bytes());
        signature.extend_from_slice(&sig.to_bytes());
        Ok(NoteSignature {
            name: self.verifier.name.clone(),
            key_id: self.verifier.key_id,
            signature,
        })
    }
}

/// One signature line: key name, key ID and the signature bytes after the key ID.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NoteSignature {
    pub name: String,
    pub key_id: u32,
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// `— name base64(key ID || signature)\n`
    pub fn to_line(&self) -> String {
        let mut raw = Vec::with_capacity(4 + self.signature.len());
        raw.extend_from_slice(&self.key_id.to_be_bytes());
        raw.extend_from_slice(&self.signature);
        format!(
            "{SIGNATURE_LINE_PREFIX}{} {}\n",
            self.name,
            BASE64.encode(raw)
        )
    }

    /// The cosignature timestamp if this is shaped like a `cosignature/v1` signature
    /// (72 bytes after the key ID). Does not verify.
    pub fn cosignature_timestamp(&self) -> Option<u64> {
        if self.signature.len() != 72 {
            return None;
        }
        let ts: [u8; 8] = self.signature.get(..8)?.try_into().ok()?;
        Some(u64::from_be_bytes(ts))
    }

    fn parse_line(line: &str) -> Result<NoteSignature, NoteError> {
        let rest = line
            .strip_prefix(SIGNATURE_LINE_PREFIX)
            .ok_or(NoteError::Malformed)?;
        let (name, b64) = rest.split_once(' ').ok_or(NoteError::Malformed)?;
        if !is_valid_key_name(name) {
            return Err(NoteError::Malformed);
        }
        let raw = BASE64.decode(b64).map_err(|_| NoteError::Malformed)?;
        if raw.len() < 5 {
            return Err(NoteError::Malformed);
        }
        let (id, signature) = raw.split_at(4);
        let id: [u8; 4] = id.try_into().map_err(|_| NoteError::Malformed)?;
        Ok(NoteSignature {
            name: name.to_owned(),
            key_id: u32::from_be_bytes(id),
            signature: signature.to_vec(),
        })
    }
}

/// Checks note text: non-empty, valid UTF-8 (by type), ends in a newline, and no control
/// characters other than newline.
fn check_note_text(text: &str) -> Result<(), NoteError> {
    if !text.ends_with('\n') || has_forbidden_control(text) {
        return Err(NoteError::Malformed);
    }
    Ok(())
}

fn has_forbidden_control(text: &str) -> bool {
    text.chars().any(|c| c < '\u{20}' && c != '\n')
}

/// A note: its text and signature lines (verified or not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub text: String,
    pub signatures: Vec<NoteSignature>,
}

impl Note {
    /// A note with `text` and no signatures yet.
    pub fn new(text: impl Into<String>) -> Result<Note, NoteError> {
        let text = text.into();
        check_note_text(&text)?;
        Ok(Note {
            text,
            signatures: Vec::new(),
        })
    }

    /// Adds a signature, replacing one with the same name and key ID.
    pub fn add_signature(&mut self, signature: NoteSignature) {
        self.signatures
            .retain(|s| !(s.name == signature.name && s.key_id == signature.key_id));
        self.signatures.push(signature);
    }

    /// Serializes as text, blank line, signature lines. Fails without signatures.
    pub fn to_text(&self) -> Result<String, NoteError> {
        check_note_text(&self.text)?;
        if self.signatures.is_empty() || self.signatures.len() > MAX_SIGNATURES {
            return Err(NoteError::Malformed);
        }
        let mut out = self.text.clone();
        out.push('\n');
        for signature in &self.signatures {
            if !is_valid_key_name(&signature.name) {
                return Err(NoteError::Malformed);
            }
            out.push_str(&signature.to_line());
        }
        Ok(out)
    }

    /// Parses the syntax of a signed note without verifying anything: valid UTF-8, no
    /// control characters but newline, text and signatures split at the last blank line,
    /// 1..=100 well-formed signature lines each ending in a newline.
    pub fn parse(bytes: &[u8]) -> Result<Note, NoteError> {
        let msg = std::str::from_utf8(bytes).map_err(|_| NoteError::Malformed)?;
        if has_forbidden_control(msg) {
            return Err(NoteError::Malformed);
        }
        let split = msg.rfind("\n\n").ok_or(NoteError::Malformed)?;
        let (text, sigs) = msg.split_at(split + 1);
        let sigs = sigs.strip_prefix('\n').ok_or(NoteError::Malformed)?;
        let sigs = sigs.strip_suffix('\n').ok_or(NoteError::Malformed)?;
        let mut signatures = Vec::new();
        for line in sigs.split('\n') {
            if signatures.len() >= MAX_SIGNATURES {
                return Err(NoteError::Malformed);
            }
            signatures.push(NoteSignature::parse_line(line)?);
        }
        Ok(Note {
            text: text.to_owned(),
            signatures,
        })
    }

    /// Parses and verifies a signed note against `verifiers`. Signatures from unknown keys
    /// (name and key ID not both matching a verifier) are kept as unverified; a failing
    /// signature from a known key rejects the note; at least one must verify.
    pub fn open(bytes: &[u8], verifiers: &[NoteVerifier]) -> Result<OpenedNote, NoteError> {
        let note = Note::parse(bytes)?;
        let mut verified: Vec<VerifiedSignature> = Vec::new();
        let mut unverified: Vec<NoteSignature> = Vec::new();
        for signature in note.signatures {
            let mut matching = verifiers
                .iter()
                .filter(|v| v.name == signature.name && v.key_id == signature.key_id);
            let (Some(verifier), extra) = (matching.next(), matching.next()) else {
                if !unverified.contains(&signature) {
                    unverified.push(signature);
                }
                continue;
            };
            if extra.is_some() {
                return Err(NoteError::AmbiguousKey {
                    name: signature.name,
                    key_id: signature.key_id,
                });
            }
            if verified.iter().any(|v| {
                v.signature.name == signature.name && v.signature.key_id == signature.key_id
            }) {
                continue;
            }
            let timestamp = verifier
                .verify(&note.text, &signature.signature)
                .map_err(|()| NoteError::InvalidSignature {
                    name: signature.name.clone(),
                    key_id: signature.key_id,
                })?;
            verified.push(VerifiedSignature {
                key_type: verifier.key_type,
                timestamp,
                signature,
            });
        }
        if verified.is_empty() {
            return Err(NoteError::NoVerifiedSignature);
        }
        Ok(OpenedNote {
            text: note.text,
            verified,
            unverified,
        })
    }
}

/// A signature that verified under a known key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSignature {
    pub key_type: KeyType,
    /// The cosignature timestamp (POSIX seconds) for `cosignature/v1` keys.
    pub timestamp: Option<u64>,
    pub signature: NoteSignature,
}

/// A note whose text is covered by at least one verified signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedNote {
    pub text: String,
    pub verified: Vec<VerifiedSignature>,
    pub unverified: Vec<NoteSignature>,
}

/// Signs `text` with every signer and returns the signed note text.
pub fn sign_note(text: &str, signers: &[&NoteSigner]) -> Result<String, NoteError> {
    let mut note = Note::new(text)?;
    for signer in signers {
        note.add_signature(signer.sign(text)?);
    }
    note.to_text()
}
