//! Federation tables: remote actors, followers and following, the delivery queue with its
//! per-host state, received activities, and verified replicas of partners' logs.
//!
//! Times are Unix milliseconds (`*_ms`), chosen by the caller.

use rusqlite::{Connection, OptionalExtension, params};

use crate::log::{to_i64, to_u64};
use crate::{Result, StoreError};

// ----- remote actors -----

/// A remote actor as the node keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActorRow {
    pub id: String,
    /// `host[:port]` of the actor id.
    pub host: String,
    pub inbox: String,
    pub shared_inbox: Option<String>,
    pub username: Option<String>,
    /// The actor document exactly as fetched.
    pub document: Vec<u8>,
    pub is_punte: bool,
    pub fetched_ms: i64,
}

impl ActorRow {
    /// Where to deliver: the shared inbox when there is one.
    pub fn delivery_inbox(&self) -> &str {
        self.shared_inbox.as_deref().unwrap_or(&self.inbox)
    }
}

const ACTOR_COLUMNS: &str =
    "id, host, inbox, shared_inbox, username, document, is_punte, fetched_ms";

fn actor_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ActorRow> {
    Ok(ActorRow {
        id: r.get(0)?,
        host: r.get(1)?,
        inbox: r.get(2)?,
        shared_inbox: r.get(3)?,
        username: r.get(4)?,
        document: r.get(5)?,
        is_punte: r.get(6)?,
        fetched_ms: r.get(7)?,
    })
}

/// Inserts or refreshes an actor.
pub fn upsert_actor(conn: &Connection, actor: &ActorRow) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO remote_actors (id, host, inbox, shared_inbox, username, document, is_punte,
             fetched_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (id) DO UPDATE SET host = excluded.host, inbox = excluded.inbox,
             shared_inbox = excluded.shared_inbox, username = excluded.username,
             document = excluded.document, is_punte = excluded.is_punte,
             fetched_ms = excluded.fetched_ms",
    )?
    .execute(params![
        actor.id,
        actor.host,
        actor.inbox,
        actor.shared_inbox,
        actor.username,
        actor.document,
        actor.is_punte,
        actor.fetched_ms
    ])?;
    Ok(())
}

/// The actor `id`, if known.
pub fn actor(conn: &Connection, id: &str) -> Result<Option<ActorRow>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {ACTOR_COLUMNS} FROM remote_actors WHERE id = ?1"
        ))?
        .query_row(params![id], actor_row)
        .optional()?)
}

// ----- follow relations -----

/// State of a follow relation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FollowState {
    Pending,
    Accepted,
    Rejected,
}

impl FollowState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "accepted" => Some(Self::Accepted),
            "rejected" => Some(Self::Rejected),
            _ => None,
        }
    }
}

fn state_of(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<FollowState> {
    let s: String = r.get(i)?;
    FollowState::parse(&s).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            format!("unknown follow state {s:?}").into(),
        )
    })
}

/// One follow relation (a follower of this node, or a node this one follows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowRow {
    pub actor: String,
    pub follow_id: String,
    pub state: FollowState,
    pub requested_ms: i64,
    pub decided_ms: Option<i64>,
    /// The actor's preferred username and delivery inbox, from `remote_actors`.
    pub username: Option<String>,
    pub inbox: String,
    pub is_punte: bool,
}

fn follow_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<FollowRow> {
    Ok(FollowRow {
        actor: r.get(0)?,
        follow_id: r.get(1)?,
        state: state_of(r, 2)?,
        requested_ms: r.get(3)?,
        decided_ms: r.get(4)?,
        username: r.get(5)?,
        inbox: r.get(6)?,
        is_punte: r.get(7)?,
    })
}

fn follow_select(table: &str) -> String {
    format!(
        "SELECT f.actor, f.follow_id, f.state, f.requested_ms, f.decided_ms, a.username,
                COALESCE(a.shared_inbox, a.inbox), a.is_punte
         FROM {table} f JOIN remote_actors a ON a.id = f.actor"
    )
}

