//! A request's allowance of work, in cost points, drawn down before each cost is paid.
//!
//! The GraphQL layer opens one per request with the cost limit, draws the query's static cost
//! before it runs, and hands it to whatever learns a size only while running: a revision's
//! text is drawn by its stored size before it is copied into a response, a diff or a blame by
//! the size of the texts it would read, before they are read. Nothing here knows of GraphQL.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What one point buys of text: a KiB read, copied or compared.
pub const BYTES_PER_POINT: u64 = 1024;

/// The points a text of `bytes` bytes costs: a KiB or part of one is a point.
pub fn points_for_bytes(bytes: u64) -> u64 {
    bytes.div_ceil(BYTES_PER_POINT)
}

/// A draw the allowance cannot cover: `needed` is what would have been spent in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the request would cost {needed} points; the limit is {max}")]
pub struct OverBudget {
    pub max: u64,
    pub needed: u64,
}

/// An allowance of `max` points. Draws are atomic, so concurrent resolvers of one request
/// never overspend it together. It also holds when the request's CPU-heavy work (diffs,
/// blame) must be done by: that time is for all of it together, however many there are.
#[derive(Debug)]
pub struct Budget {
    max: u64,
    spent: AtomicU64,
    compute_deadline: Mutex<Option<Instant>>,
}

impl Budget {
    pub fn new(max: u64) -> Self {
        Self { max, spent: AtomicU64::new(0), compute_deadline: Mutex::new(None) }
    }

    /// When the CPU-heavy work drawn on this allowance must be done: `time` after the first
    /// piece of it asked, for that one and every one after. So several diffs or blames in one
    /// request share one time limit instead of each having its own.
    pub fn compute_deadline(&self, time: Duration) -> Instant {
        let mut deadline = self.compute_deadline.lock().unwrap_or_else(|e| e.into_inner());
        *deadline.get_or_insert_with(|| Instant::now() + time)
    }

    /// An allowance without a limit, for work the operator runs (the CLI).
    pub fn unlimited() -> Self {
        Self::new(u64::MAX)
    }

    pub fn max(&self) -> u64 {
        self.max
    }

    pub fn spent(&self) -> u64 {
        self.spent.load(Ordering::Relaxed)
    }

    /// Spends `points`, or nothing if they would take the total past the limit.
    pub fn draw(&self, points: u64) -> Result<(), OverBudget> {
        let mut spent = self.spent.load(Ordering::Relaxed);
        loop {
            let needed = spent.saturating_add(points);
            if needed > self.max {
                return Err(OverBudget { max: self.max, needed });
            }
            match self.spent.compare_exchange_weak(
                spent,
                needed,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(()),
                Err(current) => spent = current,
            }
        }
    }

    /// Starts over with `spent` points spent: for work that runs again under the same
    /// allowance (each event of a subscription).
    pub fn restart(&self, spent: u64) {
        self.spent.store(spent, Ordering::Relaxed);
        *self.compute_deadline.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Spends what reading or copying `bytes` of text costs.
    pub fn draw_bytes(&self, bytes: u64) -> Result<(), OverBudget> {
        self.draw(points_for_bytes(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_past_the_limit_spend_nothing_and_say_by_how_much() {
        let budget = Budget::new(10);
        budget.draw(4).unwrap();
        assert_eq!(budget.draw(7), Err(OverBudget { max: 10, needed: 11 }));
        assert_eq!(budget.spent(), 4);
        budget.draw_bytes(6 * 1024).unwrap();
        assert_eq!(budget.draw_bytes(1), Err(OverBudget { max: 10, needed: 11 }));
        assert_eq!(points_for_bytes(0), 0);
        assert_eq!(points_for_bytes(1025), 2);
    }

    #[test]
    fn heavy_work_shares_one_deadline_until_the_budget_starts_over() {
        let budget = Budget::new(10);
        let first = budget.compute_deadline(Duration::from_secs(2));
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(budget.compute_deadline(Duration::from_secs(2)), first);
        budget.restart(0);
        assert!(budget.compute_deadline(Duration::from_secs(2)) > first);
    }

    #[test]
    fn concurrent_draws_never_overspend() {
        let budget = std::sync::Arc::new(Budget::new(1000));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let budget = budget.clone();
                std::thread::spawn(move || (0..500).filter(|_| budget.draw(1).is_ok()).count())
            })
            .collect();
        let granted: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(granted, 1000);
        assert_eq!(budget.spent(), 1000);
    }
}
