//! Digests kept as their 32 bytes rather than 64 hex digits: every revision holds three
//! (its hash, its parent's, its text's) and every text two, each in its row and again in an
//! index, so hex doubled a tenth of the database.
//!
//! On PostgreSQL the columns become `bytea`. On SQLite a column's declared type cannot change
//! in place (that is a copy of every table involved), and needs not: a column of TEXT affinity
//! stores a BLOB as it is given and compares it byte for byte, so the values are rewritten and
//! the declarations stay `varchar`. The store binds and reads digests only as bytes
//! (`store::values`), so a hex digest written by an older build would match nothing: this
//! migration is why such a build refuses to start on the database.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Every column that holds a revision's hash or a text's SHA-256, by table.
const DIGESTS: &[(&str, &[&str])] = &[
    ("blobs", &["sha256", "base_sha256"]),
    ("revisions", &["hash", "parent_hash", "content_sha256"]),
    ("documents", &["head_hash"]),
    ("citations", &["citing_revision_hash", "target_revision_hash"]),
    ("captures", &["revision_hash"]),
    ("redactions", &["revision_hash"]),
    ("watches", &["seen_revision"]),
];

/// PostgreSQL cannot change a column's type under a foreign key that refers to it or from it:
/// the keys that refer to `revisions` or `blobs` are dropped, and added back as they were once
/// both ends are bytes (kept in the block's own variables, so that the role needs no right to
/// make temporary tables).
fn postgres(to_bytes: bool) -> String {
    let mut alter = String::new();
    for (table, columns) in DIGESTS {
        let changes: Vec<String> = columns
            .iter()
            .map(|c| {
                if to_bytes {
                    format!("ALTER COLUMN {c} TYPE bytea USING decode({c}, 'hex')")
                } else {
                    // As each was declared: all `varchar(64)` but `base_sha256`.
                    let declared = if *c == "base_sha256" { "varchar" } else { "varchar(64)" };
                    format!("ALTER COLUMN {c} TYPE {declared} USING encode({c}, 'hex')")
                }
            })
            .collect();
        alter.push_str(&format!("  ALTER TABLE {table} {};\n", changes.join(", ")));
    }
    format!(
        "DO $$
DECLARE drops text[]; adds text[]; one text;
BEGIN
  SELECT coalesce(array_agg(format('ALTER TABLE %s DROP CONSTRAINT %I', conrelid::regclass, conname)), '{{}}'),
         coalesce(array_agg(format('ALTER TABLE %s ADD CONSTRAINT %I %s', conrelid::regclass, conname,
                                   pg_get_constraintdef(oid))), '{{}}')
    INTO drops, adds
    FROM pg_constraint
    WHERE contype = 'f' AND confrelid IN ('revisions'::regclass, 'blobs'::regclass);
  FOREACH one IN ARRAY drops LOOP EXECUTE one; END LOOP;
{alter}  FOREACH one IN ARRAY adds LOOP EXECUTE one; END LOOP;
END $$"
    )
}

/// On SQLite the keys are checked when the transaction commits, by which time every digest
/// on both ends has been rewritten.
fn sqlite(to_bytes: bool) -> Vec<String> {
    let mut statements = vec!["PRAGMA defer_foreign_keys = ON".to_owned()];
    for (table, columns) in DIGESTS {
        let sets: Vec<String> = columns
            .iter()
            .map(|c| match to_bytes {
                true => format!("{c} = unhex({c})"),
                // `hex` of NULL is '', not NULL.
                false => format!("{c} = nullif(lower(hex({c})), '')"),
            })
            .collect();
        statements.push(format!("UPDATE {table} SET {}", sets.join(", ")));
    }
    statements
}

/// A stored digest that is not 64 hex digits would become something else than 32 bytes (or,
/// on SQLite, NULL): refused before anything is rewritten, naming where it is.
async fn check_hex(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let backend = manager.get_database_backend();
    for (table, columns) in DIGESTS {
        for column in *columns {
            let not_hex = match backend {
                DatabaseBackend::Postgres => format!("{column} !~ '^[0-9a-f]{{64}}$'"),
                _ => format!(
                    "(length({column}) <> 64 OR unhex({column}) IS NULL OR {column} <> lower({column}))"
                ),
            };
            let sql =
                format!("SELECT 1 FROM {table} WHERE {column} IS NOT NULL AND {not_hex} LIMIT 1");
            if db.query_one_raw(Statement::from_string(backend, sql)).await?.is_some() {
                return Err(DbErr::Migration(format!(
                    "{table}.{column} holds a value that is not a SHA-256 digest in 64 lowercase \
                     hex digits; `palimpsest verify` on the build before this one names it"
                )));
            }
        }
    }
    Ok(())
}

async fn rewrite(manager: &SchemaManager<'_>, to_bytes: bool) -> Result<(), DbErr> {
    let db = manager.get_connection();
    match manager.get_database_backend() {
        DatabaseBackend::Postgres => {
            // Every table rewritten, and every key checked again, in one statement: longer
            // than a request's timeout on a large store.
            db.execute_unprepared("SET LOCAL statement_timeout = 0").await?;
            db.execute_unprepared(&postgres(to_bytes)).await.map(drop)
        }
        _ => {
            for statement in sqlite(to_bytes) {
                db.execute_unprepared(&statement).await?;
            }
            Ok(())
        }
    }
}

/// Redactions look citations up by the revision they pin, and rewriting a revision's hash
/// looks its pinning citations up too (once per revision, even with the keys deferred).
const TARGET_INDEX: &str =
    "CREATE INDEX citations_by_target_revision ON citations (target_revision_hash)";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        check_hex(manager).await?;
        manager.get_connection().execute_unprepared(TARGET_INDEX).await?;
        rewrite(manager, true).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        rewrite(manager, false).await?;
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX citations_by_target_revision")
            .await
            .map(drop)
    }

    /// All or nothing on SQLite too: a store half rewritten would match half its digests.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
