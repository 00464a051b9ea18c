//! What a GraphQL request may cost, decided before it runs and enforced while it runs.
//!
//! Before the parser: the raw text's tokens and bracket nesting (`prescan`), so that no text
//! can make the parser recurse past its stack. Before validation: the parsed document's size
//! with every fragment expanded (`shape`), measured without expanding anything, so that no
//! fragment fan-out reaches validation or execution. After validation: the cost (each field's
//! weight, connections times their page size), which is then charged to the client's rate
//! limit. While running: fields whose cost depends on stored sizes (a text by its bytes, a
//! diff or blame by the texts it reads) draw on what is left of the request's `Budget` before
//! they pay it. Every refusal is `QUERY_TOO_COMPLEX` (or `RATE_LIMITED`) naming the limit, its
//! value and the request's.
//!
//! This is a schema extension, so every transport that executes the schema is held to it.

mod prescan;
mod shape;

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextValidation,
};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Response, ServerError, ServerResult, ValidationResult, Value, Variables};

use super::auth::RequestAuth;
use super::error::{ApiError, ErrorCode, Limit, too_complex};
use crate::budget::Budget;
use crate::ratelimit::{Client, RateLimitStatus, RateLimited, RateLimiter};
use crate::store::Store;

/// The limits a request is held to. Every one is a setting (see `config`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryLimits {
    /// Lexical tokens in the query text.
    pub max_tokens: u64,
    /// Nesting of `{`, `[` and `(` in the text, and of selection sets through fragments.
    pub max_nesting: u64,
    /// Nesting of fields.
    pub max_depth: u64,
    /// Field selections once fragments are expanded.
    pub max_fields: u64,
    pub max_aliases: u64,
    pub max_directives: u64,
    /// Nesting of lists and objects in argument values and variables.
    pub max_value_depth: u64,
    /// Cost points: the static cost plus what fields draw while running.
    pub max_cost: u64,
    /// Errors reported in one response; the rest are summed up in one more.
    pub max_errors: usize,
    /// The longest a request may run.
    pub deadline: Duration,
}

impl Default for QueryLimits {
    fn default() -> Self {
        Self {
            max_tokens: 10_000,
            max_nesting: 64,
            max_depth: 16,
            max_fields: 5_000,
            max_aliases: 100,
            max_directives: 50,
            max_value_depth: 16,
            max_cost: 20_000,
            max_errors: 50,
            deadline: Duration::from_secs(10),
        }
    }
}

/// What one request has spent, and where its client stands with the rate limit.
#[derive(Debug)]
pub struct RequestCost {
    budget: Budget,
    rate_limit: OnceLock<RateLimitStatus>,
}

impl RequestCost {
    pub fn new(max_cost: u64) -> Self {
        Self { budget: Budget::new(max_cost), rate_limit: OnceLock::new() }
    }

    pub fn budget(&self) -> &Budget {
        &self.budget
    }

    /// The client's standing after this request was charged; `None` when no rate limit
    /// applies or the request was refused before it was charged.
    pub fn rate_limit(&self) -> Option<RateLimitStatus> {
        self.rate_limit.get().copied()
    }
}

/// Where the request came from, for the per-address rate limit.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub IpAddr);

/// The schema extension that holds every request to `QueryLimits` and the rate limits.
pub struct Limits {
    limits: QueryLimits,
    rate_limiter: Arc<RateLimiter>,
}

impl Limits {
    pub fn new(limits: QueryLimits, rate_limiter: Arc<RateLimiter>) -> Self {
        Self { limits, rate_limiter }
    }
}

impl ExtensionFactory for Limits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(LimitsCheck { limits: self.limits, rate_limiter: self.rate_limiter.clone() })
    }
}

struct LimitsCheck {
    limits: QueryLimits,
    rate_limiter: Arc<RateLimiter>,
}

fn within(limit: Limit, actual: u64, max: u64) -> ServerResult<()> {
    if actual > max {
        return Err(too_complex(limit, max, actual).into_server_error());
    }
    Ok(())
}

