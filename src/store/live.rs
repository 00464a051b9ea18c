//! Live events: every revision a write commits is announced, and a process hears the
//! announcements of every process on the same database.
//!
//! On PostgreSQL a write announces its revisions with `pg_notify` inside its own transaction, so
//! they are delivered when, and only if, it commits, in commit order, to every process that
//! listens on the database — this one included: a process hears its own writes the way it hears
//! another's, and one order holds for all. One connection per process listens, opened when the
//! first subscriber arrives. On SQLite the process is the deployment: a write's revisions are
//! handed to this process's listeners after it commits.
//!
//! What listeners are handed is bounded: a channel of `LIVE_BUFFER` notices shared by all of
//! them. A listener that falls further behind than that loses its place and is told so
//! (`Notice::Missed`), as every listener is when the database connection that listens drops;
//! what it missed is in the history and in `drifted_citations`, not in a buffer that grows.

use std::sync::{Arc, Weak};
use std::time::Duration;

use sea_orm::sqlx::postgres::PgListener;
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement, Value};
use serde::{Deserialize, Serialize};
use tokio::sync::{OnceCell, broadcast};
use uuid::Uuid;

use super::error::{StoreError, StoreResult};
use super::values::{DocumentId, RevisionHash};
use super::{CitationVerdict, Store};

/// How many notices a listener may fall behind before it loses its place.
pub const LIVE_BUFFER: usize = 4096;

/// The PostgreSQL channel revisions are announced on.
const CHANNEL: &str = "palimpsest_revisions";

/// The most bytes one notification carries (PostgreSQL's limit is 8000).
const MAX_PAYLOAD: usize = 7_800;

/// A revision that committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionEvent {
    pub document: DocumentId,
    pub number: i64,
    pub hash: RevisionHash,
    /// The head it replaced; `None` for a document's first revision.
    pub previous: Option<RevisionHash>,
}

/// A revision event as a notification carries it: short names, for the 8000-byte payload.
#[derive(Serialize, Deserialize)]
struct Wire<'a> {
    d: Uuid,
    n: i64,
    h: &'a str,
    p: Option<&'a str>,
}

impl<'a> From<&'a RevisionEvent> for Wire<'a> {
    fn from(event: &'a RevisionEvent) -> Self {
        Wire {
            d: event.document.as_uuid(),
            n: event.number,
            h: event.hash.hex(),
            p: event.previous.as_ref().map(RevisionHash::hex),
        }
    }
}

impl TryFrom<Wire<'_>> for RevisionEvent {
    type Error = String;

    fn try_from(wire: Wire<'_>) -> Result<Self, String> {
        let hash = |h: &str| RevisionHash::parse(h).map_err(|err| err.to_string());
        Ok(RevisionEvent {
            document: wire.d.into(),
            number: wire.n,
            hash: hash(wire.h)?,
            previous: wire.p.map(hash).transpose()?,
        })
    }
}

/// The events one notification carries.
fn decode(payload: &str) -> Result<Vec<RevisionEvent>, String> {
    let wires: Vec<Wire<'_>> = serde_json::from_str(payload).map_err(|err| err.to_string())?;
    wires.into_iter().map(RevisionEvent::try_from).collect()
}

/// A citation whose verdict against the cited document's head changed when the cited
/// document gained a revision.
#[derive(Debug, Clone)]
pub struct CitationChange {
    /// The verdict against the head the revision replaced.
    pub before: CitationVerdict,
    /// The verdict against the new head.
    pub after: CitationVerdict,
    /// The revision of the cited document that changed it.
    pub cause: Arc<RevisionEvent>,
}

/// What a listener is handed.
#[derive(Debug)]
pub enum Notice<T> {
    Event(Arc<T>),
    /// Events were lost on the way (the listening connection dropped, or this listener fell
    /// behind): what happened since must be read from the store.
    Missed,
}

// By hand: the event is shared, so it need not be `Clone` itself.
impl<T> Clone for Notice<T> {
    fn clone(&self) -> Self {
        match self {
            Notice::Event(event) => Notice::Event(event.clone()),
            Notice::Missed => Notice::Missed,
        }
    }
}

/// A listener on one kind of event.
pub struct Listener<T> {
    receiver: broadcast::Receiver<Notice<T>>,
}

