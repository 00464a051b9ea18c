//! The GraphQL layer: schema assembly, query and mutation roots, object types, loaders and
//! error mapping. Resolvers stay thin: parse into store types, call the store, wrap the result.
//! Nothing here knows of HTTP; `crate::http` serves the schema.

/// An `#[Object]` impl with Relay connection fields written in one line each: every such field
/// takes the same four arguments (`first`, `after`, `last`, `before`) and the same cost rule,
/// and async-graphql has no way to share arguments between fields, so this macro spells them
/// out. The connection fields follow `pages`, each as
/// `name(extra: Type, ...) -> Connection = |node, ctx, args| body;`, with `args` the
/// `PageArgs`.
macro_rules! object_with_pages {
    (
        $(#[$attr:meta])*
        impl $ty:ty { $($items:tt)* }
        pages {
            $(
                $(#[doc = $doc:expr])*
                $name:ident $( ( $($arg:ident : $arg_ty:ty),* ) )? -> $connection:ty =
                    |$this:ident, $ctx:ident, $args:ident| $body:expr;
            )*
        }
    ) => {
        $(#[$attr])*
        impl $ty {
            $($items)*
            $(
                $(#[doc = $doc])*
                #[graphql(complexity = "crate::graphql::connection::page_complexity(first, last, child_complexity)")]
                #[allow(clippy::too_many_arguments)]
                async fn $name(
                    &self,
                    $ctx: &async_graphql::Context<'_>,
                    first: Option<i32>,
                    after: Option<String>,
                    last: Option<i32>,
                    before: Option<String>,
                    $($($arg: $arg_ty),*)?
                ) -> $crate::graphql::error::ApiResult<$connection> {
                    let $this = self;
                    let $args = $crate::graphql::connection::PageArgs { first, after, last, before };
                    $body
                }
            )*
        }
    };
}

pub mod auth;
pub mod connection;
pub mod context;
pub mod error;
pub mod ids;
pub mod kinds;
pub mod limits;
pub mod loaders;
pub mod mutation;
pub mod nodes;
pub mod objects;
pub mod query;
pub mod reads;
pub mod scalars;
pub mod subscription;

use std::net::IpAddr;
use std::sync::Arc;

use async_graphql::{Request, Response, SDLExportOptions, Schema};
use futures_util::StreamExt;

use crate::capture::guard::AddressPolicy;
use crate::checkpoint::LogKey;
use crate::ratelimit::RateLimiter;
use crate::store::Store;
use auth::{Credentials, RequestAuth};
use context::{ClientAddress, RequestCost};
use limits::{Limits, QueryLimits};
use subscription::SubscriptionRoot;

pub type AppSchema = Schema<query::QueryRoot, mutation::MutationRoot, SubscriptionRoot>;

/// The public base URL (`scheme://host`) of the request, for permanent links in exports.
#[derive(Debug, Clone)]
pub struct BaseUrl(pub String);

/// Builds the schema once, at start-up, with the store as app-wide data and every request
/// held to `limits` and the rate limits.
pub fn build_schema(
    store: Store,
    limits: QueryLimits,
    rate_limiter: Arc<RateLimiter>,
    log_key: Arc<LogKey>,
    capture: AddressPolicy,
) -> AppSchema {
    Schema::build(query::QueryRoot::default(), mutation::MutationRoot::default(), SubscriptionRoot)
        .data(store)
        .data(objects::watch::CapturePolicy(capture))
        .data(log_key)
        .data(rate_limiter.clone())
        .data(limits::EventGate::default())
        .extension(Limits::new(limits, rate_limiter))
        .finish()
}

/// The schema, for `Query.queryCost`, which measures a query as the schema would.
#[derive(Clone)]
pub(crate) struct Measurer(pub(crate) AppSchema);

/// What a transport knows of a request besides the request itself.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub credentials: Credentials,
    /// The base URL permanent links are built on.
    pub base_url: String,
    /// The client's address, for the per-address rate limit; `None` to apply none.
    pub client_address: Option<IpAddr>,
    /// The size of the request as it arrived (its body, or its URL), which its admission to
    /// the rate limit is charged by.
    pub request_bytes: u64,
    /// The id the transport gave the request, recorded with every audit event it causes.
    pub request_id: Option<String>,
    /// The transport only reads (GET): a mutation is refused, and `Executed::failure` says
    /// so (`write_refused`).
    pub read_only: bool,
    /// Where the request's reads may go if it only reads (a read replica); `None`: the primary.
    pub read_choice: Option<Arc<context::ReadChoice>>,
}

/// A request as it ran: its response, every error given its code (`error::classify`), and its
/// cost meter, which says what it was charged and whether its answer may be shared.
pub struct Executed {
    pub response: Response,
    pub cost: Arc<RequestCost>,
    /// What the answer read, for the response cache.
    pub reads: Arc<reads::ReadSet>,
}

impl Executed {
    /// Whether the answer may be given to an identical request while the database is
    /// unchanged: it wrote nothing, and selected no field whose answer is the request's own
    /// (those are declared `cache_control(private)` in the schema, which validation reads).
    pub fn shareable(&self) -> bool {
        !self.cost.writes() && self.response.cache_control.public
    }

    /// How the request failed as a whole, if it did: what a transport answers it with.
    pub fn failure(&self) -> Option<error::RequestFailure> {
        error::RequestFailure::of(&self.response, self.cost.write_refused())
    }
}

/// The schema with what every request needs: the store for its loaders and the limits for
/// its cost meter and deadline.
#[derive(Clone)]
pub struct GraphqlService {
    schema: AppSchema,
    store: Store,
    limits: QueryLimits,
}

impl GraphqlService {
    pub fn new(
        store: Store,
        limits: QueryLimits,
        rate_limiter: Arc<RateLimiter>,
        log_key: Arc<LogKey>,
        capture: AddressPolicy,
    ) -> Self {
        let schema = build_schema(store.clone(), limits, rate_limiter, log_key, capture);
        Self { schema, store, limits }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Runs one request with its own loaders, credentials and cost meter (the `Limits`
    /// extension holds it to the limits and the deadline), and gives every error its code.
    pub async fn execute(&self, request: Request, context: RequestContext) -> Executed {
        let request_id = context.request_id.clone().unwrap_or_default();
        let (request, cost) = self.prepare(request, context);
        let reads = Arc::new(reads::ReadSet::default());
        let mut response = self.schema.execute(request.data(reads.clone())).await;
        for error in &mut response.errors {
            error::classify(error, &request_id);
        }
        Executed { response, cost, reads }
    }

    /// Runs one operation of a connection that stays open (a WebSocket): a query or mutation
    /// answers once, a subscription with each event. `connection` holds what the connection
    /// established for all its operations.
    pub fn execute_stream(
        &self,
        request: Request,
        context: RequestContext,
        connection: Arc<async_graphql::Data>,
    ) -> futures_util::stream::BoxStream<'static, Response> {
        let request_id = context.request_id.clone().unwrap_or_default();
        let (request, _) = self.prepare(request, context);
        self.schema
            .execute_stream_with_session_data(request, connection)
            .map(move |mut response| {
                for error in &mut response.errors {
                    error::classify(error, &request_id);
                }
                response
            })
            .boxed()
    }

    fn prepare(&self, request: Request, context: RequestContext) -> (Request, Arc<RequestCost>) {
        let cost = Arc::new(RequestCost::new(self.limits.max_cost, context.request_bytes));
        let mut request = request
            .data(RequestAuth::new(context.credentials))
            .data(BaseUrl(context.base_url))
            .data(loaders::RequestLoaders::new(self.store.clone(), context.read_choice.clone()))
            .data(cost.clone())
            .data(Measurer(self.schema.clone()));
        if let Some(address) = context.client_address {
            request = request.data(ClientAddress(address));
        }
        if let Some(id) = context.request_id {
            request = request.data(auth::RequestId(id));
        }
        if let Some(choice) = context.read_choice {
            request = request.data(choice);
        }
        if context.read_only {
            let operation = request.operation_name.clone();
            request = request.data(context::ReadOnly(operation));
        }
        (request, cost)
    }
}

/// The SDL, sorted, as committed in `schema/schema.graphql`.
pub fn sdl() -> String {
    let schema = Schema::build(
        query::QueryRoot::default(),
        mutation::MutationRoot::default(),
        SubscriptionRoot,
    )
    .finish();
    schema.sdl_with_options(
        SDLExportOptions::new()
            .sorted_fields()
            .sorted_arguments()
            .sorted_enum_items()
            // What introspection serves (`specifiedByURL`), the SDL says too.
            .include_specified_by(),
    )
}
