//! Keeping the database in shape: its migrations, and the data jobs an upgrade brings with them
//! (packing, sealing, indexing, the log's backfill), run once at `migrate` before anything is
//! served; compacting after bulk changes; and the check that it needs none (`verify`).

use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement};

use super::error::StoreResult;

/// Applies every pending migration. Returns how many had been applied before, so callers can
/// tell a brand-new database (zero) from an existing one.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<usize> {
    use migration::{Migrator, MigratorTrait};
    let own = schema_connection(db).await?;
    let migrating = own.as_ref().unwrap_or(db);
    let applied = Migrator::get_applied_migrations(migrating).await?;
    let had_log = applied.iter().any(|m| m.name() == LOG_MIGRATION);
    let had_binary_digests = applied.iter().any(|m| m.name() == BINARY_DIGESTS_MIGRATION);
    Migrator::up(migrating, None).await?;
    if migrating.get_database_backend() == DatabaseBackend::Postgres {
        for table in REINDEXED_AFTER_BULK {
            drop_failed_rebuilds(migrating, table).await?;
        }
        // Where an import that dropped them (`Store::pause_index_merges`) did not end, or
        // runs now. Not built, they are tried again at the next start: searches find the same
        // without them, more slowly.
        match super::search::build_word_indexes(migrating).await? {
            Ok(0) => {}
            Ok(built) => tracing::warn!(
                built,
                "the search's word indexes were missing (an import dropped them): built again"
            ),
            Err(why) => tracing::warn!(%why, "the search's word indexes are missing and not built"),
        }
    }
    if let Some(own) = own {
        own.close().await?;
    }
    super::texts::seal::ensure_keys(db).await?;
    if db.get_database_backend() == DatabaseBackend::Sqlite && !super::search::merging(db).await? {
        resume_index_merges(db).await?;
        tracing::warn!(
            "an import stopped before its end: the heads' search index is built again and the \
             search indexes merge again"
        );
    }
    // Texts and headers stored before packing existed are packed (and the space they took
    // given back); finding none costs two lookups in empty partial indexes.
    let packed = super::texts::pack_plain(db).await?;
    // Texts and quotes stored before sealing existed are sealed (likewise). Their unsealed
    // versions stay behind as dead rows on PostgreSQL: where a text was ever redacted, the
    // tables are rewritten once, so that nothing redacted before the upgrade survives it.
    let sealed = super::erasure::seal_unsealed(db).await?;
    if sealed > 0 {
        tracing::info!(sealed, "texts and quotes stored before sealing sealed");
        super::erasure::rewrite_after_sealing(db).await?;
    }
    // Header frames written before headers were rebuilt from their rows give way to their
    // members' digests (found in a partial index, likewise).
    let rebuilt = super::texts::rebuild_header_frames(db).await?;
    if packed > 0 {
        tracing::info!(packed, "texts and headers stored before packing packed");
    }
    if rebuilt > 0 {
        tracing::info!(rebuilt, "header frames replaced by their rows' digests");
    }
    // Digests rewritten as bytes leave every row and index holding one half empty.
    let digests_rewritten = !had_binary_digests && holds_revisions(db).await?;
    if digests_rewritten {
        tracing::info!("digests rewritten as their 32 bytes");
    }
    if packed + rebuilt > 0 || digests_rewritten {
        compact(db).await?;
    }
    // Documents written before full-text search existed are indexed (resumably: it looks for
    // documents without passages, a lookup per document in an index).
    let indexed = super::search::index_unindexed(db).await?;
    if indexed > 0 {
        tracing::info!(indexed, "revisions written before full-text search indexed");
    }
    // Revisions written before the transparency log existed join it, oldest first, once: when
    // the migration that brought the log has just run. A revision without a leaf found later
    // was not written by the store, and verification reports it.
    if !had_log {
        let appended = super::tlog::append_unlogged(db).await?;
        tracing::info!(appended, "revisions older than the transparency log appended to it");
    }
    Ok(applied.len())
}

