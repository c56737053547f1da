//! Signed network membership (docs/protocol.md §1.10 and §5.8).
//!
//! Two roles:
//! - **coordinator**: [`Federation::admit_member`], [`Federation::update_member`] and
//!   [`Federation::remove_member`] publish a new version of the whole `MembershipList` as an
//!   `Update` in a log entry of kind 4 (membership), delivered to followers, in one
//!   transaction with the `membership_versions` row. Keys are pinned from what the member's
//!   node serves (its actor's Ed25519 identity key, its `/witness/key`).
//! - **member**: the list in force is the latest `MembershipList` of the **verified replica**
//!   of the configured coordinator's log (the node follows the coordinator), or the node's
//!   own list when it is the coordinator. In members-only mode the inbox and the witness ask
//!   [`Federation::membership_gate`] / [`Federation::membership_origin_gate`] before
//!   accepting anything; the coordinator itself is always accepted.
//!
//! Why over 800 lines: about 160 of them are the unit tests of the gate and the list in force
//! (from line `#[cfg(test)]`), which need the private cache; the code itself is under 650.

use std::sync::Arc;

use ed25519_dalek::VerifyingKey;
use serde_json::Value;

use punte_log::{EntryKind, SignedEntry};
use punte_model::{CountryCode, Date};
use punte_protocol::activity;
use punte_protocol::keys::ed25519_key_id;
use punte_protocol::objects::{
    self, MEMBERSHIP_PATH, Member, MembershipAction, MembershipList, membership_to_object,
    parse_membership,
};
use punte_store::federation as fed_store;
use punte_store::membership::{self as store, MembershipVersion};

use crate::error::NodeError;
use crate::federation::{Federation, base_of_actor};
use crate::publish::{Audience, origin_for_base, unix_ms};
use punte_protocol::witness::{WITNESS_PREFIX, witness_name};

/// The `[membership]` config section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MembershipSettings {
    /// The coordinator's actor id (`https://coord.example/actor`), if the node belongs to a
    /// network with a coordinator.
    pub coordinator: Option<String>,
    /// Accept follows, deliveries and witness requests only from listed members.
    pub members_only: bool,
}

/// Why a coordinator could not publish a membership change.
#[derive(Debug, thiserror::Error)]
pub enum MembershipError {
    /// 409: admitting someone who is a current member.
    #[error("{0} is already a member")]
    AlreadyMember(String),
    /// 404: removing or updating someone who is not a current member.
    #[error("{0} is not a current member")]
    NotAMember(String),
    /// 409: an update that would change nothing.
    #[error("the pinned keys of {0} are its current keys; nothing to update")]
    Unchanged(String),
    /// 422: the candidate cannot be a member (not a Punte node, no country, bad keys).
    #[error("{0}")]
    Unusable(String),
    /// 502: the candidate's node could not be read.
    #[error("cannot read {actor}: {reason}")]
    Unreachable { actor: String, reason: String },
    #[error(transparent)]
    Node(#[from] NodeError),
}

impl From<punte_store::StoreError> for MembershipError {
    fn from(e: punte_store::StoreError) -> Self {
        Self::Node(e.into())
    }
}

/// A version of the list this node published, with the entry that published it.
#[derive(Debug, Clone)]
pub struct PublishedList {
    pub list: MembershipList,
    /// The `MembershipList` object as published (without `@context`).
    pub object: Value,
    pub log_index: u64,
    pub activity_id: String,
}

/// The membership list a node goes by, and where it comes from.
#[derive(Debug, Clone)]
pub struct ListInForce {
    pub list: Arc<MembershipList>,
    /// The index of the entry in the coordinator's log that published it.
    pub log_index: u64,
}

/// Why members-only mode refused a peer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MembershipRefusal {
    #[error("{0} is not a current member of the network")]
    NotAMember(String),
    #[error("{0}")]
    KeyMismatch(String),
    #[error("{0}")]
    Unknown(String),
    #[error("membership list unreadable: {0}")]
    Internal(String),
}

impl MembershipRefusal {
    /// The machine-readable problem code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotAMember(_) => "not-a-member",
            Self::KeyMismatch(_) => "member-key-mismatch",
            Self::Unknown(_) => "membership-unknown",
            Self::Internal(_) => "internal",
        }
    }
}

