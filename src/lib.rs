//! Palimpsest: a GraphQL API over a provenance-tracked, hash-chained document corpus.
//!
//! Layers, each depending only on those before it: `store` (the versioned store; no GraphQL,
//! no HTTP) ← `graphql` (schema, resolvers, loaders) ← `http` (actix-web) ← `main` (CLI).

pub mod archive;
pub mod blame;
pub mod budget;
pub mod checkpoint;
pub mod commands;
pub mod compute;
pub mod config;
pub mod diff;
pub mod entity;
pub mod export;
pub mod graphql;
pub mod http;
pub mod memory;
pub mod merkle;
pub mod passage;
pub mod ratelimit;
pub mod search;
pub mod seed;
pub mod store;
