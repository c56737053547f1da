//! FEP-8b32 object integrity proofs: W3C Data Integrity `DataIntegrityProof` with the
//! `eddsa-jcs-2022` cryptosuite (vc-di-eddsa §3.3), created and verified on the exact JSON
//! value received — never on a re-serialised struct.
//!
//! Signing: `proofConfig` = the proof options (type, cryptosuite, verificationMethod,
//! proofPurpose, created) plus the document's `@context` when it has one;
//! `hashData` = SHA-256(JCS(proofConfig)) ‖ SHA-256(JCS(document without `proof`));
//! `proofValue` = `z` + base58-btc(Ed25519(hashData)).
//!
//! Verification removes `proof` (and a Linked Data `signature` object, which Fedify appends
//! after the proof, FEP-8b32 "Backward compatibility"), removes `proofValue` from the proof to
//! get the proof options, checks that a proof `@context` is a prefix of the document's and
//! substitutes it as the spec requires, recomputes `hashData` and verifies strictly.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::jcs::{self, JcsError};
use crate::multikey;
use crate::timestamp::{self, Instant};

/// The proof `type`.
pub const PROOF_TYPE: &str = "DataIntegrityProof";
/// The only cryptosuite this module creates and verifies.
pub const CRYPTOSUITE: &str = "eddsa-jcs-2022";
/// The proof purpose FEP-8b32 requires.
pub const ASSERTION_METHOD: &str = "assertionMethod";

/// Caller-supplied proof options (time and key id are parameters; nothing is read here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofOptions {
    /// URL of the key, e.g. `https://host/actor#ed25519-key`.
    pub verification_method: String,
    /// `created`, an XML Schema `dateTimeStamp` such as `2023-02-24T23:36:38Z`.
    pub created: String,
    /// `proofPurpose`; FEP-8b32 requires `assertionMethod`.
    pub proof_purpose: String,
}

impl ProofOptions {
    /// Options for an `assertionMethod` proof, the only purpose FEP-8b32 allows.
    pub fn assertion(verification_method: impl Into<String>, created: impl Into<String>) -> Self {
        Self {
            verification_method: verification_method.into(),
            created: created.into(),
            proof_purpose: ASSERTION_METHOD.to_owned(),
        }
    }
}

/// A proof that verified, with what it asserts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedProof {
    /// The key that made the proof (`verificationMethod`).
    pub verification_method: String,
    /// The `created` value exactly as received, if present.
    pub created: Option<String>,
    /// `created` parsed (any fraction precision is accepted).
    pub created_at: Option<Instant>,
    /// The `proofPurpose`.
    pub proof_purpose: String,
    /// Position in a proof set (0 for a single proof object).
    pub index: usize,
}

