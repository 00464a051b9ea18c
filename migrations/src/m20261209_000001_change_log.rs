//! The change log the response cache reads to drop only the answers a write made stale:
//! `change_head` (one row: the number of the last change committed) and `change_log` (for each
//! change, the documents it touched, or one row with no document for a change to anything).
//!
//! A writing transaction takes `change_head` last, just before it commits, and holds it until
//! then: changes commit in the order of their numbers, so a reader that sees number `n` sees
//! every change up to `n`, on PostgreSQL too.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ChangeHead {
    Table,
    Id,
    Seq,
}

#[derive(DeriveIden)]
enum ChangeLog {
    Table,
    Seq,
    DocumentId,
}

const INDEX: &str = "change_log_by_seq";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ChangeHead::Table)
                    .col(ColumnDef::new(ChangeHead::Id).integer().not_null().primary_key())
                    .col(ColumnDef::new(ChangeHead::Seq).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(ChangeHead::Table)
                    .columns([ChangeHead::Id, ChangeHead::Seq])
                    .values_panic([1.into(), 0i64.into()])
                    .to_owned(),
            )
            .await?;
        // No primary key: a change has as many rows as documents it touched.
        manager
            .create_table(
                Table::create()
                    .table(ChangeLog::Table)
                    .col(ColumnDef::new(ChangeLog::Seq).big_integer().not_null())
                    .col(ColumnDef::new(ChangeLog::DocumentId).uuid().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name(INDEX).table(ChangeLog::Table).col(ChangeLog::Seq).to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ChangeLog::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(ChangeHead::Table).to_owned()).await
    }
}