/// What the membership gate decided for a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    /// Members-only mode is off, or the peer is the coordinator.
    Open,
    /// A current member; its signatures must be by this pinned identity key.
    Member(VerifyingKey),
}

/// A current member as a witness of this node's log (members-only mode): the
/// `cosignature/v1` key and the country the list pins for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedWitness {
    pub actor: String,
    pub vkey: String,
    pub country: String,
}

/// The membership status (`GET /api/v1/membership/status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipStatus {
    pub coordinator: Option<String>,
    pub members_only: bool,
    /// The version and entry index of the list in force, if one is known.
    pub version: Option<u64>,
    pub log_index: Option<u64>,
    /// Current members in the list in force.
    pub members: usize,
    /// Whether this node is a current member of the list in force.
    pub listed: bool,
    /// Whether this node is the configured coordinator.
    pub is_coordinator: bool,
    /// The latest version this node published as a coordinator, if any.
    pub published_version: Option<u64>,
}

/// What a coordinator learned about a candidate member from its node.
struct Candidate {
    actor: String,
    name: Option<String>,
    country: Option<CountryCode>,
    identity_key: VerifyingKey,
    witness_key: String,
}

fn decode_list(object: &str, base: &str) -> Result<(Value, MembershipList), NodeError> {
    let value: Value = serde_json::from_str(object).map_err(|source| NodeError::Decode {
        what: "membership list".into(),
        source,
    })?;
    let list = parse_membership(&value, base)
        .map_err(|e| NodeError::Log(format!("stored membership list does not parse: {e}")))?;
    Ok((value, list))
}

/// The latest list this node published as a coordinator, as its signed history says: the
/// object of the latest membership entry (kind 4) of its log. The `membership_versions` table
/// is a cache checked against it; a row that names another entry, or holds another object,
/// is `NodeError::Unlogged` (an edit of the database is neither served nor carried into the
/// next version).
fn logged_membership(
    conn: &punte_store::Connection,
    base: &str,
) -> crate::Result<Option<PublishedList>> {
    let unlogged = |why: String| NodeError::Unlogged {
        what: "the membership list".to_owned(),
        why,
    };
    let row = store::latest(conn)?;
    let logged = punte_store::log::latest_of_kind(conn, EntryKind::Membership.to_byte())?;
    let (row, index) = match (row, logged) {
        (None, None) => return Ok(None),
        (Some(row), Some(index)) if row.log_index == index => (row, index),
        (Some(row), logged) => {
            return Err(unlogged(format!(
                "the stored version {} names log entry {}, the latest membership entry is {}",
                row.version,
                row.log_index,
                logged.map_or_else(|| "none".to_owned(), |i| i.to_string())
            )));
        }
        (None, Some(index)) => {
            return Err(unlogged(format!(
                "log entry {index} publishes a list the membership table does not hold"
            )));
        }
    };
    let (activity_id, object) = crate::logged::logged_object(conn, index)?
        .map_err(|reason| unlogged(format!("log entry {index} was erased ({reason})")))?;
    let stored: Value = serde_json::from_str(&row.object).map_err(|source| NodeError::Decode {
        what: "stored membership list".into(),
        source,
    })?;
    if punte_protocol::jcs::canonicalize(&stored)? != punte_protocol::jcs::canonicalize(&object)? {
        return Err(unlogged(format!(
            "the stored version {} differs from log entry {index}, which published it",
            row.version
        )));
    }
    let list = parse_membership(&object, base)
        .map_err(|e| NodeError::Log(format!("the logged membership list does not parse: {e}")))?;
    Ok(Some(PublishedList {
        list,
        object,
        log_index: index,
        activity_id,
    }))
}

impl crate::Node {
    /// The latest membership list this node published as a coordinator, read from its
    /// signed history (see [`logged_membership`]).
    pub fn published_membership(&self) -> crate::Result<Option<PublishedList>> {
        let base = self.settings().base_url.clone();
        let logged = self.store().read(|conn| logged_membership(conn, &base));
        if let Err(e @ NodeError::Unlogged { .. }) = &logged {
            tracing::error!(error = %e, "the membership table is not what the signed history says; run `punte check`");
        }
        logged
    }

