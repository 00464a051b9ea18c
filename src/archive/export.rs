//! `palimpsest export`: the corpus, or some of its documents, as an archive, streamed page by
//! page (memory stays flat whatever the corpus's size).

use std::io::Write;

use super::{AgentRecord, CaptureRecord, CollectionRecord, Record, RevisionRecord, SourceRecord};
use crate::store::{CollectionId, DocumentId, FrameCache, Store};

/// Records read per query.
const PAGE: u64 = 500;

/// Captures read per query: each may carry a page's evidence (up to a few megabytes).
const CAPTURE_PAGE: u64 = 50;

/// Stored frames kept while exporting: the chains of deltas of ~100,000 revisions' texts.
pub(super) const FRAME_CACHE_BYTES: usize = 64 << 20;

/// Texts kept unpacked while exporting, for the pages that will ask for them: the reference
/// corpus's commit order holds up to ~60 MB of them at once, and emptying the cache when it
/// is full means unpacking those chains again (64 MiB made the export 1.4 s, this 1.0 s).
pub(super) const TEXT_CACHE_BYTES: usize = 256 << 20;

/// What an export wrote.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Exported {
    pub agents: u64,
    pub sources: u64,
    pub revisions: u64,
    pub captures: u64,
}

/// Writes every agent and source, then the revisions (of `documents` only, when given) in
/// the order they were committed, then their captures, one JSON record per line.
pub async fn export(
    store: &Store,
    documents: Option<&[DocumentId]>,
    out: &mut impl Write,
) -> anyhow::Result<Exported> {
    let mut counts = Exported::default();
    // First: the revisions that create documents name them.
    for collection in store.list_collections(None).await? {
        if collection.id != CollectionId::PUBLIC {
            write(out, &Record::Collection(CollectionRecord::from(&collection)))?;
        }
    }
    let mut after = None;
    loop {
        let page = store.corpus_agents(after, PAGE).await?;
        for agent in &page {
            write(out, &Record::Agent(AgentRecord::from(agent)))?;
        }
        counts.agents += page.len() as u64;
        match page.last() {
            Some(last) if page.len() as u64 == PAGE => after = Some(last.id),
            _ => break,
        }
    }
    let mut after = None;
    loop {
        let page = store.corpus_sources(after, PAGE).await?;
        for source in &page {
            write(out, &Record::Source(SourceRecord::from(source)))?;
        }
        counts.sources += page.len() as u64;
        match page.last() {
            Some(last) if page.len() as u64 == PAGE => after = Some(last.id),
            _ => break,
        }
    }
    let mut after = None;
    let mut cache = FrameCache::new(FRAME_CACHE_BYTES, TEXT_CACHE_BYTES);
    loop {
        let page = store.corpus_revisions(after, PAGE, documents, &mut cache).await?;
        let full = page.len() as u64 == PAGE;
        let last = page.last().and_then(|r| r.revision.log_index);
        counts.revisions += page.len() as u64;
        for revision in page {
            write(out, &Record::Revision(RevisionRecord::from(revision)))?;
        }
        match last {
            Some(last) if full => after = Some(last),
            _ => break,
        }
    }
    // Captures last: each names its document, revision and agent.
    let mut after = None;
    loop {
        let page = store.corpus_captures(after, CAPTURE_PAGE, documents).await?;
        let full = page.len() as u64 == CAPTURE_PAGE;
        let last = page.last().map(|c| c.capture.id);
        counts.captures += page.len() as u64;
        for capture in page {
            write(out, &Record::Capture(CaptureRecord::from(capture)))?;
        }
        match last {
            Some(last) if full => after = Some(last),
            _ => break,
        }
    }
    out.flush()?;
    Ok(counts)
}

fn write(out: &mut impl Write, record: &Record) -> anyhow::Result<()> {
    serde_json::to_writer(&mut *out, record)?;
    out.write_all(b"\n")?;
    Ok(())
}
