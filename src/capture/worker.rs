//! The capture worker: claims due watches from the database and captures them, a few at once,
//! for as long as the process runs. It runs inside `serve`, or alone (`capture-worker`) for
//! deployments that keep fetching away from the API. Any number of workers may share one
//! database: a claim is a lease (`Store::claim_due_watches`), so each due watch is captured by
//! one of them.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;

use super::run::Capturer;
use crate::store::Timestamp;

/// The longest a worker sleeps between looks at the watches: a watch added or resumed is
/// captured within about this long.
const POLL: Duration = Duration::from_secs(1);
/// How long a worker waits after the database failed it before looking again.
const AFTER_FAILURE: Duration = Duration::from_secs(5);

/// Captures due watches until the task is dropped.
pub async fn run(capturer: Arc<Capturer>) {
    loop {
        match round(&capturer).await {
            Ok(0) => tokio::time::sleep(POLL).await,
            Ok(_) => {}
            Err(err) => {
                tracing::warn!(error = %err, "the capture worker could not claim watches");
                tokio::time::sleep(AFTER_FAILURE).await;
            }
        }
    }
}

/// One claim and its captures; how many watches it captured.
pub async fn round(capturer: &Capturer) -> Result<usize, crate::store::StoreError> {
    let settings = capturer.settings();
    let claimed = capturer
        .store()
        .claim_due_watches(Timestamp::now(), settings.lease, settings.concurrency as u64)
        .await?;
    let count = claimed.len();
    futures_util::stream::iter(claimed)
        .for_each_concurrent(settings.concurrency, |watch| async move {
            // A failure to record is logged; the lease runs out and the watch is tried again.
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
        })
        .await;
    Ok(count)
}
