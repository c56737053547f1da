//! The adaptation workflow across nodes (issue #5, docs/protocol.md §5.7).
//!
//! - **Adopter side**: an adaptation whose origin organisation is a known remote actor is
//!   delivered to that actor too, besides the followers ([`origin_audience`], used by
//!   `Document for Adaptation`), for its Create, every Update (state changes) and its Delete.
//! - **Origin side**: the inbox accepts Create/Update/Delete of an `Adaptation` of one of the
//!   node's own (existing) practices from any verified actor and keeps its latest version in
//!   `incoming_adaptations` ([`apply_incoming`], called by `inbox.rs` inside the inbox
//!   transaction). An admin countersigns it ([`Federation::countersign`]): a `Create` of an
//!   `Attestation` in the node's own log, to the followers and to the adopter.
//! - **Counting**: [`Countersignatures`] finds the attestation of an adaptation in the node's
//!   own log (when it is the origin) or in its verified replicas (an attestation by the
//!   practice's organisation); an adaptation without one is not a replication.

use std::collections::HashMap;

use serde_json::Value;

use punte_model::AdaptationContent;
use punte_model::analysis::SourceRef;
use punte_protocol::activity::{ActivityEnvelope, ActivityType};
use punte_protocol::objects::{self, Attestation, ObjectKind};
use punte_protocol::urls::{Collection, NodeUrls, origin_of};
use punte_store::adaptations::{self as store, Countersignature, IncomingAdaptation};
use punte_store::documents::{self as docs, DocKind};
use punte_store::federation as fed_store;
use punte_store::{Connection, StoreError};

use super::Federation;
use super::inbound::{Applied, Verified};
use crate::error::{NodeError, Result};
use crate::publish::{Audience, Verb};

/// The delivery audience of the organisation whose practice `content` adapts: its
/// `origin.organisation`, or else the actor of the node the practice URL is on, when that is
/// a remote actor this node knows (fetched when it followed it or received from it).
pub(crate) fn origin_audience(
    conn: &Connection,
    urls: &NodeUrls,
    content: &AdaptationContent,
) -> Result<Option<Audience>> {
    let origin = &content.origin;
    let organisation = match &origin.organisation {
        Some(org) => org.clone(),
        None => match origin_of(&origin.practice) {
            Ok(base) => format!("{base}/actor"),
            // a local practice: this node is the origin
            Err(_) => return Ok(None),
        },
    };
    if organisation == urls.actor() {
        return Ok(None);
    }
    Ok(fed_store::actor(conn, &organisation)?.map(|row| Audience::actor(&row)))
}

/// What the origin side made of a Create/Update/Delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Incoming {
    /// Not an adaptation of this node's practices (nor the deletion of one).
    NotForUs,
    /// Stored; the outcome says how.
    Applied(String),
    /// An adaptation naming this node's practice that cannot be accepted, and why.
    Refused(String),
}

/// The origin side of the inbox, inside its transaction (after verification).
pub(crate) fn apply_incoming(
    tx: &Connection,
    urls: &NodeUrls,
    v: &Verified,
    env: &ActivityEnvelope,
    now: i64,
) -> Result<Incoming, Applied> {
    match env.kind {
        ActivityType::Create | ActivityType::Update => {
            let Some(object) = env.object.embedded() else {
                return Ok(Incoming::NotForUs);
            };
            if ObjectKind::of(object) != Some(ObjectKind::Adaptation) {
                return Ok(Incoming::NotForUs);
            }
            let named = object
                .get("adapts")
                .and_then(|a| a.get("practice"))
                .and_then(Value::as_str);
            let Some(practice_url) = named.filter(|u| urls.owns(u)) else {
                return Ok(Incoming::NotForUs);
            };
            receive(tx, urls, v, env, object, practice_url, now)
        }
        ActivityType::Delete => {
            let deleted = store::delete_incoming(tx, &v.actor.row.id, env.object.id(), &v.id, now)?;
            Ok(if deleted {
                Incoming::Applied("adaptation deleted by its adopter".to_owned())
            } else {
                Incoming::NotForUs
            })
        }
        _ => Ok(Incoming::NotForUs),
    }
}