    /// Every version this node published, oldest first (without the objects).
    pub fn membership_history(&self) -> crate::Result<Vec<MembershipVersion>> {
        Ok(self.store().read(store::history)?)
    }

    /// Publishes the next version of the list: `change` gets the current list (if any) and
    /// today's date and returns the new members, the action and the member it applies to.
    /// The list, its signed `Update`, the log entry (kind 4), the deliveries to followers
    /// and the `membership_versions` row commit in one transaction.
    fn publish_membership(
        &self,
        change: impl FnOnce(
            Option<&MembershipList>,
            Date,
        ) -> Result<(Vec<Member>, MembershipAction, String), MembershipError>,
    ) -> Result<PublishedList, MembershipError> {
        let base = self.settings().base_url.clone();
        let today = Date::from(self.now().date());
        let now_ms = unix_ms(self.now());
        self.change_as(|tx, log| {
            // the next version is built on what the log says, never on the table alone
            let current = logged_membership(tx, &base)?.map(|p| p.list);
            let (members, action, changed) = change(current.as_ref(), today)?;
            let list = MembershipList {
                id: format!("{base}{MEMBERSHIP_PATH}"),
                coordinator: log.urls().actor(),
                version: current.as_ref().map_or(1, |c| c.version.saturating_add(1)),
                published: log.published(),
                members,
                action,
                changed,
            };
            let object = membership_to_object(&list, log.urls());
            // What is published must be what members will parse.
            parse_membership(&object, &base)
                .map_err(|e| MembershipError::Unusable(format!("the new list is invalid: {e}")))?;
            let (appended, _) = log.emit_as(
                EntryKind::Membership,
                |h| activity::update(h, object.clone()),
                Audience::Followers,
            )?;
            store::insert_version(
                tx,
                &MembershipVersion {
                    version: list.version,
                    log_index: appended.index,
                    activity_id: appended.activity_id.clone(),
                    action: list.action.as_str().to_owned(),
                    actor: list.changed.clone(),
                    object: object.to_string(),
                    published_ms: now_ms,
                },
            )?;
            Ok(PublishedList {
                list,
                object,
                log_index: appended.index,
                activity_id: appended.activity_id,
            })
        })
    }
}

impl Federation {
    pub(crate) fn membership_settings(&self) -> &MembershipSettings {
        &self.settings().membership
    }

    /// Reads a candidate's actor (fresh) and witness key from its node.
    async fn candidate(&self, actor: &str) -> Result<Candidate, MembershipError> {
        if actor == self.actor_id() {
            return Err(MembershipError::Unusable(
                "the coordinator is not listed: it is always accepted".to_owned(),
            ));
        }
        let base = base_of_actor(actor).ok_or_else(|| {
            MembershipError::Unusable(format!(
                "{actor} is not the actor of a Punte node (BASE/actor)"
            ))
        })?;
        let unreachable = |reason: String| MembershipError::Unreachable {
            actor: actor.chars().take(300).collect(),
            reason,
        };
        let known = self
            .actor(actor, true)
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        if !known.row.is_punte {
            return Err(MembershipError::Unusable(format!(
                "{actor} is not a Punte node: members need a signed log and a witness key"
            )));
        }
        let identity_key = known
            .remote
            .keys
            .ed25519_key(&ed25519_key_id(actor))
            .ok_or_else(|| {
                MembershipError::Unusable(format!(
                    "{actor} publishes no Ed25519 identity key ({})",
                    ed25519_key_id(actor)
                ))
            })?;
        let key_url = format!("{base}{WITNESS_PREFIX}/key");
        let fetched = self
            .fetcher()
            .get(&key_url, "text/plain", None, self.now_secs())
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        if !(200..300).contains(&fetched.status) {
            return Err(unreachable(format!(
                "{key_url} answered {}",
                fetched.status
            )));
        }
        let witness_key = std::str::from_utf8(&fetched.body)
            .map(str::trim)
            .map_err(|_| MembershipError::Unusable(format!("{key_url} is not text")))?
            .to_owned();
        objects::check_cosignature_vkey(&witness_key)
            .map_err(|e| MembershipError::Unusable(format!("witness key of {actor}: {e}")))?;
        let expected_name = origin_for_base(base)
            .map(|o| witness_name(&o))
            .map_err(MembershipError::Node)?;
        if witness_key.split('+').next() != Some(expected_name.as_str()) {
            return Err(MembershipError::Unusable(format!(
                "witness key of {actor} is not named {expected_name}"
            )));
        }
        let profile = objects::parse_organisation(&known.document).ok();
        let name = known
            .document
            .get("name")
            .and_then(Value::as_str)
            .map(|n| n.chars().take(300).collect::<String>())
            .filter(|n| !n.trim().is_empty());
        Ok(Candidate {
            actor: actor.to_owned(),
            name,
            country: profile.map(|p| p.country),
            identity_key,
            witness_key,
        })
    }

