//! The live feed: the node's activity as it happens, outgoing (its signed log) and incoming
//! (activities its inbox accepted from partners). `GET /live` shows the latest of both
//! (readable without JavaScript); `GET /live/events` streams new ones as Server-Sent Events,
//! which `static/live.js` adds to the page.
//!
//! Each event names its source and position in its JSON `id`: `out-12` (log index 12) or
//! `in-34` (inbox sequence number 34). The SSE `id:` line carries both positions reached so
//! far, `out-12.in-34`, so a reconnecting browser sends it back in `Last-Event-ID` and resumes
//! after it in both sources; `?after=N&after_in=M` does the same for the first connection (the
//! page passes what it rendered). Without either, each source starts at its current end.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::Stream;
use serde::Serialize;

use punte_node::federation::Federation;
use punte_node::{Node, StoredEntry};
use punte_store::federation::InboxRow;

use super::form::FormData;
use super::history::{ActivitySummary, summarise, time_of};
use super::{Ctx, WebResult, secure_headers};

/// How often the stream looks for new entries.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// A comment line this often keeps proxies from closing a quiet stream and lets the server
/// notice a browser that went away.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Entries on the page and most entries sent in one burst on reconnecting.
pub const RECENT: u64 = 20;
/// Most event streams open at once in one worker (each worker counts its own); more get 503
/// and the browser retries later.
pub const MAX_STREAMS: usize = 64;
/// Most entries read from the log per poll.
const BATCH: u64 = 100;

/// The count of open event streams of one worker.
#[derive(Debug, Default)]
pub struct StreamCount(Arc<AtomicUsize>);

/// Holds one slot of [`StreamCount`] while a stream is open.
struct StreamSlot(Arc<AtomicUsize>);

impl StreamCount {
    fn acquire(&self) -> Option<StreamSlot> {
        let taken = self
            .0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_STREAMS).then_some(n + 1)
            })
            .is_ok();
        taken.then(|| StreamSlot(self.0.clone()))
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// One item of the live feed, as the page lists it and the stream sends it (JSON).
#[derive(Debug, Clone, Serialize)]
pub struct LiveEvent {
    /// `out-{log index}` or `in-{inbox sequence number}`: the source and the position in it.
    pub id: String,
    /// `out` for the node's own activity; `in` for activity received from partners.
    pub direction: &'static str,
    /// The log index (outgoing) or the inbox sequence number (incoming).
    pub index: u64,
    pub href: String,
    pub time: String,
    /// For ordering the two sources on the page.
    #[serde(skip)]
    pub time_ms: i64,
    pub activity_id: String,
    /// Incoming: the actor that sent it and what the inbox did with it.
    pub actor: Option<String>,
    pub outcome: Option<String>,
    #[serde(flatten)]
    pub summary: ActivitySummary,
}

fn outgoing_event(entry: &StoredEntry, lang: &str) -> LiveEvent {
    LiveEvent {
        id: format!("out-{}", entry.index),
        direction: "out",
        index: entry.index,
        href: format!("/history/{}", entry.index),
        time: time_of(entry.timestamp_ms),
        time_ms: entry.timestamp_ms,
        activity_id: entry.activity_id.clone(),
        actor: None,
        outcome: None,
        summary: summarise(entry.kind, entry.activity.as_deref(), lang),
    }
}

fn incoming_event(row: &InboxRow, lang: &str) -> LiveEvent {
    let mut summary = summarise(punte_log::EntryKind::Activity as u8, Some(&row.body), lang);
    if summary.activity_type.is_none() {
        summary.activity_type = Some(row.kind.clone());
    }
    LiveEvent {
        id: format!("in-{}", row.seq),
        direction: "in",
        index: u64::try_from(row.seq).unwrap_or(0),
        href: format!("/network#received-{}", row.seq),
        time: time_of(row.received_ms),
        time_ms: row.received_ms,
        activity_id: row.activity_id.clone(),
        actor: Some(row.actor.clone()),
        outcome: Some(row.outcome.clone()),
        summary,
    }
}

