//! What captures recorded, read: the capture that wrote a revision, its evidence, the
//! captures that kept evidence, and the sightings of revisions.

use crate::store::Viewer;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{Capture, Sighting};
use crate::entity::capture;
use crate::store::Store;
use crate::store::error::{Missing, StoreError, StoreResult};
use crate::store::kinds::CaptureOutcome;
use crate::store::revisions;
use crate::store::values::{CaptureId, DocumentId, RevisionHash, Slug, Timestamp};

/// A revision's hash, its first and last sighting, and their count.
type SightingRow = (Option<RevisionHash>, Option<i64>, Option<i64>, i64);

/// The outcomes that saw a revision's text, as stored.
fn sighting_outcomes() -> impl Iterator<Item = &'static str> {
    CaptureOutcome::ALL.iter().filter(|o| o.saw_text()).map(|o| o.as_str())
}

impl Store {
    /// The capture that wrote each of `revisions`, for those a capture wrote.
    pub async fn captures_of_revisions(
        &self,
        revisions: &[RevisionHash],
    ) -> StoreResult<Vec<Capture>> {
        let wrote = [CaptureOutcome::Created.as_str(), CaptureOutcome::Revised.as_str()];
        capture::Entity::find()
            .filter(capture::Column::RevisionHash.is_in(revisions.iter().cloned()))
            .filter(capture::Column::Outcome.is_in(wrote))
            .all(&self.db)
            .await?
            .into_iter()
            .map(Capture::try_from)
            .collect()
    }

    /// The capture that wrote revision `hash` of the document `slug`, and its evidence, in
    /// the order it was written. A redacted revision's evidence holds its text: refused.
    pub async fn capture_evidence(
        &self,
        viewer: &Viewer,
        slug: &Slug,
        hash: &RevisionHash,
    ) -> StoreResult<(Capture, Vec<super::StoredEvidence>)> {
        let document = self.document_with_slug(viewer, slug).await?;
        let revision = revisions::revision_of(&self.db, &document, Some(hash)).await?;
        if revision.redacted {
            return Err(StoreError::Redacted(revision.hash));
        }
        let capture = self
            .captures_of_revisions(std::slice::from_ref(hash))
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::NotFound(Missing::CaptureOf(hash.clone())))?;
        let evidence = self.evidence_of_capture(capture.id).await?;
        Ok((capture, evidence))
    }

    /// A page of the captures that kept evidence (those that wrote a revision), oldest first,
    /// of the documents `only` names (all when `None`), after `after`. A redacted revision's
    /// capture is left out: its evidence holds the text the redaction purged.
    pub async fn captures_with_evidence(
        &self,
        only: Option<&[DocumentId]>,
        after: Option<CaptureId>,
        limit: u64,
    ) -> StoreResult<Vec<Capture>> {
        let wrote = [CaptureOutcome::Created.as_str(), CaptureOutcome::Revised.as_str()];
        let mut query = capture::Entity::find()
            .filter(capture::Column::Outcome.is_in(wrote))
            .order_by_asc(capture::Column::Id)
            .limit(Ord::min(limit, 1000));
        if let Some(after) = after {
            query = query.filter(capture::Column::Id.gt(after.as_uuid()));
        }
        if let Some(only) = only {
            query =
                query.filter(capture::Column::DocumentId.is_in(only.iter().map(|d| d.as_uuid())));
        }
        let captures: Vec<Capture> = query
            .all(&self.db)
            .await?
            .into_iter()
            .map(Capture::try_from)
            .collect::<StoreResult<_>>()?;
        let hashes: Vec<RevisionHash> =
            captures.iter().filter_map(|c| c.revision.clone()).collect();
        let redacted: Vec<RevisionHash> =
            self.redactions(&hashes).await?.into_iter().map(|r| r.revision).collect();
        Ok(captures
            .into_iter()
            .filter(|c| c.revision.as_ref().is_none_or(|r| !redacted.contains(r)))
            .collect())
    }

    /// From when to when captures saw each of `revisions` (those no capture saw are left out).
    pub async fn sightings(&self, revisions: &[RevisionHash]) -> StoreResult<Vec<Sighting>> {
        let rows: Vec<SightingRow> = capture::Entity::find()
            .select_only()
            .column(capture::Column::RevisionHash)
            .column_as(capture::Column::FetchedAt.min(), "first")
            .column_as(capture::Column::FetchedAt.max(), "last")
            .column_as(capture::Column::Id.count(), "count")
            .filter(capture::Column::RevisionHash.is_in(revisions.iter().cloned()))
            .filter(capture::Column::Outcome.is_in(sighting_outcomes()))
            .group_by(capture::Column::RevisionHash)
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(hash, first, last, count)| {
                Some(Sighting {
                    revision: hash?,
                    first: Timestamp::from_micros(first?),
                    last: Timestamp::from_micros(last?),
                    count: Ord::max(count, 0) as u64,
                })
            })
            .collect())
    }
}
