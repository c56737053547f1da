//! The inbox: verify, then apply (docs/protocol.md §5.4).
//!
//! [`Federation::verify_inbound`] writes nothing: it checks the body, the HTTP signature (by a
//! key of the activity's actor, fetched and refetched once on failure in case it rotated),
//! the time window, the digest, the FEP-8b32 proof (required from Punte nodes) and the
//! same-origin rules, and returns a [`Verified`] activity. [`Federation::apply_inbound`]
//! then applies it in one transaction together with the record of the received bytes and
//! the evidence; a second delivery of the same activity id changes nothing.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use punte_protocol::activity::{ActivityError, ActivityType, ObjectRef};
use punte_protocol::httpsig::{self, HttpRequest, HttpSigError, PublicKey, VerifyPolicy};
use punte_protocol::{activity, proof};
use punte_store::federation::{self as store, FollowState};

use super::adaptations::{self, Incoming};
use super::inbound::Applied;
pub use super::inbound::{InboundRequest, InboxRefusal, MAX_INBOX_BYTES, Received, Verified};
use super::{Federation, KnownActor, RemoteError, emit_decision, replica};
use crate::federation::membership::{Gate, MembershipRefusal};
use crate::publish::LogWriter;

fn actor_of(value: &Value) -> Option<&str> {
    match value.get("actor") {
        Some(Value::String(s)) => Some(s),
        Some(Value::Object(o)) => o.get("id").and_then(Value::as_str),
        _ => None,
    }
}

fn resolve_http_key(actor: &KnownActor, key_id: &str) -> Option<PublicKey> {
    if let Some(k) = actor.ed25519_key(key_id) {
        return Some(PublicKey::Ed25519(k));
    }
    actor.rsa_key(key_id).cloned().map(PublicKey::Rsa)
}

/// The inbox takes ActivityStreams only: `application/activity+json`, or
/// `application/ld+json` (any parameters, e.g. the AS2 profile).
fn check_media_type(headers: &[(String, String)]) -> Result<(), InboxRefusal> {
    let given = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        .map(|(_, value)| value.as_str());
    let essence = given
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    match essence.as_deref() {
        Some("application/activity+json" | "application/ld+json") => Ok(()),
        _ => Err(InboxRefusal::UnsupportedMediaType(
            given.unwrap_or("none").to_owned(),
        )),
    }
}

fn is_own_key(actor: &KnownActor, key_id: &str) -> bool {
    actor.remote.keys.lists(key_id)
}

