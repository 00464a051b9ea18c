//! A marker of the database's committed state that differs after anything commits to it,
//! however it was written: by this store, by another process on the same database, or by hand
//! in SQL. A cache of what reads answered, keyed on the marker read before the read ran, is
//! therefore exact: an entry is only ever served to a read that began when nothing had
//! committed since the entry's own read began.
//!
//! Neither database needs a write for it. PostgreSQL's `pg_current_snapshot()` moves whenever a
//! transaction that writes starts or ends (read-only transactions take no id), cluster-wide.
//! SQLite's `PRAGMA data_version` changes when another connection commits, so one connection
//! kept for the purpose and never used to write sees every commit as another's. It also moves
//! when a writer starts the write-ahead log afresh, before that writer commits; a read that
//! sees it move with no change logged while this process has a write in flight waits for the
//! write to end (`Source::read`), so the change it logs is read with the version.
//!
//! Reads are batched: one is in flight at a time, and every caller that arrives while it runs
//! waits for the next, which begins after they arrived and so answers for all of them.
//!
//! What changed between two markers is read from the change log (`change_head`, `change_log`):
//! every write of this store numbers its change there, in its transaction, with the documents
//! it touched (or none, for a change to anything) and, for each, whether it touched only the
//! document's history (`Touched::History`), taking the head row last so that changes
//! commit in the order of their numbers. A marker holds the number it saw, read together with
//! the database's state; between two markers, the rows numbered between them are every change
//! this store (in any process) committed. A commit that logged nothing — a write by hand in
//! SQL, or one of the store's writes that touches nothing an answer reads (the audit log, a
//! token, a watch) — moves the state but not the number: on its own, it reads as a change to
//! everything; beside a logged change, it is not seen, so a write by hand that must reach the
//! cache logs itself (`UPDATE change_head SET seq = seq + 1 … ; INSERT INTO change_log (seq)
//! VALUES (…)`, ARCHITECTURE.md).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use sea_orm::sea_query::{Alias, Query};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sea_orm::sqlx::{self, ConnectOptions, PgPool};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseConnectionType, DbErr, RuntimeErr, Statement,
};

use super::Store;
use super::error::{RETRY_AFTER_UNAVAILABLE, StoreError, StoreResult};
use super::transaction::WriteTurns;
use super::values::DocumentId;

/// The committed state of the database at one moment. Two equal markers mean nothing
/// committed between their reads; `Store::changed_between` says what did when they differ.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChangeMarker {
    state: Marker,
    /// The number of the last change logged, read with `state`.
    seq: i64,
}

impl ChangeMarker {
    /// The number of the last change logged when this marker was read: a marker with a
    /// greater one was read later.
    pub fn seq(&self) -> i64 {
        self.seq
    }
}

/// What committed between two markers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changed {
    /// No transaction that wrote ended.
    Nothing,
    /// Anything may have: every answer read before may be stale.
    Everything,
    /// Only these documents (their rows, revisions, texts and captures), each as far as it
    /// says.
    Documents(BTreeMap<DocumentId, Touched>),
}

/// How much of a document a change touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Touched {
    /// Its history only: a revision appended with its parent's title and source. What a list
    /// of documents shows of it (`graphql::reads`: its slug, kind, title, its head's title and
    /// source, where it is listed) is as it was.
    History,
    /// Anything of it.
    Whole,
}

impl Changed {
    /// A write that changes nothing an answer scoped to documents reads (a watch, a token, the
    /// audit log, a checkpoint): it drops only the answers that read everything.
    pub(crate) fn no_document() -> Changed {
        Changed::Documents(BTreeMap::new())
    }

    /// A change to these documents, whole.
    pub(crate) fn documents(documents: impl IntoIterator<Item = DocumentId>) -> Changed {
        Changed::Documents(documents.into_iter().map(|d| (d, Touched::Whole)).collect())
    }

    /// A change to the history of `document` only (`Touched::History`).
    pub(crate) fn history_of(document: DocumentId) -> Changed {
        Changed::Documents(BTreeMap::from([(document, Touched::History)]))
    }

