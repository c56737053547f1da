//! The delivery worker: sends queued activities to partners' inboxes.
//!
//! Rows are written in the transaction of their log entry (`publish::LogWriter`), so a
//! committed change is always delivered eventually, across restarts. The worker takes the
//! oldest pending row of each inbox (in order per partner), delivers to many inboxes at once,
//! and records each attempt:
//! - 2xx: delivered;
//! - 408, 429, 5xx, network errors and timeouts: retried with exponential backoff and jitter
//!   (`Retry-After` respected) until `give_up_after` (about a week), then failed; a host
//!   failing `breaker_threshold` times in a row is paused (circuit breaker);
//! - any other 4xx: failed at once (the partner refuses it; retrying cannot help), except
//!   401/403 which first retry once with the other signature scheme ("double knock").
//!
//! While the append guard is set (the node's history is damaged, or behind what a witness
//! cosigned) nothing is delivered: a queued entry may belong to a fork.
//!
//! Punte peers get RFC 9421 `ed25519` signatures; other software gets draft-cavage
//! `rsa-sha256`; the scheme a host accepted is remembered.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use punte_store::federation::{self as store, AttemptOutcome, DueDelivery};

use super::{Federation, SignatureKind};
use crate::error::NodeError;

/// Rows fetched per scan.
const SCAN_LIMIT: u32 = 512;
/// Longest sleep when nothing is due.
const IDLE_WAIT: Duration = Duration::from_secs(5);
/// Media type of deliveries.
pub const ACTIVITY_JSON: &str = "application/activity+json";
/// Header carrying the base64 `punte-entry/v1` envelope of the delivered activity.
pub const LOG_ENTRY_HEADER: &str = "Punte-Log-Entry";
/// Header carrying the base64 signed checkpoint that first covered that entry.
pub const CHECKPOINT_HEADER: &str = "Punte-Checkpoint";

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// A random factor in [0.5, 1.5) for jitter.
fn jitter() -> f64 {
    let mut b = [0u8; 4];
    if getrandom::fill(&mut b).is_err() {
        return 1.0;
    }
    0.5 + f64::from(u32::from_le_bytes(b)) / f64::from(u32::MAX)
}

/// The delay before attempt `attempts + 1`, with jitter, capped.
pub fn backoff(base: Duration, max: Duration, attempts: u32) -> Duration {
    let exp = base.saturating_mul(2u32.saturating_pow(attempts.min(30)));
    let capped = exp.min(max);
    capped.mul_f64(jitter()).min(max)
}

/// What one attempt came to.
#[derive(Debug)]
enum Attempt {
    Delivered {
        status: u16,
        scheme: SignatureKind,
    },
    Transient {
        status: Option<u16>,
        error: String,
        retry_after: Option<u64>,
    },
    Permanent {
        status: u16,
        error: String,
    },
}

