//! The store-wide write transaction. Every command runs in one (`Store::create_document` and
//! the like open and commit their own); a caller that must land several commands together or
//! not at all (the seed loader) opens one with `Store::begin` and commits it itself. Dropped
//! without `commit`, it rolls back.

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};

use std::sync::{Arc, Mutex};

use tracing::Instrument;

use super::Store;
use super::changes::{self, Changed};
use super::documents::{self, Document};
use super::error::{StoreError, StoreResult};
use super::live::RevisionEvent;
use super::search::{self, Indexed};
use super::values::{DocumentId, Slug};
use crate::merkle::Frontier;

pub struct WriteTransaction<'s> {
    pub(crate) store: &'s Store,
    pub(crate) tx: DatabaseTransaction,
    /// The transparency log's right edge after this transaction's appends; the store keeps
    /// it once the transaction commits, so the next append needs no read.
    frontier: Mutex<Option<Frontier>>,
    /// The revisions written, announced when the transaction commits.
    revisions: Mutex<Vec<RevisionEvent>>,
    /// What the transaction changed, for the change log (`changes`); nothing said means
    /// anything may have changed.
    changed: Mutex<Option<Changed>>,
    /// The revisions written, indexed for search in one batch when the transaction commits:
    /// SQLite's FTS5 writes out what it holds at every savepoint (a segment, and the merges
    /// it brings, per capture of a group), and a batch costs a few statements whatever its
    /// size.
    to_index: Mutex<Vec<ToIndex>>,
    /// This process's turn to write, on SQLite (`Store::writer`), held to the end.
    _turn: Option<WriteTurn>,
}

/// What `WriteTransaction::savepoint` remembers besides the database's savepoint.
pub(crate) struct Savepoint {
    announced: usize,
    indexed: usize,
    frontier: Option<Frontier>,
}

/// A revision to index for search (`search::Indexed`, owned).
struct ToIndex {
    document: DocumentId,
    number: i64,
    title: String,
    content: String,
}

/// The longest a write waits for its turn in this process, as SQLite's busy timeout bounds the
/// wait for another process's.
const TURN_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// This process's turns to write on SQLite (`Store::write_turn`): one write at a time, in
/// arrival order, and a count of the turns given back, for whoever must wait until the write
/// in flight has ended (`changes`: the state a write shows before it commits).
pub(crate) struct WriteTurns {
    queue: Arc<tokio::sync::Mutex<()>>,
    given_back: tokio::sync::watch::Sender<u64>,
}

/// One write's turn, given back when dropped, after its transaction ended.
pub(crate) struct WriteTurn {
    _queue: tokio::sync::OwnedMutexGuard<()>,
    turns: Arc<WriteTurns>,
}

impl Drop for WriteTurn {
    fn drop(&mut self) {
        self.turns.given_back.send_modify(|n| *n = n.wrapping_add(1));
    }
}

impl WriteTurns {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            queue: Arc::new(tokio::sync::Mutex::new(())),
            given_back: tokio::sync::watch::Sender::new(0),
        })
    }

    async fn take(self: &Arc<Self>) -> StoreResult<WriteTurn> {
        let queue = tokio::time::timeout(TURN_WAIT, self.queue.clone().lock_owned()).await;
        let queue = queue.map_err(|_| StoreError::Unavailable {
            retry_after: super::RETRY_AFTER_UNAVAILABLE,
            cause: anyhow::anyhow!("writes queued past {} s", TURN_WAIT.as_secs()),
        })?;
        Ok(WriteTurn { _queue: queue, turns: self.clone() })
    }

    /// Returns once the write holding the turn now, if one does, has given it back, or after
    /// `limit`: not the writes queued behind it.
    pub(crate) async fn write_in_flight_ended(&self, limit: std::time::Duration) {
        // Subscribed before looking, so a turn given back in between is not missed.
        let mut given_back = self.given_back.subscribe();
        if self.queue.try_lock().is_ok() {
            return;
        }
        let _ = tokio::time::timeout(limit, given_back.changed()).await;
    }
}