    /// Adds what `other` changed.
    pub(crate) fn add(&mut self, other: Changed) {
        match (&mut *self, other) {
            (_, Changed::Nothing) | (Changed::Everything, _) => {}
            (Changed::Nothing, other) => *self = other,
            (_, Changed::Everything) => *self = Changed::Everything,
            (Changed::Documents(mine), Changed::Documents(theirs)) => {
                for (document, touched) in theirs {
                    let was = mine.entry(document).or_insert(touched);
                    *was = (*was).max(touched);
                }
            }
        }
        if matches!(self, Changed::Documents(documents) if documents.len() > MAX_LOGGED_DOCUMENTS) {
            *self = Changed::Everything;
        }
    }
}

/// The most documents one change lists; a write that touches more is logged as a change to
/// everything.
const MAX_LOGGED_DOCUMENTS: usize = 256;

/// The changes kept in the log: a marker older than this many changes is compared as if
/// everything changed.
const RETAINED_CHANGES: i64 = 10_000;

/// The most changes read to compare two markers; more than this reads as everything.
const MAX_CHANGES_READ: i64 = 1_000;

/// The changes this process committed last, by number: moving a cache past them reads
/// nothing. Filled only after a commit succeeded, with what its transaction logged.
const REMEMBERED_CHANGES: usize = 4096;

