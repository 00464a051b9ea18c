//! Reading the corpus back in commit order, a page at a time, for an export.

use std::collections::{HashMap, HashSet};

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::entity::{agent, document, revision, source};
use crate::store::Store;
use crate::store::error::{StoreResult, corrupt};
use crate::store::texts::packing::Unpacked;
use crate::store::values::{AgentId, ContentHash, DocumentId, SourceId, Timestamp};
use crate::store::writes::Placement;

use super::CorpusRevision;

impl Store {
    /// Every document's id and slug, by id, a page after `after`.
    pub async fn corpus_documents(
        &self,
        after: Option<DocumentId>,
        limit: u64,
    ) -> StoreResult<Vec<(DocumentId, String)>> {
        let mut query = document::Entity::find()
            .select_only()
            .column(document::Column::Id)
            .column(document::Column::Slug)
            .order_by_asc(document::Column::Id)
            .limit(limit);
        if let Some(after) = after {
            query = query.filter(document::Column::Id.gt(after.as_uuid()));
        }
        let rows: Vec<(uuid::Uuid, String)> = query.into_tuple().all(&self.db).await?;
        Ok(rows.into_iter().map(|(id, slug)| (DocumentId::from(id), slug)).collect())
    }

    /// Every agent, by id, a page after `after`.
    pub async fn corpus_agents(
        &self,
        after: Option<AgentId>,
        limit: u64,
    ) -> StoreResult<Vec<crate::store::agents::Agent>> {
        let mut query = agent::Entity::find().order_by_asc(agent::Column::Id).limit(limit);
        if let Some(after) = after {
            query = query.filter(agent::Column::Id.gt(after.as_uuid()));
        }
        query.all(&self.db).await?.into_iter().map(TryInto::try_into).collect()
    }

    /// Every source, a page after `after` (by id).
    pub async fn corpus_sources(
        &self,
        after: Option<SourceId>,
        limit: u64,
    ) -> StoreResult<Vec<crate::store::sources::Source>> {
        let mut query = source::Entity::find().order_by_asc(source::Column::Id).limit(limit);
        if let Some(after) = after {
            query = query.filter(source::Column::Id.gt(after.as_uuid()));
        }
        query.all(&self.db).await?.into_iter().map(TryInto::try_into).collect()
    }

    /// Revisions in the order they were committed (the log's), with their texts, a page
    /// after leaf `after`; only `documents`' when given.
    pub async fn corpus_revisions(
        &self,
        after: Option<u64>,
        limit: u64,
        documents: Option<&[DocumentId]>,
        cache: &mut crate::store::texts::FrameCache,
    ) -> StoreResult<Vec<CorpusRevision>> {
        let mut query = revision::Entity::find()
            .filter(revision::Column::LogIndex.is_not_null())
            .order_by_asc(revision::Column::LogIndex)
            .limit(limit);
        if let Some(after) = after {
            query = query.filter(revision::Column::LogIndex.gt(after as i64));
        }
        if let Some(documents) = documents {
            query = query
                .filter(revision::Column::DocumentId.is_in(documents.iter().map(|d| d.as_uuid())));
        }
        let rows = query.all(&self.db).await?;
        let revisions: Vec<crate::store::revisions::Revision> =
            rows.into_iter().map(Into::into).collect();
        let hashes: Vec<ContentHash> = revisions
            .iter()
            .filter(|r| !r.redacted)
            .map(|r| r.content_hash.clone())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let texts = crate::store::texts::texts_through(&self.db, &hashes, cache).await?;
        let ids: Vec<uuid::Uuid> = revisions
            .iter()
            .map(|r| r.document_id.as_uuid())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        type Row = (uuid::Uuid, String, String, uuid::Uuid, Option<i64>);
        let documents: HashMap<uuid::Uuid, (String, String, Placement)> = document::Entity::find()
            .select_only()
            .column(document::Column::Id)
            .column(document::Column::Slug)
            .column(document::Column::Kind)
            .column(document::Column::CollectionId)
            .column(document::Column::PublishAt)
            .filter(document::Column::Id.is_in(ids))
            .into_tuple::<Row>()
            .all(&self.db)
            .await?
            .into_iter()
            .map(|(id, slug, kind, collection, publish_at)| {
                let placement = Placement {
                    collection: collection.into(),
                    publish_at: publish_at.map(Timestamp::from_micros),
                };
                (id, (slug, kind, placement))
            })
            .collect();
        revisions
            .into_iter()
            .map(|revision| {
                let (slug, kind, placement) = documents
                    .get(&revision.document_id.as_uuid())
                    .cloned()
                    .ok_or_else(|| corrupt("revisions.document_id", "no such document"))?;
                let content = if revision.redacted {
                    None
                } else {
                    // Texts shared by several revisions of the page are cloned, once each.
                    Some(match texts.get(revision.content_hash.hex()) {
                        Some(Unpacked::Text(text)) => text.clone(),
                        Some(Unpacked::Damaged(error)) => {
                            return Err(corrupt("blobs.packed", error.to_string()));
                        }
                        Some(Unpacked::Purged) | None => {
                            return Err(corrupt(
                                "revisions.content_sha256",
                                "the text is not stored",
                            ));
                        }
                    })
                };
                let kind = kind.parse().map_err(|e| corrupt("documents.kind", e))?;
                Ok(CorpusRevision { revision, content, slug, kind, placement })
            })
            .collect()
    }
}
