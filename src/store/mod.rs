//! The versioned store: documents, hash-chained revisions, content blobs stored once per
//! SHA-256, agents, API tokens and sources.
//!
//! This module is the core of Palimpsest and imports nothing of async-graphql or actix-web.
//! Callers hand it parsed domain values (`types`), it owns every transaction, and it answers
//! with its own read models. Invariants kept here:
//! - a revision is written once and never changed; the document's head pointer (with its
//!   `updated_at`) is the only value ever updated in place;
//! - every write is one transaction that lands whole or not at all;
//! - diffs and blame are computed from stored history, never stored;
//! - a revision's hash is SHA-256 of its canonical header (`hashing`), which commits to its
//!   parent, so a document's history is a hash chain.

mod agents;
mod citations;
mod documents;
pub mod hashing;
mod history;
mod page;
pub mod types;

use std::time::Duration;

use sea_orm::{ConnectOptions, Database, DatabaseBackend, DatabaseConnection, DbErr};

use crate::budget::OverBudget;
use crate::compute::{Compute, ComputeError};

pub use agents::{
    Agent, MAX_LISTED_TOKENS, NewSource, NewToken, Principal, Source, TokenInfo, parse_agent_name,
};
pub use citations::{AddCitation, Citation, CitationTarget, StoredSelector};
pub use documents::{
    CreateDocument, Document, DocumentCursor, DocumentFilter, DocumentOrder, DocumentOrderField,
    ReviseDocument, Revision, WriteOutcome,
};
pub use history::{BlameLine, MAX_BLAME_REVISIONS, RevisionDiff, RevisionStamp};
pub use page::{Direction, Page, PageRequest};
pub use types::*;