/// Numbers `changed` in the change log inside the writing transaction `tx`. Takes the head
/// row, which the transaction then holds until it ends: call it last before committing.
pub(crate) async fn log(tx: &impl ConnectionTrait, changed: &Changed) -> StoreResult<i64> {
    let backend = tx.get_database_backend();
    let row = tx
        .query_one_raw(Statement::from_string(
            backend,
            "UPDATE change_head SET seq = seq + 1 WHERE id = 1 RETURNING seq",
        ))
        .await?
        .ok_or_else(|| StoreError::Unexpected(anyhow::anyhow!("the change log has no head")))?;
    let seq: i64 = row.try_get("", "seq")?;
    let mut insert = Query::insert();
    insert.into_table(Alias::new("change_log")).columns([
        Alias::new("seq"),
        Alias::new("document_id"),
        Alias::new("history_only"),
    ]);
    match changed {
        Changed::Everything => {
            insert.values_panic([seq.into(), Option::<uuid::Uuid>::None.into(), false.into()]);
        }
        Changed::Documents(documents) if !documents.is_empty() => {
            for (document, touched) in documents {
                let history_only = *touched == Touched::History;
                insert.values_panic([seq.into(), document.as_uuid().into(), history_only.into()]);
            }
        }
        // A change to no document still takes its number: a number with no row would read as
        // one pruned from the log.
        Changed::Nothing | Changed::Documents(_) => {
            insert.values_panic([seq.into(), uuid::Uuid::nil().into(), false.into()]);
        }
    }
    tx.execute(&insert).await?;
    // Pruned now and then, not on every write: one statement in a few hundred writes.
    if seq % 256 == 0 {
        tx.execute_raw(Statement::from_string(
            backend,
            format!("DELETE FROM change_log WHERE seq <= {}", seq - RETAINED_CHANGES),
        ))
        .await?;
    }
    Ok(seq)
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Marker {
    /// `data_version` as seen by the watching connection, and which connection that was: a
    /// new connection starts counting afresh.
    Sqlite { connection: u64, version: i64 },
    /// `pg_current_snapshot()`: `xmin:xmax:in-progress ids`, which never repeats.
    Postgres(String),
}

/// What may have committed between two states with the same change number.
enum Ended {
    Nothing,
    /// Something may have: on SQLite, any other state means a commit.
    Unknown,
    /// PostgreSQL transaction ids that ended between them: a snapshot lists only top-level
    /// transactions as running, so a subtransaction of one still running (a savepoint's)
    /// reads as ended, and only the database can say whether it committed.
    Ids(Vec<i64>),
}

/// The most ended ids asked about; past this many, something committed is assumed.
const MAX_ENDED_ASKED: u64 = 256;

impl Marker {
    fn ended_since(&self, earlier: &Marker) -> Ended {
        match (earlier, self) {
            (Marker::Postgres(earlier), Marker::Postgres(now)) => {
                match (Snapshot::parse(earlier), Snapshot::parse(now)) {
                    (Some(earlier), Some(now)) => now.ended_since(&earlier),
                    _ => Ended::Unknown,
                }
            }
            (earlier, now) if earlier == now => Ended::Nothing,
            _ => Ended::Unknown,
        }
    }
}

/// `pg_current_snapshot()`: every transaction id below `xmin` had ended, every one from
/// `xmax` on had not begun, and of those between, `running` were in progress.
struct Snapshot {
    xmin: u64,
    xmax: u64,
    running: Vec<u64>,
}

impl Snapshot {
    fn parse(text: &str) -> Option<Snapshot> {
        let mut parts = text.split(':');
        let xmin = parts.next()?.parse().ok()?;
        let xmax = parts.next()?.parse().ok()?;
        let running = match parts.next()? {
            "" => Vec::new(),
            list => list.split(',').map(|id| id.parse().ok()).collect::<Option<_>>()?,
        };
        parts.next().is_none().then_some(Snapshot { xmin, xmax, running })
    }

    fn visible(&self, id: u64) -> bool {
        id < self.xmin || (id < self.xmax && !self.running.contains(&id))
    }

    /// The transactions not yet ended in `earlier` that have ended in this one: those it
    /// listed as running, and those begun after it that are not running now.
    fn ended_since(&self, earlier: &Snapshot) -> Ended {
        if self.xmax.saturating_sub(earlier.xmax) > MAX_ENDED_ASKED {
            return Ended::Unknown;
        }
        let ended: Vec<i64> = earlier
            .running
            .iter()
            .copied()
            .filter(|&id| self.visible(id))
            .chain((earlier.xmax..self.xmax).filter(|id| !self.running.contains(id)))
            .map(|id| id as i64)
            .collect();
        match ended.is_empty() {
            true => Ended::Nothing,
            false => Ended::Ids(ended),
        }
    }
}

type Read = Shared<BoxFuture<'static, Result<Option<ChangeMarker>, Arc<StoreError>>>>;

/// How the store reads its change marker.
pub(crate) struct ChangeWatch {
    source: tokio::sync::Mutex<Source>,
    /// What this process's own changes were (`REMEMBERED_CHANGES`).
    remembered: Mutex<std::collections::BTreeMap<i64, Changed>>,
    /// The read that has not begun yet, which a caller arriving now waits for.
    next: Mutex<Option<Read>>,
}

enum Source {
    Sqlite {
        options: Arc<SqliteConnectOptions>,
        connection: Option<SqliteConnection>,
        opened: u64,
        /// The version and number this connection read last.
        last: Option<(i64, i64)>,
        /// This process's turns to write, to wait for the write in flight (`read`).
        turns: Option<Arc<WriteTurns>>,
    },
    Postgres(PgPool),
    /// A backend this store cannot watch.
    None,
}

impl ChangeWatch {
    /// Watches `db`; on SQLite, `turns` are the writes of this process to it.
    pub(crate) fn for_connection(db: &DatabaseConnection, turns: Option<Arc<WriteTurns>>) -> Self {
        let source = match &db.inner {
            DatabaseConnectionType::SqlxSqlitePoolConnection(_) => Source::Sqlite {
                options: db.get_sqlite_connection_pool().connect_options(),
                connection: None,
                opened: 0,
                last: None,
                turns,
            },
            // Straight on the pool: reading the marker is no statement of a request's own.
            DatabaseConnectionType::SqlxPostgresPoolConnection(_) => {
                Source::Postgres(db.get_postgres_connection_pool().clone())
            }
            _ => Source::None,
        };
        Self {
            source: tokio::sync::Mutex::new(source),
            remembered: Mutex::default(),
            next: Mutex::new(None),
        }
    }

    async fn marker(self: &Arc<Self>) -> StoreResult<Option<ChangeMarker>> {
        let read = {
            let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            next.get_or_insert_with(|| self.clone().read().boxed().shared()).clone()
        };
        read.await.map_err(|err| StoreError::Unavailable {
            retry_after: RETRY_AFTER_UNAVAILABLE,
            cause: anyhow::anyhow!("cannot read the change marker: {err:#}"),
        })
    }

    /// Keeps what change `seq`, committed by this process, logged.
    pub(crate) fn remember(&self, seq: i64, changed: Changed) {
        let mut remembered = self.remembered.lock().unwrap_or_else(|e| e.into_inner());
        remembered.insert(seq, changed);
        while remembered.len() > REMEMBERED_CHANGES {
            remembered.pop_first();
        }
    }

    /// What the changes numbered after `from` up to `to` logged, if this process made them
    /// all.
    fn recall(&self, from: i64, to: i64) -> Option<Changed> {
        let remembered = self.remembered.lock().unwrap_or_else(|e| e.into_inner());
        let mut changed = Changed::no_document();
        for seq in from + 1..=to {
            changed.add(remembered.get(&seq)?.clone());
        }
        Some(changed)
    }

    async fn read(self: Arc<Self>) -> Result<Option<ChangeMarker>, Arc<StoreError>> {
        let mut source = self.source.lock().await;
        // Begun: whoever arrives from now on waits for the next read.
        self.next.lock().unwrap_or_else(|e| e.into_inner()).take();
        source.read().await.map_err(Arc::new)
    }
}

impl Source {
    async fn read(&mut self) -> StoreResult<Option<ChangeMarker>> {
        match self {
            Source::Sqlite { options, connection, opened, last, turns } => {
                let mut watching = match connection.take() {
                    Some(watching) => watching,
                    None => {
                        let watching = options.connect().await.map_err(sqlx_error)?;
                        *opened += 1;
                        *last = None;
                        watching
                    }
                };
                // On an error the connection is dropped: the next read opens a new one, whose
                // count starts afresh under a new number.
                let mut read = sqlite_state(&mut watching).await?;
                // A version that moved with no change logged is a commit the log does not
                // name, which makes a cache drop everything — or a write of this process in
                // flight: a writer that finds the write-ahead log all checkpointed starts it
                // afresh before it commits, and readers see that as a new version. Every few
                // hundred writes did, on a busy server. Once the write in flight has ended,
                // its change is logged and read with the version, so only the commits the
                // log does not name still read as such.
                if let (Some((version, seq)), Some(turns)) = (*last, turns.as_ref())
                    && read.0 != version
                    && read.1 == seq
                {
                    turns.write_in_flight_ended(WRITE_IN_FLIGHT_WAIT).await;
                    read = sqlite_state(&mut watching).await?;
                }
                *connection = Some(watching);
                *last = Some(read);
                let (version, seq) = read;
                Ok(Some(ChangeMarker {
                    state: Marker::Sqlite { connection: *opened, version },
                    seq,
                }))
            }
            Source::Postgres(pool) => {
                // One statement, one snapshot: the number and the state are read together.
                let (seq, snapshot) = sqlx::query_as::<_, (i64, String)>(
                    "SELECT seq, pg_current_snapshot()::text FROM change_head WHERE id = 1",
                )
                .fetch_one(&*pool)
                .await
                .map_err(sqlx_error)?;
                Ok(Some(ChangeMarker { state: Marker::Postgres(snapshot), seq }))
            }
            Source::None => Ok(None),
        }
    }
}

/// How many times a marker's read on SQLite tries to read the log's number between two
/// readings of the version that agree.
const MARKER_READS: usize = 8;

/// The longest a marker's read on SQLite waits for this process's write in flight to end
/// (`Source::read`); past it, the version reads as a commit the log does not name.
const WRITE_IN_FLIGHT_WAIT: std::time::Duration = std::time::Duration::from_millis(250);

/// SQLite's `data_version` and the log's number read together: the number is read between
/// two readings of the version that agree, so nothing committed between it and the state the
/// version names.
async fn sqlite_state(watching: &mut SqliteConnection) -> StoreResult<(i64, i64)> {
    let mut before = data_version(watching).await?;
    for _ in 0..MARKER_READS {
        let seq = sqlx::query_scalar::<_, i64>("SELECT seq FROM change_head WHERE id = 1")
            .fetch_one(&mut *watching)
            .await
            .map_err(sqlx_error)?;
        let after = data_version(watching).await?;
        if after == before {
            return Ok((after, seq));
        }
        before = after;
    }
    Err(StoreError::Unavailable {
        retry_after: RETRY_AFTER_UNAVAILABLE,
        cause: anyhow::anyhow!("the database changed through {MARKER_READS} reads of its state"),
    })
}

async fn data_version(connection: &mut SqliteConnection) -> StoreResult<i64> {
    sqlx::query_scalar::<_, i64>("PRAGMA data_version")
        .fetch_one(connection)
        .await
        .map_err(sqlx_error)
}

fn sqlx_error(err: sqlx::Error) -> StoreError {
    DbErr::Query(RuntimeErr::SqlxError(Arc::new(err))).into()
}

impl Store {
    /// The database's change marker, read after this call began; `None` if this backend has
    /// none. A caller keeps what it reads after this call under the marker, and serves it
    /// only to callers whose own marker equals it.
    pub async fn change_marker(&self) -> StoreResult<Option<ChangeMarker>> {
        self.changes.marker().await
    }

    /// What committed between `from` and the later `to` (`to.seq() >= from.seq()`): the
    /// documents the logged changes touched, or everything when a change was not to
    /// documents alone, the state moved with no change logged, or the log no longer reaches
    /// back to `from`.
    pub async fn changed_between(
        &self,
        from: &ChangeMarker,
        to: &ChangeMarker,
    ) -> StoreResult<Changed> {
        if from == to {
            return Ok(Changed::Nothing);
        }
        let span = to.seq - from.seq;
        if span == 0 {
            // Nothing logged: anything that committed was a write the log does not name.
            return Ok(match to.state.ended_since(&from.state) {
                Ended::Nothing => Changed::Nothing,
                Ended::Unknown => Changed::Everything,
                Ended::Ids(ids) => match self.any_committed(&ids).await? {
                    true => Changed::Everything,
                    false => Changed::Nothing,
                },
            });
        }
        if !(1..=MAX_CHANGES_READ).contains(&span) {
            return Ok(Changed::Everything);
        }
        if let Some(changed) = self.changes.recall(from.seq, to.seq) {
            return Ok(changed);
        }
        let Some(rows) = self.change_rows(from.seq, to.seq).await? else {
            return Ok(Changed::Everything);
        };
        let mut seqs = BTreeSet::new();
        let mut changed = Changed::no_document();
        for (seq, document, history_only) in rows {
            seqs.insert(seq);
            changed.add(match document {
                Some(document) if document.is_nil() => Changed::no_document(),
                Some(document) if history_only => Changed::history_of(document.into()),
                Some(document) => Changed::documents([document.into()]),
                None => Changed::Everything,
            });
        }
        // Pruned past `from`: what was there is not known.
        if seqs.len() as i64 != span {
            return Ok(Changed::Everything);
        }
        Ok(changed)
    }
}

/// The most rows of the change log read to compare two markers; past them, everything is
/// taken to have changed.
const MAX_CHANGE_ROWS: usize = 4_096;

impl Store {
    /// The change log's rows numbered after `from` up to `to`: number, document (none for a
    /// change to everything, nil for one to no document) and whether only its history changed.
    /// `None` past `MAX_CHANGE_ROWS`.
    async fn change_rows(
        &self,
        from: i64,
        to: i64,
    ) -> StoreResult<Option<Vec<(i64, Option<uuid::Uuid>, bool)>>> {
        let sql = format!(
            "SELECT seq, document_id, history_only FROM change_log \
             WHERE seq > {from} AND seq <= {to} LIMIT {}",
            MAX_CHANGE_ROWS + 1
        );
        let rows = self.db.query_all_raw(Statement::from_string(self.backend(), sql)).await?;
        if rows.len() > MAX_CHANGE_ROWS {
            return Ok(None);
        }
        rows.iter()
            .map(|row| {
                let history_only = row.try_get("", "history_only")?;
                Ok((row.try_get("", "seq")?, row.try_get("", "document_id")?, history_only))
            })
            .collect::<StoreResult<_>>()
            .map(Some)
    }

    /// Logs `changed`, commits `tx`, and remembers the change as this process's own: for a
    /// write outside a `WriteTransaction`.
    pub(crate) async fn commit_change(
        &self,
        tx: sea_orm::DatabaseTransaction,
        changed: Changed,
    ) -> StoreResult<()> {
        let seq = log(&tx, &changed).await?;
        self.commit(tx).await?;
        self.changes.remember(seq, changed);
        Ok(())
    }

    /// Whether any of these PostgreSQL transactions committed (a subtransaction of one still
    /// running is "in progress"; one rolled back changed nothing).
    async fn any_committed(&self, ids: &[i64]) -> StoreResult<bool> {
        let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        let row = self
            .db
            .query_one_raw(Statement::from_string(
                self.backend(),
                format!(
                    "SELECT EXISTS (SELECT 1 FROM unnest(ARRAY[{list}]::bigint[]) AS id \
                     WHERE pg_xact_status(id::text::xid8) = 'committed') AS committed"
                ),
            ))
            .await?
            .ok_or_else(|| StoreError::Unexpected(anyhow::anyhow!("no answer")))?;
        Ok(row.try_get("", "committed")?)
    }
}
