//! Sources: where a revision's text was captured from. Later migrations add bibliographic
//! detail; the id is what revision headers commit to.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum Sources {
    Table,
    Id,
    Kind,
    Title,
    Url,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Sources::Table)
                    .col(ColumnDef::new(Sources::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Sources::Kind).string_len(20).not_null())
                    .col(ColumnDef::new(Sources::Title).text().null())
                    .col(ColumnDef::new(Sources::Url).text().null())
                    .col(ColumnDef::new(Sources::CreatedAt).big_integer().not_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Sources::Table).to_owned()).await
    }
}