/// What went wrong in a store operation. The GraphQL layer maps each arm to one error code.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Invalid(#[from] InvalidValue),
    #[error("{0} was not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{what} is {size} bytes; the limit is {limit} bytes")]
    TooLarge { what: &'static str, size: usize, limit: usize },
    /// The work asked for costs more than the caller's allowance; nothing was read for it.
    #[error("{what}: {cause}")]
    OverBudget { what: &'static str, cause: OverBudget },
    /// The work ran past its time limit and was stopped.
    #[error("{what} ran past its time limit of {} ms", limit.as_millis())]
    TimedOut { what: &'static str, limit: Duration },
    /// The database is down, timed out or locked, or the server is saturated: nothing was
    /// written, and the same request may succeed after `retry_after`.
    #[error("unavailable: {cause:#}")]
    Unavailable { retry_after: Duration, cause: anyhow::Error },
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// How long clients are asked to wait after the database was unavailable.
pub const RETRY_AFTER_UNAVAILABLE: Duration = Duration::from_secs(5);

impl From<DbErr> for StoreError {
    fn from(err: DbErr) -> Self {
        if database_unavailable(&err) {
            StoreError::Unavailable {
                retry_after: RETRY_AFTER_UNAVAILABLE,
                cause: anyhow::Error::new(err).context("database unavailable"),
            }
        } else {
            StoreError::Unexpected(anyhow::Error::new(err).context("database error"))
        }
    }
}

impl From<ComputeError> for StoreError {
    fn from(err: ComputeError) -> Self {
        match err {
            ComputeError::Busy(busy) => StoreError::Unavailable {
                retry_after: busy.retry_after,
                cause: anyhow::Error::new(busy),
            },
            ComputeError::Failed(message) => StoreError::Unexpected(anyhow::anyhow!(message)),
        }
    }
}

/// Whether a database error says "not now" rather than "never": the server is unreachable,
/// the pool could not hand out a connection in time, a statement timed out or waited too long
/// for a lock, or the server is shutting down. Decided on the driver's error kinds and
/// SQLSTATE / SQLite result codes, never on message text.
fn database_unavailable(err: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    use sea_orm::sqlx::Error as Sqlx;
    let runtime = match err {
        DbErr::ConnectionAcquire(_) => return true,
        DbErr::Conn(runtime) | DbErr::Exec(runtime) | DbErr::Query(runtime) => runtime,
        _ => return false,
    };
    let RuntimeErr::SqlxError(sqlx) = runtime else { return matches!(err, DbErr::Conn(_)) };
    match sqlx.as_ref() {
        Sqlx::Io(_)
        | Sqlx::Tls(_)
        | Sqlx::Protocol(_)
        | Sqlx::PoolTimedOut
        | Sqlx::PoolClosed
        | Sqlx::WorkerCrashed => true,
        Sqlx::Database(db) => {
            let Some(code) = db.code() else { return false };
            if db.try_downcast_ref::<sea_orm::sqlx::postgres::PgDatabaseError>().is_some() {
                postgres_unavailable(&code)
            } else {
                sqlite_unavailable(&code)
            }
        }
        _ => false,
    }
}

/// SQLite reports its (extended) result code as a number; the primary code is the low byte.
fn sqlite_unavailable(code: &str) -> bool {
    const BUSY: u32 = 5;
    const LOCKED: u32 = 6;
    const IOERR: u32 = 10;
    const FULL: u32 = 13;
    const CANTOPEN: u32 = 14;
    code.parse::<u32>()
        .is_ok_and(|code| matches!(code & 0xff, BUSY | LOCKED | IOERR | FULL | CANTOPEN))
}

/// PostgreSQL SQLSTATEs: connection exceptions (08), insufficient resources (53), operator
/// intervention (57: statement timeout, shutdown), lock not available, and the transaction
/// rollbacks a retry resolves (serialization failure, deadlock).
fn postgres_unavailable(code: &str) -> bool {
    code.starts_with("08")
        || code.starts_with("53")
        || code.starts_with("57")
        || matches!(code, "55P03" | "40001" | "40P01")
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Limits the store enforces on what it is asked to keep and to compute.
#[derive(Debug, Clone, Copy)]
pub struct StoreLimits {
    /// The largest revision content accepted, in bytes of UTF-8.
    pub max_content_bytes: usize,
    /// How long one blame may compute before it is stopped.
    pub blame_time: Duration,
}

impl Default for StoreLimits {
    fn default() -> Self {
        Self { max_content_bytes: 4 * 1024 * 1024, blame_time: Duration::from_secs(2) }
    }
}

/// A handle on the corpus. Cheap to clone: it holds a connection pool.
#[derive(Clone)]
pub struct Store {
    db: DatabaseConnection,
    limits: StoreLimits,
    compute: Compute,
}

impl Store {
    pub fn new(db: DatabaseConnection, limits: StoreLimits) -> Self {
        Self::with_compute(db, limits, Compute::for_this_machine())
    }

    /// A store whose CPU-heavy work (diffs, blame, quotation checks) shares `compute`.
    pub fn with_compute(db: DatabaseConnection, limits: StoreLimits, compute: Compute) -> Self {
        Self { db, limits, compute }
    }

    /// Where CPU-heavy work on stored texts runs, bounded in concurrency.
    pub fn compute(&self) -> &Compute {
        &self.compute
    }

    /// Whether the database answers now: one trivial statement.
    pub async fn ping(&self) -> StoreResult<()> {
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

/// How long the database may keep a caller waiting.
#[derive(Debug, Clone, Copy)]
pub struct DatabaseTimeouts {
    /// The longest one statement may run (PostgreSQL `statement_timeout`) or wait for
    /// SQLite's write lock (its busy timeout).
    pub statement: Duration,
    /// The longest a request waits for a pooled connection.
    pub acquire: Duration,
}

impl Default for DatabaseTimeouts {
    fn default() -> Self {
        Self { statement: Duration::from_secs(5), acquire: Duration::from_secs(5) }
    }
}

/// Opens a connection pool with the default timeouts.
pub async fn connect(database_url: &str) -> anyhow::Result<DatabaseConnection> {
    connect_with(database_url, DatabaseTimeouts::default()).await
}

/// Opens a connection pool. SQLite files are created when missing and run in WAL mode with a
/// busy timeout, so that readers never wait for the writer and writers queue instead of
/// failing; an in-memory SQLite database is held on one connection, since each connection
/// would otherwise see its own empty database. On PostgreSQL every statement runs under
/// `statement_timeout`, so a held lock or a runaway query answers `Unavailable` instead of
/// holding a connection and its client indefinitely.
pub async fn connect_with(
    database_url: &str,
    timeouts: DatabaseTimeouts,
) -> anyhow::Result<DatabaseConnection> {
    use anyhow::Context;
    let is_sqlite = database_url.starts_with("sqlite:");
    let in_memory = is_sqlite && database_url.contains(":memory:");
    let url = if is_sqlite && !in_memory && !database_url.contains("mode=") {
        let separator = if database_url.contains('?') { '&' } else { '?' };
        format!("{database_url}{separator}mode=rwc")
    } else {
        database_url.to_owned()
    };
    let mut options = ConnectOptions::new(url);
    options
        .sqlx_logging(false)
        .acquire_timeout(timeouts.acquire)
        .connect_timeout(timeouts.acquire)
        .max_connections(if in_memory {
            1
        } else if is_sqlite {
            8
        } else {
            16
        })
        .min_connections(if in_memory { 1 } else { 0 });
    if is_sqlite {
        options.map_sqlx_sqlite_opts(move |opts| {
            opts.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .busy_timeout(timeouts.statement)
                .foreign_keys(true)
        });
    } else {
        let statement_ms = timeouts.statement.as_millis().to_string();
        options.map_sqlx_postgres_opts(move |opts| {
            opts.options([("statement_timeout", statement_ms.as_str())])
        });
        // A connection's buffers grow to its largest message (a 4 MiB text) and keep that
        // size; giving the excess back on release keeps a pool that once carried large texts
        // from holding their size per connection. It costs nothing for buffers that never
        // grew past their default.
        options.map_sqlx_postgres_pool_opts(|pool| {
            pool.after_release(|connection, _| {
                Box::pin(async move {
                    use sea_orm::sqlx::Connection;
                    connection.shrink_buffers();
                    Ok(true)
                })
            })
        });
    }
    Database::connect(options)
        .await
        .with_context(|| format!("cannot connect to {}", redact_password(database_url)))
}

/// The URL with any password replaced, for messages and logs.
pub fn redact_password(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.find(':') {
                Some(colon) => {
                    format!("{}{}:***{}", &url[..scheme_end + 3], &credentials[..colon], &url[at..])
                }
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Applies every pending migration. Returns how many had been applied before, so callers can
/// tell a brand-new database (zero) from an existing one.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<usize> {
    use migration::{Migrator, MigratorTrait};
    let applied_before = Migrator::get_applied_migrations(db).await?.len();
    Migrator::up(db, None).await?;
    Ok(applied_before)
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(
            super::redact_password("postgres://me:secret@localhost/db"),
            "postgres://me:***@localhost/db"
        );
        assert_eq!(super::redact_password("sqlite://x.db"), "sqlite://x.db");
    }
}