/// Records a follow request from `actor` (a repeated request replaces the earlier one and
/// keeps an accepted relation accepted).
pub fn upsert_follower(
    conn: &Connection,
    actor: &str,
    follow_id: &str,
    follow: &[u8],
    state: FollowState,
    now_ms: i64,
) -> Result<FollowState> {
    conn.prepare_cached(
        "INSERT INTO followers (actor, follow_id, follow, state, requested_ms, decided_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, CASE WHEN ?4 = 'pending' THEN NULL ELSE ?5 END)
         ON CONFLICT (actor) DO UPDATE SET follow_id = excluded.follow_id,
             follow = excluded.follow,
             state = CASE WHEN followers.state = 'accepted' THEN 'accepted' ELSE excluded.state END,
             requested_ms = excluded.requested_ms",
    )?
    .execute(params![actor, follow_id, follow, state.as_str(), now_ms])?;
    Ok(follower(conn, actor)?.map_or(state, |f| f.state))
}

/// The follower relation of `actor`, if any.
pub fn follower(conn: &Connection, actor: &str) -> Result<Option<FollowRow>> {
    Ok(conn
        .prepare_cached(&format!(
            "{} WHERE f.actor = ?1",
            follow_select("followers")
        ))?
        .query_row(params![actor], follow_row)
        .optional()?)
}

/// The stored Follow activity of follower `actor`.
pub fn follower_follow(conn: &Connection, actor: &str) -> Result<Option<Vec<u8>>> {
    Ok(conn
        .query_row(
            "SELECT follow FROM followers WHERE actor = ?1",
            params![actor],
            |r| r.get(0),
        )
        .optional()?)
}

/// Sets a follower's state; `false` if `actor` is no follower.
pub fn set_follower_state(
    conn: &Connection,
    actor: &str,
    state: FollowState,
    now_ms: i64,
) -> Result<bool> {
    let n = conn.execute(
        "UPDATE followers SET state = ?2, decided_ms = ?3 WHERE actor = ?1",
        params![actor, state.as_str(), now_ms],
    )?;
    Ok(n > 0)
}

/// Removes a follower (Undo of its Follow); with `follow_id`, only if it names that Follow.
pub fn remove_follower(conn: &Connection, actor: &str, follow_id: Option<&str>) -> Result<bool> {
    let n = match follow_id {
        Some(id) => conn.execute(
            "DELETE FROM followers WHERE actor = ?1 AND follow_id = ?2",
            params![actor, id],
        )?,
        None => conn.execute("DELETE FROM followers WHERE actor = ?1", params![actor])?,
    };
    Ok(n > 0)
}

/// Followers, optionally in one state, oldest request first.
pub fn followers(conn: &Connection, state: Option<FollowState>) -> Result<Vec<FollowRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "{} WHERE (?1 IS NULL OR f.state = ?1) ORDER BY f.requested_ms, f.actor",
        follow_select("followers")
    ))?;
    let rows = stmt.query_map(params![state.map(FollowState::as_str)], follow_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Number of followers in `state`.
pub fn follower_count(conn: &Connection, state: FollowState) -> Result<u64> {
    let n: i64 = conn.query_row(
        "SELECT count(*) FROM followers WHERE state = ?1",
        params![state.as_str()],
        |r| r.get(0),
    )?;
    Ok(to_u64(n, "count")?)
}

/// A place to deliver public activities: one row per distinct delivery inbox of the
/// accepted followers (shared inboxes deduplicated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowerInbox {
    pub inbox: String,
    pub host: String,
    /// One follower using this inbox (for display).
    pub actor: String,
}

