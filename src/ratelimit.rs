//! Rate limits in cost points per window, per API token and per client address, as GitHub's
//! API counts them: each request spends what it costs, and the allowance refills steadily over
//! the window, so a client that stays under it is never refused and one that bursts past it is
//! told exactly when to come back.
//!
//! The accounting is the generic cell rate algorithm (GCRA): each client has a theoretical
//! arrival time (`tat`) that every point spent pushes one refill interval later; a request is
//! let through while that stays within one window of now. It is kept here rather than in the
//! `governor` crate because part of a request's cost is only known after it ran (the bytes of
//! text it read): that part is charged afterwards as a debt, which governor cannot record.
//!
//! Knows nothing of HTTP or GraphQL: callers say who the client is and what a request costs.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use crate::budget::points_for_bytes;

/// Who a request is charged to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Client {
    /// An authenticated API token (its id).
    Token(uuid::Uuid),
    /// Everyone else, by address. IPv6 clients are counted per /64, the block one host is
    /// usually given, so that rotating addresses within it buys nothing.
    Address(IpAddr),
}

impl Client {
    pub fn address(address: IpAddr) -> Self {
        match address {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Client::Address(IpAddr::V4(v4)),
                None => {
                    let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                    Client::Address(IpAddr::V6(prefix.into()))
                }
            },
            v4 => Client::Address(v4),
        }
    }
}

/// What a client pays for, in cost points: the one price list of every surface. Up-front
/// charges are refused when the client has not the points left; a debt — what is learnt only
/// after the work was done — is charged even past the allowance, and the client then waits
/// until it is paid off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charge {
    /// Being let in: a point, and a point per KiB of the request as it arrived.
    Admission { bytes: u64 },
    /// What a request (a GraphQL document; each event of a subscription) was measured to
    /// cost before it ran.
    Measured(u64),
    /// A plain route (a page, a text, a citation export): a fixed price.
    PlainRoute,
    /// A kept answer replayed: what running it was charged up front.
    Replayed(u64),
    /// Debt: what a request spent while running past what it was measured to cost.
    Overrun(u64),
    /// Debt: the bytes a plain route sent back, a point per KiB.
    Sent { bytes: u64 },
}

/// What a plain route costs up front.
const PLAIN_ROUTE_POINTS: u64 = 10;

impl Charge {
    /// Its price in points.
    pub fn points(self) -> u64 {
        match self {
            Charge::Admission { bytes } => 1 + points_for_bytes(bytes),
            Charge::Measured(points) | Charge::Replayed(points) | Charge::Overrun(points) => points,
            Charge::PlainRoute => PLAIN_ROUTE_POINTS,
            Charge::Sent { bytes } => points_for_bytes(bytes),
        }
    }

    /// Whether it is owed for work already done, and so never refused.
    pub fn is_debt(self) -> bool {
        matches!(self, Charge::Overrun(_) | Charge::Sent { .. })
    }
}

/// Points per window for each kind of client; 0 turns that limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitSettings {
    pub anonymous_points: u32,
    pub token_points: u32,
    pub window: Duration,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self { anonymous_points: 100_000, token_points: 500_000, window: Duration::from_secs(60) }
    }
}

/// Where a client stands after a request was charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitStatus {
    /// What the request cost.
    pub cost: u64,
    /// The client's points per window.
    pub limit: u64,
    /// What is left to spend now.
    pub remaining: u64,
    /// When the allowance will be whole again.
    pub reset_at: SystemTime,
}

/// A request refused for want of points; nothing was charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimited {
    pub cost: u64,
    pub limit: u64,
    /// How long until the request's cost is available.
    pub retry_after: Duration,
    pub reset_at: SystemTime,
}

impl RateLimited {
    /// `retry_after` in whole seconds, rounded up, at least one: what `Retry-After` says.
    pub fn retry_after_secs(&self) -> u64 {
        (self.retry_after.as_secs_f64().ceil() as u64).max(1)
    }
}

/// Shards of the per-client state, so that concurrent requests rarely wait on one lock.
const SHARDS: usize = 16;
/// Clients whose allowance is whole again are forgotten every this many charges.
const SWEEP_EVERY: u64 = 4096;

