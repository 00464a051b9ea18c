//! Integration tests on a fresh database per test, on SQLite and (when configured) PostgreSQL,
//! each at the boundary of what it specifies. The store's rules are tested on the store
//! (`store_rules`). The schema's rules (documents, pagination, citations, diffs, blame, search,
//! hashing, verification, the audit log, roles, bad input, query limits, statement counts) are
//! tested on the schema, with no HTTP server (`on_both_backends!(schema: ...)` runs them through
//! `GraphqlService::execute`, the step both transports share), often against `expect-test`
//! snapshots: a failure there names the rule, not the transport. What is HTTP (the protocol,
//! headers and statuses, pages, Memento, CORS, subscriptions, caching, outages, the frontend,
//! exports and archives as served, the command line) drives the real server over HTTP on port
//! 0, and so do the HTTP halves of files with both (`schema: ...; http: ...`). One test binary,
//! so the suite links once.

#[path = "../common/database.rs"]
mod database;
mod helpers;
mod proxy;
#[path = "../common/rfc9162.rs"]
mod rfc9162;
#[path = "../common/site.rs"]
mod site;
#[path = "../common/websocket_frame.rs"]
mod websocket_frame;

mod access;
mod access_matrix;
mod archive;
mod audit;
mod auth;
mod bad_input;
mod blame;
mod capture;
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
mod pooler;
mod redaction;
mod replicas;
mod response_cache;
mod schema_file;
mod schema_rules;
mod search;
mod seeds;
mod store_rules;
mod subscriptions;
mod transparency;
