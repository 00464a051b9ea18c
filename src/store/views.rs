// Over 400 lines, as one file: every read model here is one store call built on the same
// rule — a revision belongs to its document, `Store::revision_of` — and the same joins; split
// by model, each file would repeat them.

//! Read models gathered from several tables, each in one store call: what a citation record,
//! a revision's page, a PROV export, a memento or a TimeMap needs. Callers (resolvers, HTTP
//! handlers, exports) get everything at once and never chain store calls, so a rule such as
//! "this revision belongs to this document" has one home (`Store::revision_of`).

use super::access::Viewer;
use super::agents::Agent;
use std::collections::HashMap;
use std::sync::Arc;

use super::citations::{Citation, CitationTarget};
use super::diffs::RevisionDiff;
use super::documents::Document;
use super::error::{StoreError, StoreResult};
use super::history::RevisionStamp;
use super::live::{CitationChange, RevisionEvent};
use super::page::{Direction, PageRequest};
use super::redaction::Redaction;
use super::revisions::Revision;
use super::sources::Source;
use super::values::CitationId;
use super::values::{ContentHash, DocumentId, RevisionHash, Slug, SourceId, Timestamp};
use super::{Missing, Store};
use crate::budget::Budget;
use crate::passage::{self, QuoteCheck};
use crate::textdiff::{ContextLines, Granularity};

/// How a caller names a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentKey {
    Id(DocumentId),
    Slug(Slug),
}

impl DocumentKey {
    fn missing(&self) -> Missing {
        match self {
            DocumentKey::Id(id) => Missing::Document(*id),
            DocumentKey::Slug(slug) => Missing::DocumentSlug(slug.clone()),
        }
    }

    fn names(&self, document: &Document) -> bool {
        match self {
            DocumentKey::Id(id) => document.id == *id,
            DocumentKey::Slug(slug) => document.slug == *slug,
        }
    }
}

/// A document at one of its revisions, with the source that revision was captured from: what
/// a citation record of it needs.
#[derive(Debug, Clone)]
pub struct DocumentAt {
    pub document: Document,
    pub revision: Revision,
    pub source: Option<Source>,
}

/// One revision as its page shows it: the document at it, its text and its author, where it
/// stands in the history, and the citations it makes with their verdicts.
#[derive(Debug, Clone)]
pub struct RevisionPage {
    pub at: DocumentAt,
    /// `None` when the text was redacted (`redaction` then says by whom, when and why).
    pub content: Option<String>,
    pub redaction: Option<Redaction>,
    pub author: Option<Agent>,
    /// The document's head now: the revision is superseded unless it is this one.
    pub head: RevisionStamp,
    pub previous: Option<RevisionStamp>,
    pub next: Option<RevisionStamp>,
    /// The first `MAX_PAGE_CITATIONS` citations the revision makes, in the order recorded.
    pub citations: Vec<CitationVerdict>,
    /// How many citations the revision makes in all.
    pub citation_count: u64,
}

/// The most citations a revision's page shows (each is checked against the text it cites).
pub const MAX_PAGE_CITATIONS: u64 = 50;

/// A citation with what it cites and whether its quoted words are there now.
#[derive(Debug, Clone)]
pub struct CitationVerdict {
    pub citation: Citation,
    /// The cited document (when it cites one) and the revision the verdict was reached
    /// against: the pinned one, or the cited document's head.
    pub target: Option<(Document, Revision)>,
    /// The cited source, when it cites one outside the corpus.
    pub source: Option<Source>,
    pub verification: QuoteCheck,
}

/// Which revision of a cited document a verdict is reached against.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Against {
    /// The pinned one, or the head when unpinned (`verification`).
    PinnedOrHead,
    /// The head (`currentVerification`).
    Head,
    /// This one, for citations of its document: the head as it was when it was written.
    Exactly(RevisionHash),
}

/// A pinned citation whose quote fares differently against the cited document's head than
/// against the revision it is pinned to: the moment it stopped (or started again) being true.
#[derive(Debug, Clone)]
pub struct CitationDrift {
    pub pinned: CitationVerdict,
    pub current: CitationVerdict,
}

