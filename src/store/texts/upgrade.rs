//! Bringing texts stored by an older version to the current form at `migrate` (packed), and
//! back for a downgrade (`unpack_for_downgrade`).

use std::collections::HashMap;

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
};

use super::packing::{self, Packing, Unpacked};
use super::read::{damaged, read_stored};
use super::write::{Storing, write_packed};
use crate::entity::blob;
use crate::store::error::{StoreError, StoreResult};
use crate::store::sql::{ROWS_PER_STATEMENT, partial_index_term};
use crate::store::values::{ContentHash, RevisionHash};

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
        let plain: Vec<ContentHash> = blob::Entity::find()
            .select_only()
            .column(blob::Column::Sha256)
            // `blobs_plain`: packing = 0 (`Packing::Plain`).
            .filter(partial_index_term("packing = 0"))
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
            .filter(revision::Column::ContentSha256.is_in(plain.iter().cloned()))
            .into_tuple()
            .all(db)
            .await?;
        let history: Vec<(uuid::Uuid, ContentHash)> = revision::Entity::find()
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
            .map(|pair| (pair[0].1.clone(), pair[1].1.clone()))
            .collect();
        // This page's texts, and those of their documents' other revisions (a text no
        // revision has is packed whole).
        let mut wanted: Vec<&ContentHash> = history.iter().map(|(_, hash)| hash).collect();
        wanted.extend(plain.iter());
        wanted.sort_unstable();
        wanted.dedup();
        let tx = crate::store::transaction::begin_write(db).await?;
        let mut texts = HashMap::new();
        for chunk in wanted.chunks(ROWS_PER_STATEMENT) {
            let rows: Vec<(ContentHash, String)> = blob::Entity::find()
                .select_only()
                .column(blob::Column::Sha256)
                .column(blob::Column::Content)
                .filter(blob::Column::Sha256.is_in(chunk.iter().copied().cloned()))
                .filter(blob::Column::Packing.eq(Packing::Plain.code()))
                .filter(blob::Column::PurgedAt.is_null())
                .into_tuple()
                .all(&tx)
                .await?;
            texts.extend(rows);
        }
        packed += texts.len() as u64;
        write_packed(&tx, texts, &successions, Storing::Repack).await?;
        tx.commit().await?;
    }
    Ok(packed + pack_plain_headers(db).await?)
}

/// Packs the headers stored plain, a page of revisions per transaction: those that are their
/// row's canonical header become its members' digests, as new ones are written; any other is
/// kept as a frame.
async fn pack_plain_headers(db: &DatabaseConnection) -> StoreResult<u64> {
    use crate::entity::revision;
    use crate::store::revisions::digests_if_rebuilt;
    let mut packed = 0;
    loop {
        let rows: Vec<revision::Model> = revision::Entity::find()
            .filter(revision::Column::PackedHeader.is_null())
            .limit(ROWS_PER_STATEMENT as u64)
            .all(db)
            .await?;
        if rows.is_empty() {
            break;
        }
        packed += rows.len() as u64;
        let tx = crate::store::transaction::begin_write(db).await?;
        for row in rows {
            let kept = digests_if_rebuilt(&row, &row.header)
                .unwrap_or_else(|| packing::pack_header(&row.header));
            revision::Entity::update_many()
                .col_expr(revision::Column::PackedHeader, Expr::value(kept))
                .col_expr(revision::Column::Header, Expr::value(""))
                .filter(revision::Column::Hash.eq(row.hash))
                .exec(&tx)
                .await?;
        }
        tx.commit().await?;
    }
    Ok(packed)
}

/// The header frames an older build wrote, found without a scan (`revisions_header_frames`):
/// empty once every frame its row rebuilds is replaced.
fn header_frames(backend: sea_orm::DatabaseBackend) -> sea_orm::sea_query::Expr {
    partial_index_term(migration::header_frames_predicate(backend))
}

