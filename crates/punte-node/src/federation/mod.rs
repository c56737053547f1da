//! Federation: following, delivery, the inbox and verified replicas of partners' logs
//! (docs/protocol.md §5).
//!
//! [`Federation`] wraps the [`Node`] with what talking to other servers needs: the guarded
//! [`fetch::Fetcher`], an actor cache, and the background workers ([`Federation::run`]):
//! the delivery worker (`delivery.rs`) and the replica sync (`replica.rs`). The inbox
//! (`inbox.rs`) verifies before it applies; everything it applies commits in one transaction
//! with the record of the received activity.

pub mod adaptations;
pub mod addresses;
pub mod delivery;
pub mod fetch;
pub mod forks;
pub mod inbound;
pub mod inbox;
pub mod membership;
pub mod partner_witnesses;
pub mod replica;
pub mod transfer;
pub mod views;
pub mod witness;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use punte_protocol::activity;
use punte_protocol::actor::{RemoteActor, parse_actor};
use punte_protocol::keys::{ed25519_key_id, rsa_key_id};
use punte_protocol::webfinger::{Acct, Jrd};
use punte_store::federation::{self as store, ActorRow, FollowRow, FollowState};

use crate::Node;
use crate::error::{NodeError, Result};
use crate::publish::{Audience, unix_ms};

pub use fetch::{FetchError, FetchSettings, Fetcher, Signer};

/// Federation settings (the `[federation]` config section).
#[derive(Debug, Clone)]
pub struct FederationSettings {
    /// Fetch from and deliver to private, loopback and link-local addresses (tests only).
    pub allow_private_addresses: bool,
    /// Accept follow requests without waiting for an admin.
    pub auto_approve_follows: bool,
    /// `NAME` in `acct:NAME@HOST`.
    pub username: String,
    /// Largest accepted |now − signature time| (1 h, docs/protocol.md §1.4).
    pub signature_window: Duration,
    /// Delay before the first retry; doubles on each failure (with jitter).
    pub retry_base: Duration,
    /// Longest delay between two attempts.
    pub retry_max_delay: Duration,
    /// Give up on a delivery this long after it was queued.
    pub give_up_after: Duration,
    /// Consecutive failures of a host that open its circuit breaker.
    pub breaker_threshold: u32,
    /// Longest pause of a host whose breaker is open.
    pub breaker_max_pause: Duration,
    /// Deliveries in flight at once (across hosts; one per inbox).
    pub delivery_concurrency: usize,
    /// How often replicas poll their partners' checkpoints when nothing arrives.
    pub replica_poll_interval: Duration,
    /// How long a fetched actor document is trusted before it is fetched again.
    pub actor_ttl: Duration,
    /// Require signed GETs for the node's own collections (outbox, followers, following).
    pub authorized_fetch: bool,
    /// The network coordinator and members-only mode (`[membership]`).
    pub membership: crate::federation::membership::MembershipSettings,
    /// Apply partners' entries only up to a checkpoint whose cosignatures meet this policy
    /// (`require_partner_witnesses` / `require_partner_countries`); `None` = no requirement.
    pub partner_witness_policy: Option<crate::federation::witness::WitnessPolicy>,
    /// Most activities kept from actors that are neither followed nor followers (the newest
    /// are kept).
    pub stranger_activities_max: u64,
    /// Activities from such actors are dropped this long after they arrived.
    pub stranger_activities_max_age: Duration,
}