/// The latest `count` events of both sources, newest first, with the log size and the
/// latest inbox sequence number.
fn recent(
    node: &Node,
    federation: Option<&Federation>,
    count: u64,
    lang: &str,
) -> punte_node::Result<(u64, i64, Vec<LiveEvent>)> {
    let size = node.log_size()?;
    let mut events: Vec<LiveEvent> = if size == 0 {
        Vec::new()
    } else {
        node.log_entries(size.saturating_sub(count), size)?
            .entries
            .iter()
            .map(|e| outgoing_event(e, lang))
            .collect()
    };
    let received = match federation {
        Some(f) => f.inbox_latest(u32::try_from(count).unwrap_or(u32::MAX))?,
        None => Vec::new(),
    };
    let latest_in = received.first().map_or(0, |r| r.seq);
    events.extend(received.iter().map(|r| incoming_event(r, lang)));
    events.sort_by(|a, b| b.time_ms.cmp(&a.time_ms).then(b.index.cmp(&a.index)));
    events.truncate(usize::try_from(count).unwrap_or(usize::MAX));
    Ok((size, latest_in, events))
}

#[derive(Serialize)]
struct LivePage {
    events: Vec<LiveEvent>,
    /// The log index the stream should resume after (`-1` for an empty log).
    after: i64,
    /// The inbox sequence number the stream should resume after.
    after_in: i64,
}

/// `GET /live`: the latest activity, and the script that adds new activity as it comes.
pub async fn page(req: HttpRequest) -> WebResult {
    let ctx = Ctx::load(&req).await?;
    let lang = ctx.lang.code();
    let federation = ctx.federation.clone();
    let (size, after_in, events) = ctx
        .fetch(move |n| recent(n, federation.as_ref().map(|f| f.get_ref()), RECENT, lang))
        .await?;
    let page = LivePage {
        events,
        after: i64::try_from(size).unwrap_or(i64::MAX) - 1,
        after_in,
    };
    ctx.render("live.html", "live", &page).await
}

/// Where a stream resumes: after this log index and after this inbox sequence number
/// (`None`: at the current end).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resume {
    pub out: Option<i64>,
    pub inbox: Option<i64>,
}

impl Resume {
    /// Reads `out-12.in-34`, `out-12`, `in-34`, or a bare log index (`12`, the form before
    /// incoming activity joined the feed).
    pub fn parse(id: &str) -> Option<Self> {
        let id = id.trim();
        if let Ok(out) = id.parse::<i64>() {
            return Some(Self {
                out: Some(out),
                inbox: None,
            });
        }
        let mut resume = Self::default();
        for part in id.split('.') {
            if let Some(n) = part.strip_prefix("out-") {
                resume.out = Some(n.parse().ok()?);
            } else if let Some(n) = part.strip_prefix("in-") {
                resume.inbox = Some(n.parse().ok()?);
            } else {
                return None;
            }
        }
        Some(resume)
    }

    /// The SSE id of this position.
    pub fn event_id(&self) -> String {
        format!(
            "out-{}.in-{}",
            self.out.unwrap_or(-1),
            self.inbox.unwrap_or(0)
        )
    }
}

/// Where to start streaming: after `Last-Event-ID`, else after `?after=` and `?after_in=`,
/// else the current end of each source.
fn start_after(req: &HttpRequest) -> Resume {
    let header = req
        .headers()
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(Resume::parse);
    header.unwrap_or_else(|| {
        let query = FormData::parse(req.query_string());
        Resume {
            out: query.get("after").parse::<i64>().ok(),
            inbox: query.get("after_in").parse::<i64>().ok(),
        }
    })
}