/// Why a proof could not be made or did not verify.
#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    /// Only JSON objects can carry proofs.
    #[error("document is not a json object")]
    NotAnObject,
    /// The document has no `proof` member.
    #[error("document has no proof")]
    MissingProof,
    /// A `proof` member that is not an object (or array of objects).
    #[error("proof is not an object or an array of objects")]
    MalformedProof,
    /// A required proof member is absent or not a string.
    #[error("proof member {0:?} is missing or not a string")]
    MissingField(&'static str),
    /// `type` is not `DataIntegrityProof`.
    #[error("unsupported proof type {0:?}")]
    UnsupportedType(String),
    /// `cryptosuite` is not `eddsa-jcs-2022`.
    #[error("unsupported cryptosuite {0:?}")]
    UnsupportedCryptosuite(String),
    /// `proofPurpose` is not `assertionMethod`.
    #[error("unexpected proof purpose {0:?}")]
    WrongPurpose(String),
    /// `created` is not a date-time with time zone.
    #[error("invalid created timestamp: {0}")]
    InvalidCreated(#[from] timestamp::TimestampError),
    /// `proofValue` is not base58-btc multibase of 64 bytes.
    #[error("invalid proof value: {0}")]
    InvalidProofValue(String),
    /// The proof's `@context` is not a prefix of the document's `@context`.
    #[error("proof @context does not match the document @context")]
    ContextMismatch,
    /// Proof chains (`previousProof`) are not supported.
    #[error("proof chains (previousProof) are not supported")]
    ProofChain,
    /// The resolver knows no key for the verification method.
    #[error("no key known for verification method {0:?}")]
    UnknownKey(String),
    /// The signature does not match.
    #[error("signature does not verify for {0:?}")]
    BadSignature(String),
    /// Canonicalisation failed.
    #[error(transparent)]
    Jcs(#[from] JcsError),
}

/// Adds an `eddsa-jcs-2022` proof to `document` and returns the secured document. Any
/// existing `proof` is replaced (proof sets are not produced here).
pub fn sign(
    document: &Value,
    options: &ProofOptions,
    key: &SigningKey,
) -> Result<Value, ProofError> {
    let proof = create_proof(document, options, key)?;
    let mut secured = document.as_object().ok_or(ProofError::NotAnObject)?.clone();
    secured.insert("proof".to_owned(), proof);
    Ok(Value::Object(secured))
}

/// Creates the proof object for `document` (without attaching it).
pub fn create_proof(
    document: &Value,
    options: &ProofOptions,
    key: &SigningKey,
) -> Result<Value, ProofError> {
    let doc = document.as_object().ok_or(ProofError::NotAnObject)?;
    timestamp::parse_rfc3339(&options.created)?;
    let mut config = Map::new();
    config.insert("type".to_owned(), PROOF_TYPE.into());
    config.insert("cryptosuite".to_owned(), CRYPTOSUITE.into());
    config.insert(
        "verificationMethod".to_owned(),
        options.verification_method.clone().into(),
    );
    config.insert(
        "proofPurpose".to_owned(),
        options.proof_purpose.clone().into(),
    );
    config.insert("created".to_owned(), options.created.clone().into());
    if let Some(context) = doc.get("@context") {
        config.insert("@context".to_owned(), context.clone());
    }
    let mut unsecured = doc.clone();
    unsecured.remove("proof");
    let hash = hash_data(&Value::Object(config.clone()), &Value::Object(unsecured))?;
    let signature = key.sign(&hash);
    config.insert(
        "proofValue".to_owned(),
        multikey::encode_base58btc(&signature.to_bytes()).into(),
    );
    Ok(Value::Object(config))
}

/// `hashData` of vc-di-eddsa §3.3.4: SHA-256(JCS(proof config)) ‖ SHA-256(JCS(document)).
pub fn hash_data(proof_config: &Value, unsecured_document: &Value) -> Result<[u8; 64], ProofError> {
    let mut out = [0u8; 64];
    let (first, second) = out.split_at_mut(32);
    first.copy_from_slice(&Sha256::digest(jcs::canonicalize(proof_config)?));
    second.copy_from_slice(&Sha256::digest(jcs::canonicalize(unsecured_document)?));
    Ok(out)
}

/// The `verificationMethod` of every proof in `document`, so a caller can fetch keys before
/// calling [`verify`] with a plain lookup.
pub fn verification_methods(document: &Value) -> Vec<String> {
    proof_objects(document)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| {
            p.get("verificationMethod")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .collect()
}

/// Verifies the proof(s) of `document`, exactly as received.
///
/// `resolve_key` maps a `verificationMethod` to the Ed25519 key the caller trusts for it
/// (for example from the actor's `assertionMethod`), or `None`. With a proof set (array),
/// every `eddsa-jcs-2022` proof whose key resolves must verify, at least one must, and the
/// first verified proof is returned; proofs of other cryptosuites or with unknown keys are
/// skipped. Use [`verify_each`] for every outcome.
pub fn verify(
    document: &Value,
    mut resolve_key: impl FnMut(&str) -> Option<VerifyingKey>,
) -> Result<VerifiedProof, ProofError> {
    let outcomes = verify_each(document, &mut resolve_key)?;
    let mut first_ok = None;
    let mut first_skip = None;
    for outcome in outcomes {
        match outcome {
            Ok(v) => {
                if first_ok.is_none() {
                    first_ok = Some(v);
                }
            }
            Err(
                e @ (ProofError::UnknownKey(_)
                | ProofError::UnsupportedCryptosuite(_)
                | ProofError::UnsupportedType(_)),
            ) => {
                if first_skip.is_none() {
                    first_skip = Some(e);
                }
            }
            Err(e) => return Err(e),
        }
    }
    match (first_ok, first_skip) {
        (Some(v), _) => Ok(v),
        (None, Some(e)) => Err(e),
        (None, None) => Err(ProofError::MissingProof),
    }
}

/// Verifies each proof of `document` independently and returns one outcome per proof, in
/// order. Fails as a whole only when the document or its `proof` member is malformed.
pub fn verify_each(
    document: &Value,
    mut resolve_key: impl FnMut(&str) -> Option<VerifyingKey>,
) -> Result<Vec<Result<VerifiedProof, ProofError>>, ProofError> {
    let doc = document.as_object().ok_or(ProofError::NotAnObject)?;
    let proofs = proof_objects(document)?;
    let mut unsecured = doc.clone();
    unsecured.remove("proof");
    // FEP-8b32: a Linked Data signature added after the proof is removed before verifying.
    if unsecured.get("signature").is_some_and(is_ld_signature) {
        unsecured.remove("signature");
    }
    Ok(proofs
        .into_iter()
        .enumerate()
        .map(|(index, proof)| verify_one(&unsecured, proof, index, &mut resolve_key))
        .collect())
}

fn is_ld_signature(value: &Value) -> bool {
    value
        .as_object()
        .is_some_and(|o| o.contains_key("signatureValue"))
}

fn proof_objects(document: &Value) -> Result<Vec<&Map<String, Value>>, ProofError> {
    let doc = document.as_object().ok_or(ProofError::NotAnObject)?;
    match doc.get("proof") {
        None => Err(ProofError::MissingProof),
        Some(Value::Object(p)) => Ok(vec![p]),
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|i| i.as_object().ok_or(ProofError::MalformedProof))
            .collect(),
        Some(_) => Err(ProofError::MalformedProof),
    }
}

fn string_field<'a>(
    proof: &'a Map<String, Value>,
    name: &'static str,
) -> Result<&'a str, ProofError> {
    proof
        .get(name)
        .and_then(Value::as_str)
        .ok_or(ProofError::MissingField(name))
}

