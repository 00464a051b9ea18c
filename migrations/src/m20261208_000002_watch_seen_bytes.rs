//! What a watch's page last showed, as bytes: the payload digest and final URL of the latest
//! capture that saw its document's head, and that revision. A capture receiving the same bytes
//! from the same address records a sighting without reading the page or asking the store for
//! the head first.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Watches {
    Table,
    SeenRevision,
    SeenDigest,
    SeenFinalUrl,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one at a time.
        for column in [
            ColumnDef::new(Watches::SeenRevision).string_len(64).null().to_owned(),
            ColumnDef::new(Watches::SeenDigest).text().null().to_owned(),
            ColumnDef::new(Watches::SeenFinalUrl).text().null().to_owned(),
        ] {
            let mut column = column;
            manager
                .alter_table(
                    Table::alter().table(Watches::Table).add_column(&mut column).to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Watches::SeenRevision, Watches::SeenDigest, Watches::SeenFinalUrl] {
            manager
                .alter_table(Table::alter().table(Watches::Table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
