//! Writing texts: one, or many at once (an import), each packed against the texts around it.

use std::collections::{HashMap, HashSet};

use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use super::packing::{self, MAX_CHAIN, Packing, StoredBlob, Unpacked};
use super::seal::{Keys, keys_for};
use super::{opened, packed_row, refill_purged, sealed_frame};
use crate::entity::blob;
use crate::store::error::StoreResult;
use crate::store::sql::ROWS_PER_STATEMENT;
use crate::store::values::ContentHash;

/// Stores `content` under `hash` inside a write transaction, unless it is stored already.
/// True if it was stored now (whole, so that nothing depends on it yet).
pub(crate) async fn insert_blob(
    tx: &impl ConnectionTrait,
    hash: &ContentHash,
    content: &str,
) -> StoreResult<bool> {
    let keys = keys_for(tx, [hash.hex()]).await?;
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
pub(super) enum Storing {
    New,
    Repack,
}

pub(super) async fn write_packed(
    tx: &impl ConnectionTrait,
    mut texts: HashMap<ContentHash, String>,
    successions: &[(ContentHash, ContentHash)],
    storing: Storing,
) -> StoreResult<()> {
    use blob::Column as C;
    let mut kept: Vec<ContentHash> = Vec::new();
    let keys: Vec<&ContentHash> = match storing {
        Storing::New => texts.keys().collect(),
        Storing::Repack => Vec::new(),
    };
    for chunk in keys.chunks(ROWS_PER_STATEMENT) {
        let found: Vec<ContentHash> = blob::Entity::find()
            .select_only()
            .column(C::Sha256)
            .filter(C::Sha256.is_in(chunk.iter().copied().cloned()))
            .filter(C::PurgedAt.is_null())
            .into_tuple()
            .all(tx)
            .await?;
        kept.extend(found);
    }
    for hash in kept {
        texts.remove(&hash);
    }
    // Stored texts that a new one follows: the heads the batch extends.
    let mut stored: Vec<&ContentHash> = successions
        .iter()
        .filter(|(older, newer)| !texts.contains_key(older) && texts.contains_key(newer))
        .map(|(older, _)| older)
        .collect();
    stored.sort_unstable();
    stored.dedup();
    // Sealing keys of every bucket written to, held until the transaction ends.
    let keys =
        keys_for(tx, texts.keys().chain(stored.iter().copied()).map(ContentHash::hex)).await?;
    let mut heads: HashMap<String, (StoredBlob, i16)> = HashMap::new();
    for chunk in stored.chunks(ROWS_PER_STATEMENT) {
        let rows = blob::Entity::find()
            .filter(C::Sha256.is_in(chunk.iter().copied().cloned()))
            .all(tx)
            .await?;
        for row in rows {
            let height = row.chain_height;
            heads.insert(row.sha256.hex().to_owned(), (opened(row, &keys), height));
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
            let Some((row, below)) = heads.remove(older.hex()) else { continue };
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
    older: ContentHash,
    newer: ContentHash,
    /// Its packing when it was read, for compare-and-swap.
    was: i16,
    byte_length: i64,
    delta: Vec<u8>,
}

impl DeltaSwap {
    /// The swap of `row`'s text (with chains of `height` ending at it) for a delta against
    /// `newer`, if it may become one and the delta is smaller than what is stored.
    fn of(row: StoredBlob, height: i16, newer: &ContentHash, text: &str) -> Option<Self> {
        let older = ContentHash::from_trusted(row.sha256.clone());
        let (was, byte_length) = (row.packing, row.byte_length);
        let stored_len = row.packed.as_ref().map_or(row.byte_length as usize, Vec::len);
        let delta = rebased(row, height, text)?;
        (delta.len() < stored_len).then(|| DeltaSwap {
            older,
            newer: newer.clone(),
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
) -> StoreResult<HashSet<ContentHash>> {
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
                let delta = sealed_frame(keys, swap.older.hex(), &swap.delta)?;
                replace.values_panic([
                    swap.older.clone().into(),
                    "".into(),
                    swap.byte_length.into(),
                    Option::<i64>::None.into(),
                    Packing::Delta.code().into(),
                    delta.into(),
                    swap.newer.into(),
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
        let delta = sealed_frame(keys, swap.older.hex(), &swap.delta)?;
        let moved = blob::Entity::update_many()
            .col_expr(C::Packing, Expr::value(Packing::Delta.code()))
            .col_expr(C::Packed, Expr::value(delta))
            .col_expr(C::Sealed, Expr::value(true))
            .col_expr(C::BaseSha256, Expr::value(swap.newer))
            .col_expr(C::Content, Expr::value(""))
            .filter(C::Sha256.eq(swap.older.clone()))
            // A literal, not a parameter: SQLite matches a parameter against the partial
            // index `blobs_plain` (`packing = 0`) by its bound value, and then prepares the
            // statement again at every new binding.
            .filter(Expr::cust(format!("packing = {}", swap.was)))
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
    let Some(row) = blob::Entity::find_by_id(parent.clone()).one(tx).await? else {
        return Ok(());
    };
    let keys = keys_for(tx, [parent.hex()]).await?;
    let height = row.chain_height;
    let Some(swap) = DeltaSwap::of(opened(row, &keys), height, hash, text) else {
        return Ok(());
    };
    if !swap_in_deltas(tx, vec![swap], &keys).await?.is_empty() {
        blob::Entity::update_many()
            .col_expr(blob::Column::ChainHeight, Expr::value(height + 1))
            .filter(blob::Column::Sha256.eq(hash.clone()))
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
