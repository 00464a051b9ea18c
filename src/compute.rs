//! CPU-heavy work (diffs, blame, quotation checks) runs here: on tokio's blocking pool, never on
//! the threads that serve requests, and at most `permits` at a time, so that a burst of heavy
//! requests queues behind itself while plain reads stay served. A task that cannot start within
//! `max_wait` is refused as busy rather than left to hang its client.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

/// The pool is saturated: retry after the given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the server is busy with other heavy work; retry in {}s", retry_after.as_secs())]
pub struct Busy {
    pub retry_after: Duration,
}

#[derive(Clone)]
pub struct Compute {
    permits: Arc<Semaphore>,
    max_wait: Duration,
}

impl Compute {
    pub fn new(permits: usize, max_wait: Duration) -> Self {
        Self { permits: Arc::new(Semaphore::new(permits.max(1))), max_wait }
    }

    /// One task at a time per core but one, leaving a core for serving requests.
    pub fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::new(cores.saturating_sub(1).max(1), Duration::from_secs(5))
    }

    /// One task at a time per core, for a process that serves no requests (a capture
    /// worker): its heavy work has every core to itself.
    pub fn every_core() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::new(cores, Duration::from_secs(5))
    }

    /// Runs `work` on the blocking pool once a permit is free. The permit is held until the
    /// work ends, even if the caller stops waiting for it.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ComputeError> {
        let permit = tokio::time::timeout(self.max_wait, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| ComputeError::Busy(Busy { retry_after: self.max_wait }))?
            .map_err(|_| ComputeError::Failed("the heavy-work pool is closed".into()))?;
        Self::spawn(permit, work).await
    }

    /// Runs `work` as `run` does, waiting as long as it takes for a permit: for background
    /// work (captures), which has no client waiting on it and must not fail for being queued.
    pub async fn run_in_turn<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ComputeError> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ComputeError::Failed("the heavy-work pool is closed".into()))?;
        Self::spawn(permit, work).await
    }

    async fn spawn<T: Send + 'static>(
        permit: tokio::sync::OwnedSemaphorePermit,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ComputeError> {
        tokio::task::spawn_blocking(move || {
            let result = work();
            drop(permit);
            result
        })
        .await
        .map_err(|e| ComputeError::Failed(format!("a heavy task failed: {e}")))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ComputeError {
    #[error(transparent)]
    Busy(Busy),
    #[error("{0}")]
    Failed(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_past_the_permits_waits_then_is_refused_as_busy() {
        let compute = Compute::new(1, Duration::from_millis(50));
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let first = tokio::spawn({
            let compute = compute.clone();
            async move { compute.run(move || hold.recv().ok()).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let second = compute.run(|| 2).await;
        assert!(matches!(second, Err(ComputeError::Busy(_))), "{second:?}");
        release.send(()).unwrap();
        assert!(first.await.unwrap().is_ok());
        assert_eq!(compute.run(|| 3).await.unwrap(), 3);
    }
}
