//! HTTP message signatures on a small, library-independent request model, in both directions:
//! RFC 9421 (`ed25519`, `rsa-v1_5-sha256`) with RFC 9530 `Content-Digest`, and
//! draft-cavage-http-signatures-12 (`rsa-sha256`, `hs2019`) with `Digest`, as Mastodon uses.
//!
//! Verification is pure: the caller passes `now` (Unix seconds) and a key resolver, and gets a
//! typed [`VerifiedSignature`] or a precise [`HttpSigError`].

pub mod cavage;
pub mod digest;
pub mod request;
pub mod rfc9421;

pub use request::{HttpRequest, TargetUri};

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rsa::{Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};
use sha2::{Digest, Sha256};

/// A private key that can sign HTTP messages.
#[derive(Debug, Clone, Copy)]
pub enum SigningKeyRef<'a> {
    /// Ed25519 (RFC 9421 `ed25519`).
    Ed25519(&'a SigningKey),
    /// RSA (RFC 9421 `rsa-v1_5-sha256`, draft-cavage `rsa-sha256` / `hs2019`).
    Rsa(&'a RsaPrivateKey),
}

/// A public key a resolver returns for a `keyid` / `keyId`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// Ed25519 key.
    Ed25519(VerifyingKey),
    /// RSA key.
    Rsa(RsaPublicKey),
}

/// The signature algorithm that was actually applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// EdDSA over Ed25519 (RFC 8032).
    Ed25519,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RsaV1_5Sha256,
}

impl Algorithm {
    /// The RFC 9421 algorithm name (`ed25519`, `rsa-v1_5-sha256`).
    pub fn rfc9421_name(self) -> &'static str {
        match self {
            Self::Ed25519 => "ed25519",
            Self::RsaV1_5Sha256 => "rsa-v1_5-sha256",
        }
    }

    /// The algorithm RFC 9421 names `name`, if supported.
    pub fn from_rfc9421_name(name: &str) -> Option<Self> {
        match name {
            "ed25519" => Some(Self::Ed25519),
            "rsa-v1_5-sha256" => Some(Self::RsaV1_5Sha256),
            _ => None,
        }
    }
}

/// Which signature scheme a request carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureScheme {
    /// RFC 9421, with the signature label that verified.
    Rfc9421 {
        /// Label in `Signature-Input` / `Signature`, e.g. `sig1`.
        label: String,
    },
    /// draft-cavage-http-signatures, with the `algorithm` parameter as sent.
    Cavage {
        /// `rsa-sha256` or `hs2019`.
        algorithm: String,
    },
}

/// A signature that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSignature {
    /// The key id the signature names (`keyid` / `keyId`).
    pub key_id: String,
    /// Creation time in Unix seconds (`created`, or the `Date` header for draft-cavage).
    pub created: i64,
    /// RFC 9421 or draft-cavage.
    pub scheme: SignatureScheme,
    /// The algorithm applied.
    pub algorithm: Algorithm,
    /// Covered components (RFC 9421 identifiers or draft-cavage header names), in order.
    pub covered: Vec<String>,
}

/// What a verifier insists on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyPolicy {
    /// Largest accepted |now − created| in seconds (default 3600, docs/protocol.md §1.4).
    pub max_skew_seconds: i64,
    /// RFC 9421 components that must be covered (default `@method`, `@target-uri`).
    pub rfc9421_required: Vec<String>,
    /// draft-cavage headers that must be covered (default `(request-target)`, `host`, `date`).
    pub cavage_required: Vec<String>,
    /// When the request has a body, require a covered, matching `Content-Digest` (RFC 9421)
    /// or `Digest` (draft-cavage). Default true.
    pub require_body_digest: bool,
}

impl Default for VerifyPolicy {
    fn default() -> Self {
        Self {
            max_skew_seconds: 3600,
            rfc9421_required: vec!["@method".to_owned(), "@target-uri".to_owned()],
            cavage_required: vec![
                "(request-target)".to_owned(),
                "host".to_owned(),
                "date".to_owned(),
            ],
            require_body_digest: true,
        }
    }
}