/// The distinct delivery inboxes of accepted followers.
pub fn follower_inboxes(conn: &Connection) -> Result<Vec<FollowerInbox>> {
    let mut stmt = conn.prepare_cached(
        "SELECT COALESCE(a.shared_inbox, a.inbox) AS ib, min(a.host), min(a.id)
         FROM followers f JOIN remote_actors a ON a.id = f.actor
         WHERE f.state = 'accepted' GROUP BY ib ORDER BY ib",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(FollowerInbox {
            inbox: r.get(0)?,
            host: r.get(1)?,
            actor: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Records that this node asked to follow `actor`.
pub fn upsert_following(
    conn: &Connection,
    actor: &str,
    follow_id: &str,
    now_ms: i64,
) -> Result<()> {
    conn.execute(
        "INSERT INTO following (actor, follow_id, state, requested_ms) VALUES (?1, ?2, 'pending', ?3)
         ON CONFLICT (actor) DO UPDATE SET follow_id = excluded.follow_id, state = 'pending',
             requested_ms = excluded.requested_ms, decided_ms = NULL",
        params![actor, follow_id, now_ms],
    )?;
    Ok(())
}

/// The relation to `actor` this node asked for, if any.
pub fn following_of(conn: &Connection, actor: &str) -> Result<Option<FollowRow>> {
    Ok(conn
        .prepare_cached(&format!(
            "{} WHERE f.actor = ?1",
            follow_select("following")
        ))?
        .query_row(params![actor], follow_row)
        .optional()?)
}

/// Sets the state of the follow `follow_id` sent to `actor`; `false` if there is none.
pub fn set_following_state(
    conn: &Connection,
    actor: &str,
    follow_id: &str,
    state: FollowState,
    now_ms: i64,
) -> Result<bool> {
    let n = conn.execute(
        "UPDATE following SET state = ?3, decided_ms = ?4 WHERE actor = ?1 AND follow_id = ?2",
        params![actor, follow_id, state.as_str(), now_ms],
    )?;
    Ok(n > 0)
}

/// Forgets the follow of `actor`.
pub fn remove_following(conn: &Connection, actor: &str) -> Result<bool> {
    Ok(conn.execute("DELETE FROM following WHERE actor = ?1", params![actor])? > 0)
}

/// The nodes this one follows, optionally in one state.
pub fn following(conn: &Connection, state: Option<FollowState>) -> Result<Vec<FollowRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "{} WHERE (?1 IS NULL OR f.state = ?1) ORDER BY f.requested_ms, f.actor",
        follow_select("following")
    ))?;
    let rows = stmt.query_map(params![state.map(FollowState::as_str)], follow_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

// ----- deliveries -----

/// State of one delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryState {
    Pending,
    Delivered,
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "delivered" => Some(Self::Delivered),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// Queues entry `log_index` for `inbox`; a second queueing of the same pair is ignored.
pub fn insert_delivery(
    conn: &Connection,
    log_index: u64,
    inbox: &str,
    host: &str,
    recipient: Option<&str>,
    now_ms: i64,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO deliveries (log_index, inbox, host, recipient, state, created_ms,
             next_attempt_ms) VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?5)",
    )?
    .execute(params![
        to_i64(log_index, "index")?,
        inbox,
        host,
        recipient,
        now_ms
    ])?;
    Ok(())
}

/// A delivery the worker may attempt now, with the exact activity bytes and the checkpoint
/// that first covered its entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueDelivery {
    pub id: i64,
    pub log_index: u64,
    pub inbox: String,
    pub host: String,
    pub recipient: Option<String>,
    pub attempts: u32,
    pub created_ms: i64,
    pub entry: Vec<u8>,
    /// `None` when the activity was redacted after it was queued.
    pub activity: Option<Vec<u8>>,
}

