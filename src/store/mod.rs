//! The versioned store: documents, hash-chained revisions, content blobs stored once per
//! SHA-256, agents, API tokens, sources, citations, the transparency log, the audit log and
//! verification.
//!
//! This module is the core of Palimpsest and imports nothing of async-graphql or actix-web.
//! Callers hand it parsed values (`values`, `kinds`), it owns every transaction, and it
//! answers with its own read models (`views` for those gathered from several tables).
//! Invariants kept here:
//! - a revision is written once and no column its header covers ever changes; in place, only
//!   the document's head pointer (with its `updated_at`) moves, and a redaction flags a
//!   revision and empties its text (`redaction`);
//! - every revision is a leaf of the transparency log (`tlog`), appended in its transaction,
//!   and every write records its audit event there too (`audit`);
//! - every write is one transaction that lands whole or not at all;
//! - diffs and blame are computed from stored history, never stored;
//! - a revision's hash is SHA-256 of its canonical header (`hashing`), which commits to its
//!   parent, so a document's history is a hash chain.

mod access;
mod agents;
mod audit;
mod bulk;
mod captures;
mod changes;
mod citations;
mod citing;
mod connect;
mod diffs;
mod documents;
mod erasure;
mod error;
pub mod hashing;
mod history;
mod joined;
mod kept_revisions;
mod kinds;
mod live;
mod page;
mod receipts;
mod redaction;
mod replicas;
mod revisions;
mod search;
mod sources;
mod sql;
mod texts;
pub(crate) mod tlog;
mod tokens;
mod transaction;
mod upkeep;
mod values;
mod verify;
mod views;
mod writes;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sea_orm::{DatabaseBackend, DatabaseConnection};

use crate::compute::Compute;
use crate::merkle::Frontier;

pub use access::{Collection, MAX_COLLECTIONS, MAX_MEMBERS, Membership, Standing, Viewer};
pub use agents::Agent;
pub use audit::{Actor, AuditEvent, AuditFilter, AuditTarget};
pub use bulk::{
    CorpusRevision, HistoryEnd, ImportAgent, ImportBatch, ImportRevision, IndexesPaused,
    SealedImport,
};
pub use captures::{
    Capture, CaptureFor, CaptureRecorded, CaptureReport, CorpusCapture, EvidenceKind,
    EvidenceRecord, Found, ImportedCaptures, LastRun, NewWatch, PackedEvidence, PageText,
    SeenBytes, Sighting, StoredEvidence, Validators, Watch, WatchInterval, slug_for_url,
};
pub use changes::{ChangeMarker, Changed, Touched};
pub use citations::{Citation, CitationTarget, StoredSelector};
pub use citing::AddCitation;
pub use connect::{
    DatabaseTimeouts, Pooling, connect, connect_for_bulk, connect_for_scans, connect_via,
    connect_with, database_name, redact_password, sqlite_file,
};
pub use diffs::{BlameLine, RevisionDiff};
pub use documents::{Document, DocumentCursor, DocumentFilter, DocumentOrder, DocumentOrderField};
pub use erasure::unseal_for_downgrade;
pub use error::{Conflict, Missing, RETRY_AFTER_UNAVAILABLE, StoreError, StoreResult};
pub use history::{HistoryEntry, MAX_HISTORY, RevisionStamp};
pub use joined::{DocumentWithHead, DocumentWithRevisions, FirstPage, HeadParts};
pub use kept_revisions::DEFAULT_REVISION_CACHE_MB;
pub use kinds::*;
pub use live::{CitationChange, LIVE_BUFFER, Listener, Notice, RevisionEvent};
pub use page::{Direction, Page, PageRequest};
pub use receipts::{ReceiptParts, ReceiptSide};
pub use redaction::{Redaction, RedactionReason};
pub use replicas::{ConsistencyToken, ReadRoute, ReplicaStatus};
pub use revisions::{Revision, StoredHeader};
pub use search::{SearchCursor, SearchHit, SearchPage, SearchRequest, SearchScope};
pub use sources::{NewSource, Source, SourceFields};
pub use texts::cache::{DEFAULT_TEXT_CACHE_MB, UnredactedText};
pub use texts::{FrameCache, headers_for_downgrade, unpack_for_downgrade};
pub use tlog::{InclusionProof, SignedCheckpoint};
pub use tokens::{MAX_LISTED_TOKENS, NewToken, Principal, TokenInfo};
pub use transaction::WriteTransaction;
pub use upkeep::{check_migrated, compact, migrate};
pub use values::*;
pub use verify::{LogReport, MAX_LISTED, Problem, Report, VerifiedPage};
pub use views::*;
pub use writes::{CreateDocument, Placement, ReviseDocument, WriteOutcome};

/// Limits the store enforces on what it is asked to keep and to compute.
#[derive(Debug, Clone, Copy)]
pub struct StoreLimits {
    /// The largest revision content accepted, in bytes of UTF-8.
    pub max_content_bytes: usize,
    /// How long the diffs and blames of one request (one `Budget`) may compute together: a
    /// diff past it falls back to a coarser result, a blame is stopped.
    pub blame_time: Duration,
    /// How many events a live listener may fall behind before it loses its place.
    pub live_buffer: usize,
    /// How many live watches one agent may have (a feed's entries count as its creator's).
    pub max_watches_per_agent: u64,
    /// Bytes of unredacted revisions' texts kept in memory (`texts::cache`); 0 keeps none.
    pub text_cache_bytes: usize,
    /// Bytes of revisions kept in memory by hash (`kept_revisions`); 0 keeps none.
    pub revision_cache_bytes: usize,
}

