//! What a change receipt is made of (`crate::receipt` assembles and signs it): two revisions of
//! one document with their headers, texts (unless redacted), captures and sightings, and their
//! inclusion proofs in the latest signed checkpoint, read in one call.

use super::captures::{Capture, Sighting};
use super::documents::Document;
use super::error::{Missing, StoreError, StoreResult};
use super::redaction::Redaction;
use super::revisions::{self, Revision};
use super::tlog::{InclusionProof, SignedCheckpoint};
use super::values::{RevisionHash, Slug};
use super::{RETRY_AFTER_UNAVAILABLE, Store};
use crate::store::Viewer;

/// One side of a receipt.
#[derive(Debug, Clone)]
pub struct ReceiptSide {
    pub revision: Revision,
    /// `None` when redacted (then `redaction` says by whom, when and why).
    pub content: Option<String>,
    pub redaction: Option<Redaction>,
    pub capture: Option<Capture>,
    pub sighting: Option<Sighting>,
    pub proof: InclusionProof,
}

#[derive(Debug, Clone)]
pub struct ReceiptParts {
    pub document: Document,
    pub from: ReceiptSide,
    pub to: ReceiptSide,
    /// The latest signed checkpoint: both proofs lead to its root.
    pub checkpoint: SignedCheckpoint,
}

impl Store {
    /// The parts of a receipt for revisions `from` and `to` of the document `slug`. Refused
    /// (`UNAVAILABLE`, for a moment) while no signed checkpoint covers both yet.
    pub async fn receipt_parts(
        &self,
        viewer: &Viewer,
        slug: &Slug,
        from: &RevisionHash,
        to: &RevisionHash,
    ) -> StoreResult<ReceiptParts> {
        let document = self.document_with_slug(viewer, slug).await?;
        let from = revisions::revision_of(&self.db, &document, Some(from)).await?;
        let to = revisions::revision_of(&self.db, &document, Some(to)).await?;
        let checkpoint = self.latest_checkpoint().await?;
        let covered = |r: &Revision| {
            checkpoint.as_ref().zip(r.log_index).is_some_and(|(c, index)| index < c.size)
        };
        let Some(checkpoint) = checkpoint.clone().filter(|_| covered(&from) && covered(&to)) else {
            return Err(StoreError::Unavailable {
                retry_after: RETRY_AFTER_UNAVAILABLE,
                cause: anyhow::anyhow!("no signed checkpoint covers both revisions yet"),
            });
        };
        let hashes = [from.hash.clone(), to.hash.clone()];
        let captures = self.captures_of_revisions(&hashes).await?;
        let sightings = self.sightings(&hashes).await?;
        let redactions = self.redactions(&hashes).await?;
        let texts = self
            .contents_by_hashes(
                &[&from, &to]
                    .iter()
                    .filter(|r| !r.redacted)
                    .map(|r| r.content_hash.clone())
                    .collect::<Vec<_>>(),
            )
            .await?;
        let side = async |revision: Revision| -> StoreResult<ReceiptSide> {
            let index = revision
                .log_index
                .ok_or_else(|| StoreError::NotFound(Missing::Revision(revision.hash.clone())))?;
            let proof = self.inclusion_proof(index, Some(checkpoint.size)).await?;
            Ok(ReceiptSide {
                content: texts
                    .iter()
                    .find(|(hash, _)| !revision.redacted && *hash == revision.content_hash)
                    .map(|(_, text)| text.clone()),
                redaction: redactions.iter().find(|r| r.revision == revision.hash).cloned(),
                capture: captures
                    .iter()
                    .find(|c| c.revision.as_ref() == Some(&revision.hash))
                    .cloned(),
                sighting: sightings.iter().find(|s| s.revision == revision.hash).cloned(),
                proof,
                revision,
            })
        };
        let from = side(from).await?;
        let to = side(to).await?;
        Ok(ReceiptParts { document, from, to, checkpoint })
    }
}