#[async_trait::async_trait]
impl Extension for LimitsCheck {
    /// Scans, parses and measures the query. The parser is only ever given text the scan
    /// found within the limits; async-graphql's own recursion and directive checks (which
    /// expand fragments one spread at a time) are replaced by the measure, so `next` is not
    /// called.
    async fn parse_query(
        &self,
        _ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        _next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let limits = &self.limits;
        let text = prescan::scan(query);
        within(Limit::Tokens, text.tokens, limits.max_tokens)?;
        within(Limit::Nesting, text.nesting, limits.max_nesting)?;
        for (_, value) in variables.iter() {
            within(Limit::ValueDepth, shape::const_value_depth(value), limits.max_value_depth)?;
        }
        let document = async_graphql::parser::parse_query(query)?;
        let shape = shape::measure(&document, limits.max_nesting).map_err(|err| match err {
            shape::ShapeError::FragmentCycle(name) => ApiError::bad_input(format!(
                "fragment {name} spreads itself, directly or through other fragments"
            ))
            .into_server_error(),
            shape::ShapeError::TooNested(max) => {
                too_complex(Limit::Nesting, max, max + 1).into_server_error()
            }
        })?;
        within(Limit::Depth, shape.depth, limits.max_depth)?;
        within(Limit::Fields, shape.fields, limits.max_fields)?;
        within(Limit::Aliases, shape.aliases, limits.max_aliases)?;
        within(Limit::Directives, shape.directives, limits.max_directives)?;
        within(Limit::ValueDepth, shape.value_depth, limits.max_value_depth)?;
        Ok(document)
    }

    /// After validation: the cost against its limit, then against the client's rate limit.
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await.map_err(|errors| self.bounded(errors))?;
        let cost = result.complexity as u64;
        let meter = ctx.data::<Arc<RequestCost>>().map_err(|_| {
            tracing::error!("a request without its cost meter");
            vec![ApiError::internal().into_server_error()]
        })?;
        meter.budget.draw(cost).map_err(|over| {
            vec![too_complex(Limit::Cost, over.max, over.needed).into_server_error()]
        })?;
        let client = self.client(ctx).await.map_err(|err| vec![err.into_server_error()])?;
        if let Some(client) = client {
            match self.rate_limiter.charge(client, cost) {
                None => {}
                Some(Ok(status)) => {
                    let _ = meter.rate_limit.set(status);
                }
                Some(Err(refused)) => return Err(vec![rate_limited(&refused).into_server_error()]),
            }
        }
        Ok(result)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let mut response = next.run(ctx, operation_name).await;
        response.errors = self.bounded(std::mem::take(&mut response.errors));
        response
    }
}

impl LimitsCheck {
    /// Who pays: the token's agent when a valid token came with the request, else the
    /// client's address. A bad token pays as its address; resolvers that need a caller
    /// refuse it themselves.
    async fn client(&self, ctx: &ExtensionContext<'_>) -> Result<Option<Client>, ApiError> {
        let address = ctx.data::<ClientAddress>().ok().map(|a| Client::address(a.0));
        let (Ok(auth), Ok(store)) = (ctx.data::<RequestAuth>(), ctx.data::<Store>()) else {
            return Ok(address);
        };
        match auth.resolve(store).await {
            Ok(Some(principal)) => Ok(Some(Client::Token(principal.token.as_uuid()))),
            Ok(None) => Ok(address),
            Err(err) if err.code == ErrorCode::Unauthenticated => Ok(address),
            Err(err) => Err(err),
        }
    }

    /// At most `max_errors` errors, the last one saying how many more there were.
    fn bounded(&self, mut errors: Vec<ServerError>) -> Vec<ServerError> {
        let max = self.limits.max_errors.max(1);
        if errors.len() > max {
            let omitted = errors.len() - (max - 1);
            errors.truncate(max - 1);
            errors.push(
                ApiError::new(
                    ErrorCode::QueryTooComplex,
                    format!("{omitted} more errors are not shown"),
                )
                .with("limit", "errors")
                .with("max", max as u64)
                .with("omitted", omitted as u64)
                .into_server_error(),
            );
        }
        errors
    }
}

/// Whether the operation `query` would run is a mutation; false for text that is past the
/// lexical limits or does not parse, which executing it reports.
pub fn selects_mutation(query: &str, operation_name: Option<&str>, limits: &QueryLimits) -> bool {
    use async_graphql::parser::types::{DocumentOperations, OperationType};
    let text = prescan::scan(query);
    if text.tokens > limits.max_tokens || text.nesting > limits.max_nesting {
        return false;
    }
    let Ok(document) = async_graphql::parser::parse_query(query) else {
        return false;
    };
    let selected = match (&document.operations, operation_name) {
        (DocumentOperations::Single(op), _) => Some(op),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next(),
        _ => None,
    };
    selected.is_some_and(|op| op.node.ty == OperationType::Mutation)
}

/// `RATE_LIMITED`, with when to come back.
fn rate_limited(refused: &RateLimited) -> ApiError {
    let retry_after = refused.retry_after.as_secs_f64().ceil() as u64;
    ApiError::new(
        ErrorCode::RateLimited,
        format!(
            "the rate limit is spent: this request costs {} points of {} per window; retry in \
             {retry_after} s",
            refused.cost, refused.limit
        ),
    )
    .with("retryAfter", retry_after.max(1))
    .with("cost", refused.cost)
    .with("limit", refused.limit)
    .with("resetAt", Value::String(rfc3339(refused.reset_at)))
}

pub(crate) fn rfc3339(time: std::time::SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(time).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
