//! Walking a document's history: the whole chain up to a revision (for blame and provenance),
//! its entries without headers or messages, and the stamps (hash, number, time) Memento's
//! TimeMaps and navigation need.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::Store;
use super::error::StoreResult;
use super::revisions::Revision;
use super::values::{ContentHash, DocumentId, RevisionHash, Timestamp};
use crate::entity::revision;

/// The longest history read at once (by blame and provenance).
pub const MAX_HISTORY: i64 = 10_000;

/// What walking a history needs of each revision: its place in the chain and its text's
/// address and size, without header, title or message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    pub hash: RevisionHash,
    pub parent: Option<RevisionHash>,
    pub number: i64,
    pub content_hash: ContentHash,
    pub content_bytes: u64,
    pub redacted: bool,
}

/// The least a history listing needs about a revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionStamp {
    pub hash: RevisionHash,
    pub number: i64,
    pub created_at: Timestamp,
}

impl RevisionStamp {
    pub fn of(revision: &Revision) -> Self {
        RevisionStamp {
            hash: revision.hash.clone(),
            number: revision.number,
            created_at: revision.created_at,
        }
    }
}

impl Store {
    /// A document's revisions numbered up to `number`, oldest first, in one query.
    pub async fn history_up_to(
        &self,
        document: DocumentId,
        number: i64,
    ) -> StoreResult<Vec<Revision>> {
        Ok(revision::Entity::find()
            .filter(revision::Column::DocumentId.eq(document.as_uuid()))
            .filter(revision::Column::Number.lte(number))
            .order_by_asc(revision::Column::Number)
            .limit(MAX_HISTORY as u64)
            .all(&self.db)
            .await?
            .into_iter()
            .map(Revision::from)
            .collect())
    }

    /// A document's revisions numbered up to `number`, oldest first, as history entries, in
    /// one query reading only the columns a walk needs.
    pub async fn history_entries(
        &self,
        document: DocumentId,
        number: i64,
    ) -> StoreResult<Vec<HistoryEntry>> {
        use revision::Column as C;
        let rows: Vec<(RevisionHash, Option<RevisionHash>, i64, ContentHash, i64, bool)> =
            revision::Entity::find()
                .select_only()
                .columns([C::Hash, C::ParentHash, C::Number, C::ContentSha256, C::ContentBytes])
                .column(C::Redacted)
                .filter(C::DocumentId.eq(document.as_uuid()))
                .filter(C::Number.lte(number))
                .order_by_asc(C::Number)
                .limit(MAX_HISTORY as u64)
                .into_tuple()
                .all(&self.db)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(hash, parent, number, content, bytes, redacted)| HistoryEntry {
                hash,
                parent,
                number,
                content_hash: content,
                content_bytes: bytes.max(0) as u64,
                redacted,
            })
            .collect())
    }

    /// Up to `limit` revisions of a document numbered after `after`, oldest first, without
    /// content or headers.
    pub async fn revision_stamps(
        &self,
        document: DocumentId,
        after: i64,
        limit: u64,
    ) -> StoreResult<Vec<RevisionStamp>> {
        use revision::Column as C;
        let rows: Vec<(RevisionHash, i64, i64)> = revision::Entity::find()
            .select_only()
            .column(C::Hash)
            .column(C::Number)
            .column(C::CreatedAt)
            .filter(C::DocumentId.eq(document.as_uuid()))
            .filter(C::Number.gt(after))
            .order_by_asc(C::Number)
            .limit(limit)
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(hash, number, created_at)| RevisionStamp {
                hash,
                number,
                created_at: Timestamp::from_micros(created_at),
            })
            .collect())
    }

    /// The revisions of a document with these numbers, in one query.
    pub async fn revisions_by_numbers(
        &self,
        document: DocumentId,
        numbers: &[i64],
    ) -> StoreResult<Vec<Revision>> {
        use revision::Column as C;
        Ok(revision::Entity::find()
            .filter(C::DocumentId.eq(document.as_uuid()))
            .filter(C::Number.is_in(numbers.iter().copied()))
            .order_by_asc(C::Number)
            .all(&self.db)
            .await?
            .into_iter()
            .map(Revision::from)
            .collect())
    }
}