impl<T> Listener<T> {
    /// The next notice; `None` once the store is gone.
    pub async fn next(&mut self) -> Option<Notice<T>> {
        match self.receiver.recv().await {
            Ok(notice) => Some(notice),
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::info!(missed, "a live listener fell behind");
                Some(Notice::Missed)
            }
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}

/// One store's event hub, shared by its clones.
pub(crate) struct Live {
    revisions: broadcast::Sender<Notice<RevisionEvent>>,
    changes: broadcast::Sender<Notice<CitationChange>>,
    /// Set once this process listens to the database (PostgreSQL).
    listening: OnceCell<()>,
    /// Where to listen when the store's pool cannot hold a session (a transaction pooler
    /// stands before it): a direct connection to the primary.
    session: std::sync::OnceLock<DatabaseConnection>,
    /// Set once citation changes are being worked out for listeners.
    watching_citations: OnceCell<()>,
}

impl Live {
    /// A hub whose listeners may fall `buffer` notices behind.
    pub(crate) fn new(buffer: usize) -> Self {
        let buffer = buffer.max(1);
        Self {
            revisions: broadcast::channel(buffer).0,
            changes: broadcast::channel(buffer).0,
            listening: OnceCell::new(),
            session: std::sync::OnceLock::new(),
            watching_citations: OnceCell::new(),
        }
    }
}

/// Announces `events` in the write's transaction: on PostgreSQL they go out on commit. On
/// SQLite nothing is written; `Store::published` hands them over after the commit.
pub(crate) async fn announce(
    conn: &impl ConnectionTrait,
    events: &[RevisionEvent],
) -> StoreResult<()> {
    if conn.get_database_backend() != DatabaseBackend::Postgres || events.is_empty() {
        return Ok(());
    }
    let mut payloads: Vec<String> = Vec::new();
    let mut current: Vec<Wire<'_>> = Vec::new();
    let mut size = 2;
    for event in events {
        let event = Wire::from(event);
        let encoded = serde_json::to_string(&event).map_err(anyhow::Error::from)?.len() + 1;
        if size + encoded > MAX_PAYLOAD && !current.is_empty() {
            payloads.push(serde_json::to_string(&current).map_err(anyhow::Error::from)?);
            current.clear();
            size = 2;
        }
        current.push(event);
        size += encoded;
    }
    payloads.push(serde_json::to_string(&current).map_err(anyhow::Error::from)?);
    // A few notifications per statement: a batch of thousands of revisions costs a handful.
    for chunk in payloads.chunks(32) {
        let calls: Vec<String> =
            (1..=chunk.len()).map(|i| format!("pg_notify('{CHANNEL}', ${i})")).collect();
        let sql = format!("SELECT {}", calls.join(", "));
        let values: Vec<Value> = chunk.iter().map(|p| Value::from(p.as_str())).collect();
        conn.execute_raw(Statement::from_sql_and_values(DatabaseBackend::Postgres, sql, values))
            .await?;
    }
    Ok(())
}

impl Store {
    /// Hands the revisions a write committed to this process's listeners (SQLite; on
    /// PostgreSQL they arrive through the database like everyone else's).
    pub(crate) fn published(&self, events: Vec<RevisionEvent>) {
        if self.primary().get_database_backend() == DatabaseBackend::Postgres {
            return;
        }
        for event in events {
            // No listener is no error: the event is simply not heard.
            let _ = self.live.revisions.send(Notice::Event(Arc::new(event)));
        }
    }

    /// Listens to every revision committed from now on, by this process or (on PostgreSQL)
    /// any other on the same database.
    pub async fn listen_revisions(&self) -> StoreResult<Listener<RevisionEvent>> {
        self.start_listening().await?;
        Ok(Listener { receiver: self.live.revisions.subscribe() })
    }

    /// Listens to every citation whose verdict against its cited document's head a new
    /// revision of that document changes.
    pub async fn listen_citation_changes(&self) -> StoreResult<Listener<CitationChange>> {
        // Subscribed before the work starts, so no change worked out is lost to this listener.
        let listener = Listener { receiver: self.live.changes.subscribe() };
        let revisions = self.listen_revisions().await?;
        self.live
            .watching_citations
            .get_or_init(|| async {
                tokio::spawn(watch_citations(self.clone(), revisions));
            })
            .await;
        Ok(listener)
    }

