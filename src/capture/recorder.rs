//! Group commit for captures. Each capture's outcome is one store write, and on a busy worker
//! many finish at once: written one transaction each, they queue for the writer (on SQLite,
//! one at a time) and pay for a transaction each. The recorder takes every report waiting
//! when the last group ended and writes them in one transaction (`Store::record_captures`),
//! each alone, so one that fails does not take the others with it.

use tokio::sync::{mpsc, oneshot};

use crate::store::{Actor, CaptureRecorded, CaptureReport, Store, StoreError, StoreResult};

/// The most reports written in one transaction.
const MAX_GROUP: usize = 64;

type Job = (CaptureReport, Actor, oneshot::Sender<StoreResult<CaptureRecorded>>);

/// Hands reports to the task that writes them; the task ends when the recorder is dropped.
pub(super) struct Recorder {
    jobs: mpsc::Sender<Job>,
}

impl Recorder {
    pub(super) fn start(store: Store) -> Self {
        let (jobs, mut waiting) = mpsc::channel::<Job>(MAX_GROUP * 4);
        tokio::spawn(async move {
            while let Some(first) = waiting.recv().await {
                let mut group = vec![first];
                while group.len() < MAX_GROUP {
                    match waiting.try_recv() {
                        Ok(job) => group.push(job),
                        Err(_) => break,
                    }
                }
                let (reports, replies): (Vec<_>, Vec<_>) = group
                    .into_iter()
                    .map(|(report, actor, reply)| ((report, actor), reply))
                    .unzip();
                match store.record_captures(reports).await {
                    Ok(recorded) => {
                        for (reply, result) in replies.into_iter().zip(recorded) {
                            let _ = reply.send(result);
                        }
                    }
                    Err(err) => {
                        for reply in replies {
                            let _ = reply.send(Err(copy_of(&err)));
                        }
                    }
                }
            }
        });
        Self { jobs }
    }

    /// Records `report` with the next group, and answers as `Store::record_capture` would.
    pub(super) async fn record(
        &self,
        report: CaptureReport,
        actor: Actor,
    ) -> StoreResult<CaptureRecorded> {
        let (reply, answer) = oneshot::channel();
        let stopped = || StoreError::Unexpected(anyhow::anyhow!("the capture recorder stopped"));
        self.jobs.send((report, actor, reply)).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

/// The error a whole group failed with, for each of its captures: a store that is unavailable
/// is so for each of them, with the same wait.
fn copy_of(err: &StoreError) -> StoreError {
    match err {
        StoreError::Unavailable { retry_after, cause } => StoreError::Unavailable {
            retry_after: *retry_after,
            cause: anyhow::anyhow!("{cause:#}"),
        },
        other => StoreError::Unexpected(anyhow::anyhow!("{other}")),
    }
}
