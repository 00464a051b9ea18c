//! Content blobs: each text stored once under its SHA-256, however many revisions share it,
//! packed as `packing` describes: a document's newest text whole, older ones as deltas against
//! the text of the revision after them.
//!
//! Invariant: a blob is only ever a delta against the text of a *child* of a revision that has
//! it (a revision whose parent has the blob's text). So the blobs that depend on a text are
//! found through the revisions that have it, with the indexes revisions already have.

use std::collections::{HashMap, HashSet};

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement, Value,
};

use super::Store;
use super::error::{StoreError, StoreResult};
use super::packing::{self, MAX_CHAIN, Packing, StoredBlob, Unpacked};
use super::revisions::Revision;
use super::seal::{self, Keys, keys_for};
use super::sql::{ROWS_PER_STATEMENT, placeholder};
use super::values::ContentHash;
use crate::entity::blob;

/// A stored row with its frame opened (`seal`): what the packing code reads.
fn opened(row: blob::Model, keys: &Keys) -> StoredBlob {
    let (packed, unopenable) = open_frame(&row.sha256, row.packed, row.sealed, keys);
    StoredBlob {
        sha256: row.sha256,
        packing: row.packing,
        content: row.content,
        packed,
        base: row.base_sha256,
        byte_length: row.byte_length,
        purged: row.purged_at.is_some(),
        unopenable,
    }
}

/// A stored frame opened under its bucket's key when it is sealed; whether it did not open.
fn open_frame(
    sha256: &str,
    packed: Option<Vec<u8>>,
    sealed: bool,
    keys: &Keys,
) -> (Option<Vec<u8>>, bool) {
    match packed {
        Some(frame) if sealed => match keys.of(sha256).map(|k| k.open(sha256.as_bytes(), &frame)) {
            Ok(Ok(plain)) => (Some(plain), false),
            _ => (None, true),
        },
        other => (other, false),
    }
}

/// A text frame sealed for the row of `hash`.
fn sealed_frame(keys: &Keys, hash: &str, frame: &[u8]) -> StoreResult<Vec<u8>> {
    Ok(keys.of(hash)?.seal(hash.as_bytes(), frame))
}

/// A new blob row: `content` whole, or as a delta against `base`'s text, sealed.
fn packed_row(
    hash: &ContentHash,
    content: &str,
    base: Option<(&ContentHash, &str)>,
    chain_height: i16,
    keys: &Keys,
) -> StoreResult<blob::ActiveModel> {
    let (packing, frame) = match base {
        Some((_, base_text)) => (Packing::Delta, packing::pack_delta(content, base_text)),
        None => (Packing::Whole, packing::pack_whole(content)),
    };
    Ok(blob::ActiveModel {
        sha256: Set(hash.as_str().to_owned()),
        content: Set(String::new()),
        byte_length: Set(content.len() as i64),
        purged_at: Set(None),
        packing: Set(packing.code()),
        packed: Set(Some(sealed_frame(keys, hash.as_str(), &frame)?)),
        base_sha256: Set(base.map(|(hash, _)| hash.as_str().to_owned())),
        chain_height: Set(chain_height),
        sealed: Set(true),
    })
}

/// On inserting a blob that is stored already: a text a redaction purged is stored again when
/// a new revision brings it back; any other is left as it is.
fn refill_purged() -> OnConflict {
    use blob::Column as C;
    OnConflict::column(C::Sha256)
        .update_columns([
            C::Content,
            C::PurgedAt,
            C::Packing,
            C::Packed,
            C::BaseSha256,
            C::ChainHeight,
            C::Sealed,
        ])
        .action_and_where(Expr::col((blob::Entity, C::PurgedAt)).is_not_null())
        .to_owned()
}

/// Stores `content` under `hash` inside a write transaction, unless it is stored already.
/// True if it was stored now (whole, so that nothing depends on it yet).
pub(crate) async fn insert_blob(
    tx: &impl ConnectionTrait,
    hash: &ContentHash,
    content: &str,
) -> StoreResult<bool> {
    let keys = keys_for(tx, [hash.as_str()]).await?;
    let stored = blob::Entity::insert(packed_row(hash, content, None, 0, &keys)?)
        .on_conflict(refill_purged())
        .exec_without_returning(tx)
        .await?;
    Ok(stored == 1)
}

