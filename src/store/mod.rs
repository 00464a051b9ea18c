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

pub use agents::{Agent, NewSource, NewToken, Principal, Source, parse_agent_name};
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
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<DbErr> for StoreError {
    fn from(err: DbErr) -> Self {
        StoreError::Unexpected(anyhow::Error::new(err).context("database error"))
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Limits the store enforces on what it is asked to keep.
#[derive(Debug, Clone, Copy)]
pub struct StoreLimits {
    /// The largest revision content accepted, in bytes of UTF-8.
    pub max_content_bytes: usize,
}

impl Default for StoreLimits {
    fn default() -> Self {
        Self { max_content_bytes: 4 * 1024 * 1024 }
    }
}

/// A handle on the corpus. Cheap to clone: it holds a connection pool.
#[derive(Clone)]
pub struct Store {
    db: DatabaseConnection,
    limits: StoreLimits,
}

impl Store {
    pub fn new(db: DatabaseConnection, limits: StoreLimits) -> Self {
        Self { db, limits }
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

/// Opens a connection pool. SQLite files are created when missing and run in WAL mode with a
/// busy timeout, so that readers never wait for the writer and writers queue instead of
/// failing; an in-memory SQLite database is held on one connection, since each connection
/// would otherwise see its own empty database.
pub async fn connect(database_url: &str) -> anyhow::Result<DatabaseConnection> {
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
        .acquire_timeout(Duration::from_secs(10))
        .max_connections(if in_memory {
            1
        } else if is_sqlite {
            8
        } else {
            16
        })
        .min_connections(if in_memory { 1 } else { 0 });
    if is_sqlite {
        options.map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
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
