//! Integration tests on a fresh database per test, on SQLite and (when configured) PostgreSQL,
//! each at the boundary of what it specifies: the store (`store_rules`), the schema without
//! HTTP (the files whose `on_both_backends!` says `schema:`), or the real server over HTTP
//! (protocol, pages, Memento, CORS, subscriptions, limits on the wire). One test binary, so the
//! suite links once.

#[path = "../common/database.rs"]
mod database;
mod helpers;
mod proxy;
#[path = "../common/rfc9162.rs"]
mod rfc9162;
#[path = "../common/websocket_frame.rs"]
mod websocket_frame;

mod archive;
mod audit;
mod auth;
mod bad_input;
mod blame;
mod citations;
mod cli;
mod concurrency;
mod cors;
mod diffs;
mod documents;
mod exports;
mod frontend;
mod hardening;
mod hashing;
mod http_protocol;
mod integrity;
mod limits;
mod loading;
mod memento;
mod outages;
mod packing;
mod pages;
mod pagination;
mod redaction;
mod response_cache;
mod schema_file;
mod schema_rules;
mod search;
mod seeds;
mod store_rules;
mod subscriptions;
mod transparency;