/// The oldest pending delivery of each inbox, if it is due and its host is not paused;
/// at most `limit`, earliest due first.
pub fn due_deliveries(conn: &Connection, now_ms: i64, limit: u32) -> Result<Vec<DueDelivery>> {
    let mut stmt = conn.prepare_cached(
        "WITH heads AS (SELECT min(id) AS id FROM deliveries WHERE state = 'pending' GROUP BY inbox)
         SELECT d.id, d.log_index, d.inbox, d.host, d.recipient, d.attempts, d.created_ms,
                e.entry, e.activity
         FROM heads JOIN deliveries d ON d.id = heads.id
         JOIN log_entries e ON e.idx = d.log_index
         LEFT JOIN delivery_hosts h ON h.host = d.host
         WHERE d.next_attempt_ms <= ?1 AND COALESCE(h.paused_until_ms, 0) <= ?1
         ORDER BY d.next_attempt_ms, d.id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![now_ms, limit], |r| {
        Ok(DueDelivery {
            id: r.get(0)?,
            log_index: to_u64(r.get(1)?, "index")?,
            inbox: r.get(2)?,
            host: r.get(3)?,
            recipient: r.get(4)?,
            attempts: r.get(5)?,
            created_ms: r.get(6)?,
            entry: r.get(7)?,
            activity: r.get(8)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// When the next pending delivery becomes due (ignoring paused hosts' pauses), if any.
pub fn next_delivery_ms(conn: &Connection) -> Result<Option<i64>> {
    Ok(conn.query_row(
        "SELECT min(max(d.next_attempt_ms, COALESCE(h.paused_until_ms, 0)))
         FROM deliveries d LEFT JOIN delivery_hosts h ON h.host = d.host
         WHERE d.state = 'pending'",
        [],
        |r| r.get(0),
    )?)
}

/// The outcome of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    Delivered,
    /// Try again at `next_attempt_ms`.
    Retry {
        next_attempt_ms: i64,
    },
    /// Give up.
    Failed,
}

/// Records one attempt of delivery `id`.
pub fn record_attempt(
    conn: &Connection,
    id: i64,
    outcome: &AttemptOutcome,
    status: Option<u16>,
    error: Option<&str>,
    now_ms: i64,
) -> Result<()> {
    let (state, next, done) = match outcome {
        AttemptOutcome::Delivered => ("delivered", now_ms, Some(now_ms)),
        AttemptOutcome::Retry { next_attempt_ms } => ("pending", *next_attempt_ms, None),
        AttemptOutcome::Failed => ("failed", now_ms, Some(now_ms)),
    };
    conn.prepare_cached(
        "UPDATE deliveries SET state = ?2, attempts = attempts + 1, next_attempt_ms = ?3,
             last_attempt_ms = ?4, last_status = ?5, last_error = ?6, done_ms = ?7
         WHERE id = ?1",
    )?
    .execute(params![id, state, next, now_ms, status, error, done])?;
    Ok(())
}

/// A delivery as shown to people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRow {
    pub id: i64,
    pub log_index: u64,
    pub activity_id: String,
    pub inbox: String,
    pub host: String,
    pub recipient: Option<String>,
    pub state: DeliveryState,
    pub attempts: u32,
    pub created_ms: i64,
    pub next_attempt_ms: i64,
    pub last_attempt_ms: Option<i64>,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub done_ms: Option<i64>,
}

/// Deliveries, newest first, optionally of one state, one entry or one host; keyset-paged
/// by `before` (a delivery id).
pub fn deliveries(
    conn: &Connection,
    state: Option<DeliveryState>,
    log_index: Option<u64>,
    host: Option<&str>,
    before: Option<i64>,
    limit: u32,
) -> Result<Vec<DeliveryRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT d.id, d.log_index, e.activity_id, d.inbox, d.host, d.recipient, d.state,
                d.attempts, d.created_ms, d.next_attempt_ms, d.last_attempt_ms, d.last_status,
                d.last_error, d.done_ms
         FROM deliveries d JOIN log_entries e ON e.idx = d.log_index
         WHERE (?1 IS NULL OR d.state = ?1) AND (?2 IS NULL OR d.log_index = ?2)
           AND (?3 IS NULL OR d.host = ?3) AND (?4 IS NULL OR d.id < ?4)
         ORDER BY d.id DESC LIMIT ?5",
    )?;
    let index = log_index.map(|i| to_i64(i, "index")).transpose()?;
    let rows = stmt.query_map(
        params![state.map(DeliveryState::as_str), index, host, before, limit],
        |r| {
            let s: String = r.get(6)?;
            Ok(DeliveryRow {
                id: r.get(0)?,
                log_index: to_u64(r.get(1)?, "index")?,
                activity_id: r.get(2)?,
                inbox: r.get(3)?,
                host: r.get(4)?,
                recipient: r.get(5)?,
                state: DeliveryState::parse(&s).unwrap_or(DeliveryState::Failed),
                attempts: r.get(7)?,
                created_ms: r.get(8)?,
                next_attempt_ms: r.get(9)?,
                last_attempt_ms: r.get(10)?,
                last_status: r.get(11)?,
                last_error: r.get(12)?,
                done_ms: r.get(13)?,
            })
        },
    )?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Delivery counts per host: (host, pending, delivered, failed).
pub fn delivery_summary(conn: &Connection) -> Result<Vec<(String, u64, u64, u64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT host, sum(state = 'pending'), sum(state = 'delivered'), sum(state = 'failed')
         FROM deliveries GROUP BY host ORDER BY host",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            to_u64(r.get(1)?, "count")?,
            to_u64(r.get(2)?, "count")?,
            to_u64(r.get(3)?, "count")?,
        ))
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

// ----- per-host delivery state -----

/// What the node remembers about delivering to one host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostRow {
    pub host: String,
    /// `rfc9421` or `cavage`: the signature scheme the host last accepted.
    pub scheme: Option<String>,
    pub consecutive_failures: u32,
    pub paused_until_ms: i64,
    pub last_success_ms: Option<i64>,
    pub last_failure_ms: Option<i64>,
    pub last_error: Option<String>,
}

