//! The heads' search index (SQLite's `search_heads_fts`) deletes as FTS5 does by default: a
//! paragraph a revision drops is marked deleted in a new segment rather than cut out of every
//! page that holds its words, which cost each captured or revised page about 4 ms of its
//! writing transaction for a paragraph changed. The history's index keeps secure-delete: only
//! a redaction deletes from it. Words a redaction purges that the heads' index still holds
//! under a deletion mark are merged away when the redaction is erased (`Store::erase_pending`
//! optimizes the index before the checkpoint). PostgreSQL is unchanged.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

async fn secure_delete(manager: &SchemaManager<'_>, on: bool) -> Result<(), DbErr> {
    if manager.get_database_backend() != DbBackend::Sqlite {
        return Ok(());
    }
    manager
        .get_connection()
        .execute_unprepared(&format!(
            "INSERT INTO search_heads_fts(search_heads_fts, rank) VALUES ('secure-delete', {})",
            u8::from(on)
        ))
        .await?;
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        secure_delete(manager, false).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // What was deleted under a mark stays so until a merge; the erasure's optimize and
        // the next redaction clear it either way.
        secure_delete(manager, true).await
    }
}
