//! Publishing: every local change becomes a signed ActivityStreams activity and an entry of
//! the signed history, written in the change's own transaction, followed by a new signed
//! checkpoint (docs/protocol.md §2).
//!
//! [`LogWriter`] is opened inside a `Store::write` transaction, appends one entry per
//! activity (or key rotation, or redaction), and [`LogWriter::finish`] stores the new tree
//! state and checkpoint. If anything fails the transaction rolls back: no change without its
//! entry, no entry without its change.

use ed25519_dalek::SigningKey;
use serde_json::Value;

use punte_log::note::KeyType;
use punte_log::{Checkpoint, CompactTree, EntryBody, EntryKind, NoteSigner, SignedEntry};
use punte_protocol::activity::{self, ActivityHeader};
use punte_protocol::urls::NodeUrls;
use punte_protocol::{jcs, timestamp};
use punte_store::Connection;
use punte_store::log::{self as store, LogState, NewEntry};

use crate::error::{NodeError, Result};

/// The log origin of a node at `base_url`: `HOST[:PORT]/punte-log`.
pub fn origin_for_base(base_url: &str) -> Result<String> {
    let rest = base_url
        .split_once("://")
        .map(|(_, rest)| rest)
        .ok_or_else(|| NodeError::BaseUrl(base_url.to_string()))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || host.contains('@') || host.chars().any(|c| c.is_whitespace() || c == '+')
    {
        return Err(NodeError::BaseUrl(base_url.to_string()));
    }
    Ok(punte_log::origin_for_host(&host.to_ascii_lowercase()))
}

/// The signer of a checkpoint note for `origin`.
pub fn checkpoint_signer(origin: &str, key: &SigningKey) -> Result<NoteSigner> {
    NoteSigner::new(origin, KeyType::Ed25519, key.clone())
        .map_err(|e| NodeError::Log(format!("checkpoint key: {e}")))
}

/// The activity verbs a node emits for its own changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Create,
    Update,
    Delete,
}

/// Who an activity is delivered to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// Every accepted follower (shared inboxes deduplicated).
    Followers,
    /// One actor's inbox.
    Actor {
        actor: String,
        inbox: String,
        host: String,
    },
    /// Nobody (logged only).
    Nobody,
}

impl Audience {
    /// The delivery inbox of a known remote actor.
    pub fn actor(row: &punte_store::federation::ActorRow) -> Self {
        Self::Actor {
            actor: row.id.clone(),
            inbox: row.delivery_inbox().to_owned(),
            host: punte_protocol::urls::host_of(row.delivery_inbox())
                .unwrap_or_else(|| row.host.clone()),
        }
    }
}

/// What [`LogWriter::append`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    pub index: u64,
    pub activity_id: String,
}

/// Appends entries to the log inside one write transaction.
pub struct LogWriter<'c> {
    conn: &'c Connection,
    key: SigningKey,
    urls: NodeUrls,
    origin: String,
    tree: CompactTree,
    last_timestamp_ms: i64,
    now: time::OffsetDateTime,
    appended: u64,
    /// Entries to deliver, and to whom, queued when the writer finishes.
    deliveries: Vec<(u64, Audience)>,
}

impl std::fmt::Debug for LogWriter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogWriter")
            .field("origin", &self.origin)
            .field("size", &self.tree.size())
            .finish_non_exhaustive()
    }
}

