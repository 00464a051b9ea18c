// Over 400 lines, as one file: the two passes share the per-document state the first keeps
// and the second consumes; the record types are `archive::mod`, the writes `store::bulk`.

//! `palimpsest import`: an archive into the store, checked whole before anything is written.
//!
//! The first pass reads every line and holds each document's history to the rules a write
//! keeps (numbers from 1 without gaps, each revision the child of the one before, times
//! strictly increasing, known authors and sources, a free slug, every given hash equal to the
//! one recomputed), keeping only where each history ends: memory grows with the number of
//! documents, never with the file. A document with a bad line is refused whole, with the
//! line's number and why. The second pass writes the rest in batches, one transaction each,
//! so an interrupted import leaves whole revisions only; revisions already stored (as an
//! earlier, interrupted run left them) are checked against the store and skipped, so running
//! it again resumes where it stopped.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{Record, RevisionRecord};
use crate::store::{
    AgentId, CaptureId, Collection, CollectionId, CorpusCapture, DocumentId, ImportAgent,
    ImportBatch, IndexesPaused, RevisionHash, Slug, Source, SourceId, Store, Timestamp,
};

/// How an import runs.
#[derive(Debug, Clone, Copy)]
pub struct ImportOptions {
    /// Revisions per transaction, at most; a transaction also ends once it holds
    /// `batch_bytes` of text and paragraph keys. Large transactions write each index page once
    /// rather than once per transaction (on SQLite, 2,000 revisions a transaction wrote the
    /// file 5 times over).
    pub batch: usize,
    pub batch_bytes: usize,
    /// The longest line read, in bytes; a longer one is refused without being held.
    pub max_line_bytes: usize,
    /// A progress bar on standard error, when it is a terminal.
    pub progress: bool,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self { batch: 10_000, batch_bytes: 32 << 20, max_line_bytes: 16 << 20, progress: true }
    }
}

/// A line refused, and why; `document` when the line named one (which is then refused whole).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub line: u64,
    pub document: Option<DocumentId>,
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Default)]
pub struct ImportReport {
    pub revisions: u64,
    /// Revisions found stored already, each equal to the archive's.
    pub present: u64,
    pub documents: u64,
    pub agents: u64,
    pub sources: u64,
    /// Collections created (those stored already are not counted).
    pub collections: u64,
    /// Captures written, and those found stored already.
    pub captures: u64,
    pub captures_present: u64,
    /// Documents refused whole.
    pub refused_documents: u64,
    /// Every refused line, in order.
    pub refusals: Vec<Refusal>,
    /// Whether the database was compacted after writing (see `Store::finish_bulk`).
    pub compacted: bool,
    /// The whole import, and the first pass (checking) of it.
    pub elapsed: Duration,
    pub checking: Duration,
}

/// Where a document's history stands as the first pass reads it.
struct Chain {
    head: Option<RevisionHash>,
    number: i64,
    created_at: Option<Timestamp>,
    /// The revisions the store holds already (0 for a new document).
    stored: i64,
    refused: bool,
    touched: bool,
}

