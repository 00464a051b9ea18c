//! Captures as an archive carries them (`palimpsest export` / `import`): each capture with its
//! evidence records as they were written, read a page at a time in the order they were made,
//! and written into another store under the same ids. A capture's watch is the operator's
//! schedule, not the history, and is not carried.

use std::collections::{HashMap, HashSet};

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::Capture;
use super::evidence::{self, EvidenceKind, EvidenceRecord};
use super::record::row;
use crate::entity::{agent, capture, capture_record, document, revision};
use crate::store::error::StoreResult;
use crate::store::sql::ROWS_PER_STATEMENT;
use crate::store::texts::packing::unpack_bytes;
use crate::store::values::{CaptureId, DocumentId};
use crate::store::{RevisionHash, Store};

/// A capture and the evidence records kept with it, in the order they were written.
#[derive(Debug, Clone)]
pub struct CorpusCapture {
    pub capture: Capture,
    pub evidence: Vec<EvidenceRecord>,
}

/// What `Store::import_captures` did with a batch.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportedCaptures {
    pub written: u64,
    /// Captures found stored already under their id.
    pub present: u64,
    /// Captures not written, and why: what they name is not in the store.
    pub refused: Vec<(CaptureId, String)>,
}

impl Store {
    /// Up to `limit` captures after `after` in the order they were made (their ids are
    /// time-ordered), of `documents` only when given, each with its evidence.
    pub async fn corpus_captures(
        &self,
        after: Option<CaptureId>,
        limit: u64,
        documents: Option<&[DocumentId]>,
    ) -> StoreResult<Vec<CorpusCapture>> {
        let mut query = capture::Entity::find().order_by_asc(capture::Column::Id).limit(limit);
        if let Some(after) = after {
            query = query.filter(capture::Column::Id.gt(after.as_uuid()));
        }
        if let Some(documents) = documents {
            let ids = documents.iter().map(|d| d.as_uuid());
            query = query.filter(capture::Column::DocumentId.is_in(ids));
        }
        let rows = query.all(&self.db).await?;
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let mut evidence = evidence_of(&self.db, &ids).await?;
        rows.into_iter()
            .map(|row| {
                let records = evidence.remove(&row.id).unwrap_or_default();
                Ok(CorpusCapture { capture: Capture::try_from(row)?, evidence: records })
            })
            .collect()
    }

    /// The evidence kept with each of `captures`, in the order written, read together.
    pub async fn evidence_of_captures(
        &self,
        captures: &[CaptureId],
    ) -> StoreResult<HashMap<CaptureId, Vec<EvidenceRecord>>> {
        let ids: Vec<Uuid> = captures.iter().map(|c| c.as_uuid()).collect();
        let by_row = evidence_of(&self.db, &ids).await?;
        Ok(by_row.into_iter().map(|(id, records)| (CaptureId::from(id), records)).collect())
    }

