// Over 400 lines, as one file: the `Limits` extension's hooks run in this order for every
// request and share its state, `LimitsCheck`; what they measure is in `prescan`, `shape`,
// `rules` and `events`.

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

mod events;
mod prescan;
mod rules;
mod shape;

pub use events::{EventGate, EventMeter};

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextResolve,
    NextValidation, ResolveInfo,
};
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType};
use async_graphql::{Response, ServerError, ServerResult, ValidationResult, Value, Variables};

use super::auth::RequestAuth;
use super::context::{ClientAddress, ReadOnly, RequestCost};
use super::error::{ApiError, ErrorCode, Limit, too_complex, too_complex_at_least};
use super::reads::ReadSet;
use crate::ratelimit::{Charge, Client, RateLimitStatus, RateLimited, RateLimiter};
use crate::store::Store;

/// The subscription root's name in the schema.
const SUBSCRIPTION: &str = "Subscription";

/// The limits a request is held to. Every one is a setting (see `config`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryLimits {
    /// Lexical tokens in the query text.
    pub max_tokens: u64,
    /// Bytes in one name or number of the query text (strings are text, and not limited).
    pub max_token_length: u64,
    /// Bytes of string values written in the query text (variables are not limited by it).
    pub max_string_bytes: u64,
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
            max_token_length: 1024,
            max_string_bytes: 256 * 1024,
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

/// The schema extension that holds every request to `QueryLimits` and the rate limits.
pub struct Limits {
    limits: QueryLimits,
    rate_limiter: Arc<RateLimiter>,
    parsed: Arc<ParsedQueries>,
}

impl Limits {
    pub fn new(limits: QueryLimits, rate_limiter: Arc<RateLimiter>) -> Self {
        Self { limits, rate_limiter, parsed: Arc::new(ParsedQueries::new()) }
    }
}

/// Query texts already scanned, parsed and measured within the limits, by their text. Clients
/// send the same few queries over and over with different variables, and parsing was 30 % of
/// a request for a document with its text (measured with callgrind, `benches/read_path.rs`).
/// What is kept depends on the text alone (the limits are fixed for the server's life), so a
/// hit is exactly what parsing would give. Bounded in entries, in the text each may hold and
/// in the text all hold together (a parsed document takes some tens of times its text); a
/// text that fails the limits or the parser is never kept.
struct ParsedQueries(Mutex<Kept>);

struct Kept {
    queries: lru::LruCache<String, Arc<Parsed>>,
    text_bytes: usize,
}

struct Parsed {
    document: ExecutableDocument,
    shape: shape::DocumentShape,
    /// How much its answers read of the documents its root fields find (`reads`).
    scope: crate::graphql::reads::Scope,
}

/// At most 256 texts, each of at most 2 KiB, together at most 128 KiB.
const PARSED_QUERIES: usize = 256;
const PARSED_QUERY_BYTES: usize = 2 * 1024;
const PARSED_TEXT_BYTES: usize = 128 * 1024;

impl ParsedQueries {
    fn new() -> Self {
        let entries = std::num::NonZeroUsize::new(PARSED_QUERIES).expect("a positive size");
        Self(Mutex::new(Kept { queries: lru::LruCache::new(entries), text_bytes: 0 }))
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn get(&self, query: &str) -> Option<Arc<Parsed>> {
        self.kept().queries.get(query).cloned()
    }

    fn keep(&self, query: &str, parsed: Arc<Parsed>) {
        if query.len() > PARSED_QUERY_BYTES {
            return;
        }
        let mut kept = self.kept();
        while kept.text_bytes + query.len() > PARSED_TEXT_BYTES {
            let Some((evicted, _)) = kept.queries.pop_lru() else { break };
            kept.text_bytes -= evicted.len();
        }
        if let Some((replaced, _)) = kept.queries.push(query.to_owned(), parsed) {
            kept.text_bytes -= replaced.len();
        }
        kept.text_bytes += query.len();
    }
}

impl ExtensionFactory for Limits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(LimitsCheck {
            limits: self.limits,
            rate_limiter: self.rate_limiter.clone(),
            parsed: self.parsed.clone(),
            client: OnceLock::new(),
            introspection_cost: AtomicU64::new(0),
            charged: AtomicU64::new(0),
            writes: AtomicBool::new(false),
        })
    }
}