/// One kind of client's allowance: `limit` points per window, refilled one point per
/// `interval`.
struct Bucket {
    limit: u32,
    interval: Duration,
    shards: Vec<Mutex<HashMap<Client, Instant>>>,
}

impl Bucket {
    fn new(limit: u32, window: Duration) -> Option<Self> {
        if limit == 0 {
            return None;
        }
        let interval = (window / limit).max(Duration::from_nanos(1));
        Some(Bucket {
            limit,
            interval,
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        })
    }

    /// The whole window: how far ahead of now a client's `tat` may run.
    fn tolerance(&self) -> Duration {
        self.interval * self.limit
    }

    fn shard(&self, client: &Client) -> &Mutex<HashMap<Client, Instant>> {
        &self.shards[(shard_hash(client) as usize) % SHARDS]
    }

    fn cost(&self, points: u64) -> Duration {
        self.interval.saturating_mul(u32::try_from(points).unwrap_or(u32::MAX))
    }

    /// Charges `points` if they fit in what is left (`checked`), or in any case (a debt).
    fn charge(
        &self,
        client: Client,
        points: u64,
        checked: bool,
    ) -> Result<RateLimitStatus, RateLimited> {
        let now = Instant::now();
        let wall = SystemTime::now();
        let limit = u64::from(self.limit);
        let tolerance = self.tolerance();
        let mut shard = self.shard(&client).lock().unwrap_or_else(|e| e.into_inner());
        let tat = shard.get(&client).copied().unwrap_or(now).max(now);
        let new_tat = tat + self.cost(points);
        let ahead = new_tat - now;
        if checked && ahead > tolerance {
            return Err(RateLimited {
                cost: points,
                limit,
                retry_after: ahead - tolerance,
                reset_at: wall + (tat - now),
            });
        }
        shard.insert(client, new_tat);
        // Points not yet refilled, a part-refilled one counted whole.
        let spent = ahead.as_nanos().div_ceil(self.interval.as_nanos().max(1)) as u64;
        Ok(RateLimitStatus {
            cost: points,
            limit,
            remaining: limit.saturating_sub(spent),
            reset_at: wall + ahead,
        })
    }

    /// Forgets clients whose allowance is whole again: they are indistinguishable from new ones.
    fn sweep(&self) {
        let now = Instant::now();
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(|e| e.into_inner());
            shard.retain(|_, tat| *tat > now);
            shard.shrink_to_fit();
        }
    }
}

/// A hash of a client, to pick its shard.
fn shard_hash(client: &Client) -> u64 {
    use std::hash::Hasher;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    client.hash(&mut hasher);
    hasher.finish()
}

pub struct RateLimiter {
    anonymous: Option<Bucket>,
    tokens: Option<Bucket>,
    charges: AtomicU64,
}

impl RateLimiter {
    pub fn new(settings: RateLimitSettings) -> Self {
        Self {
            anonymous: Bucket::new(settings.anonymous_points, settings.window),
            tokens: Bucket::new(settings.token_points, settings.window),
            charges: AtomicU64::new(0),
        }
    }