/// Why a signature could not be made or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpSigError {
    /// The request carries no signature header.
    #[error("request is not signed")]
    Unsigned,
    /// A signature header is not valid structured-field / draft-cavage syntax.
    #[error("malformed {header} header: {reason}")]
    Malformed {
        /// Which header.
        header: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The target URI is not an absolute `http(s)` URI.
    #[error("invalid target uri {0:?}")]
    InvalidTargetUri(String),
    /// A covered component is not supported (or has parameters).
    #[error("unsupported component {0:?}")]
    UnsupportedComponent(String),
    /// A covered header is absent from the request.
    #[error("covered header {0:?} is missing")]
    MissingHeader(String),
    /// A component the policy requires is not covered.
    #[error("required component {0:?} is not covered")]
    NotCovered(String),
    /// A required signature parameter is absent.
    #[error("signature parameter {0:?} is missing")]
    MissingParameter(&'static str),
    /// The algorithm is not supported or does not fit the key.
    #[error("unsupported or mismatched algorithm {0:?}")]
    UnsupportedAlgorithm(String),
    /// `created` / `Date` is outside the accepted window.
    #[error("signature time {created} is outside ±{window}s of {now}")]
    OutsideWindow {
        /// Signature time.
        created: i64,
        /// Verifier time.
        now: i64,
        /// Accepted skew.
        window: i64,
    },
    /// `expires` has passed.
    #[error("signature expired at {0}")]
    Expired(i64),
    /// The `Date` header cannot be parsed.
    #[error("invalid date header: {0}")]
    InvalidDate(String),
    /// The body digest header is absent.
    #[error("body digest header is missing")]
    MissingDigest,
    /// The body digest does not match, or names no supported algorithm.
    #[error("body digest does not match")]
    DigestMismatch,
    /// A draft-cavage signature covers a `Host` other than this server's authority: it was
    /// made for another server.
    #[error("the signature is for host {signed:?}, this is {expected:?}")]
    WrongHost { signed: String, expected: String },
    /// The resolver knows no key for the key id.
    #[error("no key known for key id {0:?}")]
    UnknownKey(String),
    /// The signature bytes do not verify.
    #[error("signature does not verify")]
    BadSignature,
    /// Signing failed in the RSA implementation.
    #[error("signing failed: {0}")]
    Signing(String),
}

/// Verifies whichever scheme the request carries: RFC 9421 when `Signature-Input` is present,
/// otherwise draft-cavage (`Signature` or `Authorization: Signature …`).
pub fn verify_request(
    request: &HttpRequest,
    resolve_key: impl FnMut(&str) -> Option<PublicKey>,
    policy: &VerifyPolicy,
    now: i64,
) -> Result<VerifiedSignature, HttpSigError> {
    if request.header("signature-input").is_some() {
        rfc9421::verify(request, resolve_key, policy, now)
    } else {
        cavage::verify(request, resolve_key, policy, now)
    }
}

/// The key id a signed request names, without verifying anything (to fetch the key first).
pub fn signature_key_id(request: &HttpRequest) -> Result<String, HttpSigError> {
    if request.header("signature-input").is_some() {
        rfc9421::key_id(request)
    } else {
        cavage::key_id(request)
    }
}

pub(crate) fn check_window(
    created: i64,
    now: i64,
    policy: &VerifyPolicy,
) -> Result<(), HttpSigError> {
    if created.abs_diff(now) > policy.max_skew_seconds.unsigned_abs() {
        return Err(HttpSigError::OutsideWindow {
            created,
            now,
            window: policy.max_skew_seconds,
        });
    }
    Ok(())
}

pub(crate) fn sign_bytes(key: SigningKeyRef<'_>, message: &[u8]) -> Result<Vec<u8>, HttpSigError> {
    match key {
        SigningKeyRef::Ed25519(k) => Ok(k.sign(message).to_bytes().to_vec()),
        SigningKeyRef::Rsa(k) => {
            let hashed = Sha256::digest(message);
            k.sign(Pkcs1v15Sign::new::<rsa::sha2::Sha256>(), hashed.as_slice())
                .map_err(|e| HttpSigError::Signing(e.to_string()))
        }
    }
}

pub(crate) fn verify_bytes(
    key: &PublicKey,
    algorithm: Algorithm,
    message: &[u8],
    signature: &[u8],
) -> Result<(), HttpSigError> {
    match (key, algorithm) {
        (PublicKey::Ed25519(k), Algorithm::Ed25519) => {
            let sig = Signature::from_slice(signature).map_err(|_| HttpSigError::BadSignature)?;
            k.verify_strict(message, &sig)
                .map_err(|_| HttpSigError::BadSignature)
        }
        (PublicKey::Rsa(k), Algorithm::RsaV1_5Sha256) => {
            let hashed = Sha256::digest(message);
            k.verify(
                Pkcs1v15Sign::new::<rsa::sha2::Sha256>(),
                hashed.as_slice(),
                signature,
            )
            .map_err(|_| HttpSigError::BadSignature)
        }
        _ => Err(HttpSigError::UnsupportedAlgorithm(
            algorithm.rfc9421_name().to_owned(),
        )),
    }
}

pub(crate) fn key_algorithm(key: &PublicKey) -> Algorithm {
    match key {
        PublicKey::Ed25519(_) => Algorithm::Ed25519,
        PublicKey::Rsa(_) => Algorithm::RsaV1_5Sha256,
    }
}
