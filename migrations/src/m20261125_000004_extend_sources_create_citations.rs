//! Bibliographic detail on sources, and citations between documents (or from a document to
//! an external source), anchored to passages with W3C Web Annotation selectors.
//!
//! A citation row belongs to one citing revision and is never changed. When the citing
//! document is revised, the store writes a follower row for the new revision (re-anchored or
//! orphaned) that points at its `origin_id` and keeps the `lineage_id` of the first row.

use sea_orm_migration::prelude::*;

use crate::m20261125_000001_create_agents_and_tokens::Agents;
use crate::m20261125_000002_create_sources::Sources;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SourceDetail {
    Publisher,
    Authors,
    Recipients,
    PublishedAt,
    RetrievedAt,
    ArchiveUrl,
    License,
}

#[derive(DeriveIden)]
enum Documents {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Revisions {
    Table,
    Hash,
    DocumentId,
    SourceId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Citations {
    Table,
    Id,
    LineageId,
    OriginId,
    CitingDocumentId,
    CitingRevisionHash,
    Relation,
    TargetDocumentId,
    TargetRevisionHash,
    TargetSourceId,
    CitingExact,
    CitingPrefix,
    CitingSuffix,
    CitingStart,
    CitingEnd,
    TargetExact,
    TargetPrefix,
    TargetSuffix,
    TargetStart,
    TargetEnd,
    Anchor,
    CreatedBy,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        let columns = [
            ColumnDef::new(SourceDetail::Publisher).text().null().to_owned(),
            ColumnDef::new(SourceDetail::Authors).text().not_null().default("[]").to_owned(),
            ColumnDef::new(SourceDetail::Recipients).text().not_null().default("[]").to_owned(),
            ColumnDef::new(SourceDetail::PublishedAt).big_integer().null().to_owned(),
            ColumnDef::new(SourceDetail::RetrievedAt).big_integer().null().to_owned(),
            ColumnDef::new(SourceDetail::ArchiveUrl).text().null().to_owned(),
            ColumnDef::new(SourceDetail::License).text().null().to_owned(),
        ];
        for mut column in columns {
            manager
                .alter_table(
                    Table::alter().table(Sources::Table).add_column(&mut column).to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("revisions_by_source")
                    .table(Revisions::Table)
                    .col(Revisions::SourceId)
                    .col(Revisions::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("revisions_sources_of_document")
                    .table(Revisions::Table)
                    .col(Revisions::DocumentId)
                    .col(Revisions::SourceId)
                    .to_owned(),
            )
            .await?;

        let text = |c: Citations| ColumnDef::new(c).text().null().to_owned();
        let position = |c: Citations| ColumnDef::new(c).big_integer().null().to_owned();
        manager
            .create_table(
                Table::create()
                    .table(Citations::Table)
                    .col(ColumnDef::new(Citations::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Citations::LineageId).uuid().not_null())
                    .col(ColumnDef::new(Citations::OriginId).uuid().null())
                    .col(ColumnDef::new(Citations::CitingDocumentId).uuid().not_null())
                    .col(ColumnDef::new(Citations::CitingRevisionHash).string_len(64).not_null())
                    .col(ColumnDef::new(Citations::Relation).string_len(20).not_null())
                    .col(ColumnDef::new(Citations::TargetDocumentId).uuid().null())
                    .col(ColumnDef::new(Citations::TargetRevisionHash).string_len(64).null())
                    .col(ColumnDef::new(Citations::TargetSourceId).uuid().null())
                    .col(text(Citations::CitingExact))
                    .col(text(Citations::CitingPrefix))
                    .col(text(Citations::CitingSuffix))
                    .col(position(Citations::CitingStart))
                    .col(position(Citations::CitingEnd))
                    .col(text(Citations::TargetExact))
                    .col(text(Citations::TargetPrefix))
                    .col(text(Citations::TargetSuffix))
                    .col(position(Citations::TargetStart))
                    .col(position(Citations::TargetEnd))
                    .col(ColumnDef::new(Citations::Anchor).string_len(20).not_null())
                    .col(ColumnDef::new(Citations::CreatedBy).uuid().not_null())
                    .col(ColumnDef::new(Citations::CreatedAt).big_integer().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("citations_origin")
                            .from(Citations::Table, Citations::OriginId)
                            .to(Citations::Table, Citations::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("citations_citing_document")
                            .from(Citations::Table, Citations::CitingDocumentId)
                            .to(Documents::Table, Documents::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("citations_citing_revision")
                            .from(Citations::Table, Citations::CitingRevisionHash)
                            .to(Revisions::Table, Revisions::Hash),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("citations_target_document")
                            .from(Citations::Table, Citations::TargetDocumentId)
                            .to(Documents::Table, Documents::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("citations_target_revision")
                            .from(Citations::Table, Citations::TargetRevisionHash)
                            .to(Revisions::Table, Revisions::Hash),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("citations_target_source")
                            .from(Citations::Table, Citations::TargetSourceId)
                            .to(Sources::Table, Sources::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("citations_created_by")
                            .from(Citations::Table, Citations::CreatedBy)
                            .to(Agents::Table, Agents::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("citations_by_citing_revision", vec![Citations::CitingRevisionHash, Citations::Id]),
            ("citations_by_target_document", vec![Citations::TargetDocumentId, Citations::Id]),
            ("citations_by_target_source", vec![Citations::TargetSourceId, Citations::Id]),
        ] {
            let mut index = Index::create();
            index.name(name).table(Citations::Table);
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Citations::Table).to_owned()).await?;
        for name in ["revisions_by_source", "revisions_sources_of_document"] {
            manager.drop_index(Index::drop().name(name).table(Revisions::Table).to_owned()).await?;
        }
        let columns = [
            SourceDetail::Publisher,
            SourceDetail::Authors,
            SourceDetail::Recipients,
            SourceDetail::PublishedAt,
            SourceDetail::RetrievedAt,
            SourceDetail::ArchiveUrl,
            SourceDetail::License,
        ];
        for column in columns {
            manager
                .alter_table(Table::alter().table(Sources::Table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