    fn bucket(&self, client: &Client) -> Option<&Bucket> {
        let bucket = match client {
            Client::Token(_) => self.tokens.as_ref()?,
            Client::Address(_) => self.anonymous.as_ref()?,
        };
        if self.charges.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            bucket.sweep();
        }
        Some(bucket)
    }

    /// Charges `charge` to `client`: the one place a client is charged. An up-front charge
    /// (at least a point) is refused, charging nothing, when the client has not that many
    /// points left; a debt is always charged (and `Ok`). `None` when no limit applies to this
    /// client, or for a debt of nothing.
    pub fn charge(
        &self,
        client: Client,
        charge: Charge,
    ) -> Option<Result<RateLimitStatus, RateLimited>> {
        let points = charge.points();
        if charge.is_debt() {
            if points == 0 {
                return None;
            }
            return Some(self.bucket(&client)?.charge(client, points, false));
        }
        Some(self.bucket(&client)?.charge(client, points.max(1), true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(points: u32) -> RateLimiter {
        RateLimiter::new(RateLimitSettings {
            anonymous_points: points,
            token_points: points * 10,
            window: Duration::from_secs(60),
        })
    }

    #[test]
    fn requests_spend_their_cost_until_the_window_is_spent() {
        let limiter = limiter(100);
        let client = Client::address("192.0.2.1".parse().unwrap());
        let status = limiter.charge(client, Charge::Measured(60)).unwrap().unwrap();
        assert_eq!((status.cost, status.limit, status.remaining), (60, 100, 40));
        let refused = limiter.charge(client, Charge::Measured(50)).unwrap().unwrap_err();
        // 10 more points refill in 10 × 0.6 s.
        assert!(refused.retry_after > Duration::from_secs(5), "{refused:?}");
        assert!(refused.retry_after <= Duration::from_secs(6), "{refused:?}");
        // The refusal charged nothing.
        assert_eq!(limiter.charge(client, Charge::Measured(40)).unwrap().unwrap().remaining, 0);
    }

    #[test]
    fn a_debt_charged_after_the_fact_is_paid_off_before_anything_else() {
        let limiter = limiter(100);
        let client = Client::address("192.0.2.9".parse().unwrap());
        limiter.charge(client, Charge::Measured(10)).unwrap().unwrap();
        limiter.charge(client, Charge::Overrun(150));
        let refused = limiter.charge(client, Charge::Measured(1)).unwrap().unwrap_err();
        // 160 points spent of 100: 61 must refill before one more fits, 0.6 s each.
        assert!(refused.retry_after > Duration::from_secs(36), "{refused:?}");
        assert!(refused.retry_after <= Duration::from_millis(36_600), "{refused:?}");
    }

    #[test]
    fn clients_are_counted_apart_and_tokens_have_their_own_allowance() {
        let limiter = limiter(100);
        let one = Client::address("192.0.2.1".parse().unwrap());
        let other = Client::address("192.0.2.2".parse().unwrap());
        limiter.charge(one, Charge::Measured(100)).unwrap().unwrap();
        assert!(limiter.charge(one, Charge::Measured(1)).unwrap().is_err());
        assert!(limiter.charge(other, Charge::Measured(100)).unwrap().is_ok());
        let token = Client::Token(uuid::Uuid::now_v7());
        assert_eq!(limiter.charge(token, Charge::Measured(500)).unwrap().unwrap().limit, 1000);
    }

    #[test]
    fn ipv6_hosts_are_counted_per_64_block() {
        let a = Client::address("2001:db8:1:2::1".parse().unwrap());
        let b = Client::address("2001:db8:1:2:ffff::9".parse().unwrap());
        let c = Client::address("2001:db8:1:3::1".parse().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, c);
        let mapped = Client::address("::ffff:192.0.2.1".parse().unwrap());
        assert_eq!(mapped, Client::address("192.0.2.1".parse().unwrap()));
    }

    #[test]
    fn a_zero_limit_turns_the_limit_off() {
        let limiter = RateLimiter::new(RateLimitSettings {
            anonymous_points: 0,
            token_points: 0,
            window: Duration::from_secs(60),
        });
        assert!(
            limiter
                .charge(Client::address("192.0.2.1".parse().unwrap()), Charge::Measured(10))
                .is_none()
        );
    }

    #[test]
    fn every_charge_has_its_price() {
        assert_eq!(Charge::Admission { bytes: 0 }.points(), 1);
        assert_eq!(Charge::Admission { bytes: 2048 }.points(), 3);
        assert_eq!(Charge::Sent { bytes: 1 }.points(), 1);
        assert_eq!(Charge::PlainRoute.points(), 10);
        assert!(Charge::Overrun(5).is_debt() && Charge::Sent { bytes: 5 }.is_debt());
        assert!(!Charge::Replayed(5).is_debt());
        // A debt of nothing charges nothing, and is no status to report.
        let limiter = limiter(100);
        let client = Client::address("192.0.2.9".parse().unwrap());
        assert!(limiter.charge(client, Charge::Overrun(0)).is_none());
        // A debt is charged past the allowance; the next up-front charge waits for it.
        assert!(limiter.charge(client, Charge::Overrun(500)).unwrap().is_ok());
        assert!(limiter.charge(client, Charge::PlainRoute).unwrap().is_err());
    }
}