impl Federation {
    /// Verifies an inbox request; writes nothing but the fetched actor. Takes the request by
    /// value: its body is checked and kept without being copied.
    pub async fn verify_inbound(&self, request: InboundRequest) -> Result<Verified, InboxRefusal> {
        if request.body.len() > MAX_INBOX_BYTES {
            return Err(InboxRefusal::TooLarge(MAX_INBOX_BYTES));
        }
        check_media_type(&request.headers)?;
        // I-JSON: the proof and the canonical form are defined over it
        let value: Value = punte_protocol::ijson::from_slice(&request.body)
            .map_err(|e| InboxRefusal::NotJson(e.to_string()))?;
        if !value.is_object() {
            return Err(InboxRefusal::NotJson("not an object".to_owned()));
        }
        let id = value
            .get("id")
            .and_then(Value::as_str)
            .ok_or(InboxRefusal::Missing("id"))?
            .to_owned();
        let kind = value
            .get("type")
            .and_then(Value::as_str)
            .ok_or(InboxRefusal::Missing("type"))?
            .to_owned();
        let actor_id = actor_of(&value)
            .ok_or(InboxRefusal::Missing("actor"))?
            .to_owned();
        if actor_id == self.actor_id() {
            return Err(InboxRefusal::Forbidden(
                "activities of this node are not accepted from outside".to_owned(),
            ));
        }
        // Members-only mode: refuse non-members before fetching anything of theirs.
        let gate = self
            .membership_gate(&actor_id)
            .map_err(InboxRefusal::Membership)?;

        let http = HttpRequest {
            method: request.method,
            target_uri: request.target_uri,
            headers: request.headers,
            body: request.body,
        };
        let key_id = match httpsig::signature_key_id(&http) {
            Ok(k) => k,
            Err(HttpSigError::Unsigned) => return Err(InboxRefusal::Unsigned),
            Err(e) => return Err(InboxRefusal::Signature(e)),
        };
        let policy = VerifyPolicy {
            max_skew_seconds: i64::try_from(self.settings.signature_window.as_secs())
                .unwrap_or(3600),
            ..VerifyPolicy::default()
        };
        let now = self.now_secs();
        // Everything of the signature but the key first (parameters, covered components,
        // time window, digest, host): a request that cannot verify whatever the key makes
        // the node fetch nothing.
        match httpsig::verify_request(&http, |_| None, &policy, now) {
            Err(HttpSigError::UnknownKey(_)) | Ok(_) => {}
            Err(e @ (HttpSigError::DigestMismatch | HttpSigError::MissingDigest)) => {
                return Err(InboxRefusal::Digest(e));
            }
            Err(e) => return Err(InboxRefusal::Signature(e)),
        }
        let unavailable = |e: RemoteError| InboxRefusal::ActorUnavailable {
            actor: actor_id.chars().take(300).collect(),
            reason: e.to_string(),
        };
        let mut actor = self.actor(&actor_id, false).await.map_err(unavailable)?;
        let mut refreshed = false;
        if !is_own_key(&actor, &key_id) {
            actor = self.actor(&actor_id, true).await.map_err(unavailable)?;
            refreshed = true;
            if !is_own_key(&actor, &key_id) {
                return Err(InboxRefusal::KeyNotActors {
                    key_id: key_id.chars().take(300).collect(),
                    actor: actor_id,
                });
            }
        }
        let verified = loop {
            match httpsig::verify_request(&http, |k| resolve_http_key(&actor, k), &policy, now) {
                Ok(v) => break v,
                Err(e @ (HttpSigError::DigestMismatch | HttpSigError::MissingDigest)) => {
                    return Err(InboxRefusal::Digest(e));
                }
                Err(HttpSigError::BadSignature | HttpSigError::UnknownKey(_)) if !refreshed => {
                    actor = self.actor(&actor_id, true).await.map_err(unavailable)?;
                    refreshed = true;
                }
                Err(e) => return Err(InboxRefusal::Signature(e)),
            }
        };
        let pinned = match &gate {
            Gate::Member(key) => Some(*key),
            Gate::Open => None,
        };
        let key_mismatch = |what: &str, key_id: &str| {
            InboxRefusal::Membership(MembershipRefusal::KeyMismatch(format!(
                "the {what} is by {}, not by the identity key the membership list pins for {actor_id}",
                key_id.chars().take(300).collect::<String>()
            )))
        };
        if let Some(pinned) = pinned
            && actor.ed25519_key(&verified.key_id) != Some(pinned)
        {
            return Err(key_mismatch("http signature", &verified.key_id));
        }

        let mut evidence = json!({
            "keyId": verified.key_id,
            "scheme": match &verified.scheme {
                httpsig::SignatureScheme::Rfc9421 { .. } => "rfc9421",
                httpsig::SignatureScheme::Cavage { .. } => "draft-cavage",
            },
            "algorithm": verified.algorithm.rfc9421_name(),
            "created": verified.created,
            "covered": verified.covered,
        });
        if value.get("proof").is_some() {
            let checked = proof::verify(&value, |m| actor.ed25519_key(m));
            let checked = match checked {
                Err(proof::ProofError::UnknownKey(_)) if !refreshed => {
                    actor = self.actor(&actor_id, true).await.map_err(unavailable)?;
                    proof::verify(&value, |m| actor.ed25519_key(m))
                }
                other => other,
            };
            let ok = checked.map_err(|e| InboxRefusal::Proof(e.to_string()))?;
            if let Some(pinned) = pinned
                && actor.ed25519_key(&ok.verification_method) != Some(pinned)
            {
                return Err(key_mismatch("proof", &ok.verification_method));
            }
            evidence.as_object_mut().map(|e| {
                e.insert(
                    "proof".to_owned(),
                    json!({
                        "verificationMethod": ok.verification_method,
                        "cryptosuite": "eddsa-jcs-2022",
                    }),
                )
            });
        } else if actor.row.is_punte {
            return Err(InboxRefusal::ProofRequired);
        }

        let envelope = match activity::parse_activity(&value) {
            Ok(env) => Some(env),
            Err(ActivityError::UnsupportedType(_)) => None,
            Err(
                e @ (ActivityError::ActivityCrossOrigin { .. }
                | ActivityError::ObjectCrossOrigin { .. }
                | ActivityError::ForeignObject { .. }),
            ) => return Err(InboxRefusal::Forbidden(e.to_string())),
            Err(e) => return Err(InboxRefusal::Malformed(e)),
        };
        let decode = |name: &str| -> Result<Option<Vec<u8>>, InboxRefusal> {
            http.header_values(name)
                .next()
                .map(|v| {
                    STANDARD
                        .decode(v.trim())
                        .map_err(|_| InboxRefusal::NotJson(format!("header {name} is not base64")))
                })
                .transpose()
        };
        Ok(Verified {
            id,
            kind,
            envelope,
            log_entry: decode(super::delivery::LOG_ENTRY_HEADER)?,
            checkpoint: decode(super::delivery::CHECKPOINT_HEADER)?,
            actor,
            value,
            body: http.body,
            evidence: evidence.to_string(),
        })
    }

