// Over 400 lines, as one file: the rotation in the redaction's transaction and the later
// erasure depend on the same horizon and relation rules, which make the erasure safe only
// together.

//! Making what a redaction purged unrecoverable from the database's files, not only unreadable
//! through the store. A database keeps what an UPDATE or DELETE replaced until it happens to
//! reuse the space: PostgreSQL in dead row versions, index entries and free space that plain
//! VACUUM does not clear (only VACUUM FULL, which takes the table offline, does).
//!
//! So, in the redaction's transaction, the keys of the buckets that held the purged text and
//! quotes are rotated (`seal`): every other text frame and quote in those buckets is sealed
//! again under a new key. Then, once no transaction can still see the old rows (PostgreSQL
//! keeps a row version any snapshot might read), `erase_pending` rewrites what still holds
//! the old key or the purged words in the clear: the 256-row key table, and on PostgreSQL the
//! partition of the search index that held the document (a sixteenth of it). Each is a short,
//! exclusive rewrite of a small table, taken with a lock timeout and retried until it is done;
//! `redactions.erased_at` records when it was. On SQLite, `secure_delete` overwrites what is
//! deleted in place, the search indexes (which only remember which rows were deleted) are
//! merged into one segment each, and a checkpoint clears the write-ahead log. What a backup or a replica holds, and the write-ahead log on PostgreSQL, are outside
//! the database's files; docs/redaction.md says how to purge them.

use std::collections::BTreeSet;

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Statement,
};

use super::Store;
use super::citations::{open_quotes, seal_quotes};
use super::error::StoreResult;
use super::sql::partial_index_term;
use super::texts::seal::{self, Keys};
use super::values::{ContentHash, Timestamp};
use crate::entity::{blob, citation, redaction};

/// Rows sealed again per statement page.
const PAGE: u64 = 500;

/// Gives `buckets` new keys and seals everything in them again under those, in the caller's
/// write transaction.
pub(crate) async fn rotate(
    tx: &impl ConnectionTrait,
    buckets: &BTreeSet<String>,
) -> StoreResult<()> {
    let (old, new) = seal::rotate(tx, buckets).await?;
    for bucket in buckets {
        reseal_blobs(tx, bucket, &old, &new).await?;
        reseal_citations(tx, bucket, &old, &new).await?;
    }
    Ok(())
}

/// The digests in a bucket (named by the hex digits of their first byte): from that byte up
/// to the next, as the database orders bytes.
fn in_bucket<C: ColumnTrait>(column: C, bucket: &str) -> sea_orm::Condition {
    let Ok(first) = u8::from_str_radix(bucket, 16) else {
        return sea_orm::Condition::all().add(sea_orm::sea_query::Expr::val(false));
    };
    let from = sea_orm::Condition::all().add(column.gte(vec![first]));
    match first.checked_add(1) {
        Some(next) => from.add(column.lt(vec![next])),
        None => from,
    }
}

async fn reseal_blobs(
    tx: &impl ConnectionTrait,
    bucket: &str,
    old: &Keys,
    new: &Keys,
) -> StoreResult<()> {
    use blob::Column as C;
    let mut after: Option<ContentHash> = None;
    loop {
        let rows: Vec<(ContentHash, Option<Vec<u8>>)> = blob::Entity::find()
            .select_only()
            .columns([C::Sha256, C::Packed])
            .filter(in_bucket(C::Sha256, bucket))
            .apply_if(after.take(), |q, after| q.filter(C::Sha256.gt(after)))
            .filter(C::Sealed.eq(true))
            .filter(C::Packed.is_not_null())
            .order_by_asc(C::Sha256)
            .limit(PAGE)
            .into_tuple()
            .all(tx)
            .await?;
        let Some((last, _)) = rows.last() else { break };
        after = Some(last.clone());
        for (digest, packed) in &rows {
            let sha256 = digest.hex();
            let Some(packed) = packed else { continue };
            // One that does not open is damaged already; `verify` reports it.
            let Ok(frame) = old.of(sha256)?.open(sha256.as_bytes(), packed) else {
                tracing::error!(blob = %sha256, "a sealed text does not open under its key");
                continue;
            };
            let resealed = new.of(sha256)?.seal(sha256.as_bytes(), &frame);
            write_frame(tx, digest, Some(resealed), true).await?;
        }
        if (rows.len() as u64) < PAGE {
            break;
        }
    }
    Ok(())
}