    /// Admits `actor`: pins its identity and witness keys, takes its country from `country`
    /// or its organisation profile, and publishes the next version of the list. A member
    /// who left may be admitted again (a new `joined` date).
    pub async fn admit_member(
        &self,
        actor: &str,
        country: Option<&str>,
    ) -> Result<PublishedList, MembershipError> {
        let country = country
            .map(CountryCode::parse)
            .transpose()
            .map_err(MembershipError::Unusable)?;
        if let Some(current) = self.node().published_membership()?
            && current.list.current_member(actor).is_some()
        {
            return Err(MembershipError::AlreadyMember(actor.to_owned()));
        }
        let c = self.candidate(actor).await?;
        let country = country.or(c.country).ok_or_else(|| {
            MembershipError::Unusable(format!(
                "{actor} publishes no country in its organisation profile; give one"
            ))
        })?;
        let node = self.node().clone();
        let published = tokio::task::spawn_blocking(move || {
            node.publish_membership(|current, today| {
                let mut members = current.map(|l| l.members.clone()).unwrap_or_default();
                let member = Member {
                    actor: c.actor.clone(),
                    name: c.name,
                    country,
                    identity_key: c.identity_key,
                    witness_key: c.witness_key,
                    joined: today,
                    left: None,
                };
                match members.iter_mut().find(|m| m.actor == c.actor) {
                    Some(m) if m.is_current() => {
                        return Err(MembershipError::AlreadyMember(c.actor));
                    }
                    Some(m) => *m = member,
                    None => members.push(member),
                }
                Ok((members, MembershipAction::Admit, c.actor))
            })
        })
        .await
        .map_err(|e| NodeError::Log(format!("membership task: {e}")))??;
        Ok(published)
    }

    /// Re-pins the keys (and name) of current member `actor` from what its node serves now,
    /// after a legitimate key rotation.
    pub async fn update_member(&self, actor: &str) -> Result<PublishedList, MembershipError> {
        let listed = self
            .node()
            .published_membership()?
            .and_then(|p| p.list.current_member(actor).cloned())
            .ok_or_else(|| MembershipError::NotAMember(actor.to_owned()))?;
        let c = self.candidate(actor).await?;
        if c.identity_key == listed.identity_key && c.witness_key == listed.witness_key {
            return Err(MembershipError::Unchanged(actor.to_owned()));
        }
        let node = self.node().clone();
        let published = tokio::task::spawn_blocking(move || {
            node.publish_membership(|current, _| {
                let mut members = current.map(|l| l.members.clone()).unwrap_or_default();
                let m = members
                    .iter_mut()
                    .find(|m| m.actor == c.actor && m.is_current())
                    .ok_or_else(|| MembershipError::NotAMember(c.actor.clone()))?;
                m.identity_key = c.identity_key;
                m.witness_key = c.witness_key;
                if c.name.is_some() {
                    m.name = c.name;
                }
                Ok((members, MembershipAction::Update, c.actor))
            })
        })
        .await
        .map_err(|e| NodeError::Log(format!("membership task: {e}")))??;
        Ok(published)
    }

    /// Removes current member `actor`: it stays listed with `left` set to today.
    pub fn remove_member(&self, actor: &str) -> Result<PublishedList, MembershipError> {
        let actor = actor.to_owned();
        self.node().publish_membership(|current, today| {
            let mut members = current.map(|l| l.members.clone()).unwrap_or_default();
            let m = members
                .iter_mut()
                .find(|m| m.actor == actor && m.is_current())
                .ok_or_else(|| MembershipError::NotAMember(actor.clone()))?;
            m.left = Some(today.max(m.joined));
            Ok((members, MembershipAction::Remove, actor))
        })
    }

