//! Captures of web pages (issue 25). `watches`: the pages and feeds an editor asked to be
//! captured, when each is next due, and the lease a worker holds on one while it captures it
//! (`lease_until`: a claim is a conditional UPDATE, so two workers never hold one watch, and a
//! worker that dies lets go when its lease runs out). `captures`: every time a page was
//! fetched, what came of it, and the revision it wrote or saw again — the first and last
//! capture that saw a revision say from when to when the page showed it. `capture_records`:
//! the HTTP evidence of each capture that wrote a revision, as serialized WARC records, each a
//! zstd frame, whole or compressed against the record before it in its chain (the same URL
//! and record type), so a page that changed one paragraph costs about that paragraph. Records
//! are never rewritten: evidence that is recompressed is not the evidence that was kept.

use sea_orm_migration::prelude::*;

use crate::m20261125_000001_create_agents_and_tokens::Agents;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Watches {
    Table,
    Id,
    Kind,
    Url,
    DocumentId,
    Slug,
    DocumentKind,
    IntervalSeconds,
    ObeyRobots,
    Paused,
    FeedId,
    CreatedBy,
    CreatedAt,
    RemovedAt,
    NextRunAt,
    LeaseUntil,
    Etag,
    LastModified,
    LastRunAt,
    LastOutcome,
    LastStatus,
    LastDetail,
    Runs,
    Revisions,
    Failures,
}

#[derive(DeriveIden)]
enum Captures {
    Table,
    Id,
    WatchId,
    DocumentId,
    Url,
    FinalUrl,
    Status,
    FetchedAt,
    Outcome,
    Detail,
    RevisionHash,
    PayloadDigest,
    RequestRecord,
    ResponseRecord,
    AgentId,
}