    /// Verifies a signed GET (authorized fetch): a valid signature, within the window, by a
    /// key of the actor that owns the key id. Returns that actor's id.
    ///
    /// In members-only mode (docs/protocol.md §5.8) the owner must be the coordinator or a
    /// current member, checked before anything of it is fetched, and a member must sign with
    /// the identity key the list pins for it (an RFC 9421 `ed25519` signature), as in the
    /// inbox.
    pub async fn verify_signed_get(
        &self,
        target_uri: &str,
        headers: &[(String, String)],
    ) -> Result<String, InboxRefusal> {
        let http = HttpRequest {
            method: "GET".to_owned(),
            target_uri: target_uri.to_owned(),
            headers: headers.to_vec(),
            body: Vec::new(),
        };
        let key_id = match httpsig::signature_key_id(&http) {
            Ok(k) => k,
            Err(HttpSigError::Unsigned) => return Err(InboxRefusal::Unsigned),
            Err(e) => return Err(InboxRefusal::Signature(e)),
        };
        let owner = punte_protocol::keys::key_owner_document(&key_id).to_owned();
        let gate = self
            .membership_gate(&owner)
            .map_err(InboxRefusal::Membership)?;
        let unavailable = |e: RemoteError| InboxRefusal::ActorUnavailable {
            actor: owner.chars().take(300).collect(),
            reason: e.to_string(),
        };
        let policy = VerifyPolicy {
            max_skew_seconds: i64::try_from(self.settings.signature_window.as_secs())
                .unwrap_or(3600),
            ..VerifyPolicy::default()
        };
        let now = self.now_secs();
        // Fedify, Misskey and Friendica sign a draft-cavage `(request-target)` of a GET
        // without its query string. For GETs of public collections only, a draft-cavage
        // signature over the path alone is accepted too (a query cannot change what a
        // signed GET may read).
        let path_only = (http.header("signature-input").is_none() && target_uri.contains('?'))
            .then(|| HttpRequest {
                target_uri: target_uri
                    .split_once('?')
                    .map_or(target_uri, |(p, _)| p)
                    .to_owned(),
                ..http.clone()
            });
        let verify = |actor: &KnownActor| {
            httpsig::verify_request(&http, |k| resolve_http_key(actor, k), &policy, now).or_else(
                |e| match (&e, &path_only) {
                    (HttpSigError::BadSignature, Some(p)) => {
                        httpsig::verify_request(p, |k| resolve_http_key(actor, k), &policy, now)
                    }
                    _ => Err(e),
                },
            )
        };
        let mut actor = self.actor(&owner, false).await.map_err(unavailable)?;
        for attempt in 0..2 {
            match verify(&actor) {
                Ok(v) => {
                    if let Gate::Member(pinned) = gate
                        && actor.ed25519_key(&v.key_id) != Some(pinned)
                    {
                        return Err(InboxRefusal::Membership(MembershipRefusal::KeyMismatch(
                            format!(
                                "the signed fetch is by {}, not by the identity key the membership list pins for {owner}",
                                v.key_id.chars().take(300).collect::<String>()
                            ),
                        )));
                    }
                    return Ok(actor.row.id.clone());
                }
                Err(HttpSigError::BadSignature | HttpSigError::UnknownKey(_)) if attempt == 0 => {
                    actor = self.actor(&owner, true).await.map_err(unavailable)?;
                }
                Err(e) => return Err(InboxRefusal::Signature(e)),
            }
        }
        Err(InboxRefusal::Signature(HttpSigError::BadSignature))
    }

