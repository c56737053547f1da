//! Activities: builders for what a node sends (Create, Update, Delete with a Tombstone,
//! Follow, Accept, Reject, Undo, Announce), FEP-8b32 signing of them, and the envelope of a
//! received activity with its same-origin checks.
//!
//! Ids, times and keys are parameters: the caller draws the activity uuid and reads the clock.

use ed25519_dalek::SigningKey;
use serde_json::{Map, Value};

use crate::context;
use crate::keys;
use crate::objects::PUBLIC;
use crate::proof::{self, ProofError, ProofOptions};
use crate::urls::{self, NodeUrls};

/// Longest `to` / `cc` list read from a received activity.
pub const MAX_RECIPIENTS: usize = 1_000;

/// The activity types a node sends and accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActivityType {
    /// A new object.
    Create,
    /// A new version of an object.
    Update,
    /// An object removed (its Tombstone or its id).
    Delete,
    /// A follow request.
    Follow,
    /// A follow request approved.
    Accept,
    /// A follow request refused.
    Reject,
    /// An earlier activity withdrawn (a Follow).
    Undo,
    /// Another node's object shared.
    Announce,
}

impl ActivityType {
    /// Every type.
    pub const ALL: [ActivityType; 8] = [
        Self::Create,
        Self::Update,
        Self::Delete,
        Self::Follow,
        Self::Accept,
        Self::Reject,
        Self::Undo,
        Self::Announce,
    ];

    /// The AS2 type name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "Create",
            Self::Update => "Update",
            Self::Delete => "Delete",
            Self::Follow => "Follow",
            Self::Accept => "Accept",
            Self::Reject => "Reject",
            Self::Undo => "Undo",
            Self::Announce => "Announce",
        }
    }

    /// The type named `name`, if supported.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// Whether the object must be on the actor's origin (the actor is changing its own data).
    pub fn requires_same_origin_object(self) -> bool {
        matches!(self, Self::Create | Self::Update | Self::Delete)
    }
}

/// The members every activity carries: id, actor, time and addressing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityHeader {
    /// `BASE/activities/{uuid}`.
    pub id: String,
    /// `BASE/actor`.
    pub actor: String,
    /// RFC 3339, from the caller's clock.
    pub published: String,
    /// Primary recipients.
    pub to: Vec<String>,
    /// Copied recipients.
    pub cc: Vec<String>,
}

impl ActivityHeader {
    /// A public activity of the node at `urls`: `to` Public, `cc` the followers collection.
    pub fn public(urls: &NodeUrls, activity_uuid: &str, published: &str) -> Self {
        Self {
            id: urls.activity(activity_uuid),
            actor: urls.actor(),
            published: published.to_owned(),
            to: vec![PUBLIC.to_owned()],
            cc: vec![urls.followers()],
        }
    }

    /// An activity addressed to one actor only (Follow, Accept, Reject, Undo of a Follow).
    pub fn direct(urls: &NodeUrls, activity_uuid: &str, published: &str, recipient: &str) -> Self {
        Self {
            id: urls.activity(activity_uuid),
            actor: urls.actor(),
            published: published.to_owned(),
            to: vec![recipient.to_owned()],
            cc: Vec::new(),
        }
    }
}

fn activity(kind: ActivityType, header: &ActivityHeader, object: Value) -> Value {
    let mut a = Map::new();
    a.insert("@context".to_owned(), context::activity_context());
    a.insert("id".to_owned(), header.id.clone().into());
    a.insert("type".to_owned(), kind.as_str().into());
    a.insert("actor".to_owned(), header.actor.clone().into());
    a.insert("published".to_owned(), header.published.clone().into());
    a.insert("to".to_owned(), header.to.clone().into());
    if !header.cc.is_empty() {
        a.insert("cc".to_owned(), header.cc.clone().into());
    }
    a.insert("object".to_owned(), object);
    Value::Object(a)
}

