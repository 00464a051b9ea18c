//! The HTTP evidence of captures, kept as the capture layer serialized it (WARC records, which
//! the store does not read) and given back byte for byte. Each record is a zstd frame, whole or
//! compressed against the record before it in its chain — the records of one kind for one
//! URL — so a page fetched again with one paragraph changed costs about that paragraph. Unlike
//! texts (`texts::packing`), records are never rewritten to keep the newest whole: evidence is
//! written once and stays the bytes that were written, so chains run forward, and every
//! `MAX_CHAIN`th record is whole to bound what reading one costs. The one exception is a
//! redaction, which deletes the evidence that held the redacted text and makes whole the
//! records compressed against it (`erase_of_revision`).

use std::collections::HashMap;

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, sea_query::Expr,
};
use uuid::Uuid;

use crate::entity::{capture, capture_record};
use crate::store::Store;
use crate::store::error::{StoreResult, corrupt};
use crate::store::kinds::CaptureOutcome;
use crate::store::texts::packing::{MAX_CHAIN, pack_bytes, unpack_bytes};
use crate::store::values::{CaptureId, RevisionHash};

/// What a record is to the capture that kept it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvidenceKind {
    Request,
    Response,
    /// A response whose payload repeated one kept before, recorded as a reference to it.
    Revisit,
}

impl EvidenceKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            EvidenceKind::Request => "request",
            EvidenceKind::Response => "response",
            EvidenceKind::Revisit => "revisit",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [EvidenceKind::Request, EvidenceKind::Response, EvidenceKind::Revisit]
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }
}

/// A record to keep with a capture.
#[derive(Debug, Clone)]
pub struct EvidenceRecord {
    /// The record's own id (its `WARC-Record-ID`).
    pub id: Uuid,
    pub kind: EvidenceKind,
    /// What it is compressed against the last record of: the records of one kind for one URL
    /// are alike.
    pub chain: String,
    pub bytes: Vec<u8>,
    /// A response's `WARC-Payload-Digest`, by which a later identical payload finds it.
    pub payload_digest: Option<String>,
    /// Its frame, compressed before the write (`Store::pack_evidence`); else the write
    /// compresses it.
    pub packed: Option<PackedEvidence>,
}

/// A record's frame made ahead of its write, against the record that was then the last of
/// its chain. Records of one chain may branch (two captures of one URL at once), so the
/// base need not still be the last when the record is written, only still be there.
#[derive(Debug, Clone)]
pub struct PackedEvidence {
    base: Option<(Uuid, i16)>,
    frame: Vec<u8>,
}

/// A record as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvidence {
    pub id: Uuid,
    pub kind: EvidenceKind,
    pub bytes: Vec<u8>,
}

/// Keeps `records` for `capture`, in order, in the caller's transaction.
pub(super) async fn insert(
    tx: &impl ConnectionTrait,
    capture: CaptureId,
    records: &[EvidenceRecord],
) -> StoreResult<()> {
    for record in records {
        let ahead = match &record.packed {
            Some(packed) if base_kept(tx, packed.base).await? => Some(packed.clone()),
            _ => None,
        };
        let PackedEvidence { base, frame } = match ahead {
            Some(packed) => packed,
            None => packed_against(&record.bytes, next_base(tx, &record.chain).await?),
        };
        let (base_id, depth) = match base {
            Some((id, depth)) => (Some(id), depth),
            None => (None, 0),
        };
        capture_record::Entity::insert(capture_record::ActiveModel {
            id: Set(record.id),
            capture_id: Set(capture.as_uuid()),
            kind: Set(record.kind.as_str().to_owned()),
            chain: Set(record.chain.clone()),
            base_id: Set(base_id),
            depth: Set(depth),
            packed: Set(frame),
            byte_length: Set(record.bytes.len() as i64),
            payload_digest: Set(record.payload_digest.clone()),
        })
        .exec_without_returning(tx)
        .await?;
    }
    Ok(())
}

/// Whether the record a frame was made against is still kept (a redaction may have deleted
/// it since; the records against it it made whole, and a frame made ahead must be made again).
async fn base_kept(tx: &impl ConnectionTrait, base: Option<(Uuid, i16)>) -> StoreResult<bool> {
    let Some((id, _)) = base else { return Ok(true) };
    let found: Option<Uuid> = capture_record::Entity::find_by_id(id)
        .select_only()
        .column(capture_record::Column::Id)
        .into_tuple()
        .one(tx)
        .await?;
    Ok(found.is_some())
}