fn host_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<HostRow> {
    Ok(HostRow {
        host: r.get(0)?,
        scheme: r.get(1)?,
        consecutive_failures: r.get(2)?,
        paused_until_ms: r.get(3)?,
        last_success_ms: r.get(4)?,
        last_failure_ms: r.get(5)?,
        last_error: r.get(6)?,
    })
}

const HOST_COLUMNS: &str = "host, scheme, consecutive_failures, paused_until_ms, last_success_ms,
    last_failure_ms, last_error";

/// The state of `host` (defaults when never contacted).
pub fn host(conn: &Connection, host: &str) -> Result<HostRow> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {HOST_COLUMNS} FROM delivery_hosts WHERE host = ?1"
        ))?
        .query_row(params![host], host_row)
        .optional()?
        .unwrap_or_else(|| HostRow {
            host: host.to_owned(),
            ..HostRow::default()
        }))
}

/// Every host delivered to, by name.
pub fn hosts(conn: &Connection) -> Result<Vec<HostRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {HOST_COLUMNS} FROM delivery_hosts ORDER BY host"
    ))?;
    let rows = stmt.query_map([], host_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// A host answered: reset its failures, remember the scheme it accepted.
pub fn host_succeeded(conn: &Connection, host: &str, scheme: &str, now_ms: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO delivery_hosts (host, scheme, consecutive_failures, paused_until_ms,
             last_success_ms) VALUES (?1, ?2, 0, 0, ?3)
         ON CONFLICT (host) DO UPDATE SET scheme = excluded.scheme, consecutive_failures = 0,
             paused_until_ms = 0, last_success_ms = excluded.last_success_ms",
    )?
    .execute(params![host, scheme, now_ms])?;
    Ok(())
}

/// A host failed (network error, 5xx): counts the failure and returns the new count;
/// `pause_until_ms` opens the circuit breaker when positive.
pub fn host_failed(
    conn: &Connection,
    host: &str,
    error: &str,
    now_ms: i64,
    pause_for: impl FnOnce(u32) -> i64,
) -> Result<u32> {
    let current = self::host(conn, host)?;
    let failures = current.consecutive_failures.saturating_add(1);
    let pause = pause_for(failures);
    let paused_until = if pause > 0 { now_ms + pause } else { 0 };
    conn.prepare_cached(
        "INSERT INTO delivery_hosts (host, consecutive_failures, paused_until_ms, last_failure_ms,
             last_error) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (host) DO UPDATE SET consecutive_failures = excluded.consecutive_failures,
             paused_until_ms = excluded.paused_until_ms, last_failure_ms = excluded.last_failure_ms,
             last_error = excluded.last_error",
    )?
    .execute(params![host, failures, paused_until, now_ms, error])?;
    Ok(failures)
}

// ----- received activities -----

/// One activity the inbox accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxRow {
    pub seq: i64,
    pub activity_id: String,
    pub actor: String,
    pub kind: String,
    pub received_ms: i64,
    pub body: Vec<u8>,
    pub evidence: String,
    pub outcome: String,
}