/// An activity to embed in another: without `@context`, `proof` and a Linked Data
/// `signature`.
fn embedded(activity: &Value) -> Value {
    match activity {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !matches!(k.as_str(), "@context" | "proof" | "signature"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// `Create` of `object` (built by `objects::*_to_object`, embedded whole).
pub fn create(header: &ActivityHeader, object: Value) -> Value {
    activity(ActivityType::Create, header, object)
}

/// `Update` with the new version of `object`, embedded whole.
pub fn update(header: &ActivityHeader, object: Value) -> Value {
    activity(ActivityType::Update, header, object)
}

/// The Tombstone that replaces a deleted object: `{id, type: Tombstone, formerType, deleted}`.
/// `former_type` is the kind's compact IRI (`ObjectKind::former_type`, e.g. `punte:Practice`).
pub fn tombstone(object_id: &str, former_type: &str, deleted: &str) -> Value {
    let mut t = Map::new();
    t.insert("id".to_owned(), object_id.into());
    t.insert("type".to_owned(), "Tombstone".into());
    t.insert("formerType".to_owned(), former_type.into());
    t.insert("deleted".to_owned(), deleted.into());
    Value::Object(t)
}

/// `Delete` whose object is a Tombstone (see [`tombstone`]).
pub fn delete(header: &ActivityHeader, tombstone: Value) -> Value {
    activity(ActivityType::Delete, header, tombstone)
}

/// `Follow` of the actor `target_actor`; address it with [`ActivityHeader::direct`].
pub fn follow(header: &ActivityHeader, target_actor: &str) -> Value {
    activity(ActivityType::Follow, header, target_actor.into())
}

/// `Accept` of a received Follow, embedded (without its `@context` and proof) as Mastodon
/// and Fedify expect.
pub fn accept(header: &ActivityHeader, follow: &Value) -> Value {
    activity(ActivityType::Accept, header, embedded(follow))
}

/// `Reject` of a received Follow, embedded like [`accept`].
pub fn reject(header: &ActivityHeader, follow: &Value) -> Value {
    activity(ActivityType::Reject, header, embedded(follow))
}

/// `Undo` of an earlier activity of the same actor (a Follow), embedded.
pub fn undo(header: &ActivityHeader, activity_to_undo: &Value) -> Value {
    activity(ActivityType::Undo, header, embedded(activity_to_undo))
}

/// `Announce` of another node's object, by id.
pub fn announce(header: &ActivityHeader, object_id: &str) -> Value {
    activity(ActivityType::Announce, header, object_id.into())
}

/// Signs `activity` with an FEP-8b32 `eddsa-jcs-2022` proof by the node key of `actor_id`
/// (`verificationMethod` = `ACTOR#ed25519-key`), created at `created` (RFC 3339).
pub fn sign_activity(
    activity: &Value,
    actor_id: &str,
    created: &str,
    key: &SigningKey,
) -> Result<Value, ProofError> {
    let options = ProofOptions::assertion(keys::ed25519_key_id(actor_id), created);
    proof::sign(activity, &options, key)
}

/// Why a received activity was refused before any of its content was looked at.
#[derive(Debug, thiserror::Error)]
pub enum ActivityError {
    /// Not a JSON object.
    #[error("activity is not a json object")]
    NotAnObject,
    /// A required member is absent or not of the right JSON type.
    #[error("activity member {0} is missing or malformed")]
    Missing(&'static str),
    /// A type this node does not handle.
    #[error("unsupported activity type {0:?}")]
    UnsupportedType(String),
    /// A member that must be an http(s) URL is not.
    #[error("activity member {field}: {source}")]
    InvalidUrl {
        /// The member.
        field: &'static str,
        /// Why.
        source: urls::UrlError,
    },
    /// The activity id is not on the actor's origin.
    #[error("activity id {id:?} is not on the origin of actor {actor:?}")]
    ActivityCrossOrigin {
        /// The activity id.
        id: String,
        /// The actor.
        actor: String,
    },
    /// For Create/Update/Delete: the object is not on the actor's origin.
    #[error("object {object:?} is not on the origin of actor {actor:?}")]
    ObjectCrossOrigin {
        /// The object id.
        object: String,
        /// The actor.
        actor: String,
    },
    /// The embedded object names another actor (`attributedTo`, or the `actor` of an
    /// undone activity).
    #[error("embedded object belongs to {found:?}, not to actor {actor:?}")]
    ForeignObject {
        /// Who the object names.
        found: String,
        /// The activity's actor.
        actor: String,
    },
    /// Create and Update must embed the object, not only name it.
    #[error("{0} must embed its object")]
    ObjectNotEmbedded(&'static str),
    /// Too many recipients.
    #[error("{field} has more than {max} recipients")]
    TooManyRecipients {
        /// `to` or `cc`.
        field: &'static str,
        /// The limit.
        max: usize,
    },
}

/// The object of an activity: a bare id, or an embedded object with its id.
#[derive(Debug, Clone, PartialEq)]
pub enum ObjectRef {
    /// `"object": "https://…"`.
    Id(String),
    /// `"object": {"id": …, …}` (the whole embedded value is kept).
    Embedded {
        /// The embedded object's `id`.
        id: String,
        /// Its `type`, when a string.
        kind: Option<String>,
        /// The embedded object as received.
        value: Value,
    },
}

impl ObjectRef {
    /// The object's id.
    pub fn id(&self) -> &str {
        match self {
            Self::Id(id) | Self::Embedded { id, .. } => id,
        }
    }

    /// The embedded object, if any.
    pub fn embedded(&self) -> Option<&Value> {
        match self {
            Self::Id(_) => None,
            Self::Embedded { value, .. } => Some(value),
        }
    }
}

/// What a received activity is, from whom and about what; same-origin rules already checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityEnvelope {
    /// The type.
    pub kind: ActivityType,
    /// The activity id (on the actor's origin).
    pub id: String,
    /// The actor id.
    pub actor: String,
    /// The actor's origin, `https://host[:port]`.
    pub actor_origin: String,
    /// The object.
    pub object: ObjectRef,
    /// `published`, when a string.
    pub published: Option<String>,
    /// `to` (a string or an array of strings).
    pub to: Vec<String>,
    /// `cc`.
    pub cc: Vec<String>,
}

/// Reads the envelope of a received activity and applies the same-origin rules:
/// - `id` and `actor` are http(s) URLs on the same origin;
/// - for Create, Update and Delete the object id is on that origin too, Create and Update
///   embed the object, and an embedded object's `attributedTo` (when present) is on it;
/// - for Undo of an embedded activity, that activity's `actor` is the same actor.
///
/// `actor` may be a string or an object with an `id`. Nothing else of the object is read:
/// pass `envelope.object.embedded()` to `objects::parse_object` with `actor_origin`.
pub fn parse_activity(activity: &Value) -> Result<ActivityEnvelope, ActivityError> {
    let a = activity.as_object().ok_or(ActivityError::NotAnObject)?;
    let kind_name = a
        .get("type")
        .and_then(Value::as_str)
        .ok_or(ActivityError::Missing("type"))?;
    let kind = ActivityType::parse(kind_name)
        .ok_or_else(|| ActivityError::UnsupportedType(kind_name.chars().take(100).collect()))?;
    let id = a
        .get("id")
        .and_then(Value::as_str)
        .ok_or(ActivityError::Missing("id"))?;
    let actor = match a.get("actor") {
        Some(Value::String(s)) => s.as_str(),
        Some(Value::Object(o)) => o
            .get("id")
            .and_then(Value::as_str)
            .ok_or(ActivityError::Missing("actor"))?,
        _ => return Err(ActivityError::Missing("actor")),
    };
    let url_err = |field| move |source| ActivityError::InvalidUrl { field, source };
    let actor_origin = urls::origin_of(actor).map_err(url_err("actor"))?;
    let id_origin = urls::origin_of(id).map_err(url_err("id"))?;
    if id_origin != actor_origin {
        return Err(ActivityError::ActivityCrossOrigin {
            id: id.to_owned(),
            actor: actor.to_owned(),
        });
    }
    let object = match a.get("object") {
        Some(Value::String(s)) => {
            urls::origin_of(s).map_err(url_err("object"))?;
            ObjectRef::Id(s.clone())
        }
        Some(value @ Value::Object(o)) => {
            let object_id = o
                .get("id")
                .and_then(Value::as_str)
                .ok_or(ActivityError::Missing("object.id"))?;
            urls::origin_of(object_id).map_err(url_err("object.id"))?;
            ObjectRef::Embedded {
                id: object_id.to_owned(),
                kind: o.get("type").and_then(Value::as_str).map(str::to_owned),
                value: value.clone(),
            }
        }
        _ => return Err(ActivityError::Missing("object")),
    };
    if kind.requires_same_origin_object() {
        if !urls::origin_of(object.id()).is_ok_and(|o| o == actor_origin) {
            return Err(ActivityError::ObjectCrossOrigin {
                object: object.id().to_owned(),
                actor: actor.to_owned(),
            });
        }
        if matches!(kind, ActivityType::Create | ActivityType::Update)
            && object.embedded().is_none()
        {
            return Err(ActivityError::ObjectNotEmbedded(kind.as_str()));
        }
        if let Some(owner) = object
            .embedded()
            .and_then(|o| o.get("attributedTo"))
            .and_then(Value::as_str)
            && !urls::origin_of(owner).is_ok_and(|o| o == actor_origin)
        {
            return Err(ActivityError::ForeignObject {
                found: owner.to_owned(),
                actor: actor.to_owned(),
            });
        }
    }
    if kind == ActivityType::Undo
        && let Some(inner_actor) = object.embedded().and_then(|o| o.get("actor"))
    {
        let inner = match inner_actor {
            Value::String(s) => Some(s.as_str()),
            Value::Object(o) => o.get("id").and_then(Value::as_str),
            _ => None,
        };
        if inner != Some(actor) {
            return Err(ActivityError::ForeignObject {
                found: inner_actor.to_string().chars().take(200).collect(),
                actor: actor.to_owned(),
            });
        }
    }
    Ok(ActivityEnvelope {
        kind,
        id: id.to_owned(),
        actor: actor.to_owned(),
        actor_origin,
        object,
        published: a
            .get("published")
            .and_then(Value::as_str)
            .map(str::to_owned),
        to: recipients(a.get("to"), "to")?,
        cc: recipients(a.get("cc"), "cc")?,
    })
}

fn recipients(value: Option<&Value>, field: &'static str) -> Result<Vec<String>, ActivityError> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) => {
            if items.len() > MAX_RECIPIENTS {
                return Err(ActivityError::TooManyRecipients {
                    field,
                    max: MAX_RECIPIENTS,
                });
            }
            Ok(items
                .iter()
                .filter_map(|v| match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Object(o) => o.get("id").and_then(Value::as_str).map(str::to_owned),
                    _ => None,
                })
                .collect())
        }
        Some(_) => Err(ActivityError::Missing(field)),
    }
}
