//! Palimpsest: a GraphQL API over a provenance-tracked, hash-chained document corpus.
//!
//! Layers, each depending only on those before it: `store` (the versioned store; no GraphQL,
//! no HTTP) ← `graphql` (schema, resolvers, loaders) ← `http` (actix-web) ← `cli` (the
//! `palimpsest` command).

pub mod archive;
pub mod blame;
pub mod budget;
pub mod capture;
pub mod checkpoint;
pub mod cli;
pub mod compute;
pub mod entity;
pub mod foreground;
pub mod fulltext;
pub mod graphql;
pub mod http;
pub mod memory;
pub mod merkle;
pub mod passage;
pub mod ratelimit;
pub mod receipt;
pub mod render;
pub mod seed;
pub mod store;
pub mod textdiff;