impl Store {
    /// A write transaction. On SQLite it takes the write lock at `BEGIN` (waiting out the busy
    /// timeout), so a transaction never fails half-way for want of a lock it could not upgrade
    /// to; PostgreSQL ignores the mode.
    #[tracing::instrument(level = "debug", name = "store_begin", skip_all)]
    pub async fn begin(&self) -> StoreResult<WriteTransaction<'_>> {
        // A file removed under the server: refused before any statement, since a connection
        // opened now would make an empty database at its path and fail on it unclassified.
        self.check_file()?;
        let (turn, tx) = self.begin_bare().await?;
        Ok(WriteTransaction {
            store: self,
            tx,
            frontier: Mutex::new(None),
            revisions: Mutex::default(),
            changed: Mutex::default(),
            to_index: Mutex::default(),
            _turn: turn,
        })
    }

    /// A write transaction on the primary without `WriteTransaction`'s bookkeeping, begun in
    /// this process's turn: the caller holds the turn (the first value) until the transaction
    /// has ended.
    pub(crate) async fn begin_bare(&self) -> StoreResult<(Option<WriteTurn>, DatabaseTransaction)> {
        let turn = self.write_turn().await?;
        Ok((turn, begin_write(self.primary()).await?))
    }

    /// This process's turn to write, on SQLite (see `Store::writer`): held from before `BEGIN
    /// IMMEDIATE` until the transaction ends, by every write of the process — those made with
    /// `begin` and those that open their transaction themselves — so that its writers queue
    /// in arrival order rather than meet in SQLite's busy handler. `None` on PostgreSQL.
    pub(crate) async fn write_turn(&self) -> StoreResult<Option<WriteTurn>> {
        let Some(writer) = &self.writer else { return Ok(None) };
        writer.take().await.map(Some)
    }
}

/// A write transaction on `db`, begun as `Store::begin` begins one.
pub(crate) async fn begin_write(db: &DatabaseConnection) -> StoreResult<DatabaseTransaction> {
    Ok(db
        .begin_with_options(TransactionOptions {
            isolation_level: None,
            access_mode: None,
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        })
        .await?)
}

