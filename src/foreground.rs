//! How busy the server is serving its clients, so that background work (captures) gives way.
//!
//! Every request adds the time it took when it is answered; background work marks where a
//! stretch of its own work began and, when it ends, asks how many requests were being served
//! on average meanwhile. It then waits in proportion, as PostgreSQL's autovacuum waits by its
//! cost delay: on an idle server it runs at full speed, and with every core busy serving it
//! takes no more than its share of the time. The machine's CPU is what both spend, and a read
//! that waits behind a capture is what the clients would notice.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The requests being served, as the time they took. Clones share it.
#[derive(Debug, Clone, Default)]
pub struct Foreground {
    busy_nanos: Arc<AtomicU64>,
}

/// Where a stretch of background work began.
#[derive(Debug, Clone, Copy)]
pub struct Mark {
    at: Instant,
    busy_nanos: u64,
}

impl Foreground {
    /// A request was answered after `took`.
    pub fn served(&self, took: Duration) {
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.busy_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    pub fn mark(&self) -> Mark {
        Mark { at: Instant::now(), busy_nanos: self.busy_nanos.load(Ordering::Relaxed) }
    }

    /// How long background work that began at `mark` waits now, to take no more than `share`
    /// (0 to 1) of the time while every core was busy serving.
    pub fn pause_after(&self, mark: &Mark, share: f64) -> Duration {
        let worked = mark.at.elapsed();
        let busy = self.busy_nanos.load(Ordering::Relaxed).saturating_sub(mark.busy_nanos);
        pause(worked, Duration::from_nanos(busy), cores(), share)
    }
}

fn cores() -> f64 {
    std::thread::available_parallelism().map_or(1, |n| n.get()) as f64
}

/// The longest one pause: a burst of long requests (a large export streams for minutes) must
/// not stop captures for longer.
const MAX_PAUSE: Duration = Duration::from_secs(10);

/// The pause after `worked` of background work while requests took `busy` in all, on `cores`
/// cores. The load (requests served at once per core, at most 1) counts squared: a server
/// that serves a little has cores to spare and captures barely slow, while one whose cores
/// are all taken gives background work only its share.
fn pause(worked: Duration, busy: Duration, cores: f64, share: f64) -> Duration {
    if worked.is_zero() || share >= 1.0 {
        return Duration::ZERO;
    }
    let share = share.max(0.01);
    let load = (busy.as_secs_f64() / worked.as_secs_f64() / cores).min(1.0);
    worked.mul_f64(load * load * (1.0 / share - 1.0)).min(MAX_PAUSE)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn an_idle_server_does_not_slow_background_work() {
        assert_eq!(pause(100 * MS, Duration::ZERO, 2.0, 0.1), Duration::ZERO);
    }

    #[test]
    fn a_busy_server_leaves_background_work_its_share() {
        // 32 requests at once on 2 cores: saturated, so 100 ms of work then 900 ms of rest.
        assert_eq!(pause(100 * MS, 3200 * MS, 2.0, 0.1), 900 * MS);
        assert_eq!(pause(100 * MS, 3200 * MS, 2.0, 0.5), 100 * MS);
    }

    #[test]
    fn a_lightly_loaded_server_slows_background_work_a_little() {
        // A tenth of the cores serving: 9 % of the saturated pause.
        let light = pause(100 * MS, 20 * MS, 2.0, 0.1);
        assert!(light > Duration::ZERO && light < 10 * MS, "{light:?}");
    }

    #[test]
    fn a_share_of_all_never_pauses_and_no_pause_is_endless() {
        assert_eq!(pause(100 * MS, 3200 * MS, 2.0, 1.0), Duration::ZERO);
        assert_eq!(pause(Duration::from_secs(60), Duration::from_secs(6000), 2.0, 0.1), MAX_PAUSE);
    }

    #[test]
    fn served_requests_count_from_the_mark_on() {
        let foreground = Foreground::default();
        foreground.served(Duration::from_secs(100));
        let mark = foreground.mark();
        assert_eq!(foreground.pause_after(&mark, 0.1), Duration::ZERO);
        std::thread::sleep(MS);
        foreground.served(Duration::from_secs(100));
        // Saturated since the mark: nine times the work done since, and the work was short.
        let pause = foreground.pause_after(&mark, 0.1);
        assert!(pause >= 9 * MS && pause < MAX_PAUSE, "{pause:?}");
    }
}