    /// Writes `captures` (from an archive, checked by the caller) in one transaction: each one
    /// not stored yet whose document, revision and agent are, with its evidence compressed as
    /// a capture's is. One whose id is stored already is counted as present and left alone.
    pub async fn import_captures(
        &self,
        captures: Vec<CorpusCapture>,
    ) -> StoreResult<ImportedCaptures> {
        let mut done = ImportedCaptures::default();
        if captures.is_empty() {
            return Ok(done);
        }
        let tx = self.begin().await?;
        let ids = captures.iter().map(|c| c.capture.id.as_uuid());
        let present: HashSet<Uuid> = stored(&tx.tx, capture::Column::Id, ids).await?;
        let revisions: HashSet<RevisionHash> = stored(
            &tx.tx,
            revision::Column::Hash,
            captures.iter().filter_map(|c| c.capture.revision.clone()),
        )
        .await?;
        let documents: HashSet<Uuid> = stored(
            &tx.tx,
            document::Column::Id,
            captures.iter().filter_map(|c| c.capture.document.map(|d| d.as_uuid())),
        )
        .await?;
        let agents: HashSet<Uuid> =
            stored(&tx.tx, agent::Column::Id, captures.iter().map(|c| c.capture.agent.as_uuid()))
                .await?;
        let records: HashSet<Uuid> = stored(
            &tx.tx,
            capture_record::Column::Id,
            captures.iter().flat_map(|c| c.evidence.iter().map(|r| r.id)),
        )
        .await?;
        for CorpusCapture { mut capture, evidence } in captures {
            if present.contains(&capture.id.as_uuid()) {
                done.present += 1;
                continue;
            }
            let missing = if evidence.iter().any(|r| records.contains(&r.id)) {
                Some("its evidence records are stored already, with another capture")
            } else if capture.document.is_some_and(|d| !documents.contains(&d.as_uuid())) {
                Some("its document is not stored")
            } else if capture.revision.as_ref().is_some_and(|r| !revisions.contains(r)) {
                Some("its revision is not stored")
            } else if !agents.contains(&capture.agent.as_uuid()) {
                Some("its agent is not stored")
            } else {
                None
            };
            if let Some(why) = missing {
                done.refused.push((capture.id, why.to_owned()));
                continue;
            }
            capture.watch = None;
            capture::Entity::insert(row(&capture)).exec_without_returning(&tx.tx).await?;
            evidence::insert(&tx.tx, capture.id, &evidence).await?;
            done.written += 1;
        }
        tx.commit().await?;
        Ok(done)
    }
}

/// Those of `values` that `column` (a key) holds, a statement per `ROWS_PER_STATEMENT`.
async fn stored<C, T>(
    conn: &impl ConnectionTrait,
    column: C,
    values: impl IntoIterator<Item = impl Into<sea_orm::Value>>,
) -> StoreResult<HashSet<T>>
where
    C: ColumnTrait,
    C::EntityName: EntityTrait<Column = C>,
    T: sea_orm::TryGetableMany + Eq + std::hash::Hash,
{
    let values: Vec<sea_orm::Value> = values.into_iter().map(Into::into).collect();
    let mut found = HashSet::new();
    for chunk in values.chunks(ROWS_PER_STATEMENT) {
        let rows: Vec<T> = C::EntityName::find()
            .select_only()
            .column(column)
            .filter(column.is_in(chunk.iter().cloned()))
            .into_tuple()
            .all(conn)
            .await?;
        found.extend(rows);
    }
    Ok(found)
}

/// The evidence records of `captures`, as written, by capture. Records of one chain compressed
/// against one another are read in order, each from its base's bytes when it was read already.
async fn evidence_of(
    conn: &impl ConnectionTrait,
    captures: &[Uuid],
) -> StoreResult<HashMap<Uuid, Vec<EvidenceRecord>>> {
    let rows = capture_record::Entity::find()
        .filter(capture_record::Column::CaptureId.is_in(captures.iter().copied()))
        .order_by_asc(capture_record::Column::Id)
        .all(conn)
        .await?;
    let mut read: HashMap<Uuid, Vec<u8>> = HashMap::new();
    let mut by_capture: HashMap<Uuid, Vec<EvidenceRecord>> = HashMap::new();
    for row in rows {
        let bytes = match row.base_id.and_then(|base| read.get(&base)) {
            Some(base) => {
                let expected = usize::try_from(row.byte_length).unwrap_or(usize::MAX);
                unpack_bytes(&row.packed, Some(base), expected)
                    .map_err(|e| crate::store::error::corrupt("capture_records.packed", e))?
            }
            None => evidence::unpack(conn, &row, &[]).await?,
        };
        read.insert(row.id, bytes.clone());
        let kind = EvidenceKind::parse(&row.kind).ok_or_else(|| {
            crate::store::error::corrupt("capture_records.kind", format!("{:?}", row.kind))
        })?;
        by_capture.entry(row.capture_id).or_default().push(EvidenceRecord {
            id: row.id,
            kind,
            chain: row.chain,
            bytes,
            payload_digest: row.payload_digest,
            packed: None,
        });
    }
    Ok(by_capture)
}
