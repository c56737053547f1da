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

    /// The Ed25519 key this object holds, when its PEM is an Ed25519 SPKI (Fedify lists one
    /// beside its RSA key, and may sign HTTP requests with it).
    pub fn ed25519_key(&self) -> Option<VerifyingKey> {
        <VerifyingKey as ed25519_dalek::pkcs8::DecodePublicKey>::from_public_key_pem(
            self.public_key_pem.trim(),
        )
        .ok()
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
    /// The RSA key for draft-cavage signatures (of a received actor: the first `publicKey`
    /// entry that holds one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<PublicKeyPem>,
    /// Of a received actor: every `publicKey` entry it owns, in order (RSA or Ed25519).
    #[serde(skip)]
    pub public_keys: Vec<PublicKeyPem>,
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
            public_keys: Vec::new(),
        })
    }

    /// Reads the keys of a received actor document leniently: entries of `assertionMethod`
    /// that are not Multikey objects are ignored (FEP-521a says so), `publicKey` may be an
    /// object or an array (every well-formed entry is kept, RSA or Ed25519). Ownership is checked:
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
        let public_keys: Vec<PublicKeyPem> = as_list(actor.get("publicKey"))
            .into_iter()
            .filter_map(|v| serde_json::from_value::<PublicKeyPem>(v).ok())
            .filter(|k| k.owner == actor_id)
            .collect();
        let public_key = public_keys
            .iter()
            .find(|k| k.rsa_key().is_ok())
            .or_else(|| public_keys.first())
            .cloned();
        Self {
            assertion_method,
            public_key,
            public_keys,
        }
    }

    /// Every `publicKey` entry: those read from a received actor, or this node's own.
    fn pem_keys(&self) -> impl Iterator<Item = &PublicKeyPem> {
        let own = self
            .public_keys
            .is_empty()
            .then_some(())
            .and(self.public_key.as_ref());
        self.public_keys.iter().chain(own)
    }

    /// The Ed25519 key with id `key_id`, if listed (as a Multikey of `assertionMethod`, or
    /// as an Ed25519 `publicKey`) and well formed.
    pub fn ed25519_key(&self, key_id: &str) -> Option<VerifyingKey> {
        self.assertion_method
            .iter()
            .filter(|k| k.id == key_id)
            .find_map(|k| k.ed25519_key().ok())
            .or_else(|| {
                self.pem_keys()
                    .filter(|k| k.id == key_id)
                    .find_map(PublicKeyPem::ed25519_key)
            })
    }

    /// The RSA key with id `key_id`, if listed in `publicKey` and well formed.
    pub fn rsa_key(&self, key_id: &str) -> Option<RsaPublicKey> {
        self.pem_keys()
            .filter(|k| k.id == key_id)
            .find_map(|k| k.rsa_key().ok())
    }

    /// Whether `key_id` names one of the listed keys.
    pub fn lists(&self, key_id: &str) -> bool {
        self.assertion_method.iter().any(|k| k.id == key_id)
            || self.pem_keys().any(|k| k.id == key_id)
    }

    /// Whether any listed key is usable (an Ed25519 or an RSA key that decodes).
    pub fn any_usable(&self) -> bool {
        self.assertion_method
            .iter()
            .any(|k| k.ed25519_key().is_ok())
            || self
                .pem_keys()
                .any(|k| k.rsa_key().is_ok() || k.ed25519_key().is_some())
    }

    /// Every listed Ed25519 key: (key id, the key, `None` when malformed), `assertionMethod`
    /// first.
    pub fn ed25519_keys(&self) -> Vec<(String, Option<VerifyingKey>)> {
        let mut keys: Vec<(String, Option<VerifyingKey>)> = self
            .assertion_method
            .iter()
            .map(|k| (k.id.clone(), k.ed25519_key().ok()))
            .collect();
        keys.extend(
            self.pem_keys()
                .filter_map(|k| k.ed25519_key().map(|key| (k.id.clone(), Some(key)))),
        );
        keys
    }

    /// Every listed RSA key that decodes: (key id, the key).
    pub fn rsa_keys(&self) -> Vec<(String, RsaPublicKey)> {
        self.pem_keys()
            .filter_map(|k| Some((k.id.clone(), k.rsa_key().ok()?)))
            .collect()
    }
}
