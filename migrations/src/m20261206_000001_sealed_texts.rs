//! Sealed texts (`store::seal`): 256 bucket keys in `text_keys`; `blobs.sealed` and
//! `citations.sealed` say whether a row's text frame, or its quotes, are sealed (rows written
//! before this migration are sealed by the store right after it, at `migrate`, found through
//! the partial indexes `blobs_unsealed` and `citations_unsealed`); `redactions.erased_at` is
//! when what a redaction purged was made unrecoverable in the database's files (null while
//! that is still to be done), and `redactions.erase_after` the redaction's transaction id on
//! PostgreSQL (erasing waits for every snapshot that could still see what it purged).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum TextKeys {
    Table,
    Bucket,
    Key,
}

#[derive(DeriveIden)]
enum Blobs {
    Table,
    Sha256,
    Sealed,
    Packed,
}

#[derive(DeriveIden)]
enum Citations {
    Table,
    Id,
    Sealed,
}

#[derive(DeriveIden)]
enum Redactions {
    Table,
    ErasedAt,
    EraseAfter,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TextKeys::Table)
                    .col(ColumnDef::new(TextKeys::Bucket).string_len(2).not_null().primary_key())
                    .col(ColumnDef::new(TextKeys::Key).binary().not_null())
                    .to_owned(),
            )
            .await?;
        for (table, column) in [
            (Blobs::Table.into_iden(), Blobs::Sealed.into_iden()),
            (Citations::Table.into_iden(), Citations::Sealed.into_iden()),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .add_column(ColumnDef::new(column).boolean().not_null().default(false))
                        .to_owned(),
                )
                .await?;
        }
        for column in [Redactions::ErasedAt, Redactions::EraseAfter] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Redactions::Table)
                        .add_column(ColumnDef::new(column).big_integer().null())
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("blobs_unsealed")
                    .table(Blobs::Table)
                    .col(Blobs::Sha256)
                    .and_where(
                        Expr::col(Blobs::Sealed)
                            .eq(false)
                            .and(Expr::col(Blobs::Packed).is_not_null()),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("citations_unsealed")
                    .table(Citations::Table)
                    .col(Citations::Id)
                    .and_where(Expr::col(Citations::Sealed).eq(false))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Dropping the keys of sealed rows would lose their texts: SQL cannot open them.
        let db = manager.get_connection();
        let sealed = db
            .query_one_raw(sea_orm_migration::sea_orm::Statement::from_string(
                manager.get_database_backend(),
                "SELECT 1 FROM blobs WHERE sealed UNION ALL SELECT 1 FROM citations WHERE sealed \
                 LIMIT 1",
            ))
            .await?;
        if sealed.is_some() {
            return Err(DbErr::Migration(
                "texts or quotes are sealed; this migration cannot be reverted without losing \
                 them (export the corpus, and import it into a database at the older version)"
                    .into(),
            ));
        }
        for (index, table) in [
            ("citations_unsealed", Citations::Table.into_iden()),
            ("blobs_unsealed", Blobs::Table.into_iden()),
        ] {
            manager.drop_index(Index::drop().name(index).table(table).to_owned()).await?;
        }
        for column in [Redactions::EraseAfter, Redactions::ErasedAt] {
            manager
                .alter_table(Table::alter().table(Redactions::Table).drop_column(column).to_owned())
                .await?;
        }
        for (table, column) in [
            (Citations::Table.into_iden(), Citations::Sealed.into_iden()),
            (Blobs::Table.into_iden(), Blobs::Sealed.into_iden()),
        ] {
            manager.alter_table(Table::alter().table(table).drop_column(column).to_owned()).await?;
        }
        manager.drop_table(Table::drop().table(TextKeys::Table).to_owned()).await
    }
}
