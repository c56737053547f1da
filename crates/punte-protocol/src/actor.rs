//! The node actor (`Organization`) document, and reading a remote actor: its endpoints, its
//! keys (`keys::ActorKeys`) and, for Punte nodes, its organisation profile.

use ed25519_dalek::VerifyingKey;
use punte_model::OrganisationProfile;
use rsa::RsaPublicKey;
use serde_json::{Map, Value};

use crate::context;
use crate::keys::{ActorKeys, KeyError};
use crate::objects;
use crate::urls::{self, NodeUrls, UrlError};

/// The node's actor document, built from its profile and keys.
#[derive(Debug, Clone, Copy)]
pub struct NodeActor<'a> {
    /// The node's URLs.
    pub urls: &'a NodeUrls,
    /// `preferredUsername`, the `NAME` of `acct:NAME@HOST`.
    pub username: &'a str,
    /// The organisation profile; before `punte init` sets one, the actor is named after
    /// its username.
    pub profile: Option<&'a OrganisationProfile>,
    /// The Ed25519 identity key (`assertionMethod`, `#ed25519-key`).
    pub ed25519: &'a VerifyingKey,
    /// The RSA key for draft-cavage signatures (`publicKey`, `#main-key`), if any.
    pub rsa: Option<&'a RsaPublicKey>,
    /// Whether follow requests wait for approval (the default).
    pub manually_approves_followers: bool,
}

impl NodeActor<'_> {
    /// The actor document served at `BASE/actor` as `application/activity+json`.
    pub fn to_document(&self) -> Result<Value, KeyError> {
        let urls = self.urls;
        let actor_id = urls.actor();
        let keys = ActorKeys::new(&actor_id, self.ed25519, self.rsa)?;
        let mut a = Map::new();
        a.insert("@context".to_owned(), context::actor_context());
        a.insert("id".to_owned(), actor_id.clone().into());
        a.insert("type".to_owned(), "Organization".into());
        a.insert("preferredUsername".to_owned(), self.username.into());
        let profile = match self.profile {
            Some(p) => objects::organisation_fields(p),
            None => {
                let mut m = Map::new();
                m.insert("name".to_owned(), self.username.into());
                m
            }
        };
        // name, nameMap, summary, summaryMap first, then the endpoints, then Punte fields.
        let mut punte = Map::new();
        for (k, v) in profile {
            if matches!(k.as_str(), "name" | "nameMap" | "summary" | "summaryMap") {
                a.insert(k, v);
            } else {
                punte.insert(k, v);
            }
        }
        a.insert("url".to_owned(), format!("{}/", urls.base()).into());
        a.insert("inbox".to_owned(), urls.inbox().into());
        a.insert("outbox".to_owned(), urls.outbox().into());
        a.insert("followers".to_owned(), urls.followers().into());
        a.insert("following".to_owned(), urls.following().into());
        a.insert(
            "endpoints".to_owned(),
            serde_json::json!({"sharedInbox": urls.inbox()}),
        );
        a.insert(
            "manuallyApprovesFollowers".to_owned(),
            self.manually_approves_followers.into(),
        );
        if let Ok(Value::Object(key_members)) = serde_json::to_value(&keys) {
            for (k, v) in key_members {
                a.insert(k, v);
            }
        }
        for (k, v) in punte {
            a.insert(k, v);
        }
        Ok(Value::Object(a))
    }
}

/// Most bytes of a remote actor's `preferredUsername`.
const MAX_USERNAME_LEN: usize = 256;