/// `GET /live/events`: `text/event-stream` of the node's activity as it happens.
pub async fn events(req: HttpRequest) -> WebResult {
    let ctx = Ctx::load(&req).await?;
    let Some(slot) = req
        .app_data::<web::Data<StreamCount>>()
        .and_then(|c| c.acquire())
    else {
        let mut busy = HttpResponse::ServiceUnavailable();
        secure_headers(&mut busy);
        return Ok(busy
            .insert_header((header::RETRY_AFTER, "10"))
            .content_type("text/plain; charset=utf-8")
            .body("too many live feeds are open; try again later\n"));
    };
    let federation = ctx.federation.clone();
    let (size, latest_in) = ctx
        .fetch(move |n| {
            let latest = match federation.as_ref().map(|f| f.get_ref()) {
                Some(f) => f.inbox_latest(1)?.first().map_or(0, |r| r.seq),
                None => 0,
            };
            Ok((n.log_size()?, latest))
        })
        .await?;
    let resume = start_after(&req);
    // Never more than the last RECENT entries of each source on (re)connecting.
    let next = match resume.out {
        Some(after) => u64::try_from(after.saturating_add(1))
            .unwrap_or(0)
            .max(size.saturating_sub(RECENT))
            .min(size),
        None => size,
    };
    let recent_in = i64::try_from(RECENT).unwrap_or(i64::MAX);
    let after_in = match resume.inbox {
        Some(after) => after
            .max(latest_in.saturating_sub(recent_in))
            .min(latest_in),
        None => latest_in,
    };
    let stopping = req.app_data::<web::Data<crate::Stopping>>().cloned();
    let sources = Sources {
        node: ctx.node.clone(),
        federation: ctx.federation.clone(),
        next,
        after_in,
    };
    let stream = feed(sources, ctx.lang.code(), slot, stopping);
    let mut response = HttpResponse::build(StatusCode::OK);
    secure_headers(&mut response);
    Ok(response
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache, no-store"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(stream))
}

/// Where the two sources of a stream start.
struct Sources {
    node: web::Data<Node>,
    federation: Option<web::Data<Federation>>,
    /// The first log index to send.
    next: u64,
    /// The inbox sequence number to send after.
    after_in: i64,
}

/// The live feed's sources merged: the node's outgoing activity from log index `next` on and
/// the activities its inbox accepted after `after_in`, each in its own order.
fn feed(
    sources: Sources,
    lang: &'static str,
    slot: StreamSlot,
    stopping: Option<web::Data<crate::Stopping>>,
) -> impl Stream<Item = Result<Bytes, actix_web::Error>> {
    use futures_util::StreamExt as _;
    let position = Resume {
        out: i64::try_from(sources.next).ok().map(|n| n - 1),
        inbox: Some(sources.after_in),
    };
    let outgoing = outgoing(sources.node, sources.next, lang, POLL_INTERVAL);
    let merged = match sources.federation {
        Some(f) => futures_util::stream::select(
            outgoing.boxed(),
            incoming(f, sources.after_in, lang, POLL_INTERVAL).boxed(),
        )
        .boxed(),
        None => outgoing.boxed(),
    };
    // The slot is released when the stream is dropped (the browser went away).
    let messages = futures_util::stream::unfold(
        (merged, position, slot),
        |(mut source, mut position, slot)| async move {
            match tokio::time::timeout(KEEP_ALIVE, source.next()).await {
                Ok(Some(event)) => {
                    let at = i64::try_from(event.index).ok();
                    match event.direction {
                        "in" => position.inbox = at.max(position.inbox),
                        _ => position.out = at.max(position.out),
                    }
                    Some((Ok(sse_message(&event, &position)), (source, position, slot)))
                }
                Ok(None) => None,
                Err(_) => Some((
                    Ok(Bytes::from_static(b": keep-alive\n\n")),
                    (source, position, slot),
                )),
            }
        },
    );
    // The stream ends when the server starts stopping, so a graceful stop does not wait
    // for open browsers; they reconnect (with Last-Event-ID) to the next server.
    let stop = async move {
        match stopping {
            Some(s) => s.get_ref().clone().wait().await,
            None => std::future::pending::<()>().await,
        }
    };
    let messages = messages.take_until(stop);
    // Browsers reconnect after 2 s when the stream breaks.
    futures_util::stream::once(async { Ok(Bytes::from_static(b"retry: 2000\n\n")) }).chain(messages)
}

/// One SSE message: `id` (both positions after this event), `event: entry`, and the event
/// as one line of JSON.
fn sse_message(event: &LiveEvent, position: &Resume) -> Bytes {
    let data = serde_json::to_string(event).unwrap_or_else(|_| "{}".into());
    Bytes::from(format!(
        "id: {}\nevent: entry\ndata: {data}\n\n",
        position.event_id()
    ))
}

/// New log entries from `next` on, polling the log size every `interval`. Ends when the node
/// cannot be read.
fn outgoing(
    node: web::Data<Node>,
    next: u64,
    lang: &'static str,
    interval: Duration,
) -> impl Stream<Item = LiveEvent> {
    futures_util::stream::unfold(
        (node, next, VecDeque::<LiveEvent>::new()),
        move |(node, mut next, mut ready)| async move {
            loop {
                if let Some(event) = ready.pop_front() {
                    return Some((event, (node, next, ready)));
                }
                let reader = node.clone();
                let read = web::block(move || -> punte_node::Result<Vec<StoredEntry>> {
                    let size = reader.log_size()?;
                    if size <= next {
                        return Ok(Vec::new());
                    }
                    Ok(reader.log_entries(next, size.min(next + BATCH))?.entries)
                })
                .await;
                match read {
                    Ok(Ok(entries)) if entries.is_empty() => {
                        tokio::time::sleep(interval).await;
                    }
                    Ok(Ok(entries)) => {
                        next = entries.last().map_or(next, |e| e.index + 1);
                        ready.extend(entries.iter().map(|e| outgoing_event(e, lang)));
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "live feed cannot read the log");
                        return None;
                    }
                    Err(_) => return None,
                }
            }
        },
    )
}