fn receive(
    tx: &Connection,
    urls: &NodeUrls,
    v: &Verified,
    env: &ActivityEnvelope,
    object: &Value,
    practice_url: &str,
    now: i64,
) -> Result<Incoming, Applied> {
    let refused = |reason: String| Ok(Incoming::Refused(reason));
    let adaptation = match objects::parse_adaptation(object, &env.actor_origin) {
        Ok(a) => a,
        Err(e) => return refused(format!("adaptation refused: {e}")),
    };
    let Some(practice_id) = urls.local_id(Collection::Practices, practice_url) else {
        return refused(format!("{practice_url} is not a practice url of this node"));
    };
    let content = &adaptation.content;
    if let Some(org) = &content.origin.organisation
        && *org != urls.actor()
    {
        return refused(format!(
            "the adaptation names {org} as the practice's organisation, but {practice_url} is {}'s",
            urls.actor()
        ));
    }
    match docs::get_current(tx, DocKind::Practice, practice_id) {
        Ok(rec) if content.origin.version > rec.version => {
            return refused(format!(
                "the adaptation is of version {} of {practice_url}, which is at version {}",
                content.origin.version, rec.version
            ));
        }
        Ok(_) => {}
        Err(StoreError::NotFound { .. }) => {
            return refused(format!("this node has no practice {practice_url}"));
        }
        Err(StoreError::Gone { .. }) => {
            return refused(format!("practice {practice_url} was deleted"));
        }
        Err(e) => return Err(e.into()),
    }
    fed_store::upsert_actor(tx, &v.actor.row)?;
    let state = objects_enum(&content.state);
    let written = store::upsert_incoming(
        tx,
        &IncomingAdaptation {
            object_id: env.object.id().to_owned(),
            adopter: v.actor.row.id.clone(),
            practice_id: practice_id.to_owned(),
            practice_version: content.origin.version,
            adaptation_version: adaptation.version,
            country: content.country.as_str().to_owned(),
            state: state.clone(),
            object: object.to_string(),
            activity_id: v.id.clone(),
            received_ms: now,
            updated_ms: now,
            deleted: false,
            countersignature: None,
            decline: None,
        },
    )?;
    Ok(Incoming::Applied(if written {
        format!(
            "adaptation of practice {practice_id} received (version {}, state {state})",
            adaptation.version
        )
    } else {
        "adaptation not stored: a newer version is held, or it was deleted".to_owned()
    }))
}

/// The wire name of a model enumeration member (`piloting`, …).
fn objects_enum<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => s,
        _ => String::new(),
    }
}

/// Where an adaptation's countersignature is, for every adaptation the node knows one of.
#[derive(Debug, Clone, Default)]
pub struct Countersignatures {
    /// By adaptation URL: (the attester's practice URL, the attestation's log entry).
    by_adaptation: HashMap<String, Vec<(String, SourceRef)>>,
}

impl Countersignatures {
    /// Reads the node's own countersignatures (its log origin is `log_origin`) and the
    /// attestations in its replicas.
    pub fn load(conn: &Connection, urls: &NodeUrls, log_origin: &str) -> punte_store::Result<Self> {
        let mut by_adaptation: HashMap<String, Vec<(String, SourceRef)>> = HashMap::new();
        for row in store::incoming_list(conn, false)? {
            if let Some(c) = row.countersignature {
                by_adaptation.entry(row.object_id).or_default().push((
                    urls.practice(&row.practice_id),
                    SourceRef {
                        origin: log_origin.to_owned(),
                        log_index: c.log_index,
                        activity_id: c.activity_id,
                    },
                ));
            }
        }
        for a in store::replicated_attestations(conn, None)? {
            by_adaptation.entry(a.attests).or_default().push((
                a.practice,
                SourceRef {
                    origin: a.origin,
                    log_index: a.log_index,
                    activity_id: a.activity_id,
                },
            ));
        }
        Ok(Self { by_adaptation })
    }