    // ----- member side -----

    /// The list this node goes by: its own when it is the configured coordinator, else the
    /// latest `MembershipList` of its verified replica of the coordinator's log.
    pub fn membership_in_force(&self) -> crate::Result<Option<ListInForce>> {
        let Some(coordinator) = self.membership_settings().coordinator.clone() else {
            return Ok(None);
        };
        let is_self = coordinator == self.actor_id();
        let list_id = base_of_actor(&coordinator).map(|b| format!("{b}{MEMBERSHIP_PATH}"));
        // The list is parsed once per published version: the index of its entry is the key.
        let index = self.node().store().read(|conn| match (&list_id, is_self) {
            (_, true) => store::latest_index(conn),
            (Some(id), false) => store::replicated_index(conn, &coordinator, id),
            (None, false) => Ok(None),
        })?;
        let Some(index) = index else {
            return Ok(None);
        };
        let mut cache = self
            .membership_cache
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(cached) = cache.as_ref()
            && cached.log_index == index
        {
            return Ok(Some(cached.clone()));
        }
        let loaded = self.load_membership(&coordinator, is_self)?;
        cache.clone_from(&loaded);
        Ok(loaded)
    }

    fn load_membership(
        &self,
        coordinator: &str,
        is_self: bool,
    ) -> crate::Result<Option<ListInForce>> {
        if is_self {
            return Ok(self.node().published_membership()?.map(|p| ListInForce {
                list: Arc::new(p.list),
                log_index: p.log_index,
            }));
        }
        let Some(base) = base_of_actor(coordinator) else {
            return Ok(None);
        };
        let id = format!("{base}{MEMBERSHIP_PATH}");
        let Some(row) = self
            .node()
            .store()
            .read(|conn| fed_store::replica_object_by_id(conn, &id))?
        else {
            return Ok(None);
        };
        if row.actor != coordinator || row.kind != "membership" || row.deleted {
            return Ok(None);
        }
        let (_, list) = decode_list(&row.object, base)?;
        Ok(Some(ListInForce {
            list: Arc::new(list),
            log_index: row.log_index,
        }))
    }

    fn list_for_gate(&self) -> Result<Arc<MembershipList>, MembershipRefusal> {
        match self.membership_in_force() {
            Ok(Some(f)) => Ok(f.list),
            Ok(None) => Err(MembershipRefusal::Unknown(
                match &self.membership_settings().coordinator {
                    Some(c) => format!(
                        "this node accepts only network members, and has no membership list from the coordinator {c} yet"
                    ),
                    None => {
                        "this node accepts only network members, but no coordinator is configured"
                            .to_owned()
                    }
                },
            )),
            Err(e) => Err(MembershipRefusal::Internal(e.to_string())),
        }
    }

    /// Members-only mode: whether `actor` may talk to this node, and with which key.
    pub fn membership_gate(&self, actor: &str) -> Result<Gate, MembershipRefusal> {
        let settings = self.membership_settings();
        if !settings.members_only || settings.coordinator.as_deref() == Some(actor) {
            return Ok(Gate::Open);
        }
        let list = self.list_for_gate()?;
        match list.current_member(actor) {
            Some(m) => Ok(Gate::Member(m.identity_key)),
            None => Err(MembershipRefusal::NotAMember(actor.to_owned())),
        }
    }

    /// Members-only mode for the witness: the pinned identity key of the current member whose
    /// log origin is `origin` (`None`: open, or the coordinator's log).
    pub fn membership_origin_gate(
        &self,
        origin: &str,
    ) -> Result<Option<VerifyingKey>, MembershipRefusal> {
        let settings = self.membership_settings();
        if !settings.members_only {
            return Ok(None);
        }
        let origin_of = |actor: &str| base_of_actor(actor).and_then(|b| origin_for_base(b).ok());
        if let Some(c) = &settings.coordinator
            && origin_of(c).as_deref() == Some(origin)
        {
            return Ok(None);
        }
        let list = self.list_for_gate()?;
        list.members
            .iter()
            .filter(|m| m.is_current())
            .find(|m| origin_of(&m.actor).as_deref() == Some(origin))
            .map(|m| Some(m.identity_key))
            .ok_or_else(|| MembershipRefusal::NotAMember(format!("the log {origin}")))
    }

