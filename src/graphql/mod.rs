//! The GraphQL layer: schema assembly, query and mutation roots, object types, loaders and
//! error mapping. Resolvers stay thin: parse into store types, call the store, wrap the result.
//! Nothing here knows of HTTP; `crate::http` serves the schema.

/// Both `From` conversions between a GraphQL enum and the store enum it mirrors, variant by
/// variant, so that a variant added on one side and not the other fails to compile.
macro_rules! mirror_enum {
    ($api:ident, $domain:ty { $($variant:ident),+ $(,)? }) => {
        impl From<$api> for $domain {
            fn from(value: $api) -> Self {
                type Domain = $domain;
                match value { $($api::$variant => Domain::$variant),+ }
            }
        }
        impl From<$domain> for $api {
            fn from(value: $domain) -> Self {
                type Domain = $domain;
                match value { $(Domain::$variant => $api::$variant),+ }
            }
        }
    };
}

pub mod auth;
pub mod citations;
pub mod connection;
pub mod error;
pub mod exports;
pub mod history;
pub mod ids;
pub mod loaders;
pub mod mutation;
pub mod query;
pub mod scalars;
pub mod types;

use async_graphql::{EmptySubscription, SDLExportOptions, Schema};

use crate::store::Store;

pub type AppSchema = Schema<query::QueryRoot, mutation::MutationRoot, EmptySubscription>;

/// The public base URL (`scheme://host`) of the request, for permanent links in exports.
#[derive(Debug, Clone)]
pub struct BaseUrl(pub String);

/// How deep a query may nest.
pub const MAX_DEPTH: usize = 16;
/// The most a query may cost: each field counts 1, times the page size for connections.
pub const MAX_COMPLEXITY: usize = 20_000;

/// Builds the schema once, at start-up, with the store as app-wide data.
pub fn build_schema(store: Store) -> AppSchema {
    Schema::build(query::QueryRoot, mutation::MutationRoot, EmptySubscription)
        .data(store)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .finish()
}

/// The SDL, sorted, as committed in `schema/schema.graphql`.
pub fn sdl() -> String {
    let schema =
        Schema::build(query::QueryRoot, mutation::MutationRoot, EmptySubscription).finish();
    schema.sdl_with_options(
        SDLExportOptions::new().sorted_fields().sorted_arguments().sorted_enum_items(),
    )
}
