//! On PostgreSQL the search index's partitions lose two indexes: `(id)`, which no statement
//! uses (every statement that names a passage names its document, which the primary key
//! `(document_id, id)` serves and prunes the partitions by), and `(document_id, from_number)`,
//! which only a redaction's delete could use. That delete now reads all the document's
//! passages through the primary key's prefix, a cost beside the rewrite of the partition the
//! erasure runs next. Each was 1.4 MB of the reference corpus's 117 MB, and every insert paid
//! for both. SQLite keeps its table as it is (its key is the row id, and
//! `(document_id, from_number)` is its only way to a document's passages).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const POSTGRES_UP: &[&str] = &[
    "DROP INDEX IF EXISTS search_passages_id",
    "DROP INDEX IF EXISTS search_passages_document_from",
];

const POSTGRES_DOWN: &[&str] = &[
    "CREATE INDEX search_passages_id ON search_passages (id)",
    "CREATE INDEX search_passages_document_from ON search_passages (document_id, from_number)",
];

async fn run(manager: &SchemaManager<'_>, statements: &[&str]) -> Result<(), DbErr> {
    if manager.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let db = manager.get_connection();
    for statement in statements {
        db.execute_unprepared(statement).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, POSTGRES_UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, POSTGRES_DOWN).await
    }
}