impl WriteTransaction<'_> {
    /// Lands everything written in the transaction.
    #[tracing::instrument(level = "debug", name = "store_commit", skip_all)]
    pub async fn commit(self) -> StoreResult<()> {
        let to_index = self.to_index.into_inner().unwrap_or_else(|e| e.into_inner());
        let indexed: Vec<Indexed<'_>> = to_index
            .iter()
            .map(|r| Indexed {
                document: r.document,
                number: r.number,
                title: &r.title,
                content: Some(&r.content),
                keys: None,
            })
            .collect();
        search::index_revisions(&self.tx, &indexed, search::HeadsIndex::AsWritten)
            .instrument(tracing::debug_span!("write_search"))
            .await?;
        let revisions = self.revisions.into_inner().unwrap_or_else(|e| e.into_inner());
        super::live::announce(&self.tx, &revisions).await?;
        let changed = self.changed.into_inner().unwrap_or_else(|e| e.into_inner());
        let changed = changed.unwrap_or(Changed::Everything);
        let seq = changes::log(&self.tx, &changed).await?;
        // A file removed under the server would take this write with it: it is not committed.
        self.store.check_file()?;
        self.tx.commit().await?;
        self.store.changes.remember(seq, changed);
        self.store.published(revisions);
        let frontier = self.frontier.into_inner().unwrap_or_else(|e| e.into_inner());
        if frontier.is_some() {
            *self.store.log_frontier.lock().unwrap_or_else(|e| e.into_inner()) = frontier;
        }
        Ok(())
    }

    /// The log's right edge as this transaction, or else the store, last knew it. A stale
    /// one is harmless: each append checks its size against the log's.
    pub(crate) fn take_frontier(&self) -> Option<Frontier> {
        let own = self.frontier.lock().unwrap_or_else(|e| e.into_inner()).take();
        own.or_else(|| self.store.log_frontier.lock().unwrap_or_else(|e| e.into_inner()).clone())
    }

    /// Says that this transaction changes `document` (its row, revisions, texts or captures)
    /// and, unless something else is said, nothing else any answer reads.
    pub(crate) fn touches(&self, document: DocumentId) {
        self.says(Changed::documents([document]));
    }

    /// Says that this transaction changes only the history of `document`: it appends a
    /// revision with its parent's title and source (`Touched::History`).
    pub(crate) fn touches_history(&self, document: DocumentId) {
        self.says(Changed::history_of(document));
    }

    /// Says that this transaction changes nothing an answer reads but what is said besides (a
    /// capture that found nothing, say, changes only the capture's own records).
    pub(crate) fn touches_no_document(&self) {
        self.says(Changed::no_document());
    }

    fn says(&self, changed: Changed) {
        let mut said = self.changed.lock().unwrap_or_else(|e| e.into_inner());
        match said.as_mut() {
            Some(said) => said.add(changed),
            None => *said = Some(changed),
        }
    }

    /// Records a revision written (the successor of the last written of its document, or its
    /// first), to be indexed for search when the transaction commits.
    pub(crate) fn index_at_commit(
        &self,
        document: DocumentId,
        number: i64,
        title: &str,
        content: &str,
    ) {
        self.to_index.lock().unwrap_or_else(|e| e.into_inner()).push(ToIndex {
            document,
            number,
            title: title.to_owned(),
            content: content.to_owned(),
        });
    }

    /// Records a revision written, to be announced once the transaction commits.
    pub(crate) fn announce(&self, event: RevisionEvent) {
        self.revisions.lock().unwrap_or_else(|e| e.into_inner()).push(event);
    }

    pub(crate) fn keep_frontier(&self, frontier: Option<Frontier>) {
        *self.frontier.lock().unwrap_or_else(|e| e.into_inner()) = frontier;
    }

    /// A point to return to: what is written after it can be undone, and is then neither
    /// announced, indexed nor kept as the log's edge. For a caller that lands several independent
    /// commands in one transaction, each of which may fail alone (a group of captures).
    pub(crate) async fn savepoint(&self) -> StoreResult<Savepoint> {
        self.tx.execute_unprepared("SAVEPOINT palimpsest_step").await?;
        Ok(Savepoint {
            announced: self.revisions.lock().unwrap_or_else(|e| e.into_inner()).len(),
            indexed: self.to_index.lock().unwrap_or_else(|e| e.into_inner()).len(),
            frontier: self.frontier.lock().unwrap_or_else(|e| e.into_inner()).clone(),
        })
    }

    /// Undoes what was written since `point`.
    pub(crate) async fn roll_back_to(&self, point: Savepoint) -> StoreResult<()> {
        self.tx.execute_unprepared("ROLLBACK TO SAVEPOINT palimpsest_step").await?;
        self.tx.execute_unprepared("RELEASE SAVEPOINT palimpsest_step").await?;
        self.revisions.lock().unwrap_or_else(|e| e.into_inner()).truncate(point.announced);
        self.to_index.lock().unwrap_or_else(|e| e.into_inner()).truncate(point.indexed);
        *self.frontier.lock().unwrap_or_else(|e| e.into_inner()) = point.frontier;
        Ok(())
    }

    /// Keeps what was written since `point`, as part of the transaction.
    pub(crate) async fn release(&self, _point: Savepoint) -> StoreResult<()> {
        self.tx.execute_unprepared("RELEASE SAVEPOINT palimpsest_step").await?;
        Ok(())
    }

    /// The document with this slug, as the transaction sees it.
    pub async fn document_by_slug(&self, slug: &Slug) -> StoreResult<Option<Document>> {
        documents::find_by_slug(&self.tx, slug).await
    }
}