/// On SQLite, a pool of one connection for the migrations. sea-orm-migration runs a SQLite
/// migration outside a transaction, each statement on whichever pooled connection is free, and
/// a connection prepares a statement against the schema it last read: a `CREATE TRIGGER` after
/// a `DROP TRIGGER` that went over another connection was seen to fail with "trigger … already
/// exists" on a brand-new file (once in many CI runs, under load). On one connection every
/// statement sees the one before it. An in-memory database already is one connection (a second
/// would be a database of its own), so it migrates on its pool.
async fn schema_connection(db: &DatabaseConnection) -> anyhow::Result<Option<DatabaseConnection>> {
    use sea_orm::sqlx::sqlite::SqlitePoolOptions;
    if db.get_database_backend() != DatabaseBackend::Sqlite {
        return Ok(None);
    }
    let pool = db.get_sqlite_connection_pool();
    if pool.options().get_max_connections() == 1 {
        return Ok(None);
    }
    let one = SqlitePoolOptions::new()
        .max_connections(1)
        .acquire_timeout(pool.options().get_acquire_timeout())
        .connect_with((*pool.connect_options()).clone())
        .await?;
    Ok(Some(sea_orm::SqlxSqliteConnector::from_sqlx_sqlite_pool(one)))
}

/// Builds the SQLite heads' search index again and lets the search indexes merge again where
/// an import that paused them (`Store::pause_index_merges`) did not end: a change to no
/// document, logged as such.
async fn resume_index_merges(db: &DatabaseConnection) -> anyhow::Result<()> {
    let tx = super::transaction::begin_write(db).await?;
    super::search::resume_indexing(&tx).await?;
    super::changes::log(&tx, &super::Changed::no_document()).await?;
    tx.commit().await?;
    Ok(())
}

/// The migration that created the transparency log.
const LOG_MIGRATION: &str = "m20261126_000002_integrity";

/// The migration that rewrites every digest as its bytes (`migrate` compacts after it).
const BINARY_DIGESTS_MIGRATION: &str = "m20261215_000001_binary_digests";

async fn holds_revisions(db: &DatabaseConnection) -> StoreResult<bool> {
    use sea_orm::{EntityTrait, QuerySelect};
    let any = crate::entity::revision::Entity::find()
        .select_only()
        .column(crate::entity::revision::Column::Number)
        .limit(1)
        .into_tuple::<i64>()
        .one(db)
        .await?;
    Ok(any.is_some())
}

/// Gives the space a bulk write left behind back. On SQLite, a rewrite of the whole file. On
/// PostgreSQL, a rewrite of the texts' table (a batch writes each document's newest text whole
/// and the next batch rewrites it as a delta, a tenth of its size, which left two fifths of the
/// table's pages free; reads of texts and writes of revisions wait while it is rewritten, a
/// tenth of a second for the reference corpus's), then of each of the search index's partitions in turn: under a bulk write
/// in time order nearly every paragraph is closed by a later batch than the one that wrote it,
/// and closing copies its row (words and all), which left a third of their pages free; their
/// GIN indexes grow by their pending lists besides, to about ten times their size. A partition
/// is a sixteenth of the index, held exclusively only while it is rewritten (searches wait that
/// long: a tenth of a second for the reference corpus's); one whose lock is not had in time is
/// left as it is. Then the indexes of the tables every read uses are rebuilt without a lock
/// that blocks (`REINDEXED_AFTER_BULK`), and a VACUUM makes the dead row versions' space
/// reusable everywhere (and folds the pending lists in) and gathers statistics for the planner.
pub async fn compact(db: &DatabaseConnection) -> anyhow::Result<()> {
    match db.get_database_backend() {
        DatabaseBackend::Sqlite => {
            db.execute_unprepared("VACUUM").await?;
            // In WAL mode the rewrite went through the log: fold it in and truncate it, or the
            // log file would hold a second copy of the database until the next checkpoint.
            db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)").await?;
        }
        _ => {
            let tables =
                std::iter::once("blobs".to_owned()).chain(super::search::partitions(db).await?);
            for table in tables {
                // The names are this schema's own (`blobs`, `search::partitions`).
                let rewrite = format!("VACUUM (FULL) {table}");
                if let Err(error) = maintain_postgres(db, &rewrite).await? {
                    tracing::warn!(%table, %error, "not rewritten: its space is given back when it is next compacted");
                }
            }
            for table in REINDEXED_AFTER_BULK {
                reindex_concurrently(db, table).await?;
            }
            // A table another VACUUM or a schema change holds is passed over, not waited for.
            maintain_postgres(db, "VACUUM (ANALYZE, SKIP_LOCKED)").await??;
        }
    }
    Ok(())
}

/// The tables whose indexes a bulk write leaves a fifth to a half empty on PostgreSQL (keys
/// inserted in no order split pages that later keys never fill): rebuilt after one. They are
/// every read's, so not rewritten whole as the texts' table is: `REINDEX … CONCURRENTLY`
/// blocks neither reads nor writes. Measured on the reference corpus's import: revisions'
/// indexes 8.8 → 6.8 MB, documents' 0.8 → 0.4, the audit log's 1.0 → 0.9.
const REINDEXED_AFTER_BULK: &[&str] = &["revisions", "documents", "audit_events", "log_nodes"];