/// Why a remote actor document was refused.
#[derive(Debug, thiserror::Error)]
pub enum ActorError {
    /// Not a JSON object.
    #[error("actor is not a json object")]
    NotAnObject,
    /// A required member is absent or not a string.
    #[error("actor member {0} is missing or not a string")]
    Missing(&'static str),
    /// The document's `id` is not the URL it was fetched from / asked for.
    #[error("actor id {found:?} is not the expected {expected:?}")]
    WrongId {
        /// The `id` in the document.
        found: String,
        /// The id the caller expected.
        expected: String,
    },
    /// A member that must be an http(s) URL is not.
    #[error("actor member {field}: {source}")]
    InvalidUrl {
        /// The member.
        field: &'static str,
        /// Why.
        source: UrlError,
    },
    /// An endpoint is on another origin than the actor.
    #[error("actor member {field} ({url:?}) is not on the actor's origin")]
    CrossOrigin {
        /// The member.
        field: &'static str,
        /// The URL found.
        url: String,
    },
    /// The actor publishes no key usable for verification.
    #[error("actor publishes no usable key")]
    NoKeys,
}

/// What the node needs of a remote actor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteActor {
    /// The actor id.
    pub id: String,
    /// `type` (`Organization`, `Person`, `Service`, …), when a string.
    pub kind: Option<String>,
    /// `preferredUsername`, if any.
    pub preferred_username: Option<String>,
    /// The actor's inbox.
    pub inbox: String,
    /// `endpoints.sharedInbox`, if any.
    pub shared_inbox: Option<String>,
    /// The outbox, if any.
    pub outbox: Option<String>,
    /// The followers collection, if any.
    pub followers: Option<String>,
    /// `assertionMethod` Multikeys and the `publicKey`, ownership checked.
    pub keys: ActorKeys,
}

impl RemoteActor {
    /// Where to deliver: the shared inbox when there is one, else the inbox.
    pub fn delivery_inbox(&self) -> &str {
        self.shared_inbox.as_deref().unwrap_or(&self.inbox)
    }
}

/// Reads a fetched actor document. `expected_id` is the actor URL the caller asked for
/// (after WebFinger); the document's `id` must equal it. `inbox`, `outbox`, `followers` and
/// `sharedInbox` must be http(s) URLs on the actor's origin, and the actor must publish at
/// least one usable key (a Multikey in `assertionMethod` or an RSA `publicKey`).
pub fn parse_actor(actor: &Value, expected_id: &str) -> Result<RemoteActor, ActorError> {
    let a = actor.as_object().ok_or(ActorError::NotAnObject)?;
    let id = a
        .get("id")
        .and_then(Value::as_str)
        .ok_or(ActorError::Missing("id"))?;
    if id != expected_id {
        return Err(ActorError::WrongId {
            found: id.chars().take(200).collect(),
            expected: expected_id.to_owned(),
        });
    }
    let origin = urls::origin_of(id).map_err(|source| ActorError::InvalidUrl {
        field: "id",
        source,
    })?;
    let endpoint =
        |field: &'static str, value: Option<&Value>| -> Result<Option<String>, ActorError> {
            let Some(value) = value.filter(|v| !v.is_null()) else {
                return Ok(None);
            };
            let url = value.as_str().ok_or(ActorError::Missing(field))?;
            let url_origin =
                urls::origin_of(url).map_err(|source| ActorError::InvalidUrl { field, source })?;
            if url_origin != origin {
                return Err(ActorError::CrossOrigin {
                    field,
                    url: url.chars().take(200).collect(),
                });
            }
            Ok(Some(url.to_owned()))
        };
    let inbox = endpoint("inbox", a.get("inbox"))?.ok_or(ActorError::Missing("inbox"))?;
    let shared_inbox = endpoint(
        "endpoints.sharedInbox",
        a.get("endpoints").and_then(|e| e.get("sharedInbox")),
    )?;
    let keys = ActorKeys::from_actor(actor);
    if !keys.any_usable() {
        return Err(ActorError::NoKeys);
    }
    Ok(RemoteActor {
        id: id.to_owned(),
        kind: a.get("type").and_then(Value::as_str).map(str::to_owned),
        preferred_username: a
            .get("preferredUsername")
            .and_then(Value::as_str)
            .filter(|u| u.len() <= MAX_USERNAME_LEN)
            .map(str::to_owned),
        inbox,
        shared_inbox,
        outbox: endpoint("outbox", a.get("outbox"))?,
        followers: endpoint("followers", a.get("followers"))?,
        keys,
    })
}
