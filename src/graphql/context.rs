//! What resolvers read from the request's context: the store, the base URL for permanent
//! links, and the request's cost budget.

use std::sync::Arc;

use async_graphql::Context;

use super::BaseUrl;
use super::error::{ApiError, ApiResult, Limit, too_complex};
use super::limits::RequestCost;
use crate::budget::Budget;
use crate::store::Store;

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
    budget(ctx)?.draw_bytes(bytes).map_err(|over| {
        let refused = too_complex(Limit::Cost, over.max, over.needed);
        ApiError { message: format!("{what}: {}", refused.message), ..refused }
    })
}