/// Unix milliseconds of `now`.
pub fn unix_ms(now: time::OffsetDateTime) -> i64 {
    i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

impl<'c> LogWriter<'c> {
    /// Opens the log in `conn` (a write transaction) for appending entries signed by `key`,
    /// which must be the current key of the key history (it becomes the first key when the
    /// log is empty).
    pub fn open(
        conn: &'c Connection,
        key: SigningKey,
        base_url: &str,
        now: time::OffsetDateTime,
    ) -> Result<Self> {
        let (origin, tree, last_timestamp_ms) = match store::state(conn)? {
            Some(state) => {
                let size = state.size;
                let tree = CompactTree::from_frontier(size, state.frontier).ok_or_else(|| {
                    NodeError::Log(format!("stored tree frontier does not fit size {size}"))
                })?;
                if tree.root() != state.root {
                    return Err(NodeError::Log(
                        "stored tree root does not match its frontier".into(),
                    ));
                }
                (state.origin, tree, state.last_timestamp_ms)
            }
            None => (origin_for_base(base_url)?, CompactTree::new(), i64::MIN),
        };
        let public = key.verifying_key().to_bytes();
        match store::current_key(conn)? {
            Some(current) if current.public_key == public => {}
            Some(_) => return Err(NodeError::KeyMismatch),
            None if tree.size() == 0 => {
                store::add_key(conn, &public, 0, &punte_store::timestamp(now))?;
            }
            None => {
                return Err(NodeError::Log(
                    "the log has entries but no key history".into(),
                ));
            }
        }
        Ok(Self {
            conn,
            key,
            urls: NodeUrls::new(base_url)?,
            origin,
            tree,
            last_timestamp_ms,
            now,
            appended: 0,
            deliveries: Vec::new(),
        })
    }

    pub fn urls(&self) -> &NodeUrls {
        &self.urls
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The index the next entry gets.
    pub fn size(&self) -> u64 {
        self.tree.size()
    }

    /// The key that signs entries from now on.
    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    /// The current time as emitted in `published` and proof `created` (whole seconds).
    pub fn published(&self) -> String {
        timestamp::format_rfc3339(self.now.unix_timestamp())
    }

    /// Builds the public activity `verb` of `object` (for Delete: a Tombstone), signs it
    /// (FEP-8b32 `eddsa-jcs-2022`, key `BASE/actor#ed25519-key`), serialises it once as JCS
    /// and appends its entry, to be delivered to every follower. Returns the entry and the
    /// exact bytes stored and served.
    pub fn activity(&mut self, verb: Verb, object: Value) -> Result<(Appended, Vec<u8>)> {
        let uuid = uuid::Uuid::now_v7().to_string();
        let published = self.published();
        let header = ActivityHeader::public(&self.urls, &uuid, &published);
        let unsigned = match verb {
            Verb::Create => activity::create(&header, object),
            Verb::Update => activity::update(&header, object),
            Verb::Delete => activity::delete(&header, object),
        };
        self.sign_and_append(EntryKind::Activity, &header, &unsigned, Audience::Followers)
    }

    /// Builds an activity with `build` (given its header: addressed to the one actor of
    /// `audience`, or public for [`Audience::Followers`]), signs it, appends its entry and
    /// queues its delivery.
    pub fn emit(
        &mut self,
        build: impl FnOnce(&ActivityHeader) -> Value,
        audience: Audience,
    ) -> Result<(Appended, Vec<u8>)> {
        self.emit_as(EntryKind::Activity, build, audience)
    }

    /// [`LogWriter::emit`] appending an entry of `kind` (an activity entry, or a membership
    /// entry for a coordinator's membership list).
    pub fn emit_as(
        &mut self,
        kind: EntryKind,
        build: impl FnOnce(&ActivityHeader) -> Value,
        audience: Audience,
    ) -> Result<(Appended, Vec<u8>)> {
        let uuid = uuid::Uuid::now_v7().to_string();
        let published = self.published();
        let header = match &audience {
            Audience::Actor { actor, .. } => {
                ActivityHeader::direct(&self.urls, &uuid, &published, actor)
            }
            Audience::Followers | Audience::Nobody => {
                ActivityHeader::public(&self.urls, &uuid, &published)
            }
        };
        let unsigned = build(&header);
        self.sign_and_append(kind, &header, &unsigned, audience)
    }

    fn sign_and_append(
        &mut self,
        kind: EntryKind,
        header: &ActivityHeader,
        unsigned: &Value,
        audience: Audience,
    ) -> Result<(Appended, Vec<u8>)> {
        let signed =
            activity::sign_activity(unsigned, &header.actor, &header.published, &self.key)?;
        let bytes = jcs::canonicalize(&signed)?;
        let appended = self.append(kind, &header.id, &bytes)?;
        if audience != Audience::Nobody {
            self.deliveries.push((appended.index, audience));
        }
        Ok((appended, bytes))
    }

    /// Appends one entry committing to `bytes`, signed by the current key.
    pub fn append(&mut self, kind: EntryKind, activity_id: &str, bytes: &[u8]) -> Result<Appended> {
        let key = self.key.clone();
        self.append_signed_by(kind, activity_id, bytes, &key)
    }

    /// Appends one entry signed by `signer` (the old key, for a key rotation).
    fn append_signed_by(
        &mut self,
        kind: EntryKind,
        activity_id: &str,
        bytes: &[u8],
        signer: &SigningKey,
    ) -> Result<Appended> {
        let index = self.tree.size();
        // Timestamps never go backwards, even if the clock does.
        let timestamp_ms = unix_ms(self.now).max(self.last_timestamp_ms);
        let body = EntryBody::new(
            self.origin.clone(),
            index,
            self.tree.root(),
            timestamp_ms,
            kind,
            activity_id,
            bytes,
            &signer.verifying_key(),
        );
        let entry = SignedEntry::sign(body, signer)?;
        let encoded = entry.encode();
        let leaf = punte_log::leaf_hash(&encoded);
        store::insert_entry(
            self.conn,
            &NewEntry {
                index,
                entry: &encoded,
                leaf_hash: &leaf,
                activity_id,
                kind: kind.to_byte(),
                timestamp_ms,
                activity: bytes,
            },
        )?;
        self.tree.append(leaf);
        self.last_timestamp_ms = timestamp_ms;
        self.appended += 1;
        Ok(Appended {
            index,
            activity_id: activity_id.to_string(),
        })
    }

    /// Appends a key rotation entry naming `new_key`, signed by the current key; records the
    /// rotation in the key history. Later entries (and the checkpoint) are signed by `new_key`.
    /// Returns the rotation entry and the sequence number of the retired key.
    pub fn rotate(&mut self, new_key: SigningKey) -> Result<(Appended, u64)> {
        let old = self.key.clone();
        let old_public = old.verifying_key().to_bytes();
        let retired_seq = store::current_key(self.conn)?
            .map(|k| k.seq)
            .ok_or_else(|| NodeError::Log("no current key to rotate".into()))?;
        let payload = punte_log::KeyRotation {
            new_key: new_key.verifying_key(),
        }
        .to_bytes();
        let id = format!("urn:uuid:{}", uuid::Uuid::now_v7());
        let appended = self.append_signed_by(EntryKind::KeyRotation, &id, &payload, &old)?;
        let stamp = punte_store::timestamp(self.now);
        store::retire_key(self.conn, &old_public, appended.index)?;
        store::add_key(
            self.conn,
            &new_key.verifying_key().to_bytes(),
            appended.index + 1,
            &stamp,
        )?;
        self.key = new_key;
        Ok((appended, retired_seq))
    }

    /// Also delivers the entry at `index` (appended by this writer) to `audience`, on top of
    /// the audience it was appended with: e.g. an adaptation to the organisation whose
    /// practice it adapts. Queued in this transaction; an inbox already queued for the entry
    /// gets it once.
    pub fn also_deliver(&mut self, index: u64, audience: Audience) -> Result<()> {
        let first = self.size().saturating_sub(self.appended);
        if !(first..self.size()).contains(&index) {
            return Err(NodeError::Log(format!(
                "entry {index} was not appended by this writer"
            )));
        }
        if audience != Audience::Nobody {
            self.deliveries.push((index, audience));
        }
        Ok(())
    }

    /// Whether anything waits for the delivery worker.
    pub fn has_deliveries(&self) -> bool {
        !self.deliveries.is_empty()
    }

    /// Writes one delivery row per entry and inbox, in this transaction.
    fn queue_deliveries(&self) -> Result<()> {
        if self.deliveries.is_empty() {
            return Ok(());
        }
        let now = unix_ms(self.now);
        let mut followers = None;
        for (index, audience) in &self.deliveries {
            match audience {
                Audience::Followers => {
                    if followers.is_none() {
                        followers = Some(punte_store::federation::follower_inboxes(self.conn)?);
                    }
                    for f in followers.iter().flatten() {
                        punte_store::federation::insert_delivery(
                            self.conn,
                            *index,
                            &f.inbox,
                            &f.host,
                            Some(&f.actor),
                            now,
                        )?;
                    }
                }
                Audience::Actor { actor, inbox, host } => {
                    punte_store::federation::insert_delivery(
                        self.conn,
                        *index,
                        inbox,
                        host,
                        Some(actor),
                        now,
                    )?;
                }
                Audience::Nobody => {}
            }
        }
        Ok(())
    }

    /// Stores the new tree state and a checkpoint signed by the current key. Does nothing
    /// when nothing was appended. Returns the checkpoint.
    pub fn finish(self) -> Result<Option<Checkpoint>> {
        if self.appended == 0 {
            return Ok(None);
        }
        self.queue_deliveries()?;
        let root = self.tree.root();
        store::save_state(
            self.conn,
            &LogState {
                origin: self.origin.clone(),
                size: self.tree.size(),
                root,
                frontier: self.tree.frontier().to_vec(),
                last_timestamp_ms: self.last_timestamp_ms,
            },
        )?;
        let checkpoint = Checkpoint::new(self.origin.clone(), self.tree.size(), root);
        let note = checkpoint.sign(&checkpoint_signer(&self.origin, &self.key)?)?;
        store::insert_checkpoint(
            self.conn,
            self.tree.size(),
            &note,
            &punte_store::timestamp(self.now),
        )?;
        Ok(Some(checkpoint))
    }
}
