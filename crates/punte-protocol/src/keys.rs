//! Actor keys on the wire: key id conventions, the FEP-521a `Multikey` (Ed25519, under
//! `assertionMethod`) and the legacy `publicKey` (`#main-key`, RSA SPKI PEM) that
//! Mastodon-family servers use to verify draft-cavage HTTP signatures.

use ed25519_dalek::VerifyingKey;
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePublicKey, LineEnding};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::multikey::{self, MultikeyError};

/// Fragment of the node's Ed25519 identity key.
pub const ED25519_KEY_FRAGMENT: &str = "ed25519-key";
/// Fragment of the RSA key kept for Mastodon-family servers.
pub const RSA_KEY_FRAGMENT: &str = "main-key";

/// `ACTOR#ed25519-key`.
pub fn ed25519_key_id(actor_id: &str) -> String {
    format!("{actor_id}#{ED25519_KEY_FRAGMENT}")
}

/// `ACTOR#main-key`.
pub fn rsa_key_id(actor_id: &str) -> String {
    format!("{actor_id}#{RSA_KEY_FRAGMENT}")
}

/// The document a key id points into: the key id without its fragment (FEP-521a "Key IDs").
pub fn key_owner_document(key_id: &str) -> &str {
    key_id.split_once('#').map_or(key_id, |(doc, _)| doc)
}

/// Why a key could not be read.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Not a PEM RSA public key in SPKI (`PUBLIC KEY`) or PKCS#1 (`RSA PUBLIC KEY`) form.
    #[error("invalid rsa public key pem: {0}")]
    RsaPublicPem(String),
    /// Not a PEM RSA private key in PKCS#8 or PKCS#1 form.
    #[error("invalid rsa private key pem")]
    RsaPrivatePem,
    /// The RSA key could not be encoded.
    #[error("rsa key cannot be encoded: {0}")]
    RsaEncode(String),
    /// A bad `publicKeyMultibase`.
    #[error(transparent)]
    Multikey(#[from] MultikeyError),
}

/// Parses an RSA public key from PEM: SPKI `-----BEGIN PUBLIC KEY-----` (what Mastodon
/// publishes in `publicKeyPem`) or PKCS#1 `-----BEGIN RSA PUBLIC KEY-----`.
pub fn parse_rsa_public_key_pem(pem: &str) -> Result<RsaPublicKey, KeyError> {
    let pem = pem.trim();
    RsaPublicKey::from_public_key_pem(pem).or_else(|spki_err| {
        RsaPublicKey::from_pkcs1_pem(pem).map_err(|_| KeyError::RsaPublicPem(spki_err.to_string()))
    })
}

/// Encodes an RSA public key as SPKI PEM (`-----BEGIN PUBLIC KEY-----`, LF line endings).
pub fn rsa_public_key_to_pem(key: &RsaPublicKey) -> Result<String, KeyError> {
    key.to_public_key_pem(LineEnding::LF)
        .map_err(|e| KeyError::RsaEncode(e.to_string()))
}

/// Parses an RSA private key from PEM, PKCS#8 (`PRIVATE KEY`) or PKCS#1 (`RSA PRIVATE KEY`).
pub fn parse_rsa_private_key_pem(pem: &str) -> Result<RsaPrivateKey, KeyError> {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    let pem = pem.trim();
    RsaPrivateKey::from_pkcs8_pem(pem)
        .or_else(|_| RsaPrivateKey::from_pkcs1_pem(pem))
        .map_err(|_| KeyError::RsaPrivatePem)
}

/// A FEP-521a `Multikey` object (an entry of `assertionMethod`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Multikey {
    /// Key id, `ACTOR#ed25519-key`.
    pub id: String,
    /// Always `Multikey`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The actor id.
    pub controller: String,
    /// `z6Mk…`.
    pub public_key_multibase: String,
    /// Expiry, if the key expires (a signature by an expired key must not be accepted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

