//! Exports of the corpus in the formats other tools speak: citation records (CSL-JSON,
//! BibTeX/BibLaTeX, RIS, and formatted references rendered by a CSL engine), W3C PROV-JSON,
//! and HTML pages carrying citation metadata. Pure functions over store read models; nothing
//! here touches the database or HTTP.

pub mod cite;
pub mod html;
pub mod prov;

use crate::store::{Document, Revision, Source};

/// Everything a citation record of one revision needs.
#[derive(Debug, Clone)]
pub struct RecordInput {
    pub document: Document,
    pub revision: Revision,
    /// The source the revision was captured from, for authors, publisher and dates.
    pub source: Option<Source>,
    /// The public base URL (`https://host`), for permanent links.
    pub base_url: String,
}

impl RecordInput {
    /// The permanent link to this exact revision's page.
    pub fn permalink(&self) -> String {
        revision_url(&self.base_url, &self.document, &self.revision)
    }

    /// A citation key: the slug and the first 12 hex digits of the revision hash.
    pub fn key(&self) -> String {
        format!("{}-{}", self.document.slug, &self.revision.hash.as_str()[..12])
    }
}

pub fn revision_url(base_url: &str, document: &Document, revision: &Revision) -> String {
    format!("{base_url}/documents/{}/revisions/{}", document.slug, revision.hash)
}

use crate::store::{
    CitationTarget, DocumentId, RevisionHash, SourceId, Store, StoreError, StoreResult,
};

/// The revision `hash` of `document`, or its head; `NotFound` if the hash names no revision
/// of this document.
async fn revision_of(
    store: &Store,
    document: &Document,
    hash: Option<&RevisionHash>,
) -> StoreResult<Revision> {
    let hash = hash.unwrap_or(&document.head);
    store
        .revision(hash)
        .await?
        .filter(|r| r.document_id == document.id)
        .ok_or_else(|| StoreError::NotFound(format!("revision {hash} of {}", document.slug)))
}

/// Gathers what a citation record of `document` at `revision` (or its head) needs.
pub async fn record(
    store: &Store,
    document: Document,
    revision: Option<&RevisionHash>,
    base_url: &str,
) -> StoreResult<RecordInput> {
    let revision = revision_of(store, &document, revision).await?;
    let source = match revision.source {
        Some(id) => store.sources_by_ids(&[id]).await?.into_iter().next(),
        None => None,
    };
    Ok(RecordInput { document, revision, source, base_url: base_url.to_owned() })
}

/// Gathers the citation records of several documents at their heads, in list order, with
/// two queries whatever the number of documents.
pub async fn records_at_heads(
    store: &Store,
    documents: Vec<Document>,
    base_url: &str,
) -> StoreResult<Vec<RecordInput>> {
    let heads: Vec<RevisionHash> = documents.iter().map(|d| d.head.clone()).collect();
    let revisions = store.revisions_by_hashes(&heads).await?;
    let mut source_ids: Vec<SourceId> = revisions.iter().filter_map(|r| r.source).collect();
    source_ids.sort();
    source_ids.dedup();
    let sources = store.sources_by_ids(&source_ids).await?;
    documents
        .into_iter()
        .map(|document| {
            let revision =
                revisions.iter().find(|r| r.hash == document.head).cloned().ok_or_else(|| {
                    StoreError::Unexpected(anyhow::anyhow!("head {} is missing", document.head))
                })?;
            let source =
                revision.source.and_then(|id| sources.iter().find(|s| s.id == id).cloned());
            Ok(RecordInput { document, revision, source, base_url: base_url.to_owned() })
        })
        .collect()
}

/// Gathers the provenance of `document`: of one revision, or of its whole history, which
/// costs a point per revision, drawn from `budget` before the history is read.
pub async fn provenance(
    store: &Store,
    document: &Document,
    revision: Option<&RevisionHash>,
    base_url: &str,
    budget: &crate::budget::Budget,
) -> StoreResult<prov::ProvInput> {
    let revisions = match revision {
        Some(hash) => vec![revision_of(store, document, Some(hash)).await?],
        None => {
            let head = revision_of(store, document, None).await?;
            budget
                .draw(head.number.max(0) as u64)
                .map_err(|cause| StoreError::OverBudget { what: "provenance", cause })?;
            store.history_up_to(document.id, head.number).await?
        }
    };
    let hashes: Vec<RevisionHash> = revisions.iter().map(|r| r.hash.clone()).collect();
    let citations = store.citations_made_by(&hashes).await?;
    let mut agent_ids: Vec<_> = revisions.iter().map(|r| r.author).collect();
    agent_ids.sort();
    agent_ids.dedup();
    let mut source_ids: Vec<SourceId> = revisions.iter().filter_map(|r| r.source).collect();
    let mut document_ids: Vec<DocumentId> = vec![document.id];
    for citation in &citations {
        match &citation.target {
            CitationTarget::Source(id) => source_ids.push(*id),
            CitationTarget::Document { id, .. } => document_ids.push(*id),
        }
    }
    source_ids.sort();
    source_ids.dedup();
    document_ids.sort();
    document_ids.dedup();
    Ok(prov::ProvInput {
        base_url: base_url.to_owned(),
        agents: store.agents_by_ids(&agent_ids).await?,
        sources: store.sources_by_ids(&source_ids).await?,
        documents: store.documents_by_ids(&document_ids).await?,
        revisions,
        citations,
    })
}