#[derive(DeriveIden)]
enum CaptureRecords {
    Table,
    Id,
    CaptureId,
    Kind,
    Chain,
    BaseId,
    Depth,
    Packed,
    ByteLength,
    PayloadDigest,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Watches::Table)
                    .col(ColumnDef::new(Watches::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Watches::Kind).string_len(8).not_null())
                    .col(ColumnDef::new(Watches::Url).text().not_null())
                    .col(ColumnDef::new(Watches::DocumentId).uuid().null())
                    .col(ColumnDef::new(Watches::Slug).string_len(128).null())
                    .col(ColumnDef::new(Watches::DocumentKind).string_len(20).not_null())
                    .col(ColumnDef::new(Watches::IntervalSeconds).big_integer().not_null())
                    .col(ColumnDef::new(Watches::ObeyRobots).boolean().not_null())
                    .col(ColumnDef::new(Watches::Paused).boolean().not_null().default(false))
                    .col(ColumnDef::new(Watches::FeedId).uuid().null())
                    .col(ColumnDef::new(Watches::CreatedBy).uuid().not_null())
                    .col(ColumnDef::new(Watches::CreatedAt).big_integer().not_null())
                    .col(ColumnDef::new(Watches::RemovedAt).big_integer().null())
                    .col(ColumnDef::new(Watches::NextRunAt).big_integer().not_null())
                    .col(ColumnDef::new(Watches::LeaseUntil).big_integer().null())
                    .col(ColumnDef::new(Watches::Etag).text().null())
                    .col(ColumnDef::new(Watches::LastModified).text().null())
                    .col(ColumnDef::new(Watches::LastRunAt).big_integer().null())
                    .col(ColumnDef::new(Watches::LastOutcome).string_len(20).null())
                    .col(ColumnDef::new(Watches::LastStatus).integer().null())
                    .col(ColumnDef::new(Watches::LastDetail).text().null())
                    .col(ColumnDef::new(Watches::Runs).big_integer().not_null().default(0))
                    .col(ColumnDef::new(Watches::Revisions).big_integer().not_null().default(0))
                    .col(ColumnDef::new(Watches::Failures).big_integer().not_null().default(0))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Watches::Table, Watches::CreatedBy)
                            .to(Agents::Table, Agents::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // One live watch per kind and URL: watching a page twice would capture it twice.
        manager
            .create_index(
                Index::create()
                    .name("watches_one_per_url")
                    .table(Watches::Table)
                    .col(Watches::Kind)
                    .col(Watches::Url)
                    .unique()
                    .and_where(Expr::col(Watches::RemovedAt).is_null())
                    .to_owned(),
            )
            .await?;
        // What a worker's claim reads: the live, unpaused watches in the order they fall due.
        manager
            .create_index(
                Index::create()
                    .name("watches_due")
                    .table(Watches::Table)
                    .col(Watches::NextRunAt)
                    .and_where(
                        Expr::col(Watches::RemovedAt)
                            .is_null()
                            .and(Expr::col(Watches::Paused).eq(false)),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("watches_by_creator", Watches::CreatedBy),
            ("watches_by_feed", Watches::FeedId),
            ("watches_by_document", Watches::DocumentId),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Watches::Table)
                        .col(column)
                        .col(Watches::Id)
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(Captures::Table)
                    .col(ColumnDef::new(Captures::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Captures::WatchId).uuid().null())
                    .col(ColumnDef::new(Captures::DocumentId).uuid().null())
                    .col(ColumnDef::new(Captures::Url).text().not_null())
                    .col(ColumnDef::new(Captures::FinalUrl).text().null())
                    .col(ColumnDef::new(Captures::Status).integer().null())
                    .col(ColumnDef::new(Captures::FetchedAt).big_integer().not_null())
                    .col(ColumnDef::new(Captures::Outcome).string_len(20).not_null())
                    .col(ColumnDef::new(Captures::Detail).text().null())
                    .col(ColumnDef::new(Captures::RevisionHash).string_len(64).null())
                    .col(ColumnDef::new(Captures::PayloadDigest).string_len(64).null())
                    .col(ColumnDef::new(Captures::RequestRecord).uuid().null())
                    .col(ColumnDef::new(Captures::ResponseRecord).uuid().null())
                    .col(ColumnDef::new(Captures::AgentId).uuid().not_null())
                    .to_owned(),
            )
            .await?;
        for (name, first) in [
            ("captures_by_revision", Captures::RevisionHash),
            ("captures_by_watch", Captures::WatchId),
            ("captures_by_document", Captures::DocumentId),
            // A page captured once again revises the document its last capture wrote.
            ("captures_by_url", Captures::Url),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Captures::Table)
                        .col(first)
                        .col(Captures::FetchedAt)
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(CaptureRecords::Table)
                    .col(ColumnDef::new(CaptureRecords::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(CaptureRecords::CaptureId).uuid().not_null())
                    .col(ColumnDef::new(CaptureRecords::Kind).string_len(10).not_null())
                    .col(ColumnDef::new(CaptureRecords::Chain).text().not_null())
                    .col(ColumnDef::new(CaptureRecords::BaseId).uuid().null())
                    .col(ColumnDef::new(CaptureRecords::Depth).small_integer().not_null())
                    .col(ColumnDef::new(CaptureRecords::Packed).binary().not_null())
                    .col(ColumnDef::new(CaptureRecords::ByteLength).big_integer().not_null())
                    .col(ColumnDef::new(CaptureRecords::PayloadDigest).string_len(64).null())
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            ("capture_records_by_chain", vec![CaptureRecords::Chain, CaptureRecords::Id]),
            ("capture_records_by_capture", vec![CaptureRecords::CaptureId, CaptureRecords::Id]),
            ("capture_records_by_payload", vec![CaptureRecords::PayloadDigest]),
        ] {
            let mut index = Index::create();
            index.name(name).table(CaptureRecords::Table);
            for column in columns {
                index.col(column);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            CaptureRecords::Table.into_iden(),
            Captures::Table.into_iden(),
            Watches::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