/// One request's passage through the limits: who pays, and what is charged so far.
struct LimitsCheck {
    limits: QueryLimits,
    rate_limiter: Arc<RateLimiter>,
    parsed: Arc<ParsedQueries>,
    client: OnceLock<Option<Client>>,
    /// What the document's introspection fields cost, from its measure.
    introspection_cost: AtomicU64,
    /// Points of the request's budget paid for before it ran.
    charged: AtomicU64,
    /// Whether the document holds a mutation, which the deadline must not cut short.
    writes: AtomicBool,
}

fn within(limit: Limit, actual: u64, max: u64) -> ServerResult<()> {
    if actual > max {
        return Err(too_complex(limit, max, actual).into_server_error());
    }
    Ok(())
}

/// The longest message an error may carry; async-graphql quotes the query in its own.
const MAX_MESSAGE_CHARS: usize = 300;

#[async_trait::async_trait]
impl Extension for LimitsCheck {
    /// Fields are not wrapped: the limits are decided before the request runs, and the costs
    /// fields draw while running are drawn by the fields themselves (see vendor/async-graphql).
    fn wraps_fields(&self) -> bool {
        false
    }

    /// The resolution of a subscription's event (the one field resolution the extension chain
    /// sees, as `Subscription.<field>`) runs under the request deadline, as a query does.
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        if info.parent_type != SUBSCRIPTION {
            return next.run(ctx, info).await;
        }
        let deadline = self.limits.deadline;
        let started = Instant::now();
        match tokio::time::timeout(deadline, next.run(ctx, info)).await {
            Ok(resolved) => resolved,
            Err(_) => {
                let max = deadline.as_millis() as u64;
                let ran = (started.elapsed().as_millis() as u64).max(max + 1);
                Err(too_complex(Limit::TimeMs, max, ran).into_server_error())
            }
        }
    }

    /// Charges the request's admission (a point, and a point per KiB of the request), then
    /// scans, parses and measures the query. The parser is only ever given text the scan found
    /// within the limits. async-graphql's own recursion and directive checks, which expand
    /// fragments one spread at a time, are replaced by the measure: `next` is not called, so
    /// an extension added after this one does not see parsing.
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        _next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let limits = &self.limits;
        let cost = ctx.data::<Arc<RequestCost>>().map_err(|_| internal("its cost meter"))?;
        let client = self.client(ctx).await.map_err(ApiError::into_server_error)?;
        cost.set_client(client);
        if let Some(client) = client {
            let admission =
                Charge::Admission { bytes: cost.request_bytes().max(query.len() as u64) };
            match self.rate_limiter.charge(client, admission) {
                None => {}
                Some(Ok(_)) => {
                    self.charged.fetch_add(admission.points(), Ordering::Relaxed);
                }
                Some(Err(refused)) => return Err(rate_limited(&refused).into_server_error()),
            }
        }
        let cached = self.parsed.get(query);
        if cached.is_none() {
            text_within(query, limits)?;
        }
        for (_, value) in variables.iter() {
            within(Limit::ValueDepth, shape::const_value_depth(value), limits.max_value_depth)?;
        }
        let parsed = match cached {
            Some(parsed) => parsed,
            None => {
                let parsed = Arc::new(parse_and_measure(query, limits)?);
                self.parsed.keep(query, parsed.clone());
                parsed
            }
        };
        if let Ok(ReadOnly(operation)) = ctx.data::<ReadOnly>()
            && selects_mutation(&parsed.document, operation.as_deref())
        {
            cost.refuse_write();
            return Err(
                ApiError::bad_input("mutations are only accepted over POST").into_server_error()
            );
        }
        if let Ok(reads) = ctx.data::<Arc<ReadSet>>() {
            reads.set_scope(parsed.scope);
        }
        self.introspection_cost.store(parsed.shape.introspection_cost, Ordering::Relaxed);
        let writes = holds_mutation(&parsed.document);
        if let Ok(choice) = ctx.data::<Arc<super::context::ReadChoice>>() {
            choice.decide(!writes);
        }
        self.writes.store(writes, Ordering::Relaxed);
        cost.set_writes(writes);
        Ok(parsed.document.clone())
    }

    /// After validation: the cost (the schema's, and introspection's) against its limit, then
    /// against the client's rate limit.
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await.map_err(|errors| self.bounded(errors))?;
        let cost = (result.complexity as u64)
            .saturating_add(self.introspection_cost.load(Ordering::Relaxed));
        if let Ok(measure) = ctx.data::<Arc<MeasureOnly>>() {
            let _ = measure.0.set(cost);
            return Err(vec![ServerError::new("measured, not run", None)]);
        }
        let meter = ctx.data::<Arc<RequestCost>>().map_err(|_| vec![internal("its cost meter")])?;
        meter.budget().draw(cost).map_err(|over| {
            vec![too_complex(Limit::Cost, over.max, over.needed).into_server_error()]
        })?;
        meter.set_static_cost(cost);
        if let Some(client) = self.client.get().copied().flatten() {
            match self.rate_limiter.charge(client, Charge::Measured(cost)) {
                None => {}
                Some(Ok(status)) => {
                    let charged = self.charged.fetch_add(cost, Ordering::Relaxed) + cost;
                    meter.set_rate_limit(RateLimitStatus { cost: charged, ..status });
                }
                Some(Err(refused)) => return Err(vec![rate_limited(&refused).into_server_error()]),
            }
        }
        Ok(result)
    }

    /// Runs the operation under the deadline (a query; a mutation is bounded by the
    /// database's timeouts instead, so that a write that committed is never reported as cut
    /// short), caps its errors, and charges what it spent while running to the client's rate
    /// limit as a debt.
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let started = Instant::now();
        let deadline = self.limits.deadline;
        let mut response = if self.writes.load(Ordering::Relaxed) {
            next.run(ctx, operation_name).await
        } else {
            match tokio::time::timeout(deadline, next.run(ctx, operation_name)).await {
                Ok(response) => response,
                Err(_) => {
                    let max = deadline.as_millis() as u64;
                    let ran = started.elapsed().as_millis() as u64;
                    Response::from_errors(vec![
                        too_complex(Limit::TimeMs, max, ran.max(max + 1)).into_server_error(),
                    ])
                }
            }
        };
        response.errors = self.bounded(std::mem::take(&mut response.errors));
        if let Ok(meter) = ctx.data::<Arc<RequestCost>>() {
            if let Some(client) = self.client.get().copied().flatten() {
                self.rate_limiter.charge(client, Charge::Overrun(meter.debt()));
            }
            response.extensions.insert("cost".to_owned(), cost_extension(meter));
        }
        response
    }
}