async fn reseal_citations(
    tx: &impl ConnectionTrait,
    bucket: &str,
    old: &Keys,
    new: &Keys,
) -> StoreResult<()> {
    use citation::Column as C;
    let mut after: Option<uuid::Uuid> = None;
    loop {
        let mut page = citation::Entity::find()
            .filter(in_bucket(C::CitingRevisionHash, bucket))
            .filter(C::Sealed.eq(true))
            .order_by_asc(C::Id)
            .limit(PAGE);
        if let Some(after) = after {
            page = page.filter(C::Id.gt(after));
        }
        let rows = page.all(tx).await?;
        let Some(last) = rows.last() else { break };
        after = Some(last.id);
        let count = rows.len() as u64;
        for mut row in rows {
            open_quotes(&mut row, old)?;
            seal_quotes(&mut row, new)?;
            write_quotes(tx, row, true).await?;
        }
        if count < PAGE {
            break;
        }
    }
    Ok(())
}

/// Writes a citation's six quote fields as `row` now holds them (sealed or open), and marks
/// the row as `sealed`.
async fn write_quotes(
    tx: &impl ConnectionTrait,
    row: citation::Model,
    sealed: bool,
) -> StoreResult<()> {
    use citation::Column as C;
    citation::Entity::update_many()
        .col_expr(C::CitingExact, Expr::value(row.citing_exact))
        .col_expr(C::CitingPrefix, Expr::value(row.citing_prefix))
        .col_expr(C::CitingSuffix, Expr::value(row.citing_suffix))
        .col_expr(C::TargetExact, Expr::value(row.target_exact))
        .col_expr(C::TargetPrefix, Expr::value(row.target_prefix))
        .col_expr(C::TargetSuffix, Expr::value(row.target_suffix))
        .col_expr(C::Sealed, Expr::value(sealed))
        .filter(C::Id.eq(row.id))
        .exec(tx)
        .await?;
    Ok(())
}

/// Writes a text's packed frame (sealed or open) and marks the row as `sealed`.
async fn write_frame(
    tx: &impl ConnectionTrait,
    sha256: &ContentHash,
    frame: Option<Vec<u8>>,
    sealed: bool,
) -> StoreResult<()> {
    use blob::Column as C;
    blob::Entity::update_many()
        .col_expr(C::Packed, Expr::value(frame))
        .col_expr(C::Sealed, Expr::value(sealed))
        .filter(C::Sha256.eq(sha256.clone()))
        .exec(tx)
        .await?;
    Ok(())
}

/// On PostgreSQL, the redaction's transaction id (erasing waits until no snapshot is older).
pub(crate) async fn transaction_id(tx: &impl ConnectionTrait) -> StoreResult<Option<i64>> {
    if tx.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(None);
    }
    let row = tx
        .query_one_raw(Statement::from_string(
            DatabaseBackend::Postgres,
            "SELECT pg_current_xact_id()::text::bigint",
        ))
        .await?;
    Ok(row.map(|row| row.try_get_by_index::<i64>(0)).transpose()?)
}

impl Store {
    /// Erases what the redactions not erased yet purged (see the module), as far as can be
    /// done now; returns how many were erased. A redaction whose old rows a running
    /// transaction may still read, or whose tables stay locked past the lock timeout, waits
    /// for the next call (the server calls this after each redaction and every minute).
    pub async fn erase_pending(&self) -> StoreResult<usize> {
        let pending = redaction::Entity::find()
            .filter(redaction::Column::ErasedAt.is_null())
            .order_by_asc(redaction::Column::At)
            .limit(100)
            .all(&self.db)
            .await?;
        if pending.is_empty() {
            return Ok(0);
        }
        let ready: Vec<redaction::Model> = match self.backend() {
            DatabaseBackend::Postgres => {
                let mut ready = Vec::new();
                for redaction in pending {
                    if self.nothing_older_sees(redaction.erase_after).await? {
                        ready.push(redaction);
                    }
                }
                if ready.is_empty() {
                    return Ok(0);
                }
                let documents = self.documents_of(&ready).await?;
                let hashes = ready.iter().map(|r| r.revision_hash.clone());
                let evidence = super::captures::evidence_kept_for(&self.db, hashes).await?;
                if !self.rewrite_postgres(&documents, evidence).await? {
                    return Ok(0);
                }
                ready
            }
            _ => {
                // `secure_delete` overwrote in place, but the search indexes only remember
                // which rows were deleted (contentless, m20261212_000001) until a merge: both
                // are merged now. Then the log must not keep the old pages.
                self.merge_search_indexes_sqlite().await?;
                if !self.checkpoint_sqlite().await? {
                    return Ok(0);
                }
                pending
            }
        };
        let erased = ready.len();
        let (_turn, tx) = self.begin_bare().await?;
        redaction::Entity::update_many()
            .col_expr(redaction::Column::ErasedAt, Expr::value(Timestamp::now().micros()))
            .filter(
                redaction::Column::RevisionHash.is_in(ready.into_iter().map(|r| r.revision_hash)),
            )
            .exec(&tx)
            .await?;
        // A revision's redaction says when its text was erased.
        self.commit_change(tx, super::changes::Changed::Everything).await?;
        // What this erasure made unreadable leaves this process's memory too.
        self.texts.clear();
        Ok(erased)
    }