/// Drifted citations found among a window of candidates, and where the next window starts.
#[derive(Debug, Clone)]
pub struct DriftPage {
    pub drifts: Vec<CitationDrift>,
    /// The last candidate looked at, when more may follow.
    pub next: Option<CitationId>,
}

/// The most citations of one document whose verdicts each of its revisions is checked
/// against, for live listeners (`citation_changes`).
pub const MAX_WATCHED_CITATIONS: usize = 10_000;

/// The most candidates one `drifted_citations` call checks.
pub const MAX_DRIFT_SCAN: u64 = 100;

/// A page of a document's history, newest first.
#[derive(Debug, Clone)]
pub struct HistoryPage {
    pub document: Document,
    /// The head, for the title and the count of revisions.
    pub head: Revision,
    pub revisions: Vec<(Revision, Agent)>,
    /// Whether older revisions follow on another page.
    pub has_older: bool,
}

/// The provenance of some revisions of one document: the revisions (oldest first) and every
/// document, agent, source and citation they refer to.
#[derive(Debug, Clone)]
pub struct Provenance {
    pub revisions: Vec<Revision>,
    pub documents: Vec<Document>,
    pub agents: Vec<Agent>,
    pub sources: Vec<Source>,
    pub citations: Vec<Citation>,
}

/// A revision's text with its document; `content` only when it was asked for.
#[derive(Debug, Clone)]
pub struct RevisionText {
    pub document: Document,
    pub revision: Revision,
    pub content: Option<String>,
}

/// A memento and its neighbours in the document's history.
#[derive(Debug, Clone)]
pub struct Memento {
    pub text: RevisionText,
    pub first: RevisionStamp,
    pub previous: Option<RevisionStamp>,
    pub next: Option<RevisionStamp>,
    pub last: RevisionStamp,
}

/// A page of a document's mementos, oldest first.
#[derive(Debug, Clone)]
pub struct TimeMap {
    pub document: Document,
    pub stamps: Vec<RevisionStamp>,
    /// Whether later mementos follow on another page.
    pub has_more: bool,
}

impl Store {
    /// The document `key` names, or `NotFound` (also when `viewer` may not read it).
    pub async fn document_by_key(
        &self,
        viewer: &Viewer,
        key: &DocumentKey,
    ) -> StoreResult<Document> {
        let found = match key {
            DocumentKey::Id(id) => self.document(*id).await?,
            DocumentKey::Slug(slug) => self.document_by_slug(slug).await?,
        };
        found.filter(|d| viewer.may_read(d)).ok_or_else(|| StoreError::NotFound(key.missing()))
    }

    /// The document at `revision`, or at its head.
    pub async fn document_at(
        &self,
        viewer: &Viewer,
        key: &DocumentKey,
        revision: Option<&RevisionHash>,
    ) -> StoreResult<DocumentAt> {
        let document = self.document_by_key(viewer, key).await?;
        let revision = self.revision_of(&document, revision).await?;
        let source = match revision.source {
            Some(id) => self.sources_by_ids(&[id]).await?.pop(),
            None => None,
        };
        Ok(DocumentAt { document, revision, source })
    }