/// Stores the texts of a batch of revisions (`texts`, by hash) inside a write transaction.
/// `successions` holds each revision's parent's text and its own, oldest first: each older
/// text becomes a delta against its successor where `rebase_parent` would make it one, so a
/// batch is stored as if its revisions had been written one by one.
pub(crate) async fn store_many(
    tx: &impl ConnectionTrait,
    texts: HashMap<ContentHash, String>,
    successions: &[(ContentHash, ContentHash)],
) -> StoreResult<()> {
    write_packed(tx, texts, successions, Storing::New).await
}

/// `f` over `items` on every core: compressing a batch's texts is most of a bulk write's work,
/// and the thread writing has the database to wait on meanwhile only after it.
fn in_parallel<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads < 2 || items.len() < 64 {
        return items.into_iter().map(f).collect();
    }
    let per = items.len().div_ceil(threads);
    let mut items = items.into_iter();
    let parts: Vec<Vec<T>> =
        std::iter::from_fn(|| Some(items.by_ref().take(per).collect::<Vec<T>>()))
            .take_while(|part| !part.is_empty())
            .collect();
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .into_iter()
            .map(|part| scope.spawn(move || part.into_iter().map(f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| {
                handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

/// Whether `write_packed` stores new texts or packs texts stored plain before packing existed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Storing {
    New,
    Repack,
}

async fn write_packed(
    tx: &impl ConnectionTrait,
    mut texts: HashMap<ContentHash, String>,
    successions: &[(ContentHash, ContentHash)],
    storing: Storing,
) -> StoreResult<()> {
    use blob::Column as C;
    let mut kept: Vec<String> = Vec::new();
    let keys: Vec<&str> = match storing {
        Storing::New => texts.keys().map(ContentHash::as_str).collect(),
        Storing::Repack => Vec::new(),
    };
    for chunk in keys.chunks(ROWS_PER_STATEMENT) {
        let found: Vec<String> = blob::Entity::find()
            .select_only()
            .column(C::Sha256)
            .filter(C::Sha256.is_in(chunk.iter().copied()))
            .filter(C::PurgedAt.is_null())
            .into_tuple()
            .all(tx)
            .await?;
        kept.extend(found);
    }
    for hash in kept {
        texts.remove(&ContentHash::from_trusted(hash));
    }
    // Stored texts that a new one follows: the heads the batch extends.
    let mut stored: Vec<&str> = successions
        .iter()
        .filter(|(older, newer)| !texts.contains_key(older) && texts.contains_key(newer))
        .map(|(older, _)| older.as_str())
        .collect();
    stored.sort_unstable();
    stored.dedup();
    // Sealing keys of every bucket written to, held until the transaction ends.
    let keys =
        keys_for(tx, texts.keys().map(ContentHash::as_str).chain(stored.iter().copied())).await?;
    let mut heads: HashMap<String, (StoredBlob, i16)> = HashMap::new();
    for chunk in stored.chunks(ROWS_PER_STATEMENT) {
        let rows =
            blob::Entity::find().filter(C::Sha256.is_in(chunk.iter().copied())).all(tx).await?;
        for row in rows {
            let height = row.chain_height;
            heads.insert(row.sha256.clone(), (opened(row, &keys), height));
        }
    }

    // Which text each new one is a delta against, and the chains' heights. A base is whole
    // and new when it is chosen, and taken by one text only, so no chain loops.
    let mut base_of: HashMap<&ContentHash, &ContentHash> = HashMap::new();
    let mut height: HashMap<&ContentHash, i16> = HashMap::new();
    let mut taken: HashSet<&ContentHash> = HashSet::new();
    let mut head_deltas: Vec<DeltaSwap> = Vec::new();
    for (older, newer) in successions {
        if older == newer
            || !texts.contains_key(newer)
            || taken.contains(newer)
            || base_of.contains_key(newer)
        {
            continue;
        }
        let below = if texts.contains_key(older) {
            let below = height.get(older).copied().unwrap_or(0);
            if base_of.contains_key(older) || below + 1 >= MAX_CHAIN {
                continue;
            }
            base_of.insert(older, newer);
            below
        } else {
            let Some((row, below)) = heads.remove(older.as_str()) else { continue };
            let Some(swap) = DeltaSwap::of(row, below, newer, &texts[newer]) else { continue };
            head_deltas.push(swap);
            below
        };
        taken.insert(newer);
        height.insert(newer, below + 1);
    }

    let pack = |(hash, text): (&ContentHash, &String)| {
        let base = base_of.get(hash).map(|base| (*base, texts[*base].as_str()));
        packed_row(hash, text, base, height.get(hash).copied().unwrap_or(0), &keys)
    };
    let rows = in_parallel(texts.iter().collect(), pack);
    let rows: Vec<blob::ActiveModel> = rows.into_iter().collect::<StoreResult<_>>()?;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<blob::ActiveModel> = rows.by_ref().take(ROWS_PER_STATEMENT).collect();
        let on_conflict = match storing {
            Storing::New => refill_purged(),
            Storing::Repack => OnConflict::column(C::Sha256)
                .update_columns([
                    C::Content,
                    C::Packing,
                    C::Packed,
                    C::BaseSha256,
                    C::ChainHeight,
                    C::Sealed,
                ])
                .to_owned(),
        };
        blob::Entity::insert_many(chunk)
            .on_conflict(on_conflict)
            .exec_without_returning(tx)
            .await?;
    }
    // If another writer got there first, the height given to a successor is merely an upper
    // bound, which is all a height promises.
    swap_in_deltas(tx, head_deltas, &keys).await?;
    Ok(())
}

/// A stored text to keep as a delta against a newer one.
struct DeltaSwap {
    older: String,
    newer: String,
    /// Its packing when it was read, for compare-and-swap.
    was: i16,
    byte_length: i64,
    delta: Vec<u8>,
}

impl DeltaSwap {
    /// The swap of `row`'s text (with chains of `height` ending at it) for a delta against
    /// `newer`, if it may become one and the delta is smaller than what is stored.
    fn of(row: StoredBlob, height: i16, newer: &ContentHash, text: &str) -> Option<Self> {
        let (older, was, byte_length) = (row.sha256.clone(), row.packing, row.byte_length);
        let stored_len = row.packed.as_ref().map_or(row.byte_length as usize, Vec::len);
        let delta = rebased(row, height, text)?;
        (delta.len() < stored_len).then(|| DeltaSwap {
            older,
            newer: newer.as_str().to_owned(),
            was,
            byte_length,
            delta,
        })
    }
}

/// Keeps each swap's text as its delta, if it is still packed as it was when read (a
/// concurrent writer may have rebased or purged it meanwhile). The hashes of the texts that
/// now are deltas.
async fn swap_in_deltas(
    tx: &impl ConnectionTrait,
    swaps: Vec<DeltaSwap>,
    keys: &Keys,
) -> StoreResult<HashSet<String>> {
    use blob::Column as C;
    let mut swapped = HashSet::new();
    if tx.get_database_backend() == sea_orm::DatabaseBackend::Sqlite {
        // SQLite writers are serialised, so the rows are as read. A row replaced (deleted and
        // inserted anew) moves to the end of the table, where it packs densely; shrunk in
        // place, it would leave its page mostly empty, and a history imported in time order
        // shrinks every page that way, doubling the table.
        let mut swaps = swaps.into_iter().peekable();
        while swaps.peek().is_some() {
            let mut replace = Query::insert();
            replace.replace().into_table(blob::Entity).columns([
                C::Sha256,
                C::Content,
                C::ByteLength,
                C::PurgedAt,
                C::Packing,
                C::Packed,
                C::BaseSha256,
                C::ChainHeight,
                C::Sealed,
            ]);
            for swap in swaps.by_ref().take(ROWS_PER_STATEMENT) {
                let delta = sealed_frame(keys, &swap.older, &swap.delta)?;
                replace.values_panic([
                    swap.older.as_str().into(),
                    "".into(),
                    swap.byte_length.into(),
                    Option::<i64>::None.into(),
                    Packing::Delta.code().into(),
                    delta.into(),
                    swap.newer.as_str().into(),
                    0i16.into(),
                    true.into(),
                ]);
                swapped.insert(swap.older);
            }
            tx.execute(&replace).await?;
        }
        return Ok(swapped);
    }
    for swap in swaps {
        let delta = sealed_frame(keys, &swap.older, &swap.delta)?;
        let moved = blob::Entity::update_many()
            .col_expr(C::Packing, Expr::value(Packing::Delta.code()))
            .col_expr(C::Packed, Expr::value(delta))
            .col_expr(C::Sealed, Expr::value(true))
            .col_expr(C::BaseSha256, Expr::value(swap.newer))
            .col_expr(C::Content, Expr::value(""))
            .filter(C::Sha256.eq(swap.older.as_str()))
            .filter(C::Packing.eq(swap.was))
            .filter(C::PurgedAt.is_null())
            .exec(tx)
            .await?;
        if moved.rows_affected == 1 {
            swapped.insert(swap.older);
        }
    }
    Ok(swapped)
}

/// After a revision whose text `text` (`hash`) was stored now was appended on a parent with
/// text `parent`: keeps the parent's text as a delta against it, when the parent's is whole,
/// the chain stays under `MAX_CHAIN` and the delta is smaller.
pub(crate) async fn rebase_parent(
    tx: &impl ConnectionTrait,
    parent: &ContentHash,
    hash: &ContentHash,
    text: &str,
) -> StoreResult<()> {
    if parent == hash {
        return Ok(());
    }
    let Some(row) = blob::Entity::find_by_id(parent.as_str().to_owned()).one(tx).await? else {
        return Ok(());
    };
    let keys = keys_for(tx, [parent.as_str()]).await?;
    let height = row.chain_height;
    let Some(swap) = DeltaSwap::of(opened(row, &keys), height, hash, text) else {
        return Ok(());
    };
    if !swap_in_deltas(tx, vec![swap], &keys).await?.is_empty() {
        blob::Entity::update_many()
            .col_expr(blob::Column::ChainHeight, Expr::value(height + 1))
            .filter(blob::Column::Sha256.eq(hash.as_str()))
            .exec(tx)
            .await?;
    }
    Ok(())
}

/// The delta of `row`'s text against `newer`, if `row` may become one: whole (or plain), not
/// purged, and with chains ending at it short enough to grow by one.
pub(crate) fn rebased(row: StoredBlob, height: i16, newer: &str) -> Option<Vec<u8>> {
    let packing = Packing::from_code(row.packing)?;
    if row.purged || packing == Packing::Delta || height + 1 >= MAX_CHAIN {
        return None;
    }
    let hash = row.sha256.clone();
    match packing::unpack_all(vec![row], [hash.as_str()]).remove(&hash) {
        Some(Unpacked::Text(old)) => Some(packing::pack_delta(&old, newer)),
        // A damaged text stays as it is, for `verify` to report.
        _ => None,
    }
}

/// The stored rows of `hashes` and of every blob on their chains, in one statement.
pub(crate) async fn read_stored(
    conn: &impl ConnectionTrait,
    hashes: &[&str],
) -> StoreResult<Vec<StoredBlob>> {
    if hashes.is_empty() {
        return Ok(Vec::new());
    }
    let backend = conn.get_database_backend();
    let placeholders: Vec<String> = (1..=hashes.len()).map(|i| placeholder(backend, i)).collect();
    let sql = format!(
        // Both terms cast alike: PostgreSQL wants one type, and the columns' lengths differ.
        "WITH RECURSIVE chain(sha256) AS ( \
           SELECT CAST(sha256 AS TEXT) FROM blobs WHERE sha256 IN ({}) \
           UNION \
           SELECT CAST(b.base_sha256 AS TEXT) FROM blobs b JOIN chain c ON b.sha256 = c.sha256 \
           WHERE b.packing = {} AND b.base_sha256 IS NOT NULL) \
         SELECT b.sha256, b.packing, b.content, b.packed, b.base_sha256, b.byte_length, \
           b.purged_at, b.sealed, k.key FROM blobs b JOIN chain c ON b.sha256 = c.sha256 \
           LEFT JOIN text_keys k ON k.bucket = substr(b.sha256, 1, 2)",
        placeholders.join(","),
        Packing::Delta.code(),
    );
    let values: Vec<Value> = hashes.iter().map(|h| Value::from(*h)).collect();
    let rows = conn.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    let mut keys = Keys::default();
    rows.iter()
        .map(|row| {
            let sha256: String = row.try_get_by_index(0)?;
            if let Some(key) = row.try_get_by_index::<Option<Vec<u8>>>(8)? {
                keys.insert_stored(seal::bucket_of(&sha256), &key)?;
            }
            let sealed: bool = row.try_get_by_index(7)?;
            let (packed, unopenable) = open_frame(&sha256, row.try_get_by_index(3)?, sealed, &keys);
            Ok(StoredBlob {
                sha256,
                packing: row.try_get_by_index(1)?,
                content: row.try_get_by_index(2)?,
                packed,
                base: row.try_get_by_index(4)?,
                byte_length: row.try_get_by_index(5)?,
                purged: row.try_get_by_index::<Option<i64>>(6)?.is_some(),
                unopenable,
            })
        })
        .collect()
}

/// Blob rows kept across the pages of one long read (an export), so that the chains of deltas
/// its pages share are read from the database once: an export in commit order reads each
/// document's chain again for every revision. Bounded in bytes; emptied whole when full.
#[derive(Debug)]
pub struct FrameCache {
    rows: HashMap<String, StoredBlob>,
    bytes: usize,
    limit: usize,
}

impl FrameCache {
    /// A cache of at most `limit` bytes of stored frames.
    pub fn new(limit: usize) -> Self {
        FrameCache { rows: HashMap::new(), bytes: 0, limit }
    }

    fn row_bytes(row: &StoredBlob) -> usize {
        row.sha256.len() + row.content.len() + row.packed.as_ref().map_or(0, Vec::len) + 96
    }
}

/// The texts of `hashes` (stored and not purged), reading only the blob rows `cache` lacks.
pub(crate) async fn texts_through(
    conn: &impl ConnectionTrait,
    hashes: &[ContentHash],
    cache: &mut FrameCache,
) -> StoreResult<HashMap<String, Unpacked>> {
    let missing: Vec<&str> =
        hashes.iter().map(ContentHash::as_str).filter(|h| !cache.rows.contains_key(*h)).collect();
    for row in read_stored(conn, &missing).await? {
        if cache.bytes > cache.limit {
            cache.rows.clear();
            cache.bytes = 0;
        }
        cache.bytes += FrameCache::row_bytes(&row);
        cache.rows.insert(row.sha256.clone(), row);
    }
    // Every row on the wanted chains: a chain is cached whole, as it was read.
    let mut rows = Vec::new();
    let mut pending: Vec<&str> = hashes.iter().map(ContentHash::as_str).collect();
    let mut seen = HashSet::new();
    while let Some(hash) = pending.pop() {
        if !seen.insert(hash) {
            continue;
        }
        match cache.rows.get(hash) {
            Some(row) => {
                if let Some(base) = &row.base {
                    pending.push(base.as_str());
                }
                rows.push(row.clone());
            }
            // Emptied meanwhile, or never stored: read what is left directly.
            None => rows.extend(read_stored(conn, &[hash]).await?),
        }
    }
    Ok(packing::unpack_all(rows, hashes.iter().map(ContentHash::as_str)))
}

/// The texts of `hashes` that are stored and not purged.
pub(super) async fn texts_of(
    conn: &impl ConnectionTrait,
    hashes: &[ContentHash],
) -> StoreResult<HashMap<String, Unpacked>> {
    let keys: Vec<&str> = hashes.iter().map(ContentHash::as_str).collect();
    let rows = read_stored(conn, &keys).await?;
    Ok(packing::unpack_all(rows, keys))
}

fn damaged(hash: &str, error: packing::UnpackError) -> StoreError {
    StoreError::Unexpected(anyhow::anyhow!("content {hash} cannot be read: {error}"))
}

impl Store {
    /// The texts among `hashes` that are stored (and not purged by a redaction), in one query.
    pub async fn contents_by_hashes(
        &self,
        hashes: &[ContentHash],
    ) -> StoreResult<Vec<(ContentHash, String)>> {
        let mut texts = texts_of(&self.db, hashes).await?;
        let mut found = Vec::with_capacity(hashes.len());
        for hash in hashes {
            match texts.remove(hash.as_str()) {
                Some(Unpacked::Text(text)) => found.push((hash.clone(), text)),
                Some(Unpacked::Damaged(error)) => return Err(damaged(hash.as_str(), error)),
                Some(Unpacked::Purged) | None => {}
            }
        }
        Ok(found)
    }

    /// The text of `revision`: `Redacted` if it was.
    pub(crate) async fn required_content(&self, revision: &Revision) -> StoreResult<String> {
        content_of(&self.db, revision).await
    }
}

/// The text of `revision` read through `conn`: `Redacted` if it was.
pub(crate) async fn content_of(
    conn: &impl ConnectionTrait,
    revision: &Revision,
) -> StoreResult<String> {
    if revision.redacted {
        return Err(StoreError::Redacted(revision.hash.clone()));
    }
    let hash = revision.content_hash.as_str();
    match texts_of(conn, std::slice::from_ref(&revision.content_hash)).await?.remove(hash) {
        Some(Unpacked::Text(text)) => Ok(text),
        Some(Unpacked::Damaged(error)) => Err(damaged(hash, error)),
        Some(Unpacked::Purged) | None => {
            Err(StoreError::Unexpected(anyhow::anyhow!("content {hash} is missing")))
        }
    }
}

/// Empties the text of blob `hash` (a redaction purges it). Texts kept as deltas against it
/// are first kept whole, so that no other text is lost with it.
pub(crate) async fn purge(tx: &impl ConnectionTrait, hash: &str, at: i64) -> StoreResult<()> {
    use blob::Column as C;
    // Its dependents are texts of parents of revisions with this text (see the invariant).
    let backend = tx.get_database_backend();
    let sql = format!(
        "SELECT b.sha256 FROM revisions r \
         JOIN revisions p ON p.hash = r.parent_hash \
         JOIN blobs b ON b.sha256 = p.content_sha256 \
         WHERE r.content_sha256 = {} AND b.base_sha256 = {}",
        placeholder(backend, 1),
        placeholder(backend, 2),
    );
    let dependents: Vec<String> = tx
        .query_all_raw(Statement::from_sql_and_values(backend, sql, [hash.into(), hash.into()]))
        .await?
        .iter()
        .map(|row| row.try_get_by_index::<String>(0))
        .collect::<Result<_, _>>()?;
    if !dependents.is_empty() {
        let wanted: Vec<&str> = dependents.iter().map(String::as_str).collect();
        let mut texts = packing::unpack_all(read_stored(tx, &wanted).await?, wanted.clone());
        let keys = keys_for(tx, wanted).await?;
        for dependent in &dependents {
            match texts.remove(dependent) {
                Some(Unpacked::Text(text)) => {
                    let whole = sealed_frame(&keys, dependent, &packing::pack_whole(&text))?;
                    blob::Entity::update_many()
                        .col_expr(C::Packing, Expr::value(Packing::Whole.code()))
                        .col_expr(C::Packed, Expr::value(whole))
                        .col_expr(C::Sealed, Expr::value(true))
                        .col_expr(C::BaseSha256, Expr::value(Option::<String>::None))
                        // Chains already ending at it are of unknown length: none may grow.
                        .col_expr(C::ChainHeight, Expr::value(MAX_CHAIN))
                        .filter(C::Sha256.eq(dependent.as_str()))
                        .exec(tx)
                        .await?;
                }
                // It is lost already; the redaction goes on, and `verify` reports it.
                Some(Unpacked::Damaged(error)) => {
                    tracing::error!(blob = %dependent, %error, "a stored text cannot be read");
                }
                Some(Unpacked::Purged) | None => {}
            }
        }
    }
    blob::Entity::update_many()
        .col_expr(C::Content, Expr::value(""))
        .col_expr(C::Packing, Expr::value(Packing::Plain.code()))
        .col_expr(C::Packed, Expr::value(Option::<Vec<u8>>::None))
        .col_expr(C::BaseSha256, Expr::value(Option::<String>::None))
        .col_expr(C::PurgedAt, Expr::value(at))
        .filter(C::Sha256.eq(hash))
        .exec(tx)
        .await?;
    Ok(())
}

/// Packs the texts and headers stored plain before packing existed (found through the partial
/// indexes `blobs_plain` and `revisions_plain_header`, so that asking costs nothing once all
/// is packed): each document's texts as deltas along its history, as new writes would have
/// made them, a page at a time, one transaction each. Returns how many texts and headers it
/// packed. Rows not packed yet (if this is interrupted) read as they are, and the next run
/// packs them.
pub(crate) async fn pack_plain(db: &DatabaseConnection) -> StoreResult<u64> {
    use crate::entity::revision;
    let mut packed = 0;
    loop {
        let plain: Vec<String> = blob::Entity::find()
            .select_only()
            .column(blob::Column::Sha256)
            .filter(blob::Column::Packing.eq(Packing::Plain.code()))
            .filter(blob::Column::PurgedAt.is_null())
            .limit(ROWS_PER_STATEMENT as u64)
            .into_tuple()
            .all(db)
            .await?;
        if plain.is_empty() {
            break;
        }
        let documents: Vec<uuid::Uuid> = revision::Entity::find()
            .select_only()
            .column(revision::Column::DocumentId)
            .distinct()
            .filter(revision::Column::ContentSha256.is_in(plain.iter().map(String::as_str)))
            .into_tuple()
            .all(db)
            .await?;
        let history: Vec<(uuid::Uuid, String)> = revision::Entity::find()
            .select_only()
            .column(revision::Column::DocumentId)
            .column(revision::Column::ContentSha256)
            .filter(revision::Column::DocumentId.is_in(documents))
            .order_by_asc(revision::Column::DocumentId)
            .order_by_asc(revision::Column::Number)
            .into_tuple()
            .all(db)
            .await?;
        let successions: Vec<(ContentHash, ContentHash)> = history
            .windows(2)
            .filter(|pair| pair[0].0 == pair[1].0)
            .map(|pair| {
                let older = ContentHash::from_trusted(pair[0].1.clone());
                (older, ContentHash::from_trusted(pair[1].1.clone()))
            })
            .collect();
        // This page's texts, and those of their documents' other revisions (a text no
        // revision has is packed whole).
        let mut wanted: Vec<&str> = history.iter().map(|(_, hash)| hash.as_str()).collect();
        wanted.extend(plain.iter().map(String::as_str));
        wanted.sort_unstable();
        wanted.dedup();
        let tx = super::transaction::begin_write(db).await?;
        let mut texts = HashMap::new();
        for chunk in wanted.chunks(ROWS_PER_STATEMENT) {
            let rows: Vec<(String, String)> = blob::Entity::find()
                .select_only()
                .column(blob::Column::Sha256)
                .column(blob::Column::Content)
                .filter(blob::Column::Sha256.is_in(chunk.iter().copied()))
                .filter(blob::Column::Packing.eq(Packing::Plain.code()))
                .filter(blob::Column::PurgedAt.is_null())
                .into_tuple()
                .all(&tx)
                .await?;
            texts.extend(
                rows.into_iter().map(|(hash, text)| (ContentHash::from_trusted(hash), text)),
            );
        }
        packed += texts.len() as u64;
        write_packed(&tx, texts, &successions, Storing::Repack).await?;
        tx.commit().await?;
    }
    Ok(packed + pack_plain_headers(db).await?)
}

/// Packs the headers stored plain, a page of revisions per transaction.
async fn pack_plain_headers(db: &DatabaseConnection) -> StoreResult<u64> {
    use crate::entity::revision;
    let mut packed = 0;
    loop {
        let rows: Vec<(String, String)> = revision::Entity::find()
            .select_only()
            .column(revision::Column::Hash)
            .column(revision::Column::Header)
            .filter(revision::Column::PackedHeader.is_null())
            .limit(ROWS_PER_STATEMENT as u64)
            .into_tuple()
            .all(db)
            .await?;
        if rows.is_empty() {
            break;
        }
        packed += rows.len() as u64;
        let tx = super::transaction::begin_write(db).await?;
        for (hash, header) in rows {
            revision::Entity::update_many()
                .col_expr(
                    revision::Column::PackedHeader,
                    Expr::value(packing::pack_header(&header)),
                )
                .col_expr(revision::Column::Header, Expr::value(""))
                .filter(revision::Column::Hash.eq(hash))
                .exec(&tx)
                .await?;
        }
        tx.commit().await?;
    }
    Ok(packed)
}

/// Writes every packed text and header back plain, so that the migration that brought
/// packing can be reverted without losing them (`migrate` packs them again). Returns how many
/// it unpacked. A page of blobs (or revisions) per transaction, by hash.
pub async fn unpack_for_downgrade(db: &DatabaseConnection) -> StoreResult<u64> {
    use crate::entity::revision;
    let mut unpacked = 0;
    let mut after = String::new();
    loop {
        let hashes: Vec<String> = blob::Entity::find()
            .select_only()
            .column(blob::Column::Sha256)
            .filter(blob::Column::Sha256.gt(after.as_str()))
            .filter(blob::Column::Packing.ne(Packing::Plain.code()))
            .order_by_asc(blob::Column::Sha256)
            .limit(ROWS_PER_STATEMENT as u64)
            .into_tuple()
            .all(db)
            .await?;
        let Some(last) = hashes.last() else { break };
        after = last.clone();
        let tx = super::transaction::begin_write(db).await?;
        let keys: Vec<&str> = hashes.iter().map(String::as_str).collect();
        let mut texts = packing::unpack_all(read_stored(&tx, &keys).await?, keys);
        for hash in &hashes {
            match texts.remove(hash) {
                Some(Unpacked::Text(text)) => {
                    blob::Entity::update_many()
                        .col_expr(blob::Column::Content, Expr::value(text))
                        .col_expr(blob::Column::Packing, Expr::value(Packing::Plain.code()))
                        .col_expr(blob::Column::Packed, Expr::value(Option::<Vec<u8>>::None))
                        .col_expr(blob::Column::BaseSha256, Expr::value(Option::<String>::None))
                        .col_expr(blob::Column::Sealed, Expr::value(false))
                        .filter(blob::Column::Sha256.eq(hash.as_str()))
                        .exec(&tx)
                        .await?;
                    unpacked += 1;
                }
                Some(Unpacked::Damaged(error)) => return Err(damaged(hash, error)),
                Some(Unpacked::Purged) | None => {}
            }
        }
        tx.commit().await?;
    }
    loop {
        let rows: Vec<revision::Model> = revision::Entity::find()
            .filter(revision::Column::PackedHeader.is_not_null())
            .limit(ROWS_PER_STATEMENT as u64)
            .all(db)
            .await?;
        if rows.is_empty() {
            break;
        }
        let tx = super::transaction::begin_write(db).await?;
        for row in rows {
            let header = super::revisions::stored_header(&row).map_err(|error| {
                StoreError::Unexpected(anyhow::anyhow!("header of {}: {error}", row.hash))
            })?;
            revision::Entity::update_many()
                .col_expr(revision::Column::Header, Expr::value(header))
                .col_expr(revision::Column::PackedHeader, Expr::value(Option::<Vec<u8>>::None))
                .filter(revision::Column::Hash.eq(row.hash))
                .exec(&tx)
                .await?;
            unpacked += 1;
        }
        tx.commit().await?;
    }
    Ok(unpacked)
}