fn verify_one(
    unsecured: &Map<String, Value>,
    proof: &Map<String, Value>,
    index: usize,
    resolve_key: &mut impl FnMut(&str) -> Option<VerifyingKey>,
) -> Result<VerifiedProof, ProofError> {
    let kind = string_field(proof, "type")?;
    if kind != PROOF_TYPE {
        return Err(ProofError::UnsupportedType(kind.to_owned()));
    }
    let suite = string_field(proof, "cryptosuite")?;
    if suite != CRYPTOSUITE {
        return Err(ProofError::UnsupportedCryptosuite(suite.to_owned()));
    }
    if proof.contains_key("previousProof") {
        return Err(ProofError::ProofChain);
    }
    let purpose = string_field(proof, "proofPurpose")?;
    if purpose != ASSERTION_METHOD {
        return Err(ProofError::WrongPurpose(purpose.to_owned()));
    }
    let method = string_field(proof, "verificationMethod")?;
    let created = match proof.get("created") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(ProofError::MissingField("created")),
    };
    let created_at = created
        .as_deref()
        .map(timestamp::parse_rfc3339)
        .transpose()?;
    let proof_value = string_field(proof, "proofValue")?;
    let signature_bytes = multikey::decode_base58btc(proof_value)
        .map_err(|e| ProofError::InvalidProofValue(e.to_string()))?;
    let signature = Signature::from_slice(&signature_bytes)
        .map_err(|_| ProofError::InvalidProofValue("signature is not 64 bytes".to_owned()))?;

    let mut options = proof.clone();
    options.remove("proofValue");
    let mut unsecured = unsecured.clone();
    if let Some(proof_context) = options.get("@context") {
        let document_context = unsecured
            .get("@context")
            .ok_or(ProofError::ContextMismatch)?;
        if !context_starts_with(document_context, proof_context) {
            return Err(ProofError::ContextMismatch);
        }
        unsecured.insert("@context".to_owned(), proof_context.clone());
    }
    let hash = hash_data(&Value::Object(options), &Value::Object(unsecured))?;
    let key = resolve_key(method).ok_or_else(|| ProofError::UnknownKey(method.to_owned()))?;
    key.verify_strict(&hash, &signature)
        .map_err(|_| ProofError::BadSignature(method.to_owned()))?;
    Ok(VerifiedProof {
        verification_method: method.to_owned(),
        created,
        created_at,
        proof_purpose: purpose.to_owned(),
        index,
    })
}

/// vc-di-eddsa "Verify Proof (eddsa-jcs-2022)": the document `@context` must start with all
/// values of the proof `@context`, in order. A non-array context counts as a one-element list.
fn context_starts_with(document: &Value, proof: &Value) -> bool {
    let as_slice = |v: &Value| -> Vec<Value> {
        match v {
            Value::Array(items) => items.clone(),
            other => vec![other.clone()],
        }
    };
    let (doc, prefix) = (as_slice(document), as_slice(proof));
    prefix.len() <= doc.len() && doc.iter().zip(prefix.iter()).all(|(a, b)| a == b)
}