    /// Several documents at their heads, in the order asked, in three queries whatever their
    /// number; `NotFound` for the first that does not exist.
    pub async fn documents_at_heads(
        &self,
        viewer: &Viewer,
        keys: &[DocumentKey],
    ) -> StoreResult<Vec<DocumentAt>> {
        let (ids, slugs): (Vec<_>, Vec<_>) =
            keys.iter().partition(|k| matches!(k, DocumentKey::Id(_)));
        let ids: Vec<DocumentId> = ids
            .iter()
            .filter_map(|k| if let DocumentKey::Id(id) = k { Some(*id) } else { None })
            .collect();
        let slugs: Vec<Slug> = slugs
            .iter()
            .filter_map(|k| if let DocumentKey::Slug(slug) = k { Some(slug.clone()) } else { None })
            .collect();
        let mut found = self.documents_by_ids(&ids).await?;
        found.extend(self.documents_by_slugs(&slugs).await?);
        found.retain(|d| viewer.may_read(d));
        let documents = keys
            .iter()
            .map(|key| {
                found
                    .iter()
                    .find(|d| key.names(d))
                    .cloned()
                    .ok_or_else(|| StoreError::NotFound(key.missing()))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let heads: Vec<RevisionHash> = documents.iter().map(|d| d.head.clone()).collect();
        let revisions = self.revisions_with_hashes(&heads).await?;
        let mut source_ids: Vec<SourceId> = revisions.iter().filter_map(|r| r.source).collect();
        source_ids.sort();
        source_ids.dedup();
        let sources = self.sources_by_ids(&source_ids).await?;
        documents
            .into_iter()
            .map(|document| {
                let revision = revisions
                    .iter()
                    .find(|r| r.hash == document.head)
                    .cloned()
                    .ok_or_else(|| {
                        StoreError::Unexpected(anyhow::anyhow!("head {} is missing", document.head))
                    })?;
                let source =
                    revision.source.and_then(|id| sources.iter().find(|s| s.id == id).cloned());
                Ok(DocumentAt { document, revision, source })
            })
            .collect()
    }

    /// A revision (or the head) with its text and author, its neighbours in the history and
    /// the citations it makes with their verdicts, for its page.
    pub async fn revision_page(
        &self,
        viewer: &Viewer,
        key: &DocumentKey,
        revision: Option<&RevisionHash>,
    ) -> StoreResult<RevisionPage> {
        let at = self.document_at(viewer, key, revision).await?;
        let (content, redaction) = if at.revision.redacted {
            (None, self.redactions(std::slice::from_ref(&at.revision.hash)).await?.pop())
        } else {
            (Some(self.required_content(&at.revision).await?), None)
        };
        let author = self.agent(at.revision.author).await?;
        let n = at.revision.number;
        let head_hash = &at.document.head;
        let neighbours = self.revisions_by_numbers(at.document.id, &[n - 1, n + 1]).await?;
        let stamp =
            |number: i64| neighbours.iter().find(|r| r.number == number).map(RevisionStamp::of);
        let head = if *head_hash == at.revision.hash {
            RevisionStamp::of(&at.revision)
        } else {
            self.revisions_with_hashes(std::slice::from_ref(head_hash))
                .await?
                .first()
                .map(RevisionStamp::of)
                .ok_or_else(|| {
                    StoreError::Unexpected(anyhow::anyhow!("head {head_hash} is missing"))
                })?
        };
        let page = PageRequest {
            after: None,
            before: None,
            limit: MAX_PAGE_CITATIONS,
            direction: Direction::Forward,
        };
        let citations = self.citations_of_revision(&at.revision.hash, page).await?.items;
        let citation_count = if (citations.len() as u64) < MAX_PAGE_CITATIONS {
            citations.len() as u64
        } else {
            self.count_citations_of_revision(&at.revision.hash).await?
        };
        let citations = self.verdicts(viewer, citations, Against::PinnedOrHead).await?;
        Ok(RevisionPage {
            previous: stamp(n - 1),
            next: stamp(n + 1),
            head,
            at,
            content,
            redaction,
            author,
            citations,
            citation_count,
        })
    }

    /// Each citation with what it cites and its verdict against the revision `against` says,
    /// in a query per table whatever their number; the quotes are checked on the compute pool.
    /// A cited document `viewer` may not read is no target and no text to it.
    async fn verdicts(
        &self,
        viewer: &Viewer,
        citations: Vec<Citation>,
        against: Against,
    ) -> StoreResult<Vec<CitationVerdict>> {
        let which = against;
        let mut document_ids: Vec<DocumentId> = citations
            .iter()
            .filter_map(|c| match &c.target {
                CitationTarget::Document { id, .. } => Some(*id),
                CitationTarget::Source(_) => None,
            })
            .collect();
        document_ids.sort();
        document_ids.dedup();
        // Every cited document is checked; one the viewer may not read gives its verdict
        // alone (`QuoteCheck::withheld`), and is no target.
        let documents = self.documents_by_ids(&document_ids).await?;
        let readable: std::collections::HashSet<DocumentId> =
            documents.iter().filter(|d| viewer.may_read(d)).map(|d| d.id).collect();
        let against = |citation: &Citation| match (&citation.target, &which) {
            (CitationTarget::Document { .. }, Against::Exactly(hash)) => Some(hash.clone()),
            (CitationTarget::Document { pinned: Some(hash), .. }, Against::PinnedOrHead) => {
                Some(hash.clone())
            }
            (CitationTarget::Document { id, .. }, _) => {
                documents.iter().find(|d| d.id == *id).map(|d| d.head.clone())
            }
            (CitationTarget::Source(_), _) => None,
        };
        let mut wanted: Vec<RevisionHash> = citations.iter().filter_map(against).collect();
        wanted.sort();
        wanted.dedup();
        let revisions = self.revisions_with_hashes(&wanted).await?;
        let mut contents: Vec<ContentHash> =
            revisions.iter().filter(|r| !r.redacted).map(|r| r.content_hash.clone()).collect();
        contents.sort();
        contents.dedup();
        let texts: HashMap<ContentHash, Arc<str>> = self
            .contents_by_hashes(&contents)
            .await?
            .into_iter()
            .map(|(hash, text)| (hash, Arc::from(text)))
            .collect();
        let mut source_ids: Vec<SourceId> = citations
            .iter()
            .filter_map(|c| match c.target {
                CitationTarget::Source(id) => Some(id),
                CitationTarget::Document { .. } => None,
            })
            .collect();
        source_ids.sort();
        source_ids.dedup();
        let sources = self.sources_by_ids(&source_ids).await?;
        let checks: Vec<_> = citations
            .iter()
            .map(|citation| {
                let revision =
                    against(citation).and_then(|h| revisions.iter().find(|r| r.hash == h));
                let quote = citation.quoted_words().map(str::to_owned);
                let text = revision.and_then(|r| texts.get(&r.content_hash).cloned());
                let given = citation.target_position();
                let redacted = revision.is_some_and(|r| r.redacted);
                (quote, text, given, redacted)
            })
            .collect();
        let verifications = self
            .compute()
            .run(move || {
                checks
                    .into_iter()
                    .map(|(quote, text, given, redacted)| match (quote, text) {
                        (None, _) => QuoteCheck::no_passage(),
                        (Some(_), None) if redacted => QuoteCheck::redacted(),
                        (Some(_), None) => QuoteCheck::no_text(),
                        (Some(quote), Some(text)) => passage::check_quote(&quote, &text, given),
                    })
                    .collect::<Vec<_>>()
            })
            .await?;
        Ok(citations
            .into_iter()
            .zip(verifications)
            .map(|(citation, verification)| {
                let hidden = match &citation.target {
                    CitationTarget::Document { id, .. } => !readable.contains(id),
                    CitationTarget::Source(_) => false,
                };
                let verification = if hidden { verification.withheld() } else { verification };
                let target = match &citation.target {
                    CitationTarget::Document { .. } if hidden => None,
                    CitationTarget::Document { id, .. } => {
                        let document = documents.iter().find(|d| d.id == *id).cloned();
                        let revision = against(&citation)
                            .and_then(|h| revisions.iter().find(|r| r.hash == h))
                            .cloned();
                        document.zip(revision)
                    }
                    CitationTarget::Source(_) => None,
                };
                let source = match citation.target {
                    CitationTarget::Source(id) => sources.iter().find(|s| s.id == id).cloned(),
                    CitationTarget::Document { .. } => None,
                };
                CitationVerdict { citation, target, source, verification }
            })
            .collect())
    }

    /// The citations made by current heads, pinned to a revision that is no longer its
    /// document's head, whose verdict against the head differs from the one against the pinned
    /// revision — among at most `scan` such candidates after `after` (by id), each checked
    /// both ways. A window may hold no drift and still have more after it (`next`).
    pub async fn drifted_citations(
        &self,
        viewer: &Viewer,
        after: Option<CitationId>,
        scan: u64,
    ) -> StoreResult<DriftPage> {
        let scan = scan.clamp(1, MAX_DRIFT_SCAN);
        let candidates = self.pinned_behind_heads(viewer, after, scan + 1).await?;
        let more = candidates.len() as u64 > scan;
        let candidates: Vec<Citation> = candidates.into_iter().take(scan as usize).collect();
        let next = if more { candidates.last().map(|c| c.id) } else { None };
        let pinned = self.verdicts(viewer, candidates.clone(), Against::PinnedOrHead).await?;
        let current = self.verdicts(viewer, candidates, Against::Head).await?;
        let drifts = pinned
            .into_iter()
            .zip(current)
            .filter(|(p, c)| p.verification.status != c.verification.status)
            .map(|(pinned, current)| CitationDrift { pinned, current })
            .collect();
        Ok(DriftPage { drifts, next })
    }

    /// The citations (made by current heads) of the document `event` revised whose verdict
    /// against the revision it replaced differs from the one against it — at most
    /// `MAX_WATCHED_CITATIONS` of them, the oldest first; more are left to `drifted_citations`.
    pub async fn citation_changes(
        &self,
        event: Arc<RevisionEvent>,
    ) -> StoreResult<Vec<CitationChange>> {
        let Some(previous) = event.previous.clone() else { return Ok(Vec::new()) };
        let mut citations = Vec::new();
        let mut after = None;
        loop {
            let page =
                PageRequest { after, before: None, limit: 500, direction: Direction::Forward };
            // Every citing document: each subscriber is answered only what it may read.
            let page =
                self.citations_of_target(&Viewer::everything(), event.document, page).await?;
            after = page.items.last().map(|c| c.id.as_uuid());
            citations.extend(page.items);
            if !page.has_more {
                break;
            }
            if citations.len() >= MAX_WATCHED_CITATIONS {
                tracing::warn!(
                    document = %event.document,
                    "more citations than are watched; the rest drift silently"
                );
                citations.truncate(MAX_WATCHED_CITATIONS);
                break;
            }
        }
        if citations.is_empty() {
            return Ok(Vec::new());
        }
        // Every side: each subscriber's event is delivered only if it may read both.
        let everything = Viewer::everything();
        let before =
            self.verdicts(&everything, citations.clone(), Against::Exactly(previous)).await?;
        let after =
            self.verdicts(&everything, citations, Against::Exactly(event.hash.clone())).await?;
        Ok(before
            .into_iter()
            .zip(after)
            .filter(|(b, a)| b.verification.status != a.verification.status)
            .map(|(before, after)| CitationChange { before, after, cause: event.clone() })
            .collect())
    }

    /// A page of `key`'s history, newest first: at most `limit` revisions older than number
    /// `before` (from the head when `None`), each with its author.
    pub async fn history_page(
        &self,
        viewer: &Viewer,
        key: &DocumentKey,
        before: Option<i64>,
        limit: u64,
    ) -> StoreResult<HistoryPage> {
        let document = self.document_by_key(viewer, key).await?;
        let head = self.revision_of(&document, None).await?;
        // Revision lists run newest first, so "after" a number is older than it.
        let page =
            PageRequest { after: before, before: None, limit, direction: Direction::Forward };
        let found = self.list_revisions_with_authors(document.id, page).await?;
        Ok(HistoryPage { document, head, revisions: found.items, has_older: found.has_more })
    }

    /// A word diff between two revisions of `key`'s document (`from` `None`: against the
    /// empty text). Both must be revisions of that document. The texts are paid for from
    /// `budget` by their size.
    pub async fn diff_page(
        &self,
        viewer: &Viewer,
        key: &DocumentKey,
        from: Option<&RevisionHash>,
        to: &RevisionHash,
        budget: &Budget,
    ) -> StoreResult<(Document, RevisionDiff)> {
        let document = self.document_by_key(viewer, key).await?;
        for hash in from.into_iter().chain([to]) {
            self.revision_of(&document, Some(hash)).await?;
        }
        let diff = self
            .diff_revisions(viewer, from, to, Granularity::Word, ContextLines::DEFAULT, budget)
            .await?;
        Ok((document, diff))
    }

    /// The provenance of one revision, or of the whole history, which costs a point per
    /// revision, drawn from `budget` before the history is read. Histories are read up to
    /// `MAX_HISTORY` revisions.
    pub async fn provenance(
        &self,
        viewer: &Viewer,
        key: &DocumentKey,
        revision: Option<&RevisionHash>,
        budget: &Budget,
    ) -> StoreResult<Provenance> {
        let document = self.document_by_key(viewer, key).await?;
        let revisions = match revision {
            Some(hash) => vec![self.revision_of(&document, Some(hash)).await?],
            None => {
                let head = self.revision_of(&document, None).await?;
                budget
                    .draw(head.number.max(0) as u64)
                    .map_err(|cause| StoreError::OverBudget { what: "provenance", cause })?;
                self.history_up_to(document.id, head.number).await?
            }
        };
        let hashes: Vec<RevisionHash> = revisions.iter().map(|r| r.hash.clone()).collect();
        let citations = self.citations_made_by(&hashes).await?;
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
        Ok(Provenance {
            agents: self.agents_by_ids(&agent_ids).await?,
            sources: self.sources_by_ids(&source_ids).await?,
            // The cited documents the viewer may not read are named by id only, not by slug.
            documents: self
                .documents_by_ids(&document_ids)
                .await?
                .into_iter()
                .filter(|d| viewer.may_read(d))
                .collect(),
            revisions,
            citations,
        })
    }

    /// The head of the document `slug` names, with its text when `with_text`.
    pub async fn head_text(
        &self,
        viewer: &Viewer,
        slug: &Slug,
        with_text: bool,
    ) -> StoreResult<RevisionText> {
        let document = self.document_with_slug(viewer, slug).await?;
        let revision = self.revision_of(&document, None).await?;
        if revision.redacted {
            return Err(StoreError::Redacted(revision.hash));
        }
        let content = if with_text { Some(self.required_content(&revision).await?) } else { None };
        Ok(RevisionText { document, revision, content })
    }

    /// The revision that was the head of `slug`'s document at `instant`: the first one for an
    /// instant before the document existed (as a Memento TimeGate answers).
    pub async fn head_at(
        &self,
        viewer: &Viewer,
        slug: &Slug,
        instant: Timestamp,
    ) -> StoreResult<Revision> {
        let document = self.document_with_slug(viewer, slug).await?;
        match self.revision_as_of(document.id, instant).await? {
            Some(revision) => Ok(revision),
            None => self.revisions_by_numbers(document.id, &[1]).await?.pop().ok_or_else(|| {
                StoreError::Unexpected(anyhow::anyhow!("document {} has no revisions", document.id))
            }),
        }
    }

    /// The revision `hash` of `slug`'s document with its neighbours (first, previous, next,
    /// last), and its text when `with_text`.
    pub async fn memento(
        &self,
        viewer: &Viewer,
        slug: &Slug,
        hash: &RevisionHash,
        with_text: bool,
    ) -> StoreResult<Memento> {
        let document = self.document_with_slug(viewer, slug).await?;
        let revision = self.revision_of(&document, Some(hash)).await?;
        if revision.redacted {
            return Err(StoreError::Redacted(revision.hash));
        }
        let n = revision.number;
        let head_number = self.revision_of(&document, None).await?.number;
        let wanted = [1, n - 1, n + 1, head_number];
        let neighbours = self.revisions_by_numbers(document.id, &wanted).await?;
        let stamp =
            |number: i64| neighbours.iter().find(|r| r.number == number).map(RevisionStamp::of);
        let (Some(first), Some(last)) = (stamp(1), stamp(head_number)) else {
            return Err(StoreError::Unexpected(anyhow::anyhow!(
                "the history of document {} has gaps",
                document.id
            )));
        };
        let content = if with_text { Some(self.required_content(&revision).await?) } else { None };
        Ok(Memento {
            previous: stamp(n - 1),
            next: stamp(n + 1),
            first,
            last,
            text: RevisionText { document, revision, content },
        })
    }

    /// A page of the mementos of `slug`'s document, oldest first, after revision number
    /// `after` (from the first when `None`), at most `limit` of them.
    pub async fn timemap(
        &self,
        viewer: &Viewer,
        slug: &Slug,
        after: Option<i64>,
        limit: u64,
    ) -> StoreResult<TimeMap> {
        let document = self.document_with_slug(viewer, slug).await?;
        let mut stamps = self.revision_stamps(document.id, after.unwrap_or(0), limit + 1).await?;
        let has_more = stamps.len() as u64 > limit;
        stamps.truncate(limit as usize);
        Ok(TimeMap { document, stamps, has_more })
    }
}
