//! Rate limits in cost points per window, per API token and per client address, as GitHub's
//! API counts them: each request spends what it costs, and the allowance refills steadily over
//! the window (GCRA, from the `governor` crate), so a client that stays under it is never
//! refused and one that bursts past it is told exactly when to come back.
//!
//! Knows nothing of HTTP or GraphQL: callers say who the client is and what a request costs.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter as Gcra};

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

type Limiter<K> = Gcra<K, DefaultKeyedStateStore<K>, DefaultClock, StateInformationMiddleware>;

struct Class {
    limiter: Limiter<Client>,
    limit: u32,
    quota: Quota,
}

pub struct RateLimiter {
    anonymous: Option<Class>,
    tokens: Option<Class>,
    charges: AtomicU64,
}

/// Forgotten clients are swept out of memory every this many charges.
const SWEEP_EVERY: u64 = 4096;

impl RateLimiter {
    pub fn new(settings: RateLimitSettings) -> Self {
        let class = |points: u32| {
            let limit = NonZeroU32::new(points)?;
            let period = settings.window / points;
            let quota = Quota::with_period(period.max(Duration::from_nanos(1)))?.allow_burst(limit);
            Some(Class {
                limiter: Gcra::dashmap(quota).with_middleware::<StateInformationMiddleware>(),
                limit: points,
                quota,
            })
        };
        Self {
            anonymous: class(settings.anonymous_points),
            tokens: class(settings.token_points),
            charges: AtomicU64::new(0),
        }
    }

    /// Charges `cost` points to `client`, or refuses the request (charging nothing) when the
    /// client has not that many left. `None` when no limit applies to this client.
    pub fn charge(
        &self,
        client: Client,
        cost: u64,
    ) -> Option<Result<RateLimitStatus, RateLimited>> {
        let class = match client {
            Client::Token(_) => self.tokens.as_ref()?,
            Client::Address(_) => self.anonymous.as_ref()?,
        };
        if self.charges.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            class.limiter.retain_recent();
            class.limiter.shrink_to_fit();
        }
        let limit = u64::from(class.limit);
        let interval = class.quota.replenish_interval();
        let now = SystemTime::now();
        let refused = |retry_after: Duration| RateLimited {
            cost,
            limit,
            retry_after,
            reset_at: now + interval * class.limit,
        };
        // A request may cost nothing (an empty selection) and still be counted as one.
        let cells = NonZeroU32::new(u32::try_from(cost.max(1)).unwrap_or(u32::MAX))
            .unwrap_or(NonZeroU32::MIN);
        Some(match class.limiter.check_key_n(&client, cells) {
            // More than a whole window holds: it could never be served.
            Err(_) => Err(refused(class.quota.burst_size_replenished_in())),
            Ok(Err(not_until)) => {
                Err(refused(not_until.wait_time_from(class.limiter.clock().now())))
            }
            Ok(Ok(snapshot)) => {
                let remaining = snapshot.remaining_burst_capacity();
                Ok(RateLimitStatus {
                    cost,
                    limit,
                    remaining: u64::from(remaining),
                    reset_at: now + interval * (class.limit - remaining.min(class.limit)),
                })
            }
        })
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
        let status = limiter.charge(client, 60).unwrap().unwrap();
        assert_eq!((status.cost, status.limit, status.remaining), (60, 100, 40));
        let refused = limiter.charge(client, 50).unwrap().unwrap_err();
        // 10 more points refill in 10 × 0.6 s.
        assert!(refused.retry_after > Duration::from_secs(5), "{refused:?}");
        assert!(refused.retry_after <= Duration::from_secs(6), "{refused:?}");
        // The refusal charged nothing.
        assert_eq!(limiter.charge(client, 40).unwrap().unwrap().remaining, 0);
    }

    #[test]
    fn clients_are_counted_apart_and_tokens_have_their_own_allowance() {
        let limiter = limiter(100);
        let one = Client::address("192.0.2.1".parse().unwrap());
        let other = Client::address("192.0.2.2".parse().unwrap());
        limiter.charge(one, 100).unwrap().unwrap();
        assert!(limiter.charge(one, 1).unwrap().is_err());
        assert!(limiter.charge(other, 100).unwrap().is_ok());
        let token = Client::Token(uuid::Uuid::now_v7());
        assert_eq!(limiter.charge(token, 500).unwrap().unwrap().limit, 1000);
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
        assert!(limiter.charge(Client::address("192.0.2.1".parse().unwrap()), 10).is_none());
    }
}