impl Default for FederationSettings {
    fn default() -> Self {
        Self {
            allow_private_addresses: false,
            auto_approve_follows: false,
            username: "node".to_owned(),
            signature_window: Duration::from_secs(3600),
            retry_base: Duration::from_secs(30),
            retry_max_delay: Duration::from_secs(6 * 3600),
            give_up_after: Duration::from_secs(7 * 24 * 3600),
            breaker_threshold: 5,
            breaker_max_pause: Duration::from_secs(6 * 3600),
            delivery_concurrency: 32,
            replica_poll_interval: Duration::from_secs(600),
            actor_ttl: Duration::from_secs(24 * 3600),
            authorized_fetch: false,
            membership: crate::federation::membership::MembershipSettings::default(),
            partner_witness_policy: None,
            stranger_activities_max: 10_000,
            stranger_activities_max_age: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// Federation errors that are not the remote side's fault map to [`NodeError`]; these are.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("{url} is not a usable actor: {reason}")]
    BadActor { url: String, reason: String },
    /// The partner's signed history does not verify (or was rolled back): nothing of it was
    /// stored.
    #[error("the signed history of {actor} cannot be replicated: {reason}")]
    Log { actor: String, reason: String },
    /// The partner's signed history forked; the evidence is recorded and nothing more of it
    /// is applied.
    #[error("{0}")]
    Forked(String),
    #[error("cannot find {handle} by WebFinger: {reason}")]
    WebFinger { handle: String, reason: String },
    #[error("{0}")]
    Node(#[from] NodeError),
}

/// Deliveries to one host: (host, pending, delivered, failed).
pub type HostCounts = (String, u64, u64, u64);

/// An actor with its parsed keys, as cached.
///
/// Its keys are decoded once, when the document is read (a refetch builds a new
/// `KnownActor`, so a rotated key never outlives the document that listed it): verifying an
/// inbox request looks them up by key id instead of decoding base58 and decompressing the
/// Ed25519 point (or parsing the RSA PEM) for every signature it checks.
#[derive(Debug, Clone)]
pub struct KnownActor {
    pub row: ActorRow,
    pub remote: RemoteActor,
    pub document: Value,
    /// The keys of `remote.keys`, decoded: `(key id, key)`, `None` for a malformed key.
    ed25519: Vec<(String, Option<ed25519_dalek::VerifyingKey>)>,
    rsa: Vec<(String, rsa::RsaPublicKey)>,
}

impl KnownActor {
    /// Reads the actor's keys once.
    pub fn new(row: ActorRow, remote: RemoteActor, document: Value) -> Self {
        // every listed key, matched by id later (an actor may list several, in any order)
        let ed25519 = remote.keys.ed25519_keys();
        let rsa = remote.keys.rsa_keys();
        Self {
            row,
            remote,
            document,
            ed25519,
            rsa,
        }
    }

    /// The actor's Ed25519 key with id `key_id`, if listed and well formed (as
    /// [`punte_protocol::keys::ActorKeys::ed25519_key`], without decoding it again).
    pub fn ed25519_key(&self, key_id: &str) -> Option<ed25519_dalek::VerifyingKey> {
        self.ed25519
            .iter()
            .filter(|(id, _)| id == key_id)
            .find_map(|(_, k)| *k)
    }

    /// The actor's RSA key with id `key_id`, if listed and well formed.
    pub fn rsa_key(&self, key_id: &str) -> Option<&rsa::RsaPublicKey> {
        self.rsa.iter().find(|(id, _)| id == key_id).map(|(_, k)| k)
    }
}

/// The node's federation side.
pub struct Federation {
    node: Arc<Node>,
    settings: FederationSettings,
    fetcher: Fetcher,
    actors: Mutex<HashMap<String, Arc<KnownActor>>>,
    sync_wakeup: tokio::sync::Notify,
    /// The inbox writer thread's queue (group commit), started on first use.
    inbox_writer: std::sync::OnceLock<std::sync::mpsc::Sender<inbox::Job>>,
    /// The membership list in force, parsed, by the log index that published it.
    pub(crate) membership_cache: Mutex<Option<crate::federation::membership::ListInForce>>,
    /// Partners' witnesses discovered for the required witness policy.
    partner_witnesses: partner_witnesses::WitnessCache,
}

impl std::fmt::Debug for Federation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Federation")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Most actors kept in memory.
const ACTOR_CACHE_MAX: usize = 10_000;

/// Whether an actor document names the Punte context (a Punte node: proofs required, log
/// replicated).
pub fn is_punte_actor(document: &Value) -> bool {
    let iri = punte_protocol::context::PUNTE_CONTEXT_IRI;
    match document.get("@context") {
        Some(Value::String(s)) => s == iri,
        Some(Value::Array(items)) => items.iter().any(|i| i.as_str() == Some(iri)),
        _ => false,
    }
}

pub(crate) use punte_protocol::urls::percent_encode;
pub use punte_protocol::urls::{base_of_actor, host_of};

impl Federation {
    pub fn new(node: Arc<Node>, settings: FederationSettings) -> Result<Self, FetchError> {
        let fetcher = Fetcher::new(FetchSettings {
            allow_private_addresses: settings.allow_private_addresses,
            ..FetchSettings::default()
        })?;
        Ok(Self {
            node,
            settings,
            fetcher,
            actors: Mutex::new(HashMap::new()),
            sync_wakeup: tokio::sync::Notify::new(),
            inbox_writer: std::sync::OnceLock::new(),
            membership_cache: Mutex::new(None),
            partner_witnesses: partner_witnesses::WitnessCache::default(),
        })
    }

    pub fn node(&self) -> &Arc<Node> {
        &self.node
    }

    pub fn settings(&self) -> &FederationSettings {
        &self.settings
    }

    pub fn fetcher(&self) -> &Fetcher {
        &self.fetcher
    }

    pub(crate) fn now_ms(&self) -> i64 {
        unix_ms(self.node.now())
    }

    pub(crate) fn now_secs(&self) -> i64 {
        self.node.now().unix_timestamp()
    }

    /// The node's actor id.
    pub fn actor_id(&self) -> String {
        format!("{}/actor", self.node.settings().base_url)
    }

    /// The signer for GETs: draft-cavage with the RSA key (accepted by Punte, Mastodon and
    /// Fedify alike).
    pub(crate) fn get_signer(&self) -> OwnedSigner {
        self.owned_signer(SignatureKind::Cavage)
    }

    /// A signer of the given kind with the node's current keys.
    pub(crate) fn owned_signer(&self, kind: SignatureKind) -> OwnedSigner {
        let (ed_id, rsa_id) = self.key_ids();
        let keys = self.node.keys();
        match kind {
            SignatureKind::Rfc9421 => OwnedSigner::Rfc9421 {
                key_id: ed_id,
                key: Box::new(keys.identity.clone()),
            },
            SignatureKind::Cavage => OwnedSigner::Cavage {
                key_id: rsa_id,
                key: Box::new(keys.rsa.clone()),
            },
        }
    }

    /// The key ids the node signs with: (ed25519, rsa).
    pub(crate) fn key_ids(&self) -> (String, String) {
        let actor = self.actor_id();
        (ed25519_key_id(&actor), rsa_key_id(&actor))
    }

    /// Wakes the replica sync (a partner announced new entries).
    pub(crate) fn wake_sync(&self) {
        self.sync_wakeup.notify_one();
    }

    // ----- actors -----

    /// The actor `id`: from memory, the database, or fetched when unknown, stale, or
    /// `refresh` is set (a signature failed: the key may have rotated).
    pub async fn actor(&self, id: &str, refresh: bool) -> Result<Arc<KnownActor>, RemoteError> {
        let now = self.now_ms();
        let ttl = i64::try_from(self.settings.actor_ttl.as_millis()).unwrap_or(i64::MAX);
        if !refresh {
            let cached = self
                .actors
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(id)
                .cloned();
            if let Some(a) = cached
                && now.saturating_sub(a.row.fetched_ms) < ttl
            {
                return Ok(a);
            }
            let stored = self
                .node
                .store()
                .read(|conn| store::actor(conn, id))
                .map_err(NodeError::from)?;
            if let Some(row) = stored
                && now.saturating_sub(row.fetched_ms) < ttl
                && let Ok(known) = Self::known(row)
            {
                return Ok(self.remember(known));
            }
        }
        self.fetch_actor(id).await
    }

    fn known(row: ActorRow) -> Result<KnownActor, String> {
        let document: Value = serde_json::from_slice(&row.document).map_err(|e| e.to_string())?;
        let remote = parse_actor(&document, &row.id).map_err(|e| e.to_string())?;
        Ok(KnownActor::new(row, remote, document))
    }

    fn remember(&self, known: KnownActor) -> Arc<KnownActor> {
        let known = Arc::new(known);
        let mut cache = self.actors.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= ACTOR_CACHE_MAX {
            cache.clear();
        }
        cache.insert(known.row.id.clone(), known.clone());
        known
    }

    async fn fetch_actor(&self, id: &str) -> Result<Arc<KnownActor>, RemoteError> {
        if id == self.actor_id() {
            return Err(RemoteError::BadActor {
                url: id.to_owned(),
                reason: "that is this node".to_owned(),
            });
        }
        let now = self.now_secs();
        let signer = self.get_signer();
        let fetched = self
            .fetcher
            .get_json(id, Some(signer.as_signer()), now)
            .await?;
        let bad = |reason: String| RemoteError::BadActor {
            url: id.chars().take(300).collect(),
            reason,
        };
        let document: Value = punte_protocol::ijson::from_slice(&fetched.body)
            .map_err(|e| bad(format!("not I-JSON: {e}")))?;
        let remote = parse_actor(&document, id).map_err(|e| bad(e.to_string()))?;
        let host = host_of(id).ok_or_else(|| bad("no host".to_owned()))?;
        let row = ActorRow {
            id: id.to_owned(),
            host,
            inbox: remote.inbox.clone(),
            shared_inbox: remote.shared_inbox.clone(),
            username: remote.preferred_username.clone(),
            document: fetched.body,
            is_punte: is_punte_actor(&document),
            fetched_ms: self.now_ms(),
        };
        self.node
            .store()
            .write(|tx| store::upsert_actor(tx, &row))
            .map_err(NodeError::from)?;
        Ok(self.remember(KnownActor::new(row, remote, document)))
    }

    /// Resolves `@name@host`, `acct:name@host` or an actor URL to an actor id (WebFinger
    /// for handles, over https, or http when private addresses are allowed for tests).
    pub async fn resolve(&self, target: &str) -> Result<String, RemoteError> {
        let target = target.trim();
        if target.starts_with("https://") || target.starts_with("http://") {
            return Ok(target.to_owned());
        }
        let wf_err = |reason: String| RemoteError::WebFinger {
            handle: target.chars().take(300).collect(),
            reason,
        };
        let acct = if target.starts_with("acct:") {
            Acct::parse_uri(target)
        } else {
            Acct::parse_handle(target)
        }
        .map_err(|e| wf_err(e.to_string()))?;
        let mut last = String::new();
        let schemes: &[&str] = if self.settings.allow_private_addresses {
            &["https", "http"]
        } else {
            &["https"]
        };
        for scheme in schemes {
            let url = format!(
                "{scheme}://{}/.well-known/webfinger?resource={}",
                acct.host,
                percent_encode(&acct.to_uri())
            );
            match self
                .fetcher
                .get(&url, "application/jrd+json, application/json", None, 0)
                .await
            {
                Ok(f) if (200..300).contains(&f.status) => {
                    let jrd: Jrd = serde_json::from_slice(&f.body)
                        .map_err(|e| wf_err(format!("not a JRD: {e}")))?;
                    return jrd
                        .actor_url()
                        .map(str::to_owned)
                        .ok_or_else(|| wf_err("no ActivityPub actor link".to_owned()));
                }
                Ok(f) => last = format!("{url} answered {}", f.status),
                Err(e) => last = e.to_string(),
            }
        }
        Err(wf_err(last))
    }

    // ----- following -----

    /// Asks to follow `target` (`@name@host`, `acct:` or actor URL): sends a Follow (logged,
    /// delivered by the worker) and records the pending relation. Returns the actor id.
    pub async fn follow(&self, target: &str) -> Result<FollowRow, RemoteError> {
        let actor_id = self.resolve(target).await?;
        let actor = self.actor(&actor_id, true).await?;
        let now = self.now_ms();
        let row = self.node.change(|tx, log| {
            let audience = Audience::actor(&actor.row);
            let (appended, _) = log.emit(|h| activity::follow(h, &actor.row.id), audience)?;
            store::upsert_following(tx, &actor.row.id, &appended.activity_id, now)?;
            store::following_of(tx, &actor.row.id)?
                .ok_or_else(|| NodeError::Log("follow not recorded".into()))
        })?;
        self.node.wake_delivery();
        Ok(row)
    }

    /// Withdraws the follow of `actor` (Undo of the Follow) and forgets the relation.
    pub fn unfollow(&self, actor: &str) -> Result<()> {
        let actor_row = self
            .node
            .store()
            .read(|conn| store::actor(conn, actor))?
            .ok_or_else(|| {
                NodeError::Store(punte_store::StoreError::not_found(format!("actor {actor}")))
            })?;
        self.node.change(|tx, log| {
            let relation = store::following_of(tx, actor)?.ok_or_else(|| {
                NodeError::Store(punte_store::StoreError::not_found(format!(
                    "follow of {actor}"
                )))
            })?;
            let follow = serde_json::json!({
                "id": relation.follow_id,
                "type": "Follow",
                "actor": log.urls().actor(),
                "object": actor,
            });
            log.emit(|h| activity::undo(h, &follow), Audience::actor(&actor_row))?;
            store::remove_following(tx, actor)?;
            Ok(())
        })?;
        self.node.wake_delivery();
        Ok(())
    }

    /// Approves the pending follow request of `actor`: sends Accept.
    pub fn approve(&self, actor: &str) -> Result<FollowRow> {
        self.decide(actor, FollowState::Accepted)
    }

    /// Rejects the follow request of `actor` (or removes an accepted follower): sends Reject.
    pub fn reject(&self, actor: &str) -> Result<FollowRow> {
        self.decide(actor, FollowState::Rejected)
    }

    fn decide(&self, actor: &str, state: FollowState) -> Result<FollowRow> {
        let now = self.now_ms();
        let row = self.node.change(|tx, log| {
            let not_found = || {
                NodeError::Store(punte_store::StoreError::not_found(format!(
                    "follow request of {actor}"
                )))
            };
            let follower = store::follower(tx, actor)?.ok_or_else(not_found)?;
            let actor_row = store::actor(tx, actor)?.ok_or_else(not_found)?;
            let follow_bytes = store::follower_follow(tx, actor)?.ok_or_else(not_found)?;
            let follow: Value =
                serde_json::from_slice(&follow_bytes).map_err(|source| NodeError::Decode {
                    what: "stored follow".into(),
                    source,
                })?;
            if follower.state == state {
                return Ok(follower);
            }
            emit_decision(log, state, &follow, &actor_row)?;
            store::set_follower_state(tx, actor, state, now)?;
            store::follower(tx, actor)?.ok_or_else(not_found)
        })?;
        self.node.wake_delivery();
        Ok(row)
    }

    pub fn followers(&self, state: Option<FollowState>) -> Result<Vec<FollowRow>> {
        Ok(self
            .node
            .store()
            .read(|conn| store::followers(conn, state))?)
    }

    pub fn following(&self, state: Option<FollowState>) -> Result<Vec<FollowRow>> {
        Ok(self
            .node
            .store()
            .read(|conn| store::following(conn, state))?)
    }

    /// The AS2 document of local object `id` of kind `D`, as published (disclosure control
    /// applied), with its `@context`; refused unless it is the object of the log entry that
    /// published it (`NodeError::Unlogged`, `NodeError::Erased`).
    pub fn object_document<D: crate::Document>(&self, id: &str) -> Result<Value> {
        let doc: D = self.node.get(id, None)?;
        let k = self.node.settings().disclosure_k;
        let published = self.node.store().read(|conn| {
            let published = doc.for_publication(conn, k)?;
            self.node.check_served(conn, &published)?;
            Ok::<_, NodeError>(published)
        })?;
        let urls = punte_protocol::urls::NodeUrls::new(&self.node.settings().base_url)?;
        Ok(punte_protocol::objects::standalone(
            &published.to_object(&urls),
        ))
    }

    /// Deliveries, newest first (see `punte_store::federation::deliveries`).
    pub fn deliveries(
        &self,
        state: Option<store::DeliveryState>,
        log_index: Option<u64>,
        host: Option<&str>,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<store::DeliveryRow>> {
        Ok(self.node.store().read(|conn| {
            store::deliveries(conn, state, log_index, host, before, limit.clamp(1, 500))
        })?)
    }

    /// Deliveries, oldest first (the head of each partner's queue first), at most `limit`.
    pub fn deliveries_oldest_first(
        &self,
        state: Option<store::DeliveryState>,
        log_index: Option<u64>,
        limit: u32,
    ) -> Result<Vec<store::DeliveryRow>> {
        Ok(self.node.store().read(|conn| {
            store::deliveries_oldest_first(conn, state, log_index, None, limit.clamp(1, 500))
        })?)
    }

    /// The breaker state of every host delivered to.
    pub fn delivery_breakers(&self) -> Result<Vec<store::HostRow>> {
        Ok(self.node.store().read(store::hosts)?)
    }

    /// Per host with pending deliveries: when its next attempt is due (Unix ms).
    pub fn next_attempts(&self) -> Result<Vec<(String, i64)>> {
        Ok(self.node.store().read(store::next_attempt_per_host)?)
    }

    /// Per host: (host, pending, delivered, failed) and the breaker state.
    pub fn delivery_hosts(&self) -> Result<(Vec<HostCounts>, Vec<store::HostRow>)> {
        Ok(self.node.store().read(|conn| {
            Ok::<_, punte_store::StoreError>((store::delivery_summary(conn)?, store::hosts(conn)?))
        })?)
    }

    /// The latest received activities, newest first.
    pub fn inbox_latest(&self, limit: u32) -> Result<Vec<store::InboxRow>> {
        Ok(self
            .node
            .store()
            .read(|conn| store::inbox_latest(conn, limit.clamp(1, 500)))?)
    }

    /// Runs the delivery worker and the replica sync until `shutdown` turns true.
    pub async fn run(self: Arc<Self>, shutdown: tokio::sync::watch::Receiver<bool>) {
        if self.settings.membership.members_only {
            match self.membership_in_force() {
                Ok(Some(_)) => {}
                Ok(None) => tracing::warn!(
                    coordinator = ?self.settings.membership.coordinator,
                    "members-only mode is on but no membership list is known yet: every peer but the coordinator is refused until the coordinator's list is replicated"
                ),
                Err(e) => {
                    tracing::warn!(error = %e, "members-only mode: the membership list is unreadable")
                }
            }
        }
        let deliveries = tokio::spawn(delivery::run(self.clone(), shutdown.clone()));
        let sync = tokio::spawn(replica::run(self.clone(), shutdown.clone()));
        let witness = tokio::spawn(crate::federation::witness::run(self.clone(), shutdown));
        let _ = tokio::join!(deliveries, sync, witness);
    }
}

/// Writes the Accept or Reject of `follow` to `to`.
pub(crate) fn emit_decision(
    log: &mut crate::publish::LogWriter<'_>,
    state: FollowState,
    follow: &Value,
    to: &ActorRow,
) -> Result<()> {
    match state {
        FollowState::Accepted => log.emit(|h| activity::accept(h, follow), Audience::actor(to))?,
        FollowState::Rejected => log.emit(|h| activity::reject(h, follow), Audience::actor(to))?,
        FollowState::Pending => return Ok(()),
    };
    Ok(())
}

/// The two ways the node signs requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureKind {
    /// RFC 9421 `ed25519` with `Content-Digest` (Punte peers).
    Rfc9421,
    /// draft-cavage `rsa-sha256` with `Digest` (other software).
    Cavage,
}

impl SignatureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rfc9421 => "rfc9421",
            Self::Cavage => "cavage",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "rfc9421" => Some(Self::Rfc9421),
            "cavage" => Some(Self::Cavage),
            _ => None,
        }
    }

    pub fn other(self) -> Self {
        match self {
            Self::Rfc9421 => Self::Cavage,
            Self::Cavage => Self::Rfc9421,
        }
    }
}

/// A signer that owns copies of what it needs (for futures that outlive a lock guard).
pub(crate) enum OwnedSigner {
    Rfc9421 {
        key_id: String,
        key: Box<ed25519_dalek::SigningKey>,
    },
    Cavage {
        key_id: String,
        key: Box<rsa::RsaPrivateKey>,
    },
}

impl From<Signer<'_>> for OwnedSigner {
    fn from(s: Signer<'_>) -> Self {
        match s {
            Signer::Rfc9421 { key_id, key } => Self::Rfc9421 {
                key_id: key_id.to_owned(),
                key: Box::new(key.clone()),
            },
            Signer::Cavage { key_id, key } => Self::Cavage {
                key_id: key_id.to_owned(),
                key: Box::new(key.clone()),
            },
        }
    }
}

impl OwnedSigner {
    pub(crate) fn as_signer(&self) -> Signer<'_> {
        match self {
            Self::Rfc9421 { key_id, key } => Signer::Rfc9421 { key_id, key },
            Self::Cavage { key_id, key } => Signer::Cavage { key_id, key },
        }
    }
}
