//! On SQLite the store itself takes a closed paragraph out of the heads' search index
//! (`search_heads_fts`), as it already puts new ones in: the trigger that did it goes. A bulk
//! import into a store it outgrows builds the heads' index once at its end instead of
//! inserting, batch after batch, paragraphs the next batch closes again, and a trigger would
//! have taken each of those out of an index that never held it (a third of the reference
//! corpus's indexing time went to inserting and deleting such paragraphs). PostgreSQL keeps
//! no separate heads' index.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQLITE_UP: &[&str] = &["DROP TRIGGER IF EXISTS search_heads_closed"];

const SQLITE_DOWN: &[&str] =
    &["CREATE TRIGGER search_heads_closed AFTER UPDATE OF until_number ON search_passages \
     WHEN old.until_number IS NULL AND new.until_number IS NOT NULL BEGIN \
     DELETE FROM search_heads_fts WHERE rowid = old.id; END"];

async fn run(manager: &SchemaManager<'_>, statements: &[&str]) -> Result<(), DbErr> {
    if manager.get_database_backend() != DbBackend::Sqlite {
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
        run(manager, SQLITE_UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, SQLITE_DOWN).await
    }
}
