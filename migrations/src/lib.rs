//! Schema migrations, shared by SQLite and PostgreSQL. Each migration is reversible; seed data
//! never lives here (see `seeds/` and `palimpsest seed`).

pub use sea_orm_migration::prelude::*;

mod m20261125_000001_create_agents_and_tokens;
mod m20261125_000002_create_sources;
mod m20261125_000003_create_documents_revisions_blobs;
mod m20261125_000004_extend_sources_create_citations;
mod m20261126_000001_add_content_bytes_and_token_expiry;
mod m20261126_000002_integrity;
mod m20261204_000001_packed_storage;
mod m20261205_000001_search;
mod m20261206_000001_sealed_texts;
mod m20261206_000002_search_partitions;
mod m20261207_000001_captures;
mod m20261208_000001_capture_record_bases;
mod m20261208_000002_watch_seen_bytes;
mod m20261209_000001_change_log;
mod m20261210_000001_heads_index_plain_delete;
mod m20261211_000001_collections;
mod m20261212_000001_contentless_search;
mod m20261213_000001_change_log_history_only;
mod m20261214_000001_rebuilt_headers;
mod m20261215_000001_binary_digests;
mod m20261216_000001_search_lean_indexes;
mod m20261217_000001_heads_closed_by_store;

pub use m20261214_000001_rebuilt_headers::header_frames_predicate;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_create_agents_and_tokens::Migration),
            Box::new(m20261125_000002_create_sources::Migration),
            Box::new(m20261125_000003_create_documents_revisions_blobs::Migration),
            Box::new(m20261125_000004_extend_sources_create_citations::Migration),
            Box::new(m20261126_000001_add_content_bytes_and_token_expiry::Migration),
            Box::new(m20261126_000002_integrity::Migration),
            Box::new(m20261204_000001_packed_storage::Migration),
            Box::new(m20261205_000001_search::Migration),
            Box::new(m20261206_000001_sealed_texts::Migration),
            Box::new(m20261206_000002_search_partitions::Migration),
            Box::new(m20261207_000001_captures::Migration),
            Box::new(m20261208_000001_capture_record_bases::Migration),
            Box::new(m20261208_000002_watch_seen_bytes::Migration),
            Box::new(m20261209_000001_change_log::Migration),
            Box::new(m20261210_000001_heads_index_plain_delete::Migration),
            Box::new(m20261211_000001_collections::Migration),
            Box::new(m20261212_000001_contentless_search::Migration),
            Box::new(m20261213_000001_change_log_history_only::Migration),
            Box::new(m20261214_000001_rebuilt_headers::Migration),
            Box::new(m20261215_000001_binary_digests::Migration),
            Box::new(m20261216_000001_search_lean_indexes::Migration),
            Box::new(m20261217_000001_heads_closed_by_store::Migration),
        ]
    }
}
