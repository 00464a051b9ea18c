//! Who may read what (issue 26). `collections`: every document belongs to one, public or
//! restricted; the public one (the nil UUID, slug `public`) holds every document written
//! before collections existed. `collection_members`: the agents that may read (and, by their
//! role in it, write or audit) a collection's documents beyond what their token's role gives
//! them on public material. `documents.publish_at`: an embargo, until which the document is
//! restricted material of its collection. `documents.public_from` is the one column reads
//! filter on, kept by every write that changes a document's collection, embargo or a
//! collection's visibility: from when anyone may read the document (0: always), or NULL when
//! only members ever may. A read decides by its clock, so an embargo lifts with no job run.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::m20261125_000001_create_agents_and_tokens::Agents;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Collections {
    Table,
    Id,
    Slug,
    Name,
    Visibility,
    CreatedAt,
}

#[derive(DeriveIden)]
enum CollectionMembers {
    Table,
    CollectionId,
    AgentId,
    Role,
    AddedAt,
}

#[derive(DeriveIden)]
enum Documents {
    Table,
    CollectionId,
    PublishAt,
    PublicFrom,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Collections::Table)
                    .col(ColumnDef::new(Collections::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Collections::Slug).string_len(128).not_null().unique_key())
                    .col(ColumnDef::new(Collections::Name).text().not_null())
                    .col(ColumnDef::new(Collections::Visibility).string_len(12).not_null())
                    .col(ColumnDef::new(Collections::CreatedAt).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CollectionMembers::Table)
                    .col(ColumnDef::new(CollectionMembers::CollectionId).uuid().not_null())
                    .col(ColumnDef::new(CollectionMembers::AgentId).uuid().not_null())
                    .col(ColumnDef::new(CollectionMembers::Role).string_len(12).not_null())
                    .col(ColumnDef::new(CollectionMembers::AddedAt).big_integer().not_null())
                    .primary_key(
                        Index::create()
                            .col(CollectionMembers::CollectionId)
                            .col(CollectionMembers::AgentId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(CollectionMembers::Table, CollectionMembers::CollectionId)
                            .to(Collections::Table, Collections::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(CollectionMembers::Table, CollectionMembers::AgentId)
                            .to(Agents::Table, Agents::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // A caller's memberships are read by agent once per request.
        manager
            .create_index(
                Index::create()
                    .name("collection_members_by_agent")
                    .table(CollectionMembers::Table)
                    .col(CollectionMembers::AgentId)
                    .to_owned(),
            )
            .await?;

        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        // The public collection has a fixed id, so that a column default can name it.
        let public = match backend {
            DbBackend::Sqlite => "X'00000000000000000000000000000000'",
            _ => "'00000000-0000-0000-0000-000000000000'",
        };
        let uuid = match backend {
            DbBackend::Sqlite => "uuid_text",
            _ => "uuid",
        };
        db.execute_unprepared(&format!(
            "INSERT INTO collections (id, slug, name, visibility, created_at) \
             VALUES ({public}, 'public', 'Public', 'public', 0)"
        ))
        .await?;
        // SQLite adds no column that references another table with a default but NULL, so
        // the reference is kept by the store on SQLite and by a constraint on PostgreSQL.
        db.execute_unprepared(&format!(
            "ALTER TABLE documents ADD COLUMN collection_id {uuid} NOT NULL DEFAULT {public}"
        ))
        .await?;
        if backend == DbBackend::Postgres {
            db.execute_unprepared(
                "ALTER TABLE documents ADD CONSTRAINT documents_collection_fkey \
                 FOREIGN KEY (collection_id) REFERENCES collections (id)",
            )
            .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Documents::Table)
                    .add_column(ColumnDef::new(Documents::PublishAt).big_integer().null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Documents::Table)
                    .add_column(
                        ColumnDef::new(Documents::PublicFrom).big_integer().null().default(0),
                    )
                    .to_owned(),
            )
            .await?;
        // Reads exclude the documents not public yet (few) by this index: NULL or later than
        // now is a short range of it, however many public documents there are.
        manager
            .create_index(
                Index::create()
                    .name("documents_by_public_from")
                    .table(Documents::Table)
                    .col(Documents::PublicFrom)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("documents_by_collection")
                    .table(Documents::Table)
                    .col(Documents::CollectionId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for index in ["documents_by_collection", "documents_by_public_from"] {
            manager
                .drop_index(Index::drop().name(index).table(Documents::Table).to_owned())
                .await?;
        }
        let db = manager.get_connection();
        if manager.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(
                "ALTER TABLE documents DROP CONSTRAINT documents_collection_fkey",
            )
            .await?;
        }
        for column in [Documents::PublicFrom, Documents::PublishAt, Documents::CollectionId] {
            manager
                .alter_table(Table::alter().table(Documents::Table).drop_column(column).to_owned())
                .await?;
        }
        manager.drop_table(Table::drop().table(CollectionMembers::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Collections::Table).to_owned()).await?;
        Ok(())
    }
}