    /// Applies a verified activity in one transaction (blocking: call from a blocking
    /// context). A repeated activity id changes nothing.
    pub fn apply_inbound(&self, v: &Verified) -> Result<Received, InboxRefusal> {
        let mut results = self.apply_batch(std::slice::from_ref(v));
        results
            .pop()
            .unwrap_or_else(|| Err(InboxRefusal::Internal("nothing applied".to_owned())))
    }

    /// Applies verified activities in **one** transaction (group commit: one fsync for the
    /// batch), each inside its own savepoint so a refused one leaves the others applied.
    /// Returns one result per activity, in order. Blocking.
    pub fn apply_batch(&self, batch: &[Verified]) -> Vec<Result<Received, InboxRefusal>> {
        // a node that refuses to append (a damaged history, or behind its witnesses) takes
        // nothing in: 503, and senders retry
        match self.node.store().read(punte_store::witness::append_guard) {
            Ok(Some(guard)) => {
                return batch
                    .iter()
                    .map(|_| Err(InboxRefusal::Unavailable(guard.reason.clone())))
                    .collect();
            }
            Ok(None) => {}
            Err(e) => {
                return batch
                    .iter()
                    .map(|_| Err(InboxRefusal::Internal(e.to_string())))
                    .collect();
            }
        }
        let now = self.now_ms();
        let mut wake_sync = false;
        let mut results = Vec::with_capacity(batch.len());
        let committed = self.node.change_as(|tx, log| -> Result<(), Applied> {
            for v in batch {
                // Refusals happen before anything is appended to the log (see `apply`), so
                // rolling back to the savepoint keeps the log writer in step with the
                // database; a node failure fails the whole transaction.
                match punte_store::savepoint(tx, || {
                    self.apply_one(tx, log, v, now, &mut wake_sync)
                })? {
                    Ok(received) => results.push(Ok(received)),
                    Err(Applied::Refused(r)) => results.push(Err(r)),
                    Err(Applied::Fork(fork)) => {
                        fork.record(tx)?;
                        results.push(Err(InboxRefusal::Fork(fork.message())));
                    }
                    Err(Applied::Node(e)) => return Err(Applied::Node(e)),
                }
            }
            Ok(())
        });
        if let Err(e) = committed {
            let message = match e {
                Applied::Refused(r) => r.to_string(),
                Applied::Fork(f) => f.message(),
                Applied::Node(e) => e.to_string(),
            };
            tracing::error!(error = %message, batch = batch.len(), "inbox batch failed");
            return batch
                .iter()
                .map(|_| Err(InboxRefusal::Internal(message.clone())))
                .collect();
        }
        if wake_sync {
            self.wake_sync();
        }
        results
    }

    fn apply_one(
        &self,
        tx: &punte_store::Transaction<'_>,
        log: &mut LogWriter<'_>,
        v: &Verified,
        now: i64,
        wake_sync: &mut bool,
    ) -> Result<Received, Applied> {
        if store::inbox_seen(tx, &v.id)? {
            return Ok(Received {
                activity_id: v.id.clone(),
                new: false,
                outcome: "duplicate: already received".to_owned(),
            });
        }
        let outcome = self.apply(tx, log, v, now, wake_sync)?;
        store::insert_inbox_activity(
            tx,
            &v.id,
            &v.actor.row.id,
            &v.kind,
            now,
            &v.body,
            &v.evidence,
            &outcome,
        )?;
        Ok(Received {
            activity_id: v.id.clone(),
            new: true,
            outcome,
        })
    }