impl Default for StoreLimits {
    fn default() -> Self {
        Self {
            max_content_bytes: 4 * 1024 * 1024,
            blame_time: Duration::from_millis(1_500),
            live_buffer: live::LIVE_BUFFER,
            max_watches_per_agent: 1_000,
            text_cache_bytes: texts::cache::DEFAULT_TEXT_CACHE_MB << 20,
            revision_cache_bytes: kept_revisions::DEFAULT_REVISION_CACHE_MB << 20,
        }
    }
}

/// A handle on the corpus. Cheap to clone: it holds a connection pool.
#[derive(Clone)]
pub struct Store {
    /// The database reads go to: the primary, or a read replica (`replicas`).
    db: DatabaseConnection,
    /// The primary, when `db` is a replica: every write goes there.
    primary: Option<DatabaseConnection>,
    /// The replicas reads may go to (`route_read`); only on the primary's store.
    replicas: Option<Arc<replicas::Replicas>>,
    limits: StoreLimits,
    compute: Compute,
    /// The transparency log's right edge as the last transaction committed here left it.
    log_frontier: Arc<Mutex<Option<Frontier>>>,
    /// How this store tells that the database has changed (`change_marker`).
    changes: Arc<changes::ChangeWatch>,
    /// Who hears of committed revisions (`listen_revisions`).
    live: Arc<live::Live>,
    /// The SQLite file written to, checked before each commit.
    file: Option<Arc<connect::DatabaseFile>>,
    /// On SQLite, the turn to write: SQLite has one writer at a time, and writers of one
    /// process that meet at `BEGIN IMMEDIATE` back off in SQLite's busy handler, sleeping up to
    /// 100 ms at a time; taking turns here first, they queue without sleeping.
    writer: Option<Arc<transaction::WriteTurns>>,
    /// Texts of unredacted revisions, shared with the stores of read replicas.
    texts: Arc<texts::cache::TextCache>,
    /// Revisions by hash, shared with the stores of read replicas as the texts are.
    revisions: Arc<kept_revisions::KeptRevisions>,
}

impl Store {
    pub fn new(db: DatabaseConnection, limits: StoreLimits) -> Self {
        Self::with_compute(db, limits, Compute::for_this_machine())
    }

    /// A store whose CPU-heavy work (diffs, blame, quotation checks) shares `compute`.
    pub fn with_compute(db: DatabaseConnection, limits: StoreLimits, compute: Compute) -> Self {
        let writer = (db.get_database_backend() == DatabaseBackend::Sqlite)
            .then(transaction::WriteTurns::new);
        let changes = Arc::new(changes::ChangeWatch::for_connection(&db, writer.clone()));
        let live = Arc::new(live::Live::new(limits.live_buffer));
        let file = connect::DatabaseFile::of(&db).map(Arc::new);
        let texts = Arc::new(texts::cache::TextCache::new(limits.text_cache_bytes));
        let revisions = Arc::new(kept_revisions::KeptRevisions::new(limits.revision_cache_bytes));
        Self {
            db,
            primary: None,
            replicas: None,
            limits,
            compute,
            log_frontier: Arc::default(),
            changes,
            live,
            file,
            writer,
            texts,
            revisions,
        }
    }

    /// The database writes go to.
    pub(crate) fn primary(&self) -> &DatabaseConnection {
        self.primary.as_ref().unwrap_or(&self.db)
    }

    /// The database reads go to.
    pub(crate) fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Where a read of content addressed by hash (a revision, a text) that found nothing asks
    /// again: the primary, when reads go to a replica. Such content never changes once
    /// written, so a replica that holds it answers as the primary would, and one that does not
    /// hold it yet (it has not replayed the write) must not answer "no such thing".
    pub(crate) fn on_miss(&self) -> Option<&DatabaseConnection> {
        self.primary.as_ref()
    }

    /// `Unavailable` when the database file was removed or replaced under the store.
    pub(crate) fn check_file(&self) -> StoreResult<()> {
        self.file.as_ref().map_or(Ok(()), |file| file.check())
    }

    /// Commits a write, unless the database file is no longer there to hold it.
    pub(crate) async fn commit(&self, tx: sea_orm::DatabaseTransaction) -> StoreResult<()> {
        self.check_file()?;
        Ok(tx.commit().await?)
    }

    /// Where CPU-heavy work on stored texts runs, bounded in concurrency.
    pub fn compute(&self) -> &Compute {
        &self.compute
    }

    /// Whether the database answers now: one trivial statement.
    pub async fn ping(&self) -> StoreResult<()> {
        self.check_file()?;
        Ok(self.db.ping().await?)
    }

    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    pub fn limits(&self) -> StoreLimits {
        self.limits
    }

    pub fn backend(&self) -> DatabaseBackend {
        self.db.get_database_backend()
    }
}
