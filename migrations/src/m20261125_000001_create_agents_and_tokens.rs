//! Agents (W3C PROV agents: people, organisations, software) and the API tokens they own.
//! Times are integer microseconds since the Unix epoch on every backend, so that ordering and
//! comparison are exact and identical on SQLite and PostgreSQL.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum Agents {
    Table,
    Id,
    Name,
    Kind,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    Id,
    AgentId,
    Role,
    TokenSha256,
    CreatedAt,
    RevokedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Agents::Table)
                    .col(ColumnDef::new(Agents::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Agents::Name).string_len(200).not_null())
                    .col(ColumnDef::new(Agents::Kind).string_len(20).not_null())
                    .col(ColumnDef::new(Agents::CreatedAt).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("agents_by_name")
                    .table(Agents::Table)
                    .col(Agents::Name)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ApiTokens::Table)
                    .col(ColumnDef::new(ApiTokens::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(ApiTokens::AgentId).uuid().not_null())
                    .col(ColumnDef::new(ApiTokens::Role).string_len(20).not_null())
                    .col(
                        ColumnDef::new(ApiTokens::TokenSha256)
                            .string_len(64)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(ApiTokens::CreatedAt).big_integer().not_null())
                    .col(ColumnDef::new(ApiTokens::RevokedAt).big_integer().null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("api_tokens_agent")
                            .from(ApiTokens::Table, ApiTokens::AgentId)
                            .to(Agents::Table, Agents::Id),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ApiTokens::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Agents::Table).to_owned()).await
    }
}