/// What the next record of `chain` is compressed against, read through `conn`: the last
/// record and its bytes, with the depth the next one would have; `None` when it is to be whole
/// (an empty chain, or every `MAX_CHAIN`th record).
async fn next_base(
    conn: &impl ConnectionTrait,
    chain: &str,
) -> StoreResult<Option<(Uuid, i16, Vec<u8>)>> {
    let segment = chain_segment(conn, chain).await?;
    match segment.last() {
        Some(previous) if previous.depth + 1 < MAX_CHAIN => {
            let bytes = unpack(conn, previous, &segment).await?;
            Ok(Some((previous.id, previous.depth + 1, bytes)))
        }
        _ => Ok(None),
    }
}

fn packed_against(bytes: &[u8], base: Option<(Uuid, i16, Vec<u8>)>) -> PackedEvidence {
    match base {
        Some((id, depth, base)) => {
            PackedEvidence { base: Some((id, depth)), frame: pack_bytes(bytes, Some(&base)) }
        }
        None => PackedEvidence { base: None, frame: pack_bytes(bytes, None) },
    }
}

/// The records of `chain` from its newest whole one on, oldest first: what the next record is
/// compressed against, and the frames that one is compressed against.
async fn chain_segment(
    conn: &impl ConnectionTrait,
    chain: &str,
) -> StoreResult<Vec<capture_record::Model>> {
    let whole: Option<Uuid> = capture_record::Entity::find()
        .select_only()
        .column(capture_record::Column::Id)
        .filter(capture_record::Column::Chain.eq(chain))
        .filter(capture_record::Column::Depth.eq(0))
        .order_by_desc(capture_record::Column::Id)
        .into_tuple()
        .one(conn)
        .await?;
    let Some(whole) = whole else { return Ok(Vec::new()) };
    Ok(capture_record::Entity::find()
        .filter(capture_record::Column::Chain.eq(chain))
        .filter(capture_record::Column::Id.gte(whole))
        .order_by_asc(capture_record::Column::Id)
        .limit(MAX_CHAIN as u64 * 4)
        .all(conn)
        .await?)
}

/// The bytes of `row`, following its bases: from `known` where they are there, else read one
/// by one (records of one chain written concurrently may branch off the segment).
pub(super) async fn unpack(
    conn: &impl ConnectionTrait,
    row: &capture_record::Model,
    known: &[capture_record::Model],
) -> StoreResult<Vec<u8>> {
    let by_id: HashMap<Uuid, &capture_record::Model> = known.iter().map(|r| (r.id, r)).collect();
    let mut lineage = vec![row.clone()];
    while let Some(base) = lineage.last().and_then(|r| r.base_id) {
        if lineage.len() > MAX_CHAIN as usize {
            return Err(corrupt("capture_records.base_id", "a chain longer than its bound"));
        }
        let base_row = match by_id.get(&base) {
            Some(found) => (*found).clone(),
            None => capture_record::Entity::find_by_id(base)
                .one(conn)
                .await?
                .ok_or_else(|| corrupt("capture_records.base_id", format!("{base} is missing")))?,
        };
        lineage.push(base_row);
    }
    let mut bytes: Option<Vec<u8>> = None;
    for record in lineage.iter().rev() {
        let expected = usize::try_from(record.byte_length)
            .map_err(|e| corrupt("capture_records.byte_length", e))?;
        bytes = Some(
            unpack_bytes(&record.packed, bytes.as_deref(), expected)
                .map_err(|e| corrupt("capture_records.packed", e))?,
        );
    }
    Ok(bytes.unwrap_or_default())
}

/// Deletes the evidence of the capture that wrote `revision` (a redaction: the page held its
/// text), in the caller's transaction. Records compressed against one that goes are first
/// made whole, so every other record reads back the bytes it was written as. Returns how many
/// records went.
pub(crate) async fn erase_of_revision(
    tx: &impl ConnectionTrait,
    revision: &RevisionHash,
) -> StoreResult<usize> {
    let wrote = [CaptureOutcome::Created.as_str(), CaptureOutcome::Revised.as_str()];
    let captures: Vec<Uuid> = capture::Entity::find()
        .select_only()
        .column(capture::Column::Id)
        .filter(capture::Column::RevisionHash.eq(revision.clone()))
        .filter(capture::Column::Outcome.is_in(wrote))
        .into_tuple()
        .all(tx)
        .await?;
    if captures.is_empty() {
        return Ok(0);
    }
    let erased: Vec<Uuid> = capture_record::Entity::find()
        .select_only()
        .column(capture_record::Column::Id)
        .filter(capture_record::Column::CaptureId.is_in(captures))
        .into_tuple()
        .all(tx)
        .await?;
    let dependents = capture_record::Entity::find()
        .filter(capture_record::Column::BaseId.is_in(erased.iter().copied()))
        .filter(capture_record::Column::Id.is_not_in(erased.iter().copied()))
        .all(tx)
        .await?;
    // All read before any is changed: a dependent's bases may run through another's.
    let mut whole = Vec::with_capacity(dependents.len());
    for dependent in &dependents {
        whole.push((dependent.id, unpack(tx, dependent, &[]).await?));
    }
    for (id, bytes) in whole {
        capture_record::Entity::update_many()
            .col_expr(capture_record::Column::Packed, Expr::value(pack_bytes(&bytes, None)))
            .col_expr(capture_record::Column::BaseId, Expr::value(Option::<Uuid>::None))
            .col_expr(capture_record::Column::Depth, Expr::value(0))
            .filter(capture_record::Column::Id.eq(id))
            .exec(tx)
            .await?;
    }
    capture_record::Entity::delete_many()
        .filter(capture_record::Column::Id.is_in(erased.iter().copied()))
        .exec(tx)
        .await?;
    Ok(erased.len())
}