    /// Listens for other processes' writes over `session`, a connection that holds a session
    /// of its own, instead of the store's pool: LISTEN lasts as long as its session, which a
    /// pooler in transaction mode hands to other clients between transactions. Only the
    /// first call counts.
    pub fn listen_over(&self, session: DatabaseConnection) {
        let _ = self.live.session.set(session);
    }

    /// A connection to the primary whose settings last as long as it does: the one given to
    /// `listen_over`, else the primary's pool.
    pub(crate) fn session(&self) -> &DatabaseConnection {
        self.live.session.get().unwrap_or(self.primary())
    }

    async fn start_listening(&self) -> StoreResult<()> {
        if self.primary().get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        self.live
            .listening
            .get_or_try_init(|| async {
                let listener = pg_listener(self.session()).await?;
                tokio::spawn(relay(listener, self.session().clone(), Arc::downgrade(&self.live)));
                Ok::<_, StoreError>(())
            })
            .await?;
        Ok(())
    }
}

async fn pg_listener(db: &DatabaseConnection) -> StoreResult<PgListener> {
    let unavailable = |err: sea_orm::sqlx::Error| StoreError::Unavailable {
        retry_after: super::RETRY_AFTER_UNAVAILABLE,
        cause: anyhow::anyhow!("cannot listen for revisions: {err}"),
    };
    let mut listener =
        PgListener::connect_with(db.get_postgres_connection_pool()).await.map_err(unavailable)?;
    listener.listen(CHANNEL).await.map_err(unavailable)?;
    Ok(listener)
}

/// Passes what the database announces to this process's listeners, for as long as the store
/// lives. Whatever was announced while the connection was down is lost, and every listener
/// must be told so once it listens again, those who began listening meanwhile included (they
/// would otherwise take the silence for no news). sqlx says a connection dropped (`Ok(None)`)
/// only once it has reconnected and listens again; when it cannot reconnect (an error), the
/// connection is reopened here rather than by sqlx on the next receive, so that the moment
/// it listens again is known.
async fn relay(mut listener: PgListener, session: DatabaseConnection, live: Weak<Live>) {
    loop {
        let received = listener.try_recv().await;
        let Some(hub) = live.upgrade() else { return };
        match received {
            Ok(Some(notification)) => match decode(notification.payload()) {
                Ok(events) => {
                    for event in events {
                        let _ = hub.revisions.send(Notice::Event(Arc::new(event)));
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err, "an announcement that is not revisions");
                    let _ = hub.revisions.send(Notice::Missed);
                }
            },
            Ok(None) => {
                tracing::warn!("the connection listening for revisions dropped; listening again");
                let _ = hub.revisions.send(Notice::Missed);
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for revisions; reconnecting");
                let _ = hub.revisions.send(Notice::Missed);
                drop(listener);
                drop(hub);
                let Some(reopened) = reopen(&session, &live).await else { return };
                listener = reopened;
                tracing::info!("listening for revisions again");
                let Some(hub) = live.upgrade() else { return };
                let _ = hub.revisions.send(Notice::Missed);
            }
        }
    }
}

/// Listens again over `session`, trying every `RELISTEN_EVERY`; `None` once the store is gone.
async fn reopen(session: &DatabaseConnection, live: &Weak<Live>) -> Option<PgListener> {
    loop {
        tokio::time::sleep(RELISTEN_EVERY).await;
        if live.strong_count() == 0 {
            return None;
        }
        match pg_listener(session).await {
            Ok(listener) => return Some(listener),
            Err(err) => tracing::debug!(error = %err, "cannot listen for revisions yet"),
        }
    }
}

/// How often a dropped listening connection is tried again.
const RELISTEN_EVERY: Duration = Duration::from_millis(250);

/// Works out, for each revision heard while anyone listens, the citations it changed.
async fn watch_citations(store: Store, mut revisions: Listener<RevisionEvent>) {
    while let Some(notice) = revisions.next().await {
        if store.live.changes.receiver_count() == 0 {
            continue;
        }
        match notice {
            Notice::Event(event) => match store.citation_changes(event).await {
                Ok(changes) => {
                    for change in changes {
                        let _ = store.live.changes.send(Notice::Event(Arc::new(change)));
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err, "cannot work out what a revision changed");
                    let _ = store.live.changes.send(Notice::Missed);
                }
            },
            Notice::Missed => {
                let _ = store.live.changes.send(Notice::Missed);
            }
        }
    }
}