/// Records a received activity; `false` (and nothing written) if its id was seen before.
#[allow(clippy::too_many_arguments)]
pub fn insert_inbox_activity(
    conn: &Connection,
    activity_id: &str,
    actor: &str,
    kind: &str,
    received_ms: i64,
    body: &[u8],
    evidence: &str,
    outcome: &str,
) -> Result<bool> {
    let n = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO inbox_activities (activity_id, actor, type, received_ms, body,
                 evidence, outcome) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            activity_id,
            actor,
            kind,
            received_ms,
            body,
            evidence,
            outcome
        ])?;
    Ok(n > 0)
}

/// Whether activity `id` was received before.
pub fn inbox_seen(conn: &Connection, activity_id: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM inbox_activities WHERE activity_id = ?1")?
        .query_row(params![activity_id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Received activities with `seq > after`, oldest first.
pub fn inbox_since(conn: &Connection, after: i64, limit: u32) -> Result<Vec<InboxRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, activity_id, actor, type, received_ms, body, evidence, outcome
         FROM inbox_activities WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![after, limit], |r| {
        Ok(InboxRow {
            seq: r.get(0)?,
            activity_id: r.get(1)?,
            actor: r.get(2)?,
            kind: r.get(3)?,
            received_ms: r.get(4)?,
            body: r.get(5)?,
            evidence: r.get(6)?,
            outcome: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The latest received activities, newest first.
pub fn inbox_latest(conn: &Connection, limit: u32) -> Result<Vec<InboxRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, activity_id, actor, type, received_ms, body, evidence, outcome
         FROM inbox_activities ORDER BY seq DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map(params![limit], |r| {
        Ok(InboxRow {
            seq: r.get(0)?,
            activity_id: r.get(1)?,
            actor: r.get(2)?,
            kind: r.get(3)?,
            received_ms: r.get(4)?,
            body: r.get(5)?,
            evidence: r.get(6)?,
            outcome: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

// ----- replicas -----

/// The verified state of one partner's replica.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaRow {
    pub actor: String,
    pub base_url: String,
    pub origin: String,
    /// Number of verified entries held.
    pub size: u64,
    pub root: [u8; 32],
    /// The compact tree: concatenated 32-byte hashes.
    pub frontier: Vec<u8>,
    /// The key valid for the next entry.
    pub current_key: [u8; 32],
    pub max_timestamp_ms: Option<i64>,
    /// The latest checkpoint note the replica matched, and its size.
    pub checkpoint: Option<String>,
    pub checkpoint_size: u64,
    /// The largest size the partner announced.
    pub wanted_size: u64,
    pub last_sync_ms: Option<i64>,
    pub last_error: Option<String>,
}

const REPLICA_COLUMNS: &str = "actor, base_url, origin, size, root, frontier, current_key,
    max_timestamp_ms, checkpoint, checkpoint_size, wanted_size, last_sync_ms, last_error";

fn hash32(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<[u8; 32]> {
    let bytes: Vec<u8> = r.get(i)?;
    bytes.try_into().map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Blob,
            "expected 32 bytes".into(),
        )
    })
}

fn replica_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ReplicaRow> {
    Ok(ReplicaRow {
        actor: r.get(0)?,
        base_url: r.get(1)?,
        origin: r.get(2)?,
        size: to_u64(r.get(3)?, "size")?,
        root: hash32(r, 4)?,
        frontier: r.get(5)?,
        current_key: hash32(r, 6)?,
        max_timestamp_ms: r.get(7)?,
        checkpoint: r.get(8)?,
        checkpoint_size: to_u64(r.get(9)?, "size")?,
        wanted_size: to_u64(r.get(10)?, "size")?,
        last_sync_ms: r.get(11)?,
        last_error: r.get(12)?,
    })
}

/// The replica of `actor`, if any.
pub fn replica(conn: &Connection, actor: &str) -> Result<Option<ReplicaRow>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {REPLICA_COLUMNS} FROM replicas WHERE actor = ?1"
        ))?
        .query_row(params![actor], replica_row)
        .optional()?)
}

/// Every replica, by actor.
pub fn replicas(conn: &Connection) -> Result<Vec<ReplicaRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {REPLICA_COLUMNS} FROM replicas ORDER BY actor"
    ))?;
    let rows = stmt.query_map([], replica_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Creates or overwrites the verified state of a replica (keeps `wanted_size` at least as
/// large as before).
pub fn save_replica(conn: &Connection, r: &ReplicaRow) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO replicas (actor, base_url, origin, size, root, frontier, current_key,
             max_timestamp_ms, checkpoint, checkpoint_size, wanted_size, last_sync_ms, last_error)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
         ON CONFLICT (actor) DO UPDATE SET base_url = excluded.base_url, origin = excluded.origin,
             size = excluded.size, root = excluded.root, frontier = excluded.frontier,
             current_key = excluded.current_key, max_timestamp_ms = excluded.max_timestamp_ms,
             checkpoint = excluded.checkpoint, checkpoint_size = excluded.checkpoint_size,
             wanted_size = max(replicas.wanted_size, excluded.wanted_size),
             last_sync_ms = excluded.last_sync_ms, last_error = excluded.last_error",
    )?
    .execute(params![
        r.actor,
        r.base_url,
        r.origin,
        to_i64(r.size, "size")?,
        r.root.as_slice(),
        r.frontier,
        r.current_key.as_slice(),
        r.max_timestamp_ms,
        r.checkpoint,
        to_i64(r.checkpoint_size, "size")?,
        to_i64(r.wanted_size, "size")?,
        r.last_sync_ms,
        r.last_error
    ])?;
    Ok(())
}

/// Raises the size the partner announced; returns whether the replica is now behind.
pub fn want_replica_size(conn: &Connection, actor: &str, size: u64) -> Result<bool> {
    conn.prepare_cached("UPDATE replicas SET wanted_size = max(wanted_size, ?2) WHERE actor = ?1")?
        .execute(params![actor, to_i64(size, "size")?])?;
    Ok(conn
        .prepare_cached("SELECT size < wanted_size FROM replicas WHERE actor = ?1")?
        .query_row(params![actor], |r| r.get::<_, bool>(0))
        .optional()?
        .unwrap_or(false))
}

/// Records a failed sync of `actor`'s replica.
pub fn replica_error(conn: &Connection, actor: &str, error: &str, now_ms: i64) -> Result<()> {
    conn.execute(
        "UPDATE replicas SET last_error = ?2, last_sync_ms = ?3 WHERE actor = ?1",
        params![actor, error, now_ms],
    )?;
    Ok(())
}

/// Actors whose replica is behind what their partner announced.
pub fn replicas_behind(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT r.actor FROM replicas r JOIN following f ON f.actor = r.actor
         WHERE f.state = 'accepted' AND r.size < r.wanted_size ORDER BY r.actor",
    )?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// A verified entry of a partner's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaEntry<'a> {
    pub actor: &'a str,
    pub index: u64,
    pub entry: &'a [u8],
    pub activity: Option<&'a [u8]>,
    pub activity_id: &'a str,
    pub kind: u8,
    pub timestamp_ms: i64,
    pub checkpoint_size: u64,
    /// `delivery` or `backfill`.
    pub via: &'a str,
    pub received_ms: i64,
}