/// The archive at `path` (`-`: standard input, copied to a temporary file first, since the
/// file is read twice) into `store`.
pub async fn import(
    store: &Store,
    path: &Path,
    options: ImportOptions,
) -> anyhow::Result<ImportReport> {
    let started = Instant::now();
    // A file is read twice; anything else (standard input, a pipe, a device) is copied first.
    let spooled = if path == Path::new("-") {
        Some(Spool::copy(std::io::stdin().lock(), options.max_line_bytes)?)
    } else if !std::fs::metadata(path)?.is_file() {
        Some(Spool::copy(File::open(path)?, options.max_line_bytes)?)
    } else {
        None
    };
    let path = spooled.as_ref().map_or(path, |s| s.0.as_path());
    let size = std::fs::metadata(path)?.len();
    let show = options.progress && std::io::stderr().is_terminal();

    let mut report = ImportReport::default();
    let checked = check(store, path, options, &mut report).await?;
    report.checking = started.elapsed();
    report.collections = store.import_collections(&checked.collections).await?;

    let bar = if show {
        let bar = indicatif::ProgressBar::new(size);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {percent:>3}% {msg} eta {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let incoming = checked
        .chains
        .values()
        .filter(|chain| !chain.refused)
        .map(|chain| (chain.number - chain.stored).max(0) as u64)
        .sum();
    let paused = store.pause_index_merges(incoming).await?;
    let written =
        write_batches(store, path, checked, options, paused.as_ref(), &bar, &mut report).await;
    let counts = match written {
        Ok(counts) => counts,
        Err(error) => {
            // Resumed all the same: what was written is searched. Should that fail too, the
            // batch's error is the one to report, and the store resumes them at its next
            // `migrate`.
            if let Some(paused) = paused
                && let Err(resuming) = store.resume_index_merges(paused).await
            {
                tracing::warn!(%resuming, "the search indexes are made whole at the next `migrate`");
            }
            return Err(error);
        }
    };
    report.revisions = counts.revisions;
    report.documents = counts.documents;
    report.agents = counts.agents;
    report.sources = counts.sources;
    bar.finish_and_clear();
    report.compacted = store.finish_bulk(paused, report.revisions).await?;
    report.elapsed = started.elapsed();
    Ok(report)
}

/// The second pass: reads the archive's batches on a thread of their own and writes each.
async fn write_batches(
    store: &Store,
    path: &Path,
    checked: Checked,
    options: ImportOptions,
    paused: Option<&IndexesPaused>,
    bar: &indicatif::ProgressBar,
    report: &mut ImportReport,
) -> anyhow::Result<Counts> {
    // Reading and hashing the next batch overlaps writing this one.
    let writing = Instant::now();
    let (sender, mut batches) = tokio::sync::mpsc::channel::<Batch>(1);
    let reader = {
        let (path, bar) = (path.to_owned(), bar.clone());
        std::thread::spawn(move || read_batches(&path, &checked, options, &bar, &sender))
    };
    let mut written = 0;
    while let Some(Batch { store: batch, captures }) = batches.recv().await {
        written += batch.revisions.len();
        store.import_batch(batch, paused).await?;
        // After the revisions of the same batch, which they may name.
        let (lines, captures): (Vec<u64>, Vec<CorpusCapture>) = captures.into_iter().unzip();
        let ids: Vec<CaptureId> = captures.iter().map(|c| c.capture.id).collect();
        let imported = store.import_captures(captures).await?;
        report.captures += imported.written;
        report.captures_present += imported.present;
        for (id, reason) in imported.refused {
            let line = ids.iter().position(|i| *i == id).map_or(0, |at| lines[at]);
            report.refusals.push(Refusal {
                line,
                document: None,
                reason: format!("capture {id}: {reason}"),
            });
        }
        let rate = written as f64 / writing.elapsed().as_secs_f64().max(1e-3);
        bar.set_message(format!("{written} revisions, {rate:.0}/s"));
    }
    reader.join().map_err(|_| anyhow::anyhow!("the archive reader panicked"))?
}

/// What the second pass hands the writer at a time: the store's batch, and the captures that
/// follow it with the lines they were on.
#[derive(Default)]
struct Batch {
    store: ImportBatch,
    captures: Vec<(u64, CorpusCapture)>,
}

#[derive(Default)]
struct Counts {
    revisions: u64,
    documents: u64,
    agents: u64,
    sources: u64,
}

/// The second pass's reading: what the first found good, in batches, as the file holds it.
fn read_batches(
    path: &Path,
    checked: &Checked,
    options: ImportOptions,
    bar: &indicatif::ProgressBar,
    sender: &tokio::sync::mpsc::Sender<Batch>,
) -> anyhow::Result<Counts> {
    let mut counts = Counts::default();
    let mut whole = Batch::default();
    let mut batch_bytes = 0;
    let mut lines = Lines::open(path, options.max_line_bytes)?;
    while let Some((number, line)) = lines.next()? {
        let batch = &mut whole.store;
        bar.set_position(lines.consumed);
        let Ok(Ok(record)) = line.map(|l| serde_json::from_str::<Record>(&l)) else {
            continue;
        };
        match record {
            // Written before the batches.
            Record::Collection(_) => {}
            Record::Agent(agent) => {
                if let Ok(agent) = agent.parse()
                    && checked.agents.contains(&agent.id)
                {
                    counts.agents += 1;
                    batch.agents.push(agent);
                }
            }
            Record::Source(source) => {
                if let Ok(source) = source.parse()
                    && checked.sources.contains(&source.id)
                {
                    counts.sources += 1;
                    batch.sources.push(source);
                }
            }
            Record::Revision(revision) => {
                let Ok(document) = DocumentId::parse(&revision.document) else { continue };
                let Some(chain) = checked.chains.get(&document) else { continue };
                if chain.refused || revision.number <= chain.stored {
                    continue;
                }
                let Ok(sealed) = revision.parse() else { continue };
                if sealed.revision().number == 1 {
                    counts.documents += 1;
                }
                let sealed = sealed.with_paragraph_keys();
                batch_bytes += sealed.held_bytes();
                batch.revisions.push(sealed);
                counts.revisions += 1;
            }
            Record::Capture(capture) => {
                let refused = capture
                    .document
                    .as_deref()
                    .and_then(|d| DocumentId::parse(d).ok())
                    .and_then(|d| checked.chains.get(&d))
                    .is_some_and(|chain| chain.refused);
                if refused {
                    continue;
                }
                let Ok(capture) = capture.parse() else { continue };
                batch_bytes += capture.evidence.iter().map(|r| r.bytes.len()).sum::<usize>();
                whole.captures.push((number, capture));
            }
        }
        let held = whole.store.revisions.len() + whole.captures.len();
        if held >= options.batch || batch_bytes >= options.batch_bytes {
            batch_bytes = 0;
            if sender.blocking_send(std::mem::take(&mut whole)).is_err() {
                // The writer stopped, and says why.
                return Ok(counts);
            }
        }
    }
    let batch = &whole.store;
    if !batch.revisions.is_empty()
        || !batch.agents.is_empty()
        || !batch.sources.is_empty()
        || !whole.captures.is_empty()
    {
        let _ = sender.blocking_send(whole);
    }
    Ok(counts)
}

/// What the first pass found good.
struct Checked {
    chains: HashMap<DocumentId, Chain>,
    agents: HashSet<AgentId>,
    sources: HashSet<SourceId>,
    /// Created before any revision is written: the documents placed in them name them.
    collections: Vec<Collection>,
}

async fn check(
    store: &Store,
    path: &Path,
    options: ImportOptions,
    report: &mut ImportReport,
) -> anyhow::Result<Checked> {
    let mut chains: HashMap<DocumentId, Chain> = HashMap::new();
    let mut agents: HashMap<AgentId, ImportAgent> = HashMap::new();
    let mut sources: HashMap<SourceId, Source> = HashMap::new();
    let mut stored_agents: HashMap<AgentId, bool> = HashMap::new();
    let mut stored_sources: HashMap<SourceId, bool> = HashMap::new();
    let mut slugs: HashMap<Slug, DocumentId> = HashMap::new();
    let mut collections: HashMap<CollectionId, Collection> = HashMap::new();
    let mut lines = Lines::open(path, options.max_line_bytes)?;
    while let Some((number, line)) = lines.next()? {
        let refuse = |report: &mut ImportReport, document: Option<DocumentId>, reason: String| {
            report.refusals.push(Refusal { line: number, document, reason });
        };
        let line = match line {
            Ok(line) => line,
            Err(reason) => {
                refuse(report, None, reason);
                continue;
            }
        };
        let record = match serde_json::from_str::<Record>(&line) {
            Ok(record) => record,
            Err(err) => {
                refuse(report, None, format!("not an archive record: {err}"));
                continue;
            }
        };
        match record {
            Record::Collection(collection) => match collection.parse() {
                Ok(collection) => {
                    if let Err(reason) = check_collection(store, &collections, &collection).await? {
                        refuse(report, None, reason);
                    } else {
                        collections.insert(collection.id, collection);
                    }
                }
                Err(err) => refuse(report, None, format!("collection: {err}")),
            },
            Record::Agent(agent) => match agent.parse() {
                Ok(agent) => match agents.get(&agent.id) {
                    Some(known) if !same_agent(known, &agent) => refuse(
                        report,
                        None,
                        format!("agent {} is given twice, differently", agent.id),
                    ),
                    _ => {
                        agents.insert(agent.id, agent);
                    }
                },
                Err(err) => refuse(report, None, format!("agent: {err}")),
            },
            Record::Source(source) => match source.parse() {
                Ok(source) => match sources.get(&source.id) {
                    Some(known) if known != &source => refuse(
                        report,
                        None,
                        format!("source {} is given twice, differently", source.id),
                    ),
                    _ => {
                        sources.insert(source.id, source);
                    }
                },
                Err(err) => refuse(report, None, format!("source: {err}")),
            },
            Record::Revision(revision) => {
                let document = match DocumentId::parse(&revision.document) {
                    Ok(document) => document,
                    Err(err) => {
                        refuse(report, None, format!("revision: {err}"));
                        continue;
                    }
                };
                if let std::collections::hash_map::Entry::Vacant(entry) = chains.entry(document) {
                    let end = store.history_ends(&[document]).await?.remove(&document);
                    entry.insert(Chain {
                        stored: end.as_ref().map_or(0, |e| e.number),
                        number: end.as_ref().map_or(0, |e| e.number),
                        created_at: end.as_ref().map(|e| e.created_at),
                        head: end.map(|e| e.head),
                        refused: false,
                        touched: false,
                    });
                }
                let verdict = check_revision(
                    store,
                    revision,
                    document,
                    &mut chains,
                    &agents,
                    &mut stored_agents,
                    &sources,
                    &mut stored_sources,
                    &mut slugs,
                    &collections,
                    report,
                )
                .await?;
                if let Err(reason) = verdict {
                    if let Some(chain) = chains.get_mut(&document)
                        && !chain.refused
                    {
                        chain.refused = true;
                        report.refused_documents += 1;
                    }
                    refuse(report, Some(document), reason);
                }
            }
            // What it names is checked when it is written, after the revisions before it.
            Record::Capture(capture) => {
                let document = capture.document.as_deref().and_then(|d| DocumentId::parse(d).ok());
                if let Err(err) = capture.parse() {
                    refuse(report, document, format!("capture: {err}"));
                }
            }
        }
    }
    let agents = agents.into_keys().collect();
    let sources = sources.into_keys().collect();
    let collections = collections.into_values().collect();
    Ok(Checked { chains, agents, sources, collections })
}

/// A collection line must agree with the store and the lines before it: the same id never
/// names two slugs, nor one slug two ids.
async fn check_collection(
    store: &Store,
    seen: &HashMap<CollectionId, Collection>,
    collection: &Collection,
) -> anyhow::Result<Result<(), String>> {
    if collection.id == CollectionId::PUBLIC {
        return Ok(Err("the public collection is every store's own; it is not imported".into()));
    }
    if let Some(known) = seen.get(&collection.id)
        && known != collection
    {
        return Ok(Err(format!("collection {} is given twice, differently", collection.id)));
    }
    if let Some(stored) = store.collection(collection.id).await?
        && stored.slug != collection.slug
    {
        return Ok(Err(format!(
            "collection {} is stored with the slug {}, not {}",
            collection.id, stored.slug, collection.slug
        )));
    }
    if let Some(other) = store.collection_by_slug(&collection.slug).await?
        && other.id != collection.id
    {
        return Ok(Err(format!("the collection slug {} is taken in the store", collection.slug)));
    }
    Ok(Ok(()))
}

fn same_agent(a: &ImportAgent, b: &ImportAgent) -> bool {
    a.name == b.name && a.kind == b.kind && a.created_at == b.created_at
}

/// Holds one revision line to its document's history; `Err` refuses the document.
#[allow(clippy::too_many_arguments)]
async fn check_revision(
    store: &Store,
    record: RevisionRecord,
    document: DocumentId,
    chains: &mut HashMap<DocumentId, Chain>,
    agents: &HashMap<AgentId, ImportAgent>,
    stored_agents: &mut HashMap<AgentId, bool>,
    sources: &HashMap<SourceId, Source>,
    stored_sources: &mut HashMap<SourceId, bool>,
    slugs: &mut HashMap<Slug, DocumentId>,
    collections: &HashMap<CollectionId, Collection>,
    report: &mut ImportReport,
) -> anyhow::Result<Result<(), String>> {
    let Some(chain) = chains.get_mut(&document) else {
        return Ok(Err("no history was started for this document".into()));
    };
    if chain.refused {
        return Ok(Err("an earlier line of this document was refused".into()));
    }
    let sealed = match record.parse() {
        Ok(sealed) => sealed,
        Err(err) => return Ok(Err(err.to_string())),
    };
    let (revision, hash) = (sealed.revision(), sealed.hash().clone());
    if revision.number <= chain.stored {
        // Stored already, by an earlier run: it must be this very revision.
        return Ok(match store.revision_hash_at(document, revision.number).await? {
            Some(stored) if stored == hash => {
                report.present += 1;
                Ok(())
            }
            _ => Err(format!(
                "revision {} differs from the stored revision {} of this document",
                hash, revision.number
            )),
        });
    }
    if revision.number != chain.number + 1 {
        return Ok(Err(format!(
            "revision number {} follows number {} (numbers count from 1 without gaps)",
            revision.number, chain.number
        )));
    }
    if revision.parent != chain.head {
        return Ok(Err(format!(
            "the parent is {}, but the revision before it is {}",
            revision.parent.as_ref().map_or("null".into(), |p| p.to_string()),
            chain.head.as_ref().map_or("none".into(), |h| h.to_string()),
        )));
    }
    if let Some(before) = chain.created_at
        && revision.created_at <= before
    {
        return Ok(Err(format!(
            "created_at {} is not after the revision before it ({before})",
            revision.created_at
        )));
    }
    let author = revision.author;
    if !agents.contains_key(&author)
        && !stored(stored_agents, author, async || store.stored_agents(&[author]).await).await?
    {
        return Ok(Err(format!(
            "the author {author} is neither in the archive (before this line) nor stored"
        )));
    }
    if let Some(source) = revision.source
        && !sources.contains_key(&source)
        && !stored(stored_sources, source, async || store.stored_sources(&[source]).await).await?
    {
        return Ok(Err(format!(
            "the source {source} is neither in the archive (before this line) nor stored"
        )));
    }
    if !chain.touched && chain.stored == 0 {
        let collection = revision.placement.collection;
        // Never public by default: a document kept from some readers stays so, or is refused.
        if collection != CollectionId::PUBLIC
            && !collections.contains_key(&collection)
            && store.collection(collection).await?.is_none()
        {
            return Ok(Err(format!(
                "the collection {collection} is neither in the archive (before this line) nor \
                 stored"
            )));
        }
        if let Some(other) = slugs.get(&revision.slug)
            && *other != document
        {
            return Ok(Err(format!("the slug {} is another document's", revision.slug)));
        }
        if store.document_by_slug(&revision.slug).await?.is_some() {
            return Ok(Err(format!("the slug {} is taken in the store", revision.slug)));
        }
        slugs.insert(revision.slug.clone(), document);
    }
    chain.touched = true;
    chain.number = revision.number;
    chain.head = Some(hash);
    chain.created_at = Some(revision.created_at);
    Ok(Ok(()))
}

/// Whether `id` is stored, asked of the store once per id (`known` remembers the answers).
async fn stored<Id: std::hash::Hash + Eq + Copy>(
    known: &mut HashMap<Id, bool>,
    id: Id,
    lookup: impl AsyncFnOnce() -> crate::store::StoreResult<HashSet<Id>>,
) -> anyhow::Result<bool> {
    if let Some(known) = known.get(&id) {
        return Ok(*known);
    }
    let found = lookup().await?.contains(&id);
    known.insert(id, found);
    Ok(found)
}

/// Lines of a file, numbered from 1, each read up to a length; blank lines skipped. A line
/// longer than the limit is refused and skipped; one that does not end within
/// `UNENDING_LINES` times the limit, or that holds a NUL byte (which no JSON text has), means
/// the file is not an archive at all, and reading stops with an error.
struct Lines {
    reader: BufReader<File>,
    number: u64,
    max: usize,
    buffer: Vec<u8>,
    /// Bytes read so far.
    consumed: u64,
}

/// How many times the line limit an over-long line may run on before the file is given up.
const UNENDING_LINES: u64 = 16;

/// The byte order mark some editors put at the start of a UTF-8 file.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Why a file is not read further: it is not a JSON Lines archive.
fn not_an_archive(line: u64, why: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("line {line} {why}: this is not a JSON Lines archive (docs/archive-format.md)"),
    )
}

impl Lines {
    fn open(path: &Path, max: usize) -> std::io::Result<Self> {
        let reader = BufReader::with_capacity(1 << 20, File::open(path)?);
        Ok(Self { reader, number: 0, max, buffer: Vec::new(), consumed: 0 })
    }

    /// The next line's number and text, or why it cannot be read (too long, not UTF-8).
    #[allow(clippy::type_complexity)]
    fn next(&mut self) -> std::io::Result<Option<(u64, Result<String, String>)>> {
        loop {
            self.buffer.clear();
            let read =
                (&mut self.reader).take(self.max as u64 + 1).read_until(b'\n', &mut self.buffer)?;
            if read == 0 {
                return Ok(None);
            }
            self.number += 1;
            self.consumed += read as u64;
            if self.buffer.contains(&0) {
                return Err(not_an_archive(self.number, "holds a NUL byte"));
            }
            if self.buffer.last() != Some(&b'\n') && read > self.max {
                self.skip_rest()?;
                let reason = format!("the line is longer than {} bytes", self.max);
                return Ok(Some((self.number, Err(reason))));
            }
            if self.number == 1 && self.buffer.starts_with(BOM) {
                self.buffer.drain(..BOM.len());
            }
            if self.buffer.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let text = std::mem::take(&mut self.buffer);
            return Ok(Some((
                self.number,
                String::from_utf8(text).map_err(|_| "the line is not UTF-8".to_owned()),
            )));
        }
    }

    /// Skips to the end of an over-long line without holding it, within bounds.
    fn skip_rest(&mut self) -> std::io::Result<()> {
        let mut skipped = Vec::new();
        let mut length = self.max as u64;
        loop {
            skipped.clear();
            let more = (&mut self.reader).take(1 << 20).read_until(b'\n', &mut skipped)?;
            self.consumed += more as u64;
            length += more as u64;
            if skipped.contains(&0) {
                return Err(not_an_archive(self.number, "holds a NUL byte"));
            }
            if more == 0 || skipped.last() == Some(&b'\n') {
                return Ok(());
            }
            if length > self.max as u64 * UNENDING_LINES {
                let why = format!("does not end within {length} bytes");
                return Err(not_an_archive(self.number, &why));
            }
        }
    }
}

/// An archive that is not a file that can be read twice (standard input, a pipe, a device)
/// copied to a temporary file first, removed when dropped. What is copied is held to the rules
/// `Lines` keeps (no NUL byte, no line without end), so an endless input is refused as soon as
/// it shows it is not an archive instead of filling the disk; a progress line says how much
/// was read when standard error is a terminal.
struct Spool(PathBuf);

impl Spool {
    fn copy(mut input: impl Read, max_line: usize) -> std::io::Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let path = std::env::temp_dir()
            .join(format!("palimpsest-import-{}-{nanos}.jsonl", std::process::id()));
        let spool = Spool(path);
        let mut file = std::io::BufWriter::new(File::create(&spool.0)?);
        let bar = if std::io::stderr().is_terminal() {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} reading the archive: {bytes}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar
        } else {
            indicatif::ProgressBar::hidden()
        };
        let (mut line, mut run) = (1u64, 0u64);
        let unending = max_line as u64 * UNENDING_LINES;
        let mut chunk = vec![0u8; 1 << 16];
        loop {
            let read = match input.read(&mut chunk) {
                Ok(0) => break,
                Ok(read) => read,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            };
            for &byte in &chunk[..read] {
                match byte {
                    0 => return Err(not_an_archive(line, "holds a NUL byte")),
                    b'\n' => (line, run) = (line + 1, 0),
                    _ => run += 1,
                }
                if run > unending {
                    return Err(not_an_archive(line, &format!("does not end within {run} bytes")));
                }
            }
            std::io::Write::write_all(&mut file, &chunk[..read])?;
            bar.inc(read as u64);
        }
        std::io::Write::flush(&mut file)?;
        bar.finish_and_clear();
        Ok(spool)
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