/// Keeps, in place of each header frame that its row's columns rebuild, the members' digests
/// (as every header is kept now), a page of revisions per transaction. A frame that is not
/// its row's header, or does not unpack, stays for verification to report. Returns how many
/// it replaced.
pub(crate) async fn rebuild_header_frames(db: &DatabaseConnection) -> StoreResult<u64> {
    use crate::entity::revision;
    use crate::store::revisions::digests_if_rebuilt;
    let mut replaced = 0;
    let mut after: Option<RevisionHash> = None;
    loop {
        let rows: Vec<revision::Model> = revision::Entity::find()
            .filter(header_frames(db.get_database_backend()))
            .apply_if(after.take(), |q, after| q.filter(revision::Column::Hash.gt(after)))
            .order_by_asc(revision::Column::Hash)
            .limit(ROWS_PER_STATEMENT as u64)
            .all(db)
            .await?;
        let Some(last) = rows.last() else { break };
        after = Some(last.hash.clone());
        let tx = crate::store::transaction::begin_write(db).await?;
        for row in rows {
            let Some(Ok(header)) = row.packed_header.as_deref().map(packing::unpack_header) else {
                continue;
            };
            let Some(kept) = digests_if_rebuilt(&row, &header) else { continue };
            revision::Entity::update_many()
                .col_expr(revision::Column::PackedHeader, Expr::value(kept))
                .filter(revision::Column::Hash.eq(row.hash))
                .exec(&tx)
                .await?;
            replaced += 1;
        }
        tx.commit().await?;
    }
    Ok(replaced)
}

/// Writes every packed text and header back plain, so that the migration that brought
/// packing can be reverted without losing them (`migrate` packs them again). Returns how many
/// it unpacked. A page of blobs (or revisions) per transaction, by hash.
pub async fn unpack_for_downgrade(db: &DatabaseConnection) -> StoreResult<u64> {
    let mut unpacked = 0;
    let mut after: Option<ContentHash> = None;
    loop {
        let hashes: Vec<ContentHash> = blob::Entity::find()
            .select_only()
            .column(blob::Column::Sha256)
            .apply_if(after.take(), |q, after| q.filter(blob::Column::Sha256.gt(after)))
            .filter(blob::Column::Packing.ne(Packing::Plain.code()))
            .order_by_asc(blob::Column::Sha256)
            .limit(ROWS_PER_STATEMENT as u64)
            .into_tuple()
            .all(db)
            .await?;
        let Some(last) = hashes.last() else { break };
        after = Some(last.clone());
        let tx = crate::store::transaction::begin_write(db).await?;
        let keys: Vec<&str> = hashes.iter().map(ContentHash::hex).collect();
        let mut texts = packing::unpack_all(read_stored(&tx, &keys).await?, keys);
        for hash in &hashes {
            match texts.remove(hash.hex()) {
                Some(Unpacked::Text(text)) => {
                    blob::Entity::update_many()
                        .col_expr(blob::Column::Content, Expr::value(text))
                        .col_expr(blob::Column::Packing, Expr::value(Packing::Plain.code()))
                        .col_expr(blob::Column::Packed, Expr::value(Option::<Vec<u8>>::None))
                        .col_expr(
                            blob::Column::BaseSha256,
                            Expr::value(Option::<ContentHash>::None),
                        )
                        .col_expr(blob::Column::Sealed, Expr::value(false))
                        .filter(blob::Column::Sha256.eq(hash.clone()))
                        .exec(&tx)
                        .await?;
                    unpacked += 1;
                }
                Some(Unpacked::Damaged(error)) => return Err(damaged(hash.hex(), error)),
                Some(Unpacked::Purged) | None => {}
            }
        }
        tx.commit().await?;
    }
    Ok(unpacked + headers_for_downgrade(db).await?)
}

/// Writes every header that is kept packed or rebuilt from its row back plain, so that the
/// migrations that brought either can be reverted (`migrate` keeps them as digests again).
/// Returns how many it wrote.
pub async fn headers_for_downgrade(db: &DatabaseConnection) -> StoreResult<u64> {
    use crate::entity::revision;
    let mut unpacked = 0;
    loop {
        let rows: Vec<revision::Model> = revision::Entity::find()
            .filter(revision::Column::PackedHeader.is_not_null())
            .limit(ROWS_PER_STATEMENT as u64)
            .all(db)
            .await?;
        if rows.is_empty() {
            break;
        }
        let tx = crate::store::transaction::begin_write(db).await?;
        for row in rows {
            let header = crate::store::revisions::stored_header(&row).map_err(|error| {
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
