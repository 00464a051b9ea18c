//! What each request carries besides its query (the store, the base URL for permanent links,
//! where it came from, its cost meter), and how resolvers read it.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use async_graphql::Context;

use super::BaseUrl;
use super::error::{ApiError, ApiResult, over_budget};
use crate::budget::Budget;
use crate::ratelimit::{Client, RateLimitStatus};
use crate::store::Store;

/// Where the request came from, for the per-address rate limit.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub IpAddr);

/// The request came over a transport that only reads (GET): it may run no mutation. Holds the
/// operation name the request gave, which picks the operation that would run.
pub(crate) struct ReadOnly(pub Option<String>);

/// What one request has spent, and where its client stands with the rate limit.
#[derive(Debug)]
pub struct RequestCost {
    budget: Budget,
    /// The size of the request as it arrived, which its admission is charged by.
    request_bytes: u64,
    /// The part of the budget drawn before the query ran.
    static_cost: AtomicU64,
    rate_limit: OnceLock<RateLimitStatus>,
    /// Who pays: the token's agent or the client's address; none when no rate limit applies.
    client: OnceLock<Option<Client>>,
    /// Whether the document holds a mutation, once it is parsed.
    writes: AtomicBool,
    /// Whether the answer tells something of this request besides what the database holds
    /// (its rate limit), so that no other request may be given it.
    /// The operation was a mutation, and the transport only reads (GET).
    write_refused: AtomicBool,
}

impl RequestCost {
    pub fn new(max_cost: u64, request_bytes: u64) -> Self {
        Self {
            budget: Budget::new(max_cost),
            request_bytes,
            static_cost: AtomicU64::new(0),
            rate_limit: OnceLock::new(),
            client: OnceLock::new(),
            writes: AtomicBool::new(false),
            write_refused: AtomicBool::new(false),
        }
    }

    pub fn budget(&self) -> &Budget {
        &self.budget
    }

    pub fn request_bytes(&self) -> u64 {
        self.request_bytes
    }

    pub fn static_cost(&self) -> u64 {
        self.static_cost.load(Ordering::Relaxed)
    }

    pub(crate) fn set_static_cost(&self, cost: u64) {
        self.static_cost.store(cost, Ordering::Relaxed);
    }

    /// The client's standing after this request was charged before it ran; `None` when no
    /// rate limit applies or the request was refused. What the request spent while running is
    /// charged afterwards, and shows in the next one's.
    pub fn rate_limit(&self) -> Option<RateLimitStatus> {
        self.rate_limit.get().copied()
    }

    pub(crate) fn set_rate_limit(&self, status: RateLimitStatus) {
        let _ = self.rate_limit.set(status);
    }

    /// Who the request is charged to, once the limits decided it.
    pub fn client(&self) -> Option<Client> {
        self.client.get().copied().flatten()
    }

    pub(crate) fn set_client(&self, client: Option<Client>) {
        let _ = self.client.set(client);
    }

    /// What the request spent while running beyond its static cost, which is charged to the
    /// client's rate limit afterwards, as a debt.
    pub fn debt(&self) -> u64 {
        self.budget.spent().saturating_sub(self.static_cost())
    }

    /// Whether the request's document holds a mutation (false for one that did not parse).
    pub fn writes(&self) -> bool {
        self.writes.load(Ordering::Relaxed)
    }

    pub(crate) fn set_writes(&self, writes: bool) {
        self.writes.store(writes, Ordering::Relaxed);
    }

    /// Whether the request was refused for asking a transport that only reads to write.
    pub fn write_refused(&self) -> bool {
        self.write_refused.load(Ordering::Relaxed)
    }

    pub(crate) fn refuse_write(&self) {
        self.write_refused.store(true, Ordering::Relaxed);
    }
}

pub fn store<'a>(ctx: &'a Context<'_>) -> ApiResult<&'a Store> {
    ctx.data::<Store>().map_err(|_| {
        tracing::error!("schema without store");
        ApiError::internal()
    })
}

/// The base URL permanent links are built on.
pub fn base_url(ctx: &Context<'_>) -> ApiResult<String> {
    ctx.data::<BaseUrl>().map(|b| b.0.clone()).map_err(|_| {
        tracing::error!("request without a base URL");
        ApiError::internal()
    })
}

/// The running request's cost meter.
pub fn request_cost<'a>(ctx: &'a Context<'_>) -> ApiResult<&'a RequestCost> {
    ctx.data::<Arc<RequestCost>>().map(|cost| cost.as_ref()).map_err(|_| {
        tracing::error!("a request without its cost meter");
        ApiError::internal()
    })
}

/// The running request's budget, which fields that learn their cost while running draw on.
pub fn budget<'a>(ctx: &'a Context<'_>) -> ApiResult<&'a Budget> {
    Ok(request_cost(ctx)?.budget())
}

/// Draws what copying a text of `bytes` into the response costs.
pub fn draw_text(ctx: &Context<'_>, what: &str, bytes: u64) -> ApiResult<()> {
    budget(ctx)?.draw_bytes(bytes).map_err(|over| over_budget(what, over))
}
