//! The events of a subscription, each paid for as a query of its own: before an event is
//! resolved its static cost is charged to the client's rate limit again (a client that cannot
//! pay is told `RATE_LIMITED` and the subscription ends), the budget starts over, and a slot
//! of the process's `EventGate` is taken; once it was resolved, what it drew beyond its
//! static cost is charged as a debt and the slot given back. So a crowd of subscribers pays
//! for every event it receives, and resolves a few events at a time while requests keep the
//! rest of the database pool.

use std::sync::Arc;

use async_graphql::Context;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::super::context::RequestCost;
use super::super::error::{ApiError, ApiResult};
use crate::ratelimit::{Charge, RateLimiter};

/// Events resolved at once in the process, of all subscriptions together.
pub const EVENT_SLOTS: usize = 4;

/// The slots events are resolved in (schema data).
#[derive(Clone)]
pub struct EventGate(Arc<Semaphore>);

impl EventGate {
    pub fn new(slots: usize) -> Self {
        EventGate(Arc::new(Semaphore::new(slots.max(1))))
    }
}

impl Default for EventGate {
    fn default() -> Self {
        Self::new(EVENT_SLOTS)
    }
}

/// One subscription's account of its events.
pub struct EventMeter {
    cost: Arc<RequestCost>,
    limiter: Option<Arc<RateLimiter>>,
    gate: EventGate,
    /// The slot of the event being resolved.
    running: Option<OwnedSemaphorePermit>,
}

impl EventMeter {
    pub fn of(ctx: &Context<'_>) -> ApiResult<Self> {
        let cost = ctx.data::<Arc<RequestCost>>().map_err(|_| missing("its cost meter"))?;
        let gate = ctx.data::<EventGate>().map_err(|_| missing("the event gate"))?;
        Ok(EventMeter {
            cost: cost.clone(),
            limiter: ctx.data_opt::<Arc<RateLimiter>>().cloned(),
            gate: gate.clone(),
            running: None,
        })
    }

    /// Before an event is resolved: the last one settled, the budget back at the static cost,
    /// that cost charged to the client's rate limit, and a slot taken.
    pub async fn start(&mut self) -> ApiResult<()> {
        self.settle();
        let static_cost = self.cost.static_cost();
        self.cost.budget().restart(static_cost);
        if let (Some(limiter), Some(client)) = (&self.limiter, self.cost.client())
            && let Some(Err(refused)) = limiter.charge(client, Charge::Measured(static_cost))
        {
            return Err(super::rate_limited(&refused));
        }
        let slot = self.gate.0.clone().acquire_owned().await.map_err(|_| missing("a gate"))?;
        self.running = Some(slot);
        Ok(())
    }

    /// After an event was resolved: what it drew beyond its static cost is charged as a
    /// debt, and its slot is given back. Nothing when no event is running.
    pub fn settle(&mut self) {
        if self.running.take().is_none() {
            return;
        }
        if let (Some(limiter), Some(client)) = (&self.limiter, self.cost.client()) {
            limiter.charge(client, Charge::Overrun(self.cost.debt()));
        }
    }
}

impl Drop for EventMeter {
    fn drop(&mut self) {
        self.settle();
    }
}

fn missing(what: &str) -> ApiError {
    tracing::error!("a subscription without {what}");
    ApiError::internal()
}
