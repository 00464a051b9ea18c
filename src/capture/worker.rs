//! The capture worker: claims due watches from the database and captures them, a few at once,
//! for as long as the process runs. It runs inside `serve`, or alone (`capture-worker`) for
//! deployments that keep fetching away from the API. Any number of workers may share one
//! database: a claim is a lease (`Store::claim_due_watches`), so each due watch is captured by
//! one of them. Inside `serve`, a worker gives way to the clients: after each stretch of
//! captures it rests in proportion to how busy serving kept the cores meanwhile
//! (`crate::foreground`), so captures take about their share (`--capture-share-when-busy`) of a
//! saturated machine and run at full speed on an idle one.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use super::run::{Capturer, ReadingHeld};
use crate::foreground::Foreground;
use crate::store::{StoreError, Timestamp, Watch};

/// The longest a worker sleeps between looks at the watches: a watch added or resumed is
/// captured within about this long.
const POLL: Duration = Duration::from_secs(1);
/// How long a worker waits after the database failed it before looking again.
const AFTER_FAILURE: Duration = Duration::from_secs(5);

/// Captures due watches until the task is dropped, giving way to the requests `foreground`
/// counts (a worker of its own process passes one that counts none).
pub async fn run(capturer: Arc<Capturer>, foreground: Foreground) {
    loop {
        match drain(&capturer, &foreground).await {
            Ok(0) => tokio::time::sleep(POLL).await,
            Ok(_) => {}
            Err(err) => {
                tracing::warn!(error = %err, "the capture worker could not claim watches");
                tokio::time::sleep(AFTER_FAILURE).await;
            }
        }
    }
}

/// Captures the due watches until none is due and none is in flight; how many it captured.
/// Up to `concurrency` captures fetch and read pages at once (the capturer holds them to it),
/// and as many more wait to be written or to start: another `concurrency` are claimed once
/// no more than that are in flight and all claimed have started. So the next pages are fetched
/// and read while those before are written (one writer at a time, on SQLite), with one claim
/// (a write) for every `concurrency` captures. After every `concurrency` captures it rests, if
/// serving kept the cores busy meanwhile: those reading end meanwhile, and neither those
/// waiting for a place nor any other starts until the rest is over.
pub async fn drain(capturer: &Capturer, foreground: &Foreground) -> Result<usize, StoreError> {
    let settings = capturer.settings();
    let concurrency = settings.concurrency.max(1);
    let flight = 2 * concurrency;
    // Claimed a worker's worth at a time (a claim is a write), started as places free up.
    let mut claimed = VecDeque::new();
    let mut in_flight = FuturesUnordered::new();
    let mut captured = 0;
    let mut due = true;
    let mut failure = None;
    let mut stretch = foreground.mark();
    let mut ended = 0;
    let mut rest: Option<Rest> = None;
    loop {
        if let Some(Rest { until, .. }) = rest
            && Instant::now() >= until
        {
            rest = None;
            stretch = foreground.mark();
        }
        if due && rest.is_none() && claimed.is_empty() && in_flight.len() <= concurrency {
            match capturer
                .store()
                .claim_due_watches(Timestamp::now(), settings.lease, concurrency as u64)
                .await
            {
                Ok(watches) => {
                    // Fewer than asked for: all that is due now is claimed.
                    due = watches.len() == concurrency;
                    claimed.extend(watches);
                }
                Err(err) => {
                    due = false;
                    failure = Some(err);
                }
            }
        }
        while rest.is_none()
            && in_flight.len() < flight
            && let Some(watch) = claimed.pop_front()
        {
            in_flight.push(capture(capturer, watch));
        }
        if in_flight.is_empty() {
            // Rested out here (those claimed wait for it), and so that a caller that drains
            // again at once rests too.
            if let Some(Rest { until, .. }) = rest {
                tokio::time::sleep_until(until.into()).await;
                continue;
            }
            // A claim that failed after others captured is claimed again by the caller's
            // next drain, which reports the failure if it lasts.
            return match failure {
                Some(err) if captured == 0 => Err(err),
                _ => Ok(captured),
            };
        }
        if let Some(Rest { until, .. }) = rest {
            // Those held back end only after the rest.
            tokio::select! {
                _ = in_flight.next() => {}
                () = tokio::time::sleep_until(until.into()) => continue,
            }
        } else {
            in_flight.next().await;
        }
        captured += 1;
        ended += 1;
        if ended >= concurrency && rest.is_none() {
            ended = 0;
            let pause = foreground.pause_after(&stretch, settings.share_when_busy);
            if pause.is_zero() {
                stretch = foreground.mark();
            } else {
                tracing::debug!(?pause, "the capture worker gives way to requests");
                rest = Some(Rest { until: Instant::now() + pause, _held: capturer.hold_reading() });
            }
        }
    }
}

/// A worker's rest: until when, holding captures from starting to read meanwhile.
struct Rest<'a> {
    until: Instant,
    _held: ReadingHeld<'a>,
}

/// One capture, its outcome logged. A failure to record is logged; the lease runs out and
/// the watch is tried again.
async fn capture(capturer: &Capturer, watch: Watch) {
    match capturer.capture_watch(&watch).await {
        Ok(Some(recorded)) => tracing::info!(
            watch = %watch.id,
            outcome = %recorded.capture.outcome,
            url = %watch.url,
            "captured"
        ),
        Ok(None) => tracing::debug!(watch = %watch.id, "deferred: its host is busy"),
        Err(err) => tracing::warn!(watch = %watch.id, error = %err, "capture failed"),
    }
}