    /// Members-only mode: the current members, with their pinned witness keys, that may
    /// cosign this node's checkpoints (`None` when the mode is off: every Punte follower
    /// witnesses). Empty while no list is known. The coordinator is not among them: the
    /// list pins no witness key for it.
    pub fn member_witnesses(&self) -> crate::Result<Option<Vec<PinnedWitness>>> {
        if !self.membership_settings().members_only {
            return Ok(None);
        }
        let Some(in_force) = self.membership_in_force()? else {
            return Ok(Some(Vec::new()));
        };
        Ok(Some(
            in_force
                .list
                .members
                .iter()
                .filter(|m| m.is_current())
                .map(|m| PinnedWitness {
                    actor: m.actor.clone(),
                    vkey: m.witness_key.clone(),
                    country: m.country.as_str().to_owned(),
                })
                .collect(),
        ))
    }

    /// The membership status of this node.
    pub fn membership_status(&self) -> crate::Result<MembershipStatus> {
        let settings = self.membership_settings();
        let in_force = self.membership_in_force()?;
        let me = self.actor_id();
        Ok(MembershipStatus {
            coordinator: settings.coordinator.clone(),
            members_only: settings.members_only,
            version: in_force.as_ref().map(|f| f.list.version),
            log_index: in_force.as_ref().map(|f| f.log_index),
            members: in_force.as_ref().map_or(0, |f| {
                f.list.members.iter().filter(|m| m.is_current()).count()
            }),
            listed: in_force
                .as_ref()
                .is_some_and(|f| f.list.current_member(&me).is_some()),
            is_coordinator: settings.coordinator.as_deref() == Some(me.as_str()),
            published_version: self.node().store().read(store::latest)?.map(|v| v.version),
        })
    }
}

