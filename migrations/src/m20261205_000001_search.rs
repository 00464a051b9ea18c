//! Full-text search over every revision: `search_passages` holds each distinct paragraph of a
//! document's history once (and its title, `in_title`), with the revisions it stood in,
//! `[from_number, until_number)` (`until_number` null while the head still has it). The
//! database's own engine indexes the text: on SQLite an FTS5 table over it (external content,
//! kept current by triggers in the writing transaction) and another over the heads' paragraphs
//! alone, on PostgreSQL a generated `tsvector` column with a GIN index and a partial one for
//! the heads. Both tokenize alike (`unicode61` without diacritic folding;
//! `simple`): no stemming, no stop words.
//!
//! Documents written before this migration are indexed by the store right after it
//! (`store::migrate`), found as the documents without passages.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SearchPassages {
    Table,
    Id,
    DocumentId,
    InTitle,
    ParagraphKey,
    Text,
    FromNumber,
    UntilNumber,
}

#[derive(DeriveIden)]
enum Documents {
    Table,
    Id,
}

/// Also what `m20261212_000001_contentless_search` restores when undone.
pub(crate) const SQLITE_FTS: &[&str] = &[
    "CREATE VIRTUAL TABLE search_passages_fts USING fts5(text, content='search_passages', \
     content_rowid='id', tokenize='unicode61 remove_diacritics 0')",
    // A deleted entry is removed from the index's pages, not only marked: a redaction must
    // leave nothing of the text's words behind.
    "INSERT INTO search_passages_fts(search_passages_fts, rank) VALUES ('secure-delete', 1)",
    "CREATE TRIGGER search_passages_ai AFTER INSERT ON search_passages BEGIN \
     INSERT INTO search_passages_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER search_passages_ad AFTER DELETE ON search_passages BEGIN \
     INSERT INTO search_passages_fts(search_passages_fts, rowid, text) \
     VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER search_passages_au AFTER UPDATE OF text ON search_passages BEGIN \
     INSERT INTO search_passages_fts(search_passages_fts, rowid, text) \
     VALUES ('delete', old.id, old.text); \
     INSERT INTO search_passages_fts(rowid, text) VALUES (new.id, new.text); END",
    // The heads' paragraphs again, on their own: a search of the heads ranks only those
    // (a quarter of the rows on the reference corpus) instead of ranking every revision's.
    "CREATE VIRTUAL TABLE search_heads_fts USING fts5(text, content='search_passages', \
     content_rowid='id', tokenize='unicode61 remove_diacritics 0')",
    "INSERT INTO search_heads_fts(search_heads_fts, rank) VALUES ('secure-delete', 1)",
    "CREATE TRIGGER search_heads_ai AFTER INSERT ON search_passages \
     WHEN new.until_number IS NULL BEGIN \
     INSERT INTO search_heads_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER search_heads_closed AFTER UPDATE OF until_number ON search_passages \
     WHEN old.until_number IS NULL AND new.until_number IS NOT NULL BEGIN \
     INSERT INTO search_heads_fts(search_heads_fts, rowid, text) \
     VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER search_heads_ad AFTER DELETE ON search_passages \
     WHEN old.until_number IS NULL BEGIN \
     INSERT INTO search_heads_fts(search_heads_fts, rowid, text) \
     VALUES ('delete', old.id, old.text); END",
];

const POSTGRES_FTS: &[&str] = &[
    // The first 100,000 characters of a paragraph (a tsvector holds at most 1 MB; a longer
    // paragraph would refuse the write that brings it). Matches are looked for there too.
    "ALTER TABLE search_passages ADD COLUMN tsv tsvector \
     GENERATED ALWAYS AS (to_tsvector('simple', left(text, 100000))) STORED",
    "CREATE INDEX search_passages_tsv ON search_passages USING GIN (tsv)",
    // The heads' paragraphs on their own, for a search of the heads.
    "CREATE INDEX search_passages_heads_tsv ON search_passages USING GIN (tsv) \
     WHERE until_number IS NULL",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SearchPassages::Table)
                    .col(
                        ColumnDef::new(SearchPassages::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(SearchPassages::DocumentId).uuid().not_null())
                    .col(ColumnDef::new(SearchPassages::InTitle).boolean().not_null())
                    .col(ColumnDef::new(SearchPassages::ParagraphKey).big_integer().not_null())
                    .col(ColumnDef::new(SearchPassages::Text).text().not_null())
                    .col(ColumnDef::new(SearchPassages::FromNumber).big_integer().not_null())
                    .col(ColumnDef::new(SearchPassages::UntilNumber).big_integer().null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(SearchPassages::Table, SearchPassages::DocumentId)
                            .to(Documents::Table, Documents::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // A revise reads the paragraphs its document's head has: the open ones.
        manager
            .create_index(
                Index::create()
                    .name("search_passages_open")
                    .table(SearchPassages::Table)
                    .col(SearchPassages::DocumentId)
                    .and_where(Expr::col(SearchPassages::UntilNumber).is_null())
                    .to_owned(),
            )
            .await?;
        // A redaction finds the paragraphs that stood in one revision only.
        manager
            .create_index(
                Index::create()
                    .name("search_passages_document_from")
                    .table(SearchPassages::Table)
                    .col(SearchPassages::DocumentId)
                    .col(SearchPassages::FromNumber)
                    .to_owned(),
            )
            .await?;
        let statements = match manager.get_database_backend() {
            DbBackend::Sqlite => SQLITE_FTS,
            DbBackend::Postgres => POSTGRES_FTS,
            other => {
                return Err(DbErr::Migration(format!("no full-text search on {other:?}")));
            }
        };
        let db = manager.get_connection();
        for statement in statements {
            db.execute_unprepared(statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if manager.get_database_backend() == DbBackend::Sqlite {
            for statement in [
                "DROP TRIGGER IF EXISTS search_heads_ad",
                "DROP TRIGGER IF EXISTS search_heads_closed",
                "DROP TRIGGER IF EXISTS search_heads_ai",
                "DROP TABLE IF EXISTS search_heads_fts",
                "DROP TRIGGER IF EXISTS search_passages_au",
                "DROP TRIGGER IF EXISTS search_passages_ad",
                "DROP TRIGGER IF EXISTS search_passages_ai",
                "DROP TABLE IF EXISTS search_passages_fts",
            ] {
                db.execute_unprepared(statement).await?;
            }
        }
        manager.drop_table(Table::drop().table(SearchPassages::Table).to_owned()).await
    }
}