/// What a request cost, in every response that ran (`extensions.cost`): the points charged
/// before it ran (`requested`: its fields, by the schema's cost model), what it drew in all
/// (`actual`: that and what fields reading stored texts drew, by their size) and the most one
/// request may draw (`limit`).
fn cost_extension(meter: &RequestCost) -> Value {
    let points = |n: u64| Value::Number(n.into());
    Value::Object(
        [
            ("requested", points(meter.static_cost())),
            ("actual", points(meter.budget().spent())),
            ("limit", points(meter.budget().max())),
        ]
        .into_iter()
        .map(|(name, value)| (async_graphql::Name::new(name), value))
        .collect(),
    )
}

/// Marks a request that is only measured: after validation its cost is recorded here and the
/// request stops, so nothing runs and nothing is charged (`cost_of`).
#[derive(Debug, Default)]
struct MeasureOnly(OnceLock<u64>);

/// What `request` would be charged before it runs (as `extensions.cost.requested` would say),
/// without running it; the errors that would refuse it instead when it does not parse or
/// validate. Held to the same lexical and shape limits as a request that runs.
pub(crate) async fn cost_of(
    schema: &super::AppSchema,
    request: async_graphql::Request,
    max_cost: u64,
) -> Result<u64, Vec<ServerError>> {
    let measure = Arc::new(MeasureOnly::default());
    let bytes = request.query.len() as u64;
    let request = request.data(measure.clone()).data(Arc::new(RequestCost::new(max_cost, bytes)));
    let response = schema.execute(request).await;
    match measure.0.get() {
        Some(cost) => Ok(*cost),
        None => Err(response.errors),
    }
}