/// Checks a `MembershipList` replicated from `actor`'s log at `index` before it is stored:
/// it must come in an entry of kind 4 (membership), parse, be attributed to `actor`, and
/// have a higher version than the list already replicated. `Err` is the reason it is not
/// applied (the entry itself stays replicated).
pub(crate) fn check_replicated(
    tx: &punte_store::Connection,
    actor: &str,
    index: u64,
    object: &Value,
    origin: &str,
) -> Result<Result<(), String>, NodeError> {
    let entry = fed_store::replica_entries(tx, actor, index, index.saturating_add(1))?;
    let kind = entry
        .first()
        .and_then(|e| SignedEntry::decode(&e.1).ok())
        .map(|e| e.body.kind);
    if kind != Some(EntryKind::Membership) {
        return Ok(Err(
            "a membership list must be published in a membership entry (kind 4)".to_owned(),
        ));
    }
    let list = match parse_membership(object, origin) {
        Ok(l) => l,
        Err(e) => return Ok(Err(format!("membership list refused: {e}"))),
    };
    if list.coordinator != actor {
        return Ok(Err("membership list of another actor".to_owned()));
    }
    if let Some(previous) = fed_store::replica_object_by_id(tx, &list.id)?
        && previous.actor == actor
        && let Ok(value) = serde_json::from_str::<Value>(&previous.object)
        && let Some(old) = value.get("version").and_then(Value::as_u64)
        && list.version <= old
    {
        return Ok(Err(format!(
            "membership version {} does not increase on {old}",
            list.version
        )));
    }
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use super::*;
    use ed25519_dalek::SigningKey;
    use punte_log::{EntryBody, Hash};
    use punte_store::Store;
    use punte_store::federation::{ReplicaEntry, ReplicaObject, ReplicaRow};

    const BASE: &str = "https://coord.example";
    const ACTOR: &str = "https://coord.example/actor";

    fn list(version: u64) -> Value {
        let member = Member {
            actor: "https://a.example/actor".to_owned(),
            name: None,
            country: CountryCode::parse("RO").unwrap(),
            identity_key: SigningKey::from_bytes(&[1; 32]).verifying_key(),
            // the name "w" with the cosignature/v1 key of seed 2
            witness_key: {
                let signer = punte_log::NoteSigner::new(
                    "w",
                    punte_log::note::KeyType::CosignatureV1,
                    SigningKey::from_bytes(&[2; 32]),
                )
                .unwrap();
                signer.verifier().to_vkey()
            },
            joined: Date::parse("2025-01-01").unwrap(),
            left: None,
        };
        membership_to_object(
            &MembershipList {
                id: format!("{BASE}/membership"),
                coordinator: ACTOR.to_owned(),
                version,
                published: "2025-01-01T00:00:00Z".to_owned(),
                members: vec![member],
                action: MembershipAction::Admit,
                changed: "https://a.example/actor".to_owned(),
            },
            &punte_protocol::urls::NodeUrls::new(BASE).unwrap(),
        )
    }

    /// Stores a replicated entry of `kind` at `index` of the coordinator's replica.
    fn entry(tx: &punte_store::Connection, index: u64, kind: EntryKind) {
        let key = SigningKey::from_bytes(&[9; 32]);
        let body = EntryBody::new(
            "coord.example/punte-log",
            index,
            Hash([0; 32]),
            1,
            kind,
            format!("{BASE}/activities/{index}"),
            b"{}",
            &key.verifying_key(),
        );
        let signed = punte_log::SignedEntry::sign(body, &key).unwrap();
        fed_store::insert_replica_entry(
            tx,
            &ReplicaEntry {
                actor: ACTOR,
                index,
                entry: &signed.encode(),
                activity: Some(b"{}"),
                activity_id: &format!("{BASE}/activities/{index}"),
                kind: kind.to_byte(),
                timestamp_ms: 1,
                checkpoint_size: index + 1,
                via: "backfill",
                received_ms: 1,
            },
        )
        .unwrap();
    }

    #[test]
    fn replicated_lists_need_a_membership_entry_and_an_increasing_version() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).unwrap();
        store
            .write(|tx| {
                fed_store::upsert_actor(
                    tx,
                    &punte_store::federation::ActorRow {
                        id: ACTOR.to_owned(),
                        host: "coord.example".to_owned(),
                        inbox: format!("{BASE}/inbox"),
                        shared_inbox: None,
                        username: None,
                        document: b"{}".to_vec(),
                        is_punte: true,
                        fetched_ms: 1,
                    },
                )?;
                fed_store::save_replica(
                    tx,
                    &ReplicaRow {
                        actor: ACTOR.to_owned(),
                        base_url: BASE.to_owned(),
                        origin: "coord.example/punte-log".to_owned(),
                        size: 0,
                        root: [0; 32],
                        frontier: Vec::new(),
                        current_key: [0; 32],
                        max_timestamp_ms: None,
                        checkpoint: None,
                        checkpoint_size: 0,
                        wanted_size: 0,
                        last_sync_ms: None,
                        last_error: None,
                        awaiting: None,
                    },
                )?;
                entry(tx, 0, EntryKind::Activity);
                entry(tx, 1, EntryKind::Membership);
                entry(tx, 2, EntryKind::Membership);
                entry(tx, 3, EntryKind::Membership);
                let check =
                    |index, value: &Value| check_replicated(tx, ACTOR, index, value, BASE).unwrap();
                // A list in an activity entry is not a membership list.
                assert!(check(0, &list(1)).unwrap_err().contains("kind 4"));
                assert_eq!(check(1, &list(2)), Ok(()));
                fed_store::upsert_replica_object(
                    tx,
                    &ReplicaObject {
                        object_id: format!("{BASE}/membership"),
                        actor: ACTOR.to_owned(),
                        kind: "membership".to_owned(),
                        log_index: 1,
                        activity_id: format!("{BASE}/activities/1"),
                        object: list(2).to_string(),
                        updates: 1,
                        deleted: false,
                        updated_ms: 1,
                    },
                )?;
                // Versions only increase.
                assert!(
                    check(2, &list(2))
                        .unwrap_err()
                        .contains("does not increase")
                );
                assert!(
                    check(2, &list(1))
                        .unwrap_err()
                        .contains("does not increase")
                );
                assert_eq!(check(3, &list(3)), Ok(()));
                // Another actor's list, or a malformed one, is refused.
                let mut other = list(4);
                other["attributedTo"] = "https://other.example/actor".into();
                assert!(check(3, &other).unwrap_err().contains("refused"));
                Ok::<_, punte_store::StoreError>(())
            })
            .unwrap();
    }
}