impl Multikey {
    /// The Multikey for `key`, controlled by `actor_id`, with id `ACTOR#ed25519-key`.
    pub fn ed25519(actor_id: &str, key: &VerifyingKey) -> Self {
        Self {
            id: ed25519_key_id(actor_id),
            kind: "Multikey".to_owned(),
            controller: actor_id.to_owned(),
            public_key_multibase: multikey::encode_ed25519_public(key),
            expires: None,
        }
    }

    /// The Ed25519 key this Multikey holds.
    pub fn ed25519_key(&self) -> Result<VerifyingKey, KeyError> {
        Ok(multikey::decode_ed25519_public(&self.public_key_multibase)?)
    }
}

/// The legacy `publicKey` object: `{id, owner, publicKeyPem}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicKeyPem {
    /// Key id, `ACTOR#main-key`.
    pub id: String,
    /// The actor id.
    pub owner: String,
    /// SPKI PEM.
    pub public_key_pem: String,
}

impl PublicKeyPem {
    /// The `publicKey` object for an RSA key of `actor_id`, with id `ACTOR#main-key`.
    pub fn rsa(actor_id: &str, key: &RsaPublicKey) -> Result<Self, KeyError> {
        Ok(Self {
            id: rsa_key_id(actor_id),
            owner: actor_id.to_owned(),
            public_key_pem: rsa_public_key_to_pem(key)?,
        })
    }

    /// The RSA key this object holds.
    pub fn rsa_key(&self) -> Result<RsaPublicKey, KeyError> {
        parse_rsa_public_key_pem(&self.public_key_pem)
    }
}

/// The key members of an actor document: `assertionMethod` and `publicKey`.
///
/// Serialises to exactly those two members, so it can be flattened into an actor.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActorKeys {
    /// FEP-521a Multikeys.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assertion_method: Vec<Multikey>,
    /// The RSA key for draft-cavage signatures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<PublicKeyPem>,
}

impl ActorKeys {
    /// Keys of a Punte node actor: its Ed25519 identity key and, optionally, its RSA key.
    pub fn new(
        actor_id: &str,
        ed25519: &VerifyingKey,
        rsa: Option<&RsaPublicKey>,
    ) -> Result<Self, KeyError> {
        Ok(Self {
            assertion_method: vec![Multikey::ed25519(actor_id, ed25519)],
            public_key: rsa.map(|k| PublicKeyPem::rsa(actor_id, k)).transpose()?,
        })
    }

    /// Reads the keys of a received actor document leniently: entries of `assertionMethod`
    /// that are not Multikey objects are ignored (FEP-521a says so), `publicKey` may be an
    /// object or an array (the first well-formed entry is kept). Ownership is checked:
    /// a Multikey's `controller` and a publicKey's `owner` must equal the actor `id`.
    pub fn from_actor(actor: &Value) -> Self {
        let actor_id = actor.get("id").and_then(Value::as_str).unwrap_or_default();
        let as_list = |v: Option<&Value>| -> Vec<Value> {
            match v {
                Some(Value::Array(items)) => items.clone(),
                Some(other) => vec![other.clone()],
                None => Vec::new(),
            }
        };
        let assertion_method = as_list(actor.get("assertionMethod"))
            .into_iter()
            .filter_map(|v| serde_json::from_value::<Multikey>(v).ok())
            .filter(|k| k.kind == "Multikey" && k.controller == actor_id)
            .collect();
        let public_key = as_list(actor.get("publicKey"))
            .into_iter()
            .filter_map(|v| serde_json::from_value::<PublicKeyPem>(v).ok())
            .find(|k| k.owner == actor_id);
        Self {
            assertion_method,
            public_key,
        }
    }

    /// The Ed25519 key with id `key_id`, if listed and well formed.
    pub fn ed25519_key(&self, key_id: &str) -> Option<VerifyingKey> {
        self.assertion_method
            .iter()
            .find(|k| k.id == key_id)
            .and_then(|k| k.ed25519_key().ok())
    }

    /// The RSA key with id `key_id`, if listed and well formed.
    pub fn rsa_key(&self, key_id: &str) -> Option<RsaPublicKey> {
        self.public_key
            .as_ref()
            .filter(|k| k.id == key_id)
            .and_then(|k| k.rsa_key().ok())
    }
}
