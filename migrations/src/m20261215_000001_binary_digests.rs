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
use sea_orm_migration::sea_orm::DatabaseBackend;

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
/// both ends are bytes.
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
        alter.push_str(&format!("ALTER TABLE {table} {};\n", changes.join(", ")));
    }
    format!(
        "DO $$
DECLARE fk record;
BEGIN
  CREATE TEMP TABLE digest_keys ON COMMIT DROP AS
    SELECT conrelid::regclass::text AS tbl, conname, pg_get_constraintdef(oid) AS def
    FROM pg_constraint
    WHERE contype = 'f' AND confrelid IN ('revisions'::regclass, 'blobs'::regclass);
  FOR fk IN SELECT * FROM digest_keys LOOP
    EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', fk.tbl, fk.conname);
  END LOOP;
{alter}
  FOR fk IN SELECT * FROM digest_keys LOOP
    EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s', fk.tbl, fk.conname, fk.def);
  END LOOP;
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

async fn rewrite(manager: &SchemaManager<'_>, to_bytes: bool) -> Result<(), DbErr> {
    let db = manager.get_connection();
    match manager.get_database_backend() {
        DatabaseBackend::Postgres => db.execute_unprepared(&postgres(to_bytes)).await.map(drop),
        _ => {
            for statement in sqlite(to_bytes) {
                db.execute_unprepared(&statement).await?;
            }
            Ok(())
        }
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        rewrite(manager, true).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        rewrite(manager, false).await
    }

    /// All or nothing on SQLite too: a store half rewritten would match half its digests.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
