//! The delivery queue and per-host delivery state (retries, circuit breaker, scheme).

use rusqlite::{Connection, OptionalExtension, params};

use crate::Result;
use crate::log::{to_i64, to_u64};

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

/// Per host with pending deliveries: when its next attempt is due — the earliest retry time
/// of the heads of its inboxes' queues, or its pause if later.
pub fn next_attempt_per_host(conn: &Connection) -> Result<Vec<(String, i64)>> {
    let mut stmt = conn.prepare_cached(
        "WITH heads AS (SELECT min(id) AS id FROM deliveries WHERE state = 'pending' GROUP BY inbox)
         SELECT d.host, min(max(d.next_attempt_ms, COALESCE(h.paused_until_ms, 0)))
         FROM heads JOIN deliveries d ON d.id = heads.id
         LEFT JOIN delivery_hosts h ON h.host = d.host
         GROUP BY d.host ORDER BY d.host",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
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
    delivery_rows(conn, state, log_index, host, before, limit, false)
}

/// Like [`deliveries`], oldest first (the head of each inbox's queue first); `before` is then
/// an id to start after.
pub fn deliveries_oldest_first(
    conn: &Connection,
    state: Option<DeliveryState>,
    log_index: Option<u64>,
    after: Option<i64>,
    limit: u32,
) -> Result<Vec<DeliveryRow>> {
    delivery_rows(conn, state, log_index, None, after, limit, true)
}

fn delivery_rows(
    conn: &Connection,
    state: Option<DeliveryState>,
    log_index: Option<u64>,
    host: Option<&str>,
    cursor: Option<i64>,
    limit: u32,
    oldest_first: bool,
) -> Result<Vec<DeliveryRow>> {
    const COLUMNS: &str = "SELECT d.id, d.log_index, e.activity_id, d.inbox, d.host, d.recipient,
                d.state, d.attempts, d.created_ms, d.next_attempt_ms, d.last_attempt_ms,
                d.last_status, d.last_error, d.done_ms
         FROM deliveries d JOIN log_entries e ON e.idx = d.log_index
         WHERE (?1 IS NULL OR d.state = ?1) AND (?2 IS NULL OR d.log_index = ?2)
           AND (?3 IS NULL OR d.host = ?3)";
    let mut stmt = if oldest_first {
        conn.prepare_cached(&format!(
            "{COLUMNS} AND (?4 IS NULL OR d.id > ?4) ORDER BY d.id LIMIT ?5"
        ))?
    } else {
        conn.prepare_cached(&format!(
            "{COLUMNS} AND (?4 IS NULL OR d.id < ?4) ORDER BY d.id DESC LIMIT ?5"
        ))?
    };
    let before = cursor;
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
