//! The records compressed against a capture record, found by their base: a redaction erases
//! the evidence of the captures that wrote the redacted revision, and must first make whole
//! each record that is compressed against one of those.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CaptureRecords {
    Table,
    BaseId,
}

const INDEX: &str = "capture_records_by_base";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(CaptureRecords::Table)
                    .col(CaptureRecords::BaseId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name(INDEX).table(CaptureRecords::Table).to_owned()).await
    }
}