    /// Whether everything that holds this database's old rows back is newer than the
    /// transaction `xid`, so that a rewrite keeps none of the rows it replaced: the snapshots
    /// of its sessions and of a standby (`hot_standby_feedback`, through its WAL sender), any
    /// replication slot, and every transaction running on the cluster — in any database,
    /// since a new snapshot (the rewrite's own) starts at the oldest of those.
    async fn nothing_older_sees(&self, xid: Option<i64>) -> StoreResult<bool> {
        let Some(xid) = xid else { return Ok(true) };
        let sql = "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity \
                     WHERE pid <> pg_backend_pid() \
                     AND ((backend_xid IS NOT NULL \
                           AND age(backend_xid) >= age(xid($1::text::xid8))) \
                       OR ((datname = current_database() OR backend_type = 'walsender') \
                           AND backend_xmin IS NOT NULL \
                           AND age(backend_xmin) >= age(xid($1::text::xid8))))) \
                   AND NOT EXISTS (SELECT 1 FROM pg_replication_slots \
                     WHERE (xmin IS NOT NULL AND age(xmin) >= age(xid($1::text::xid8))) \
                     OR (catalog_xmin IS NOT NULL \
                         AND age(catalog_xmin) >= age(xid($1::text::xid8))))";
        let row = self
            .db
            .query_one_raw(Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                sql,
                [xid.to_string().into()],
            ))
            .await?;
        Ok(row.map(|row| row.try_get_by_index::<bool>(0)).transpose()?.unwrap_or(false))
    }

    async fn documents_of(&self, redactions: &[redaction::Model]) -> StoreResult<Vec<uuid::Uuid>> {
        use crate::entity::revision;
        Ok(revision::Entity::find()
            .select_only()
            .column(revision::Column::DocumentId)
            .distinct()
            .filter(
                revision::Column::Hash.is_in(redactions.iter().map(|r| r.revision_hash.clone())),
            )
            .into_tuple()
            .all(&self.db)
            .await?)
    }

    /// Rewrites the key table and the search index's partitions of `documents`, and the
    /// capture evidence when `evidence` (evidence is not sealed: its deleted rows are the
    /// text); false when a lock was not had in time (nothing is lost: the next attempt does it).
    async fn rewrite_postgres(
        &self,
        documents: &[uuid::Uuid],
        evidence: bool,
    ) -> StoreResult<bool> {
        let mut relations = vec!["text_keys".to_owned()];
        if evidence {
            relations.push("capture_records".to_owned());
        }
        for document in documents {
            relations.push(super::search::relation_of(&self.db, *document).await?);
        }
        relations.sort();
        relations.dedup();
        // The names are this schema's own (`relation_of`), never a client's; a session of its
        // own, which a transaction pooler would not split from the timeouts set around it.
        let rewrite = format!("VACUUM (FULL) {}", relations.join(", "));
        match super::upkeep::maintain_postgres(self.session(), &rewrite).await? {
            Ok(()) => Ok(true),
            Err(err) => {
                tracing::warn!(error = %err, "what a redaction purged is not erased yet; retrying later");
                Ok(false)
            }
        }
    }

    /// Moves the write-ahead log into the file and truncates it; false while a reader keeps it.
    /// Merges each search index into one segment, which keeps only what is not deleted: its
    /// cost grows with the index (the history's words), paid once per erasure pass.
    async fn merge_search_indexes_sqlite(&self) -> StoreResult<()> {
        let (_turn, tx) = self.begin_bare().await?;
        super::search::merge_all(&tx).await?;
        // What searches find is unchanged.
        self.commit_change(tx, super::changes::Changed::no_document()).await
    }

    async fn checkpoint_sqlite(&self) -> StoreResult<bool> {
        // It holds the writers up while it waits for readers: they queue for it in turn.
        let _turn = self.write_turn().await?;
        let row = self
            .db
            .query_one_raw(Statement::from_string(
                DatabaseBackend::Sqlite,
                "PRAGMA wal_checkpoint(TRUNCATE)",
            ))
            .await?;
        let busy = row.map(|row| row.try_get_by_index::<i64>(0)).transpose()?.unwrap_or(1);
        Ok(busy == 0)
    }
}

