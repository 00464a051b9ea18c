//! Headers rebuilt from their rows. `revisions.packed_header` may hold, in place of a zstd
//! frame, the digests of the header's members behind a 0x01 byte, where the header is its
//! row's own columns in canonical form (`store::packing::KeptHeader`); builds before this one
//! cannot read those, and this migration keeps them from starting on such a database.
//!
//! The partial index `revisions_header_frames` finds the frames left: `store::migrate` keeps
//! the digests instead of each frame its row rebuilds, so it ends empty but for headers that
//! disagree with their rows (which verification reports).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The predicate of `revisions_header_frames`: a header kept as a zstd frame, which never
/// starts with the byte that leads a header's digests (`store::packing`). The store's queries
/// repeat it exactly, or the index is not used.
pub fn header_frames_predicate(backend: DatabaseBackend) -> &'static str {
    match backend {
        DatabaseBackend::Postgres => r"substr(packed_header, 1, 1) <> '\x01'::bytea",
        _ => "substr(packed_header, 1, 1) <> x'01'",
    }
}

fn digests_predicate(backend: DatabaseBackend) -> &'static str {
    match backend {
        DatabaseBackend::Postgres => r"substr(packed_header, 1, 1) = '\x01'::bytea",
        _ => "substr(packed_header, 1, 1) = x'01'",
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "CREATE INDEX revisions_header_frames ON revisions (hash) WHERE {}",
                header_frames_predicate(backend)
            ))
            .await
            .map(drop)
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        let rebuilt = db
            .query_one_raw(Statement::from_string(
                backend,
                format!("SELECT 1 FROM revisions WHERE {} LIMIT 1", digests_predicate(backend)),
            ))
            .await?;
        if rebuilt.is_some() {
            return Err(DbErr::Migration(
                "headers are rebuilt from their rows, which older builds cannot read; write \
                 them out plain first (`store::headers_for_downgrade`)"
                    .into(),
            ));
        }
        db.execute_unprepared("DROP INDEX revisions_header_frames").await.map(drop)
    }
}
