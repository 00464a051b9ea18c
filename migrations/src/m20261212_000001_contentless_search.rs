//! The search index stops keeping each paragraph's text a second time: the revisions hold it,
//! and a search reads the hits' revision texts anyway (for where the words are), so the
//! paragraph is found there again by its key. On the reference corpus the copy was 30 MB of
//! an 84 MB SQLite database.
//!
//! On SQLite both FTS5 tables become contentless (`content=''`, `contentless_delete=1`): the
//! store inserts a paragraph's words itself, with the row's id, and a row deleted or closed is
//! deleted from them by id. A contentless table cannot overwrite a deletion in place
//! (secure-delete needs the deleted text); it remembers the deleted ids until a merge drops
//! their entries, so an erasure merges both indexes (`Store::erase_pending`). On PostgreSQL
//! the `tsvector` stops being generated from the text: the store computes it in the insert,
//! and the text column goes.
//!
//! Down: the text cannot be read back from the index, so the passages are dropped and the
//! previous version's store indexes every document again when it starts (as it did for the
//! documents written before search existed).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TOKENIZE: &str = "tokenize='unicode61 remove_diacritics 0'";

fn sqlite_up() -> Vec<String> {
    let mut statements: Vec<String> = [
        "DROP TRIGGER IF EXISTS search_heads_ad",
        "DROP TRIGGER IF EXISTS search_heads_closed",
        "DROP TRIGGER IF EXISTS search_heads_ai",
        "DROP TRIGGER IF EXISTS search_passages_au",
        "DROP TRIGGER IF EXISTS search_passages_ad",
        "DROP TRIGGER IF EXISTS search_passages_ai",
    ]
    .map(str::to_owned)
    .to_vec();
    for (table, heads) in [("search_passages_fts", false), ("search_heads_fts", true)] {
        statements.push(format!("DROP TABLE {table}"));
        statements.push(format!(
            "CREATE VIRTUAL TABLE {table} USING fts5(text, content='', contentless_delete=1, \
             {TOKENIZE})"
        ));
        statements.push(format!(
            "INSERT INTO {table}(rowid, text) SELECT id, text FROM search_passages{}",
            if heads { " WHERE until_number IS NULL" } else { "" }
        ));
    }
    statements.extend(
        [
            // What the store does not write itself: a passage deleted (a redaction, a
            // re-index) leaves both indexes, one closed leaves the heads'.
            "CREATE TRIGGER search_passages_ad AFTER DELETE ON search_passages BEGIN \
             DELETE FROM search_passages_fts WHERE rowid = old.id; \
             DELETE FROM search_heads_fts WHERE rowid = old.id; END",
            "CREATE TRIGGER search_heads_closed AFTER UPDATE OF until_number ON search_passages \
             WHEN old.until_number IS NULL AND new.until_number IS NOT NULL BEGIN \
             DELETE FROM search_heads_fts WHERE rowid = old.id; END",
            "ALTER TABLE search_passages DROP COLUMN text",
        ]
        .map(str::to_owned),
    );
    statements
}

/// The previous migrations' SQLite index, empty (the store fills it again): the search
/// migration's tables and triggers, with the heads' index deleting as
/// `m20261210_000001_heads_index_plain_delete` left it.
fn sqlite_down() -> Vec<String> {
    [
        // First, while the triggers still empty the contentless tables: once they are dropped
        // in the transaction, SQLite sometimes refuses the DELETE ("no such table").
        "DELETE FROM search_passages",
        "DROP TRIGGER IF EXISTS search_heads_closed",
        "DROP TRIGGER IF EXISTS search_passages_ad",
        "DROP TABLE search_passages_fts",
        "DROP TABLE search_heads_fts",
        "ALTER TABLE search_passages ADD COLUMN text text NOT NULL DEFAULT ''",
    ]
    .into_iter()
    .chain(super::m20261205_000001_search::SQLITE_FTS.iter().copied())
    .chain(["INSERT INTO search_heads_fts(search_heads_fts, rank) VALUES ('secure-delete', 0)"])
    .map(str::to_owned)
    .collect()
}

const POSTGRES_UP: &[&str] = &[
    "ALTER TABLE search_passages ALTER COLUMN tsv DROP EXPRESSION",
    "ALTER TABLE search_passages DROP COLUMN text",
];

const POSTGRES_DOWN: &[&str] = &[
    "DELETE FROM search_passages",
    // Its indexes go with it.
    "ALTER TABLE search_passages DROP COLUMN tsv",
    "ALTER TABLE search_passages ADD COLUMN text text NOT NULL",
    "ALTER TABLE search_passages ADD COLUMN tsv tsvector \
     GENERATED ALWAYS AS (to_tsvector('simple', left(text, 100000))) STORED",
    "CREATE INDEX search_passages_tsv ON search_passages USING GIN (tsv)",
    "CREATE INDEX search_passages_heads_tsv ON search_passages USING GIN (tsv) \
     WHERE until_number IS NULL",
    "ALTER TABLE search_passages ALTER COLUMN text SET STATISTICS 0, \
     ALTER COLUMN tsv SET STATISTICS 0",
];

async fn run(manager: &SchemaManager<'_>, up: bool) -> Result<(), DbErr> {
    let statements: Vec<String> = match (manager.get_database_backend(), up) {
        (DbBackend::Sqlite, true) => sqlite_up(),
        (DbBackend::Sqlite, false) => sqlite_down(),
        (DbBackend::Postgres, true) => POSTGRES_UP.iter().map(|s| (*s).to_owned()).collect(),
        (DbBackend::Postgres, false) => POSTGRES_DOWN.iter().map(|s| (*s).to_owned()).collect(),
        (other, _) => return Err(DbErr::Migration(format!("no full-text search on {other:?}"))),
    };
    let db = manager.get_connection();
    for statement in statements {
        db.execute_unprepared(&statement).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, true).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, false).await
    }
}