/// Stores a verified entry. An entry already held is a `Conflict`.
pub fn insert_replica_entry(conn: &Connection, e: &ReplicaEntry<'_>) -> Result<()> {
    let result = conn
        .prepare_cached(
            "INSERT INTO replica_entries (actor, idx, entry, activity, activity_id, kind,
                 timestamp_ms, checkpoint_size, via, received_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?
        .execute(params![
            e.actor,
            to_i64(e.index, "index")?,
            e.entry,
            e.activity,
            e.activity_id,
            e.kind,
            e.timestamp_ms,
            to_i64(e.checkpoint_size, "size")?,
            e.via,
            e.received_ms
        ]);
    match result {
        Ok(_) => Ok(()),
        Err(rusqlite::Error::SqliteFailure(err, _))
            if err.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Err(StoreError::Conflict(format!(
                "replica entry {} of {} already exists",
                e.index, e.actor
            )))
        }
        Err(err) => Err(err.into()),
    }
}

/// A stored replica entry: (index, entry, activity, activity_id, checkpoint_size, via).
pub type StoredReplicaEntry = (u64, Vec<u8>, Option<Vec<u8>>, String, u64, String);

/// Replica entries `start..end` of `actor`, in index order.
pub fn replica_entries(
    conn: &Connection,
    actor: &str,
    start: u64,
    end: u64,
) -> Result<Vec<StoredReplicaEntry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT idx, entry, activity, activity_id, checkpoint_size, via FROM replica_entries
         WHERE actor = ?1 AND idx >= ?2 AND idx < ?3 ORDER BY idx",
    )?;
    let rows = stmt.query_map(
        params![actor, to_i64(start, "start")?, to_i64(end, "end")?],
        |r| {
            Ok((
                to_u64(r.get(0)?, "index")?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                to_u64(r.get(4)?, "size")?,
                r.get(5)?,
            ))
        },
    )?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// A partner object as replicated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaObject {
    pub object_id: String,
    pub actor: String,
    /// `practice`, `evaluation`, `indicator`, `adaptation`.
    pub kind: String,
    pub log_index: u64,
    pub activity_id: String,
    /// The object JSON as received.
    pub object: String,
    pub updates: u32,
    pub deleted: bool,
    pub updated_ms: i64,
}