/// Parses and measures a query text the scan found within the limits.
fn parse_and_measure(query: &str, limits: &QueryLimits) -> ServerResult<Parsed> {
    let document = async_graphql::parser::parse_query(query)
        .map_err(|err| shortened(ServerError::from(err)))?;
    let shape = shape::measure(&document, limits.max_nesting).map_err(|err| match err {
        shape::ShapeError::FragmentCycle(name) => ApiError::bad_input(format!(
            "fragment {name} spreads itself, directly or through other fragments"
        ))
        .into_server_error(),
        shape::ShapeError::TooNested(max) => {
            too_complex_at_least(Limit::Nesting, max).into_server_error()
        }
    })?;
    within(Limit::Nesting, shape.nesting, limits.max_nesting)?;
    within(Limit::Depth, shape.depth, limits.max_depth)?;
    within(Limit::Fields, shape.fields, limits.max_fields)?;
    within(Limit::Aliases, shape.aliases, limits.max_aliases)?;
    within(Limit::Directives, shape.directives, limits.max_directives)?;
    within(Limit::ValueDepth, shape.value_depth, limits.max_value_depth)?;
    rules::single_root_field(&document)
        .map_err(|message| ApiError::bad_input(message).into_server_error())?;
    let scope = crate::graphql::reads::scope_of(&document);
    Ok(Parsed { document, shape, scope })
}

/// Whether a document holds a mutation (it may be the one the request runs).
fn holds_mutation(document: &ExecutableDocument) -> bool {
    match &document.operations {
        DocumentOperations::Single(op) => op.node.ty == OperationType::Mutation,
        DocumentOperations::Multiple(ops) => {
            ops.values().any(|op| op.node.ty == OperationType::Mutation)
        }
    }
}

fn internal(missing: &str) -> ServerError {
    tracing::error!("a request without {missing}");
    ApiError::internal().into_server_error()
}

/// The error with its message cut to `MAX_MESSAGE_CHARS`, so that it never carries a large
/// piece of the request back.
fn shortened(mut error: ServerError) -> ServerError {
    if let Some((cut, _)) = error.message.char_indices().nth(MAX_MESSAGE_CHARS) {
        error.message.truncate(cut);
        error.message.push('…');
    }
    error
}

impl LimitsCheck {
    /// Who pays, decided once per request: the token's agent when a valid token came with
    /// the request, else the client's address. A bad token pays as its address; resolvers
    /// that need a caller refuse it themselves.
    async fn client(&self, ctx: &ExtensionContext<'_>) -> Result<Option<Client>, ApiError> {
        if let Some(client) = self.client.get() {
            return Ok(*client);
        }
        let address = ctx.data::<ClientAddress>().ok().map(|a| Client::address(a.0));
        let client = match (ctx.data::<RequestAuth>(), ctx.data::<Store>()) {
            (Ok(auth), Ok(store)) => match auth.resolve(store).await {
                Ok(Some(principal)) => Some(Client::Token(principal.token.as_uuid())),
                Ok(None) => address,
                Err(err) if err.code == ErrorCode::Unauthenticated => address,
                Err(err) => return Err(err),
            },
            _ => address,
        };
        Ok(*self.client.get_or_init(|| client))
    }

    /// At most `max_errors` errors, each with a short message, the last one saying how many
    /// more there were.
    fn bounded(&self, errors: Vec<ServerError>) -> Vec<ServerError> {
        let max = self.limits.max_errors.max(1);
        let mut errors: Vec<ServerError> = errors.into_iter().map(shortened).collect();
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

/// The lexical limits, checked on the raw text before anything parses it.
fn text_within(query: &str, limits: &QueryLimits) -> Result<(), ServerError> {
    let text = prescan::scan(query);
    within(Limit::Tokens, text.tokens, limits.max_tokens)?;
    within(Limit::TokenLength, text.longest_word, limits.max_token_length)?;
    within(Limit::StringBytes, text.string_bytes, limits.max_string_bytes)?;
    within(Limit::Nesting, text.nesting, limits.max_nesting)
}

/// Whether the operation a request would run (the one named, or the only one) is a mutation.
fn selects_mutation(document: &ExecutableDocument, operation_name: Option<&str>) -> bool {
    let selected = match (&document.operations, operation_name) {
        (DocumentOperations::Single(op), _) => Some(op),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next(),
        _ => None,
    };
    selected.is_some_and(|op| op.node.ty == OperationType::Mutation)
}

/// `RATE_LIMITED`, with when to come back.
pub(crate) fn rate_limited(refused: &RateLimited) -> ApiError {
    let retry_after = refused.retry_after_secs();
    ApiError::new(
        ErrorCode::RateLimited,
        format!(
            "the rate limit is spent: this request costs {} points of {} per window; retry in \
             {retry_after} s",
            refused.cost, refused.limit
        ),
    )
    .with("retryAfter", retry_after)
    .with("cost", refused.cost)
    .with("limit", refused.limit)
    .with("resetAt", Value::String(rfc3339(refused.reset_at)))
}

pub(crate) fn rfc3339(time: std::time::SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(time).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
