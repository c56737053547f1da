//! The live feed: the node's activity as it happens. `GET /live` shows the latest entries
//! (readable without JavaScript); `GET /live/events` streams new ones as Server-Sent Events,
//! which `static/live.js` adds to the page.
//!
//! The stream's event id is the log index, so a reconnecting browser sends it back in
//! `Last-Event-ID` and resumes after it; `?after=N` does the same for the first connection
//! (the page passes the last index it rendered). Without either, the stream starts at the
//! current end of the log.

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

use punte_node::{Node, StoredEntry};

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
    /// `out` for the node's own activity; `in` for activity received from partners.
    pub direction: &'static str,
    /// The log index (outgoing) — also the SSE event id.
    pub index: u64,
    pub href: String,
    pub time: String,
    pub activity_id: String,
    #[serde(flatten)]
    pub summary: ActivitySummary,
}

fn outgoing_event(entry: &StoredEntry, lang: &str) -> LiveEvent {
    LiveEvent {
        direction: "out",
        index: entry.index,
        href: format!("/history/{}", entry.index),
        time: time_of(entry.timestamp_ms),
        activity_id: entry.activity_id.clone(),
        summary: summarise(entry.kind, entry.activity.as_deref(), lang),
    }
}

/// The latest `count` entries, newest first.
fn recent(node: &Node, count: u64, lang: &str) -> punte_node::Result<(u64, Vec<LiveEvent>)> {
    let size = node.log_size()?;
    if size == 0 {
        return Ok((0, Vec::new()));
    }
    let page = node.log_entries(size.saturating_sub(count), size)?;
    Ok((
        size,
        page.entries
            .iter()
            .rev()
            .map(|e| outgoing_event(e, lang))
            .collect(),
    ))
}

#[derive(Serialize)]
struct LivePage {
    events: Vec<LiveEvent>,
    /// The index the stream should resume after (`-1` for an empty log).
    after: i64,
}

/// `GET /live`: the latest entries, and the script that adds new ones as they come.
pub async fn page(req: HttpRequest) -> WebResult {
    let ctx = Ctx::load(&req).await?;
    let lang = ctx.lang.code();
    let (size, events) = ctx.fetch(move |n| recent(n, RECENT, lang)).await?;
    let page = LivePage {
        events,
        after: i64::try_from(size).unwrap_or(i64::MAX) - 1,
    };
    ctx.render("live.html", "live", &page).await
}

/// The index to start streaming from: after `Last-Event-ID`, else after `?after=`, else the
/// current end of the log (`None`).
fn start_after(req: &HttpRequest) -> Option<i64> {
    let header = req
        .headers()
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok());
    header.or_else(|| {
        FormData::parse(req.query_string())
            .get("after")
            .parse::<i64>()
            .ok()
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
    let size = ctx.fetch(|n| n.log_size()).await?;
    let next = match start_after(&req) {
        // Never more than the last RECENT entries on (re)connecting.
        Some(after) => u64::try_from(after.saturating_add(1))
            .unwrap_or(0)
            .max(size.saturating_sub(RECENT))
            .min(size),
        None => size,
    };
    let stream = feed(ctx.node.clone(), next, ctx.lang.code(), slot);
    let mut response = HttpResponse::build(StatusCode::OK);
    secure_headers(&mut response);
    Ok(response
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache, no-store"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(stream))
}

/// The live feed's source: the node's outgoing activity from log index `next` on.
///
/// Incoming activity (received from partners through federation) joins here: build a second
/// stream of `LiveEvent { direction: "in", .. }` from the inbox and merge the two with
/// `futures_util::stream::select`. Their event ids must then say which source they resume
/// (e.g. `out-12` / `in-34`) and [`start_after`] parse both.
fn feed(
    node: web::Data<Node>,
    next: u64,
    lang: &'static str,
    slot: StreamSlot,
) -> impl Stream<Item = Result<Bytes, actix_web::Error>> {
    use futures_util::StreamExt as _;
    let outgoing = Box::pin(outgoing(node, next, lang, POLL_INTERVAL));
    // The slot is released when the stream is dropped (the browser went away).
    let messages =
        futures_util::stream::unfold((outgoing, slot), |(mut source, slot)| async move {
            match tokio::time::timeout(KEEP_ALIVE, source.next()).await {
                Ok(Some(event)) => Some((Ok(sse_message(&event)), (source, slot))),
                Ok(None) => None,
                Err(_) => Some((Ok(Bytes::from_static(b": keep-alive\n\n")), (source, slot))),
            }
        });
    // Browsers reconnect after 2 s when the stream breaks.
    futures_util::stream::once(async { Ok(Bytes::from_static(b"retry: 2000\n\n")) }).chain(messages)
}

/// One SSE message: `id` (log index), `event: entry`, and the event as one line of JSON.
fn sse_message(event: &LiveEvent) -> Bytes {
    let data = serde_json::to_string(event).unwrap_or_else(|_| "{}".into());
    Bytes::from(format!(
        "id: {}\nevent: entry\ndata: {data}\n\n",
        event.index
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
