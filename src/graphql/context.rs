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
use crate::store::{ReadRoute, Store};

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

/// Where a request's reads go when its document holds only queries: the transport picks a
/// database (`Store::route_read`), and parsing decides whether the request may use it.
pub struct ReadChoice {
    route: ReadRoute,
    /// Set once the document is parsed: `true` when every operation in it only reads.
    reads_only: OnceLock<bool>,
}

impl std::fmt::Debug for ReadChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadChoice")
            .field("staleness", &self.route.staleness)
            .field("reads_only", &self.reads_only.get())
            .finish_non_exhaustive()
    }
}

impl ReadChoice {
    pub fn new(route: ReadRoute) -> Self {
        Self { route, reads_only: OnceLock::new() }
    }

    pub(crate) fn decide(&self, reads_only: bool) {
        let _ = self.reads_only.set(reads_only);
    }

    /// The store reads run on, once the document is known to only read.
    pub(crate) fn reading(&self) -> Option<&Store> {
        (self.reads_only.get() == Some(&true)).then_some(&self.route.store)
    }

    /// How old the answer may be: `Some` when it was read from a replica.
    pub fn staleness(&self) -> Option<std::time::Duration> {
        self.reading().and(self.route.staleness)
    }

    /// The store the transport chose for reads, before parsing decides whether it is used:
    /// what the response cache's marker is read from.
    pub fn route_store(&self) -> &Store {
        &self.route.store
    }

    /// How old an answer read on the chosen store may be.
    pub fn route_staleness(&self) -> Option<std::time::Duration> {
        self.route.staleness
    }

    /// The route the transport chose.
    pub fn route(&self) -> &ReadRoute {
        &self.route
    }

    /// The request's document holds a mutation (its answer hands out a consistency token).
    pub fn wrote(&self) -> bool {
        self.reads_only.get() == Some(&false)
    }
}

/// The store this request reads from: a replica's, when the transport chose one and the
/// request only reads; the primary's otherwise.
pub fn store<'a>(ctx: &'a Context<'_>) -> ApiResult<&'a Store> {
    if let Ok(choice) = ctx.data::<Arc<ReadChoice>>()
        && let Some(store) = choice.reading()
    {
        return Ok(store);
    }
    primary_store(ctx)
}

/// The primary's store, whatever the request: for what must not be read stale (the caller's
/// token and memberships).
pub fn primary_store<'a>(ctx: &'a Context<'_>) -> ApiResult<&'a Store> {
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
