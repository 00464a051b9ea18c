//! Packed storage: texts as zstd frames, most of them deltas against a newer text of their
//! document, and headers as zstd frames against their fixed skeleton (`store::packing`).
//! - `blobs.packing`: 0 the text is in `content` (as before), 1 a whole frame in `packed`,
//!   2 a frame in `packed` compressed against the text of `base_sha256`;
//! - `blobs.chain_height`: on a whole text, the longest chain of deltas that ends at it;
//! - `revisions.packed_header`: the canonical header as a frame (`header` is then empty).
//!
//! Rows written before this migration are packed by the store right after it
//! (`store::migrate`, which finds them through the partial indexes `blobs_plain` and
//! `revisions_plain_header`); until then, and if that is interrupted, they read as they are.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Blobs {
    Table,
    Sha256,
    PurgedAt,
    Packing,
    Packed,
    BaseSha256,
    ChainHeight,
}

#[derive(DeriveIden)]
enum Revisions {
    Table,
    Hash,
    PackedHeader,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for mut column in [
            ColumnDef::new(Blobs::Packing).small_integer().not_null().default(0).to_owned(),
            ColumnDef::new(Blobs::Packed).binary().null().to_owned(),
            ColumnDef::new(Blobs::BaseSha256).string().null().to_owned(),
            ColumnDef::new(Blobs::ChainHeight).small_integer().not_null().default(0).to_owned(),
        ] {
            manager
                .alter_table(Table::alter().table(Blobs::Table).add_column(&mut column).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Revisions::Table)
                    .add_column(ColumnDef::new(Revisions::PackedHeader).binary().null())
                    .to_owned(),
            )
            .await?;
        // What is still to pack, found without a scan: empty once everything is packed.
        manager
            .create_index(
                Index::create()
                    .name("blobs_plain")
                    .table(Blobs::Table)
                    .col(Blobs::Sha256)
                    .and_where(
                        Expr::col(Blobs::Packing).eq(0).and(Expr::col(Blobs::PurgedAt).is_null()),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("revisions_plain_header")
                    .table(Revisions::Table)
                    .col(Revisions::Hash)
                    .and_where(Expr::col(Revisions::PackedHeader).is_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Dropping the columns of packed rows would lose their texts: SQL cannot unpack them.
        let db = manager.get_connection();
        let packed = db
            .query_one_raw(sea_orm_migration::sea_orm::Statement::from_string(
                manager.get_database_backend(),
                "SELECT 1 FROM blobs WHERE packing <> 0 \
                 UNION ALL SELECT 1 FROM revisions WHERE packed_header IS NOT NULL LIMIT 1",
            ))
            .await?;
        if packed.is_some() {
            return Err(DbErr::Migration(
                "texts or headers are packed; this migration cannot be reverted without losing \
                 them (export the corpus, and import it into a database at the older version)"
                    .into(),
            ));
        }
        for (index, table) in [
            ("revisions_plain_header", Revisions::Table.into_iden()),
            ("blobs_plain", Blobs::Table.into_iden()),
        ] {
            manager.drop_index(Index::drop().name(index).table(table).to_owned()).await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Revisions::Table)
                    .drop_column(Revisions::PackedHeader)
                    .to_owned(),
            )
            .await?;
        for column in [Blobs::ChainHeight, Blobs::BaseSha256, Blobs::Packed, Blobs::Packing] {
            manager
                .alter_table(Table::alter().table(Blobs::Table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