/// Rebuilds `table`'s indexes without blocking its readers or writers. A rebuild that fails
/// (a lock, or a transaction's snapshot older than the rebuild, not let go within
/// `LOCK_TIMEOUT`) leaves the table's indexes working, plus invalid copies that every write
/// would go on maintaining (`drop_failed_rebuilds`). Neither failure fails the compaction.
async fn reindex_concurrently(db: &DatabaseConnection, table: &str) -> anyhow::Result<()> {
    if let Err(error) =
        maintain_postgres(db, &format!("REINDEX TABLE CONCURRENTLY {table}")).await?
    {
        tracing::warn!(%table, %error, "indexes not rebuilt: their space is given back when it is next compacted");
    }
    drop_failed_rebuilds(db, table).await
}

/// Drops the invalid copies of `table`'s indexes (and of its TOAST table's) that a failed
/// `REINDEX … CONCURRENTLY` left: the new ones (`_ccnew`) when it failed before swapping them
/// in, the old ones (`_ccold`) when it failed after. A drop waits for the transactions that
/// hold the table as the rebuild did; one not let go within `LOCK_TIMEOUT` leaves the copies to
/// the next compaction or the next `migrate` (every server start).
async fn drop_failed_rebuilds(db: &DatabaseConnection, table: &str) -> anyhow::Result<()> {
    let leftovers = db
        .query_all_raw(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "SELECT i.indexrelid::regclass::text FROM pg_index i \
             JOIN pg_class c ON c.oid = i.indexrelid \
             WHERE i.indrelid IN (SELECT t.oid FROM pg_class t WHERE t.oid = $1::regclass \
               UNION SELECT t.reltoastrelid FROM pg_class t WHERE t.oid = $1::regclass) \
             AND NOT i.indisvalid AND c.relname ~ '_cc(new|old)[0-9]*$'",
            [table.into()],
        ))
        .await?;
    for row in leftovers {
        let index: String = row.try_get_by_index(0)?;
        if let Err(error) =
            maintain_postgres(db, &format!("DROP INDEX CONCURRENTLY IF EXISTS {index}")).await?
        {
            // The others wait for the same transactions.
            tracing::warn!(%table, %index, %error, "invalid copies of indexes left by a failed rebuild: dropped at the next compaction or start");
            break;
        }
    }
    Ok(())
}

/// How long maintenance waits for a lock before it gives up: readers and writers queue behind
/// a waiting exclusive lock.
const LOCK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Runs `statement` (maintenance: a VACUUM, which cannot run in a transaction) on a connection
/// of `db` taken out of its pool for it, with no statement timeout (it runs as long as the
/// work takes) but waiting at most `LOCK_TIMEOUT` for a lock. The connection is closed after,
/// never returned to the pool with those settings, even when this is dropped halfway (a
/// client gone while a redaction erases inline). The settings must reach the session that
/// runs the statement, so `db` must not be a transaction pooler's. The inner error is the
/// statement's.
pub(crate) async fn maintain_postgres(
    db: &DatabaseConnection,
    statement: &str,
) -> StoreResult<Result<(), sea_orm::sqlx::Error>> {
    use sea_orm::sqlx::{AssertSqlSafe, Executor};
    let sqlx = |err: sea_orm::sqlx::Error| {
        sea_orm::DbErr::Conn(sea_orm::RuntimeErr::SqlxError(std::sync::Arc::new(err)))
    };
    let mut conn = db.get_postgres_connection_pool().acquire().await.map_err(sqlx)?;
    conn.close_on_drop();
    let set =
        format!("SET lock_timeout = '{}ms'; SET statement_timeout = 0", LOCK_TIMEOUT.as_millis());
    conn.execute(AssertSqlSafe(set)).await.map_err(sqlx)?;
    Ok(conn.execute(AssertSqlSafe(statement.to_owned())).await.map(drop))
}

/// Fails unless every migration has been applied: for commands that must not change the
/// database they examine (`verify`).
pub async fn check_migrated(db: &DatabaseConnection) -> anyhow::Result<()> {
    use migration::{Migrator, MigratorTrait};
    let pending = Migrator::get_pending_migrations(db).await?;
    if let Some(first) = pending.first() {
        anyhow::bail!(
            "the database is not migrated ({} pending, from {}): run `palimpsest migrate` first",
            pending.len(),
            first.name()
        );
    }
    Ok(())
}