    /// The countersignature of adaptation `adaptation_url` of practice `practice_url`: the
    /// first attestation (in log order) by the practice's own organisation (an attestation
    /// names a practice on its attester's origin, so a matching practice means the right
    /// attester). `None`: not countersigned, and not a replication.
    pub fn of(&self, adaptation_url: &str, practice_url: &str) -> Option<SourceRef> {
        self.by_adaptation
            .get(adaptation_url)?
            .iter()
            .find(|(practice, _)| practice == practice_url)
            .map(|(_, source)| source.clone())
    }

    /// How many adaptations have a countersignature.
    pub fn len(&self) -> usize {
        self.by_adaptation.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_adaptation.is_empty()
    }
}

/// The node's log origin (`HOST/punte-log`), from the log state or, before the first entry,
/// from the base URL.
pub fn log_origin(conn: &Connection, base_url: &str) -> Result<String> {
    match punte_store::log::state(conn)? {
        Some(state) => Ok(state.origin),
        None => crate::publish::origin_for_base(base_url),
    }
}

impl Federation {
    /// Adaptations of this node's practices received from other organisations, newest
    /// change first.
    pub fn incoming_adaptations(&self, include_deleted: bool) -> Result<Vec<IncomingAdaptation>> {
        Ok(self
            .node
            .store()
            .read(|conn| store::incoming_list(conn, include_deleted))?)
    }

    /// Countersigns the received adaptation `adaptation_url`: appends a `Create` of an
    /// `Attestation` to this node's log, delivered to the followers and to the adopter, and
    /// records it. A second call returns the first countersignature unchanged.
    pub fn countersign(&self, adaptation_url: &str) -> Result<IncomingAdaptation> {
        let now = self.now_ms();
        let not_found = || {
            NodeError::Store(StoreError::not_found(format!(
                "adaptation {adaptation_url} received by this node"
            )))
        };
        self.node.change(|tx, log| {
            let row = store::incoming(tx, adaptation_url)?.ok_or_else(not_found)?;
            if row.deleted {
                return Err(StoreError::Gone {
                    what: format!("adaptation {adaptation_url}"),
                }
                .into());
            }
            if row.countersignature.is_some() {
                return Ok(row);
            }
            // The practice must still be there (a deleted practice is `Gone`).
            docs::get_current(tx, DocKind::Practice, &row.practice_id)?;
            let adopter = fed_store::actor(tx, &row.adopter)?.ok_or_else(|| {
                NodeError::Store(StoreError::not_found(format!("actor {}", row.adopter)))
            })?;
            let attestation = Attestation {
                id: uuid::Uuid::now_v7().to_string(),
                attests: row.object_id.clone(),
                practice: row.practice_id.clone(),
                adopter: row.adopter.clone(),
                adaptation_version: row.adaptation_version,
                published: log.published(),
            };
            let object = objects::attestation_to_object(&attestation, log.urls());
            let attestation_id = log.urls().attestation(&attestation.id);
            let (appended, _) = log.activity(Verb::Create, object)?;
            log.also_deliver(appended.index, Audience::actor(&adopter))?;
            store::set_countersigned(
                tx,
                adaptation_url,
                &Countersignature {
                    log_index: appended.index,
                    attestation_id,
                    activity_id: appended.activity_id,
                    countersigned_ms: now,
                },
            )?;
            store::incoming(tx, adaptation_url)?.ok_or_else(not_found)
        })
    }

    /// The countersignature of adaptation `adaptation_url` of practice `practice_url`, from
    /// this node's log or its replicas (see [`Countersignatures::of`]).
    pub fn countersignature_of(
        &self,
        adaptation_url: &str,
        practice_url: &str,
    ) -> Result<Option<SourceRef>> {
        let base = self.node.settings().base_url.clone();
        let urls = NodeUrls::new(&base)?;
        self.node.store().read(|conn| {
            let origin = log_origin(conn, &base)?;
            let all = Countersignatures::load(conn, &urls, &origin)?;
            Ok(all.of(adaptation_url, practice_url))
        })
    }
}