/// Stores the latest version of a partner object (Create or Update).
pub fn upsert_replica_object(conn: &Connection, o: &ReplicaObject) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO replica_objects (object_id, actor, kind, log_index, activity_id, object,
             updates, deleted, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, 0, ?7)
         ON CONFLICT (object_id) DO UPDATE SET kind = excluded.kind,
             log_index = excluded.log_index, activity_id = excluded.activity_id,
             object = excluded.object, updates = replica_objects.updates + 1, deleted = 0,
             updated_ms = excluded.updated_ms
         WHERE replica_objects.actor = excluded.actor",
    )?
    .execute(params![
        o.object_id,
        o.actor,
        o.kind,
        to_i64(o.log_index, "index")?,
        o.activity_id,
        o.object,
        o.updated_ms
    ])?;
    Ok(())
}

/// Marks a partner object deleted; `false` if unknown.
pub fn delete_replica_object(
    conn: &Connection,
    actor: &str,
    object_id: &str,
    log_index: u64,
    activity_id: &str,
    now_ms: i64,
) -> Result<bool> {
    let n = conn
        .prepare_cached(
            "UPDATE replica_objects SET deleted = 1, log_index = ?3, activity_id = ?4,
                 updated_ms = ?5, updates = updates + 1
             WHERE object_id = ?2 AND actor = ?1",
        )?
        .execute(params![
            actor,
            object_id,
            to_i64(log_index, "index")?,
            activity_id,
            now_ms
        ])?;
    Ok(n > 0)
}

fn replica_object(r: &rusqlite::Row<'_>) -> rusqlite::Result<ReplicaObject> {
    Ok(ReplicaObject {
        object_id: r.get(0)?,
        actor: r.get(1)?,
        kind: r.get(2)?,
        log_index: to_u64(r.get(3)?, "index")?,
        activity_id: r.get(4)?,
        object: r.get(5)?,
        updates: r.get(6)?,
        deleted: r.get(7)?,
        updated_ms: r.get(8)?,
    })
}

const OBJECT_COLUMNS: &str =
    "object_id, actor, kind, log_index, activity_id, object, updates, deleted, updated_ms";

/// Replicated objects, optionally of one actor and one kind, without deleted ones unless
/// asked, ordered by actor and id.
pub fn replica_objects(
    conn: &Connection,
    actor: Option<&str>,
    kind: Option<&str>,
    include_deleted: bool,
) -> Result<Vec<ReplicaObject>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {OBJECT_COLUMNS} FROM replica_objects
         WHERE (?1 IS NULL OR actor = ?1) AND (?2 IS NULL OR kind = ?2) AND (?3 OR deleted = 0)
         ORDER BY actor, object_id"
    ))?;
    let rows = stmt.query_map(params![actor, kind, include_deleted], replica_object)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// One replicated object.
pub fn replica_object_by_id(conn: &Connection, object_id: &str) -> Result<Option<ReplicaObject>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {OBJECT_COLUMNS} FROM replica_objects WHERE object_id = ?1"
        ))?
        .query_row(params![object_id], replica_object)
        .optional()?)
}