    /// Verifies and applies an inbox request. Concurrent requests are committed together
    /// by one writer thread (group commit); the answer comes after the commit.
    pub async fn receive(
        self: &Arc<Self>,
        request: InboundRequest,
    ) -> Result<Received, InboxRefusal> {
        let verified = self.verify_inbound(request).await?;
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.committer()
            .send(Job { verified, reply })
            .map_err(|_| InboxRefusal::Internal("the inbox writer stopped".to_owned()))?;
        // The writer hands the activity back with the result: it is freed here, on the
        // thread that allocated it, not on the writer thread.
        let (verified, result) = answer
            .await
            .map_err(|_| InboxRefusal::Internal("the inbox writer stopped".to_owned()))?;
        drop(verified);
        result
    }

    /// The channel to the inbox writer thread, started on first use. The thread holds only
    /// a weak reference and ends when the federation is dropped.
    fn committer(self: &Arc<Self>) -> &std::sync::mpsc::Sender<Job> {
        self.inbox_writer.get_or_init(|| {
            let (sender, jobs) = std::sync::mpsc::channel::<Job>();
            let weak = Arc::downgrade(self);
            let spawned = std::thread::Builder::new()
                .name("punte-inbox-writer".to_owned())
                .spawn(move || write_inbox(&weak, &jobs));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start the inbox writer");
            }
            sender
        })
    }

    fn apply(
        &self,
        tx: &punte_store::Transaction<'_>,
        log: &mut LogWriter<'_>,
        v: &Verified,
        now: i64,
        wake_sync: &mut bool,
    ) -> Result<String, Applied> {
        let Some(env) = &v.envelope else {
            return Ok(format!("recorded: {} is not acted on", v.kind));
        };
        let actor = &v.actor.row;
        let own = self.actor_id();
        match env.kind {
            ActivityType::Follow => {
                if env.object.id() != own {
                    return Err(Applied::Refused(InboxRefusal::Unprocessable(format!(
                        "this node is {own}; the Follow is for {}",
                        env.object.id()
                    ))));
                }
                store::upsert_actor(tx, actor)?;
                let existing = store::follower(tx, &actor.id)?;
                let state = if self.settings.auto_approve_follows
                    || existing
                        .as_ref()
                        .is_some_and(|f| f.state == FollowState::Accepted)
                {
                    FollowState::Accepted
                } else {
                    FollowState::Pending
                };
                store::upsert_follower(tx, &actor.id, &v.id, &v.body, state, now)?;
                if state == FollowState::Accepted {
                    emit_decision(log, FollowState::Accepted, &v.value, actor)?;
                    store::set_follower_state(tx, &actor.id, FollowState::Accepted, now)?;
                    Ok("follow accepted".to_owned())
                } else {
                    Ok("follow request waiting for approval".to_owned())
                }
            }
            ActivityType::Undo => {
                let inner_type = env
                    .object
                    .embedded()
                    .and_then(|o| o.get("type"))
                    .and_then(Value::as_str);
                let removed = match inner_type {
                    Some("Follow") | None => {
                        store::remove_follower(tx, &actor.id, Some(env.object.id()))?
                    }
                    Some(_) => false,
                };
                Ok(if removed {
                    "follower removed".to_owned()
                } else {
                    "recorded: nothing to undo".to_owned()
                })
            }
            ActivityType::Accept | ActivityType::Reject => {
                let follow_id = match &env.object {
                    ObjectRef::Id(id) => id.clone(),
                    ObjectRef::Embedded { id, .. } => id.clone(),
                };
                let state = if env.kind == ActivityType::Accept {
                    FollowState::Accepted
                } else {
                    FollowState::Rejected
                };
                if store::set_following_state(tx, &actor.id, &follow_id, state, now)? {
                    if state == FollowState::Accepted && actor.is_punte {
                        *wake_sync = true;
                    }
                    Ok(format!("follow {}", state.as_str()))
                } else {
                    Ok("recorded: no such follow request".to_owned())
                }
            }
            ActivityType::Create | ActivityType::Update | ActivityType::Delete => {
                // An adaptation of one of this node's practices, from any verified actor.
                let incoming = adaptations::apply_incoming(tx, log.urls(), v, env, now)?;
                let followed = store::following_of(tx, &actor.id)?
                    .is_some_and(|f| f.state == FollowState::Accepted);
                if !followed || !actor.is_punte {
                    return match incoming {
                        Incoming::Applied(outcome) => Ok(outcome),
                        Incoming::Refused(reason) => {
                            Err(Applied::Refused(InboxRefusal::Unprocessable(reason)))
                        }
                        Incoming::NotForUs if !followed => {
                            Ok("recorded: not a followed partner".to_owned())
                        }
                        Incoming::NotForUs => Ok("recorded: not a Punte node".to_owned()),
                    };
                }
                let replicated = replica::apply_delivered(self, tx, v, env, now, wake_sync)?;
                Ok(match incoming {
                    Incoming::NotForUs => replicated,
                    Incoming::Applied(outcome) => format!("{outcome}; {replicated}"),
                    Incoming::Refused(reason) => format!("ignored: {reason}; {replicated}"),
                })
            }
            ActivityType::Announce => Ok("recorded".to_owned()),
        }
    }
}

