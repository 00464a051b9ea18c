//! Documents, their hash-chained revisions, and content blobs stored once per SHA-256.
//!
//! Invariants the schema itself enforces: a revision hash is unique; a document's revision
//! numbers are unique; no two revisions share a parent (`revisions_one_child_per_parent`), so
//! every document's history is a single chain even if the store had a bug.
//! `documents.head_hash` has no foreign key because documents and revisions refer to each
//! other; the store writes both in one transaction.

use sea_orm_migration::prelude::*;

use crate::m20261125_000001_create_agents_and_tokens::Agents;
use crate::m20261125_000002_create_sources::Sources;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Blobs {
    Table,
    Sha256,
    Content,
    ByteLength,
}

#[derive(DeriveIden)]
enum Documents {
    Table,
    Id,
    Slug,
    Kind,
    HeadHash,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Revisions {
    Table,
    Hash,
    DocumentId,
    Number,
    ParentHash,
    Title,
    ContentSha256,
    AuthorId,
    Message,
    SourceId,
    CreatedAt,
    Header,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Blobs::Table)
                    .col(ColumnDef::new(Blobs::Sha256).string_len(64).not_null().primary_key())
                    .col(ColumnDef::new(Blobs::Content).text().not_null())
                    .col(ColumnDef::new(Blobs::ByteLength).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Documents::Table)
                    .col(ColumnDef::new(Documents::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Documents::Slug).string_len(128).not_null().unique_key())
                    .col(ColumnDef::new(Documents::Kind).string_len(20).not_null())
                    .col(ColumnDef::new(Documents::HeadHash).string_len(64).not_null())
                    .col(ColumnDef::new(Documents::CreatedAt).big_integer().not_null())
                    .col(ColumnDef::new(Documents::UpdatedAt).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("documents_by_kind", vec![Documents::Kind, Documents::Id]),
            ("documents_by_created", vec![Documents::CreatedAt, Documents::Id]),
            ("documents_by_updated", vec![Documents::UpdatedAt, Documents::Id]),
        ] {
            let mut index = Index::create();
            index.name(name).table(Documents::Table);
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(Revisions::Table)
                    .col(ColumnDef::new(Revisions::Hash).string_len(64).not_null().primary_key())
                    .col(ColumnDef::new(Revisions::DocumentId).uuid().not_null())
                    .col(ColumnDef::new(Revisions::Number).big_integer().not_null())
                    .col(ColumnDef::new(Revisions::ParentHash).string_len(64).null())
                    .col(ColumnDef::new(Revisions::Title).text().not_null())
                    .col(ColumnDef::new(Revisions::ContentSha256).string_len(64).not_null())
                    .col(ColumnDef::new(Revisions::AuthorId).uuid().not_null())
                    .col(ColumnDef::new(Revisions::Message).text().not_null())
                    .col(ColumnDef::new(Revisions::SourceId).uuid().null())
                    .col(ColumnDef::new(Revisions::CreatedAt).big_integer().not_null())
                    .col(ColumnDef::new(Revisions::Header).text().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("revisions_document")
                            .from(Revisions::Table, Revisions::DocumentId)
                            .to(Documents::Table, Documents::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("revisions_parent")
                            .from(Revisions::Table, Revisions::ParentHash)
                            .to(Revisions::Table, Revisions::Hash),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("revisions_content")
                            .from(Revisions::Table, Revisions::ContentSha256)
                            .to(Blobs::Table, Blobs::Sha256),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("revisions_author")
                            .from(Revisions::Table, Revisions::AuthorId)
                            .to(Agents::Table, Agents::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("revisions_source")
                            .from(Revisions::Table, Revisions::SourceId)
                            .to(Sources::Table, Sources::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, unique, cols) in [
            ("revisions_by_number", true, vec![Revisions::DocumentId, Revisions::Number]),
            ("revisions_by_time", false, vec![Revisions::DocumentId, Revisions::CreatedAt]),
            ("revisions_one_child_per_parent", true, vec![Revisions::ParentHash]),
            ("revisions_by_author", false, vec![Revisions::AuthorId]),
            ("revisions_by_content", false, vec![Revisions::ContentSha256]),
        ] {
            let mut index = Index::create();
            index.name(name).table(Revisions::Table);
            if unique {
                index.unique();
            }
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Revisions::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Documents::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Blobs::Table).to_owned()).await
    }
}