/// Activities the inbox accepted after sequence number `after`, polling every `interval`.
/// Ends when the store cannot be read.
fn incoming(
    federation: web::Data<Federation>,
    after: i64,
    lang: &'static str,
    interval: Duration,
) -> impl Stream<Item = LiveEvent> {
    let batch = u32::try_from(BATCH).unwrap_or(100);
    futures_util::stream::unfold(
        (federation, after, VecDeque::<LiveEvent>::new()),
        move |(federation, mut after, mut ready)| async move {
            loop {
                if let Some(event) = ready.pop_front() {
                    return Some((event, (federation, after, ready)));
                }
                let reader = federation.clone();
                let read = web::block(move || reader.inbox_since(after, batch)).await;
                match read {
                    Ok(Ok(rows)) if rows.is_empty() => {
                        tokio::time::sleep(interval).await;
                    }
                    Ok(Ok(rows)) => {
                        after = rows.last().map_or(after, |r| r.seq);
                        ready.extend(rows.iter().map(|r| incoming_event(r, lang)));
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "live feed cannot read the inbox");
                        return None;
                    }
                    Err(_) => return None,
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resume_positions_read_both_sources_and_the_older_form() {
        let both = Resume {
            out: Some(12),
            inbox: Some(34),
        };
        assert_eq!(Resume::parse("out-12.in-34"), Some(both));
        assert_eq!(Resume::parse(&both.event_id()), Some(both));
        assert_eq!(
            Resume::parse("12"),
            Some(Resume {
                out: Some(12),
                inbox: None
            })
        );
        assert_eq!(
            Resume::parse("in-3"),
            Some(Resume {
                out: None,
                inbox: Some(3)
            })
        );
        assert_eq!(Resume::parse("out-x"), None);
        assert_eq!(Resume::parse("side-1"), None);
        assert_eq!(Resume::default().event_id(), "out--1.in-0");
    }
}