/// Whether any of `revisions` was written by a capture that kept evidence: what erasing
/// their redaction must rewrite.
pub(crate) async fn any_kept_for(
    conn: &impl ConnectionTrait,
    revisions: impl IntoIterator<Item = RevisionHash>,
) -> StoreResult<bool> {
    let found: Option<Uuid> = capture::Entity::find()
        .select_only()
        .column(capture::Column::Id)
        .filter(capture::Column::RevisionHash.is_in(revisions))
        .filter(capture::Column::ResponseRecord.is_not_null())
        .into_tuple()
        .one(conn)
        .await?;
    Ok(found.is_some())
}

async fn stored(
    conn: &impl ConnectionTrait,
    row: capture_record::Model,
) -> StoreResult<StoredEvidence> {
    let kind = EvidenceKind::parse(&row.kind)
        .ok_or_else(|| corrupt("capture_records.kind", format!("{:?}", row.kind)))?;
    let bytes = unpack(conn, &row, &[]).await?;
    Ok(StoredEvidence { id: row.id, kind, bytes })
}

impl Store {
    /// Compresses `records` ahead of their write, each against the last record of its chain,
    /// reading through the pool and compressing on the heavy-work pool: what the write would
    /// otherwise do while every other write waits for it (on SQLite, the one writer). A
    /// record that cannot be (a read that failed) is left for the write to compress.
    pub async fn pack_evidence(&self, records: &mut [EvidenceRecord]) {
        for record in records.iter_mut() {
            let Ok(base) = next_base(&self.db, &record.chain).await else { continue };
            let bytes = record.bytes.clone();
            let packed = self.compute().run_in_turn(move || packed_against(&bytes, base)).await;
            record.packed = packed.ok();
        }
    }

    /// The records kept with a capture, in the order they were written.
    pub async fn evidence_of_capture(
        &self,
        capture: CaptureId,
    ) -> StoreResult<Vec<StoredEvidence>> {
        let rows = capture_record::Entity::find()
            .filter(capture_record::Column::CaptureId.eq(capture.as_uuid()))
            .order_by_asc(capture_record::Column::Id)
            .limit(16)
            .all(&self.db)
            .await?;
        let mut records = Vec::with_capacity(rows.len());
        for row in rows {
            records.push(stored(&self.db, row).await?);
        }
        // A request before its response, as an archive lists an exchange.
        records.sort_by_key(|r| r.kind != EvidenceKind::Request);
        Ok(records)
    }

    /// The first response kept whose payload had this digest: what a revisit record of a
    /// repeated payload refers to.
    pub async fn response_with_payload(&self, digest: &str) -> StoreResult<Option<StoredEvidence>> {
        let row = capture_record::Entity::find()
            .filter(capture_record::Column::PayloadDigest.eq(digest))
            .filter(capture_record::Column::Kind.eq(EvidenceKind::Response.as_str()))
            .order_by_asc(capture_record::Column::Id)
            .one(&self.db)
            .await?;
        match row {
            Some(row) => Ok(Some(stored(&self.db, row).await?)),
            None => Ok(None),
        }
    }

    /// How many bytes the kept evidence takes (packed) and would take as written.
    pub async fn evidence_size(&self) -> StoreResult<(u64, u64)> {
        let backend = self.db.get_database_backend();
        let length = match backend {
            sea_orm::DatabaseBackend::Postgres => "octet_length",
            _ => "length",
        };
        let sql = format!(
            "SELECT CAST(COALESCE(SUM({length}(packed)), 0) AS BIGINT) AS packed, \
             CAST(COALESCE(SUM(byte_length), 0) AS BIGINT) AS raw FROM capture_records"
        );
        let row = self
            .db
            .query_one_raw(sea_orm::Statement::from_string(backend, sql))
            .await?
            .ok_or_else(|| corrupt("capture_records", "no sum"))?;
        let packed: i64 = row.try_get("", "packed")?;
        let raw: i64 = row.try_get("", "raw")?;
        Ok((packed.max(0) as u64, raw.max(0) as u64))
    }
}