/// One verified activity waiting for the inbox writer.
pub(crate) struct Job {
    verified: Verified,
    /// Gets the activity back with its result, so it is freed by the verifier's thread.
    reply: tokio::sync::oneshot::Sender<(Verified, Result<Received, InboxRefusal>)>,
}

/// How often the inbox writer prunes activities of strangers.
const PRUNE_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

impl Federation {
    /// Drops activities of actors that are neither followers nor followed beyond
    /// `stranger_activities_max` and `stranger_activities_max_age` (partners' are kept).
    pub fn prune_stranger_activities(&self) -> u64 {
        let max_age = i64::try_from(self.settings.stranger_activities_max_age.as_millis())
            .unwrap_or(i64::MAX);
        let before = self.now_ms().saturating_sub(max_age);
        let keep = self.settings.stranger_activities_max;
        match self
            .node
            .store()
            .write(|tx| store::prune_stranger_activities(tx, keep, before))
        {
            Ok(n) => {
                if n > 0 {
                    tracing::info!(
                        dropped = n,
                        "pruned activities of actors that are not partners"
                    );
                }
                n
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot prune activities of actors that are not partners");
                0
            }
        }
    }
}

/// Most activities committed in one transaction.
const MAX_BATCH: usize = 256;

/// The inbox writer: takes every job waiting (up to [`MAX_BATCH`]), applies them in one
/// transaction, answers each. Ends when all senders are gone or the federation is dropped.
fn write_inbox(fed: &std::sync::Weak<Federation>, jobs: &std::sync::mpsc::Receiver<Job>) {
    let mut pruned = std::time::Instant::now();
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let Some(fed) = fed.upgrade() else { return };
        let (verified, replies): (Vec<Verified>, Vec<_>) =
            batch.into_iter().map(|j| (j.verified, j.reply)).unzip();
        let results = apply_guarded(&fed, &verified);
        // the store of strangers' activities stays bounded (once a minute at most)
        if pruned.elapsed() >= PRUNE_EVERY {
            pruned = std::time::Instant::now();
            fed.prune_stranger_activities();
        }
        drop(fed);
        for ((reply, verified), result) in replies.into_iter().zip(verified).zip(results) {
            let _ = reply.send((verified, result));
        }
    }
}

/// [`Federation::apply_batch`], surviving a panic: everything a batch writes is in its one
/// transaction, which unwinding rolls back, so the writer retries the batch one activity at
/// a time and answers 500 only to the one that fails again. A bug reached by one partner's
/// input costs that activity, not the inbox.
fn apply_guarded(fed: &Federation, batch: &[Verified]) -> Vec<Result<Received, InboxRefusal>> {
    use std::panic::{AssertUnwindSafe, catch_unwind};
    if let Ok(results) = catch_unwind(AssertUnwindSafe(|| fed.apply_batch(batch))) {
        return results;
    }
    batch
        .iter()
        .map(|v| {
            catch_unwind(AssertUnwindSafe(|| {
                fed.apply_batch(std::slice::from_ref(v))
            }))
            .ok()
            .and_then(|mut one| one.pop())
            .unwrap_or_else(|| {
                tracing::error!(activity = %v.id, "applying the activity panicked; refused");
                Err(InboxRefusal::Internal(
                    "applying this activity failed".to_owned(),
                ))
            })
        })
        .collect()
}