/// Runs until `shutdown` is true.
pub(crate) async fn run(fed: Arc<Federation>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let in_flight: Arc<Mutex<HashSet<String>>> = Arc::new(Mutex::new(HashSet::new()));
    let slots = Arc::new(tokio::sync::Semaphore::new(
        fed.settings.delivery_concurrency.max(1),
    ));
    let finished = Arc::new(tokio::sync::Notify::new());
    let mut held_back = false;
    loop {
        if *shutdown.borrow() {
            break;
        }
        let now = fed.now_ms();
        let scan = {
            let fed = fed.clone();
            tokio::task::spawn_blocking(move || {
                fed.node.store().read(|conn| {
                    // While the node refuses to append (its history is damaged, or behind
                    // what a witness cosigned), what is queued may be a fork: nothing leaves.
                    if let Some(guard) = punte_store::witness::append_guard(conn)? {
                        return Ok::<_, NodeError>((Vec::new(), None, Some(guard.reason)));
                    }
                    Ok((
                        store::due_deliveries(conn, now, SCAN_LIMIT)?,
                        store::next_delivery_ms(conn)?,
                        None,
                    ))
                })
            })
            .await
        };
        let scan = scan.map(|found| {
            found.map(|(due, next, guard)| {
                match (guard, held_back) {
                    (Some(reason), false) => {
                        tracing::warn!(reason = %reason, "deliveries held back while the node refuses to append");
                        held_back = true;
                    }
                    (None, true) => held_back = false,
                    _ => {}
                }
                (due, next)
            })
        });
        let (due, next) = match scan {
            Ok(Ok(found)) => found,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "cannot read the delivery queue");
                (Vec::new(), None)
            }
            Err(e) => {
                tracing::error!(error = %e, "delivery scan panicked");
                (Vec::new(), None)
            }
        };
        for delivery in due {
            {
                let mut busy = in_flight.lock().unwrap_or_else(|p| p.into_inner());
                if !busy.insert(delivery.inbox.clone()) {
                    continue;
                }
            }
            let Ok(permit) = slots.clone().acquire_owned().await else {
                break;
            };
            let fed = fed.clone();
            let in_flight = in_flight.clone();
            let finished = finished.clone();
            tokio::spawn(async move {
                let inbox = delivery.inbox.clone();
                deliver(&fed, delivery).await;
                in_flight
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&inbox);
                drop(permit);
                finished.notify_one();
            });
        }
        let wait = match next {
            Some(at) => Duration::from_millis(u64::try_from(at - now).unwrap_or(0))
                .clamp(Duration::from_millis(20), IDLE_WAIT),
            None => IDLE_WAIT,
        };
        tokio::select! {
            () = fed.node.delivery_woken() => {}
            () = finished.notified() => {}
            () = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// Attempts one delivery and records the outcome.
async fn deliver(fed: &Arc<Federation>, d: DueDelivery) {
    let now = fed.now_ms();
    let id = d.id;
    let Some(body) = d.activity.clone() else {
        record(
            fed,
            id,
            AttemptOutcome::Failed,
            None,
            Some("the activity was redacted before delivery".to_owned()),
            None,
        )
        .await;
        return;
    };
    // Members-only mode: nothing goes to an actor who is not a current member.
    if fed.settings.membership.members_only
        && let Some(recipient) = &d.recipient
    {
        let gate = {
            let fed = fed.clone();
            let recipient = recipient.clone();
            tokio::task::spawn_blocking(move || fed.membership_gate(&recipient)).await
        };
        match gate {
            Ok(Ok(_)) => {}
            Ok(Err(r @ crate::federation::membership::MembershipRefusal::NotAMember(_))) => {
                let error = format!("not delivered (members-only mode): {r}");
                record(fed, id, AttemptOutcome::Failed, None, Some(error), None).await;
                return;
            }
            Ok(Err(r)) => {
                // No list yet (or unreadable): wait for it rather than deliver to anyone.
                let delay = backoff(
                    fed.settings.retry_base,
                    fed.settings.retry_max_delay,
                    d.attempts,
                );
                let next_attempt_ms = now.saturating_add(millis(delay));
                let error = format!("waiting (members-only mode): {r}");
                let give_up_at = d
                    .created_ms
                    .saturating_add(millis(fed.settings.give_up_after));
                let outcome = if next_attempt_ms > give_up_at {
                    AttemptOutcome::Failed
                } else {
                    AttemptOutcome::Retry { next_attempt_ms }
                };
                record(fed, id, outcome, None, Some(error), None).await;
                return;
            }
            Err(_) => return,
        }
    }
    let context = {
        let fed = fed.clone();
        let host = d.host.clone();
        let recipient = d.recipient.clone();
        let index = d.log_index;
        tokio::task::spawn_blocking(move || {
            fed.node.store().read(|conn| {
                let host = store::host(conn, &host)?;
                let punte = match &recipient {
                    Some(r) => store::actor(conn, r)?.is_some_and(|a| a.is_punte),
                    None => false,
                };
                let checkpoint = punte_store::log::checkpoint_covering(conn, index)?;
                Ok::<_, NodeError>((host, punte, checkpoint))
            })
        })
        .await
    };
    let (host, punte, checkpoint) = match context {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => {
            tracing::error!(error = %e, delivery = id, "cannot prepare a delivery");
            return;
        }
        Err(_) => return,
    };
    let first = if punte {
        SignatureKind::Rfc9421
    } else {
        host.scheme
            .as_deref()
            .and_then(SignatureKind::parse)
            .unwrap_or(SignatureKind::Cavage)
    };
    let entry_b64 = STANDARD.encode(&d.entry);
    let checkpoint_b64 = checkpoint.map(|(_, note)| STANDARD.encode(note.as_bytes()));
    let mut extra: Vec<(&str, &str)> = vec![(LOG_ENTRY_HEADER, entry_b64.as_str())];
    if let Some(c) = &checkpoint_b64 {
        extra.push((CHECKPOINT_HEADER, c.as_str()));
    }
    let mut outcome = post(fed, &d.inbox, &extra, &body, first).await;
    if let Attempt::Permanent {
        status: 401 | 403, ..
    } = outcome
    {
        let second = post(fed, &d.inbox, &extra, &body, first.other()).await;
        if matches!(second, Attempt::Delivered { .. }) {
            outcome = second;
        }
    }
    let give_up_at = d
        .created_ms
        .saturating_add(millis(fed.settings.give_up_after));
    match outcome {
        Attempt::Delivered { status, scheme } => {
            let fed2 = fed.clone();
            let host = d.host.clone();
            let _ = tokio::task::spawn_blocking(move || {
                fed2.node.store().write(|tx| {
                    store::host_succeeded(tx, &host, scheme.as_str(), now)?;
                    store::record_attempt(
                        tx,
                        id,
                        &AttemptOutcome::Delivered,
                        Some(status),
                        None,
                        now,
                    )
                })
            })
            .await;
            tracing::debug!(delivery = id, inbox = %d.inbox, "delivered");
        }
        Attempt::Permanent { status, error } => {
            tracing::warn!(delivery = id, inbox = %d.inbox, status, %error, "delivery refused");
            record(
                fed,
                id,
                AttemptOutcome::Failed,
                Some(status),
                Some(error),
                None,
            )
            .await;
        }
        Attempt::Transient {
            status,
            error,
            retry_after,
        } => {
            let mut delay = backoff(
                fed.settings.retry_base,
                fed.settings.retry_max_delay,
                d.attempts,
            );
            if let Some(secs) = retry_after {
                delay = delay.max(Duration::from_secs(secs.min(24 * 3600)));
            }
            let next = now.saturating_add(millis(delay));
            let outcome = if next > give_up_at {
                AttemptOutcome::Failed
            } else {
                AttemptOutcome::Retry {
                    next_attempt_ms: next,
                }
            };
            tracing::info!(delivery = id, inbox = %d.inbox, ?status, %error, retry = matches!(outcome, AttemptOutcome::Retry { .. }), "delivery failed");
            record(fed, id, outcome, status, Some(error), Some(d.host.clone())).await;
        }
    }
}

async fn post(
    fed: &Federation,
    inbox: &str,
    extra: &[(&str, &str)],
    body: &[u8],
    scheme: SignatureKind,
) -> Attempt {
    let signer = fed.owned_signer(scheme);
    let result = fed
        .fetcher
        .post(
            inbox,
            ACTIVITY_JSON,
            extra,
            body.to_vec(),
            signer.as_signer(),
            fed.now_secs(),
        )
        .await;
    match result {
        Ok(answer) if (200..300).contains(&answer.status) => Attempt::Delivered {
            status: answer.status,
            scheme,
        },
        Ok(answer) => {
            let status = answer.status;
            let snippet: String = String::from_utf8_lossy(&answer.body)
                .chars()
                .take(300)
                .collect();
            let error = format!("{inbox} answered {status}: {snippet}");
            if status == 408 || status == 429 || status >= 500 {
                Attempt::Transient {
                    status: Some(status),
                    error,
                    retry_after: answer.retry_after_secs(),
                }
            } else {
                Attempt::Permanent { status, error }
            }
        }
        Err(e) if e.is_transient() => Attempt::Transient {
            status: None,
            error: e.to_string(),
            retry_after: None,
        },
        Err(e) => Attempt::Permanent {
            status: 0,
            error: e.to_string(),
        },
    }
}

/// How long a host is paused after `failures` failures in a row: nothing below `threshold`;
/// from then on the longest delay a delivery that failed as often waits before its own retry
/// (the nominal backoff at the top of its jitter), capped at `max`. The breaker and the
/// retries thus share one schedule: with a single partner the pause is never shorter than
/// the retry it would hold back.
pub(crate) fn host_pause(base: Duration, max: Duration, threshold: u32, failures: u32) -> Duration {
    if failures < threshold {
        return Duration::ZERO;
    }
    base.saturating_mul(2u32.saturating_pow(failures.min(30)))
        .mul_f64(1.5)
        .min(max)
}

/// Records an attempt; with `failed_host`, also counts a host failure (circuit breaker).
async fn record(
    fed: &Arc<Federation>,
    id: i64,
    outcome: AttemptOutcome,
    status: Option<u16>,
    error: Option<String>,
    failed_host: Option<String>,
) {
    let fed2 = fed.clone();
    let now = fed.now_ms();
    let result = tokio::task::spawn_blocking(move || {
        fed2.node.store().write(|tx| {
            if let Some(host) = &failed_host {
                let threshold = fed2.settings.breaker_threshold.max(1);
                let base = fed2.settings.retry_base;
                let max = fed2.settings.breaker_max_pause;
                store::host_failed(
                    tx,
                    host,
                    error.as_deref().unwrap_or("failed"),
                    now,
                    |failures| millis(host_pause(base, max, threshold, failures)),
                )?;
            }
            store::record_attempt(tx, id, &outcome, status, error.as_deref(), now)
        })
    })
    .await;
    if let Ok(Err(e)) = result {
        tracing::error!(error = %e, delivery = id, "cannot record a delivery attempt");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_exponentially_with_jitter_and_a_cap() {
        let base = Duration::from_secs(30);
        let max = Duration::from_secs(6 * 3600);
        for attempts in 0..40 {
            let d = backoff(base, max, attempts);
            let nominal = base
                .saturating_mul(2u32.saturating_pow(attempts.min(30)))
                .min(max);
            assert!(d <= max, "attempt {attempts}: {d:?} above the cap");
            assert!(
                d >= nominal.mul_f64(0.5).min(max),
                "attempt {attempts}: {d:?} below half of {nominal:?}"
            );
        }
        assert!(backoff(base, max, 0) < Duration::from_secs(46));
    }

    #[test]
    fn a_host_pause_is_never_shorter_than_the_retry_it_holds_back() {
        let base = Duration::from_secs(30);
        let (retry_max, pause_max) = (Duration::from_secs(6 * 3600), Duration::from_secs(6 * 3600));
        for failures in 0..5 {
            assert_eq!(host_pause(base, pause_max, 5, failures), Duration::ZERO);
        }
        for failures in 5..40 {
            let pause = host_pause(base, pause_max, 5, failures);
            for _ in 0..50 {
                assert!(
                    backoff(base, retry_max, failures) <= pause,
                    "{failures} failures"
                );
            }
        }
    }
}
