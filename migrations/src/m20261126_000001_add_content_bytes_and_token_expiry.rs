//! Two columns the hardening needs:
//! - `revisions.content_bytes`: the size of the revision's text, so that a read can be priced
//!   (and refused) before the text is loaded. Filled from `blobs.byte_length` for existing
//!   rows; like every revision column it is written once and never changed.
//! - `api_tokens.expires_at`: an optional expiry (microseconds since the epoch, UTC); a token
//!   past it authenticates nobody.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Revisions {
    Table,
    ContentBytes,
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Revisions::Table)
                    .add_column(
                        ColumnDef::new(Revisions::ContentBytes).big_integer().not_null().default(0),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE revisions SET content_bytes = \
                 (SELECT byte_length FROM blobs WHERE blobs.sha256 = revisions.content_sha256)",
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ApiTokens::Table)
                    .add_column(ColumnDef::new(ApiTokens::ExpiresAt).big_integer().null())
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(ApiTokens::Table).drop_column(ApiTokens::ExpiresAt).to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Revisions::Table)
                    .drop_column(Revisions::ContentBytes)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
