//! What makes the corpus verifiable from outside and auditable from inside:
//! - the transparency log: `revisions.log_index` (each revision's leaf, unique, in commit
//!   order), `log_nodes` (every complete subtree hash of the RFC 9162 Merkle tree, by level
//!   and position, so a proof reads O(log n) rows), `log_state` (one row holding the tree size,
//!   which every appending transaction updates, and so holds, until it commits: appends never
//!   fork or reorder) and `log_checkpoints` (the signed checkpoints served so far);
//! - `audit_events`: who did what to which object, through which token, with what outcome;
//! - redaction: `redactions` (one tombstone per redacted revision), `revisions.redacted` (so
//!   that reads need no second query to know), and `blobs.purged_at` (the text is emptied;
//!   the row stays because the revision's header names its hash).
//!
//! Revisions that predate the log are appended by the store right after this migration, in
//! order of creation (`store::migrate`).

use sea_orm_migration::prelude::*;

use crate::m20261125_000001_create_agents_and_tokens::Agents;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Revisions {
    Table,
    Hash,
    LogIndex,
    Redacted,
}

#[derive(DeriveIden)]
enum Blobs {
    Table,
    PurgedAt,
}

#[derive(DeriveIden)]
enum LogNodes {
    Table,
    Level,
    Position,
    Hash,
}

#[derive(DeriveIden)]
enum LogState {
    Table,
    Id,
    Size,
}

#[derive(DeriveIden)]
enum LogCheckpoints {
    Table,
    Size,
    RootHash,
    Note,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    At,
    AgentId,
    TokenId,
    Action,
    Target,
    RequestId,
    Outcome,
    Detail,
}

#[derive(DeriveIden)]
enum Redactions {
    Table,
    RevisionHash,
    AgentId,
    TokenId,
    At,
    Reason,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for column in [
            ColumnDef::new(Revisions::LogIndex).big_integer().null().to_owned(),
            ColumnDef::new(Revisions::Redacted).boolean().not_null().default(false).to_owned(),
        ] {
            let mut column = column;
            manager
                .alter_table(
                    Table::alter().table(Revisions::Table).add_column(&mut column).to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("revisions_by_log_index")
                    .table(Revisions::Table)
                    .col(Revisions::LogIndex)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Blobs::Table)
                    .add_column(ColumnDef::new(Blobs::PurgedAt).big_integer().null())
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(LogNodes::Table)
                    .col(ColumnDef::new(LogNodes::Level).small_integer().not_null())
                    .col(ColumnDef::new(LogNodes::Position).big_integer().not_null())
                    .col(ColumnDef::new(LogNodes::Hash).binary().not_null())
                    .primary_key(Index::create().col(LogNodes::Level).col(LogNodes::Position))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LogState::Table)
                    .col(ColumnDef::new(LogState::Id).integer().not_null().primary_key())
                    .col(ColumnDef::new(LogState::Size).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(LogState::Table)
                    .columns([LogState::Id, LogState::Size])
                    .values_panic([1.into(), 0i64.into()])
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LogCheckpoints::Table)
                    .col(
                        ColumnDef::new(LogCheckpoints::Size).big_integer().not_null().primary_key(),
                    )
                    .col(ColumnDef::new(LogCheckpoints::RootHash).binary().not_null())
                    .col(ColumnDef::new(LogCheckpoints::Note).text().not_null())
                    .col(ColumnDef::new(LogCheckpoints::CreatedAt).big_integer().not_null())
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuditEvents::Table)
                    .col(ColumnDef::new(AuditEvents::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(AuditEvents::At).big_integer().not_null())
                    .col(ColumnDef::new(AuditEvents::AgentId).uuid().null())
                    .col(ColumnDef::new(AuditEvents::TokenId).uuid().null())
                    .col(ColumnDef::new(AuditEvents::Action).string_len(40).not_null())
                    .col(ColumnDef::new(AuditEvents::Target).string_len(200).not_null())
                    .col(ColumnDef::new(AuditEvents::RequestId).string_len(100).null())
                    .col(ColumnDef::new(AuditEvents::Outcome).string_len(20).not_null())
                    .col(ColumnDef::new(AuditEvents::Detail).text().null())
                    .to_owned(),
            )
            .await?;
        // Ids are UUID v7, in time order, so each filter's index ends in the id and serves
        // both the filter and the order; the primary key serves time ranges alone.
        for (name, lead) in [
            ("audit_by_agent", AuditEvents::AgentId),
            ("audit_by_action", AuditEvents::Action),
            ("audit_by_target", AuditEvents::Target),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(AuditEvents::Table)
                        .col(lead)
                        .col(AuditEvents::Id)
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(Redactions::Table)
                    .col(
                        ColumnDef::new(Redactions::RevisionHash)
                            .string_len(64)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Redactions::AgentId).uuid().not_null())
                    .col(ColumnDef::new(Redactions::TokenId).uuid().null())
                    .col(ColumnDef::new(Redactions::At).big_integer().not_null())
                    .col(ColumnDef::new(Redactions::Reason).text().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("redactions_revision")
                            .from(Redactions::Table, Redactions::RevisionHash)
                            .to(Revisions::Table, Revisions::Hash),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("redactions_agent")
                            .from(Redactions::Table, Redactions::AgentId)
                            .to(Agents::Table, Agents::Id),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Redactions::Table.into_iden(),
            AuditEvents::Table.into_iden(),
            LogCheckpoints::Table.into_iden(),
            LogState::Table.into_iden(),
            LogNodes::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        manager
            .drop_index(
                Index::drop().name("revisions_by_log_index").table(Revisions::Table).to_owned(),
            )
            .await?;
        manager
            .alter_table(Table::alter().table(Blobs::Table).drop_column(Blobs::PurgedAt).to_owned())
            .await?;
        for column in [Revisions::Redacted, Revisions::LogIndex] {
            manager
                .alter_table(Table::alter().table(Revisions::Table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
