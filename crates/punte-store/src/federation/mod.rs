//! Federation tables: remote actors, followers and following, the delivery queue with its
//! per-host state, received activities, and verified replicas of partners' logs.
//!
//! Times are Unix milliseconds (`*_ms`), chosen by the caller.

use rusqlite::{Connection, OptionalExtension, params};

use crate::Result;
use crate::log::to_u64;

mod checkpoints;
mod deliveries;
mod forks;
mod inbox;
mod replicas;

pub use checkpoints::*;
pub use deliveries::*;
pub use forks::*;
pub use inbox::*;
pub use replicas::*;

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