/// Seals the text frames and quotes written before texts were sealed (found through the
/// partial indexes `blobs_unsealed` and `citations_unsealed`, so that asking costs nothing
/// once all are), a page per transaction. Returns how many rows it sealed.
pub(crate) async fn seal_unsealed(db: &sea_orm::DatabaseConnection) -> StoreResult<u64> {
    let mut sealed = 0;
    loop {
        let tx = super::transaction::begin_write(db).await?;
        let rows: Vec<(ContentHash, Option<Vec<u8>>)> = blob::Entity::find()
            .select_only()
            .columns([blob::Column::Sha256, blob::Column::Packed])
            .filter(partial_index_term("sealed = FALSE"))
            .filter(blob::Column::Packed.is_not_null())
            .limit(PAGE)
            .into_tuple()
            .all(&tx)
            .await?;
        if rows.is_empty() {
            break;
        }
        let keys = seal::keys_for(&tx, rows.iter().map(|(hash, _)| hash.hex())).await?;
        for (digest, packed) in &rows {
            let Some(frame) = packed else { continue };
            let hash = digest.hex();
            write_frame(&tx, digest, Some(keys.of(hash)?.seal(hash.as_bytes(), frame)), true)
                .await?;
        }
        sealed += rows.len() as u64;
        tx.commit().await?;
    }
    loop {
        let tx = super::transaction::begin_write(db).await?;
        let rows = citation::Entity::find()
            .filter(partial_index_term("sealed = FALSE"))
            .limit(PAGE)
            .all(&tx)
            .await?;
        if rows.is_empty() {
            break;
        }
        let keys =
            seal::keys_for(&tx, rows.iter().map(|row| row.citing_revision_hash.hex())).await?;
        sealed += rows.len() as u64;
        for mut row in rows {
            seal_quotes(&mut row, &keys)?;
            write_quotes(&tx, row, true).await?;
        }
        tx.commit().await?;
    }
    Ok(sealed)
}

/// Writes every sealed text frame and quote back open, so that the migration that brought
/// sealing can be reverted without losing them (`migrate` seals them again). Returns how many
/// rows it opened; a page per transaction.
pub async fn unseal_for_downgrade(db: &sea_orm::DatabaseConnection) -> StoreResult<u64> {
    let mut opened = 0;
    loop {
        let tx = super::transaction::begin_write(db).await?;
        let rows: Vec<(ContentHash, Option<Vec<u8>>)> = blob::Entity::find()
            .select_only()
            .columns([blob::Column::Sha256, blob::Column::Packed])
            .filter(blob::Column::Sealed.eq(true))
            .limit(PAGE)
            .into_tuple()
            .all(&tx)
            .await?;
        if rows.is_empty() {
            break;
        }
        let keys = seal::keys_to_open(&tx, rows.iter().map(|(hash, _)| hash.hex())).await?;
        for (digest, packed) in &rows {
            let hash = digest.hex();
            let frame = match packed {
                Some(sealed) => {
                    Some(keys.of(hash)?.open(hash.as_bytes(), sealed).map_err(|_| {
                        super::StoreError::Unexpected(anyhow::anyhow!("blob {hash} does not open"))
                    })?)
                }
                None => None,
            };
            write_frame(&tx, digest, frame, false).await?;
        }
        opened += rows.len() as u64;
        tx.commit().await?;
    }
    loop {
        let tx = super::transaction::begin_write(db).await?;
        let rows = citation::Entity::find()
            .filter(citation::Column::Sealed.eq(true))
            .limit(PAGE)
            .all(&tx)
            .await?;
        if rows.is_empty() {
            break;
        }
        let keys =
            seal::keys_to_open(&tx, rows.iter().map(|row| row.citing_revision_hash.hex())).await?;
        opened += rows.len() as u64;
        for mut row in rows {
            open_quotes(&mut row, &keys)?;
            write_quotes(&tx, row, false).await?;
        }
        tx.commit().await?;
    }
    Ok(opened)
}

/// After rows were sealed at `migrate`: on PostgreSQL, when any text was ever redacted, the
/// tables that held texts and quotes in the clear are rewritten once (an upgrade step, run
/// before the server serves), so that no purged text survives in their dead rows.
pub(crate) async fn rewrite_after_sealing(db: &sea_orm::DatabaseConnection) -> StoreResult<()> {
    if db.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(());
    }
    let redacted = redaction::Entity::find().one(db).await?.is_some();
    if redacted {
        db.execute_unprepared("VACUUM (FULL) blobs, citations").await?;
        tracing::info!("blobs and citations rewritten: what was redacted before sealing is gone");
    }
    Ok(())
}
