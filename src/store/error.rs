//! What can go wrong in a store operation, typed: which object is missing, which conflict
//! occurred, which limit a computation would pass, or that the database is unavailable. The
//! GraphQL layer maps each to one error code, in one place (`graphql::error`).

use std::fmt;
use std::time::Duration;

use sea_orm::DbErr;

use super::values::{
    AgentId, CollectionId, DocumentId, InvalidValue, RevisionHash, Slug, SourceId, TokenId, WatchId,
};
use crate::budget::OverBudget;
use crate::compute::ComputeError;

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Invalid(#[from] InvalidValue),
    #[error("{0} was not found")]
    NotFound(Missing),
    #[error("{0}")]
    Conflict(Conflict),
    /// The text this needs was redacted: the revision, its hashes and its proofs remain.
    #[error("the text of revision {0} was redacted")]
    Redacted(RevisionHash),
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

/// The object a request named that does not exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    Document(DocumentId),
    DocumentSlug(Slug),
    Revision(RevisionHash),
    /// A revision that exists, if at all, in another document.
    RevisionOf {
        document: Slug,
        revision: RevisionHash,
    },
    Source(SourceId),
    Token(TokenId),
    Watch(WatchId),
    /// The capture that wrote a revision (a revision no capture wrote has none).
    CaptureOf(RevisionHash),
    Collection(CollectionId),
    Agent(AgentId),
    /// The agent is not a member of the collection.
    Membership(CollectionId, AgentId),
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Missing::Document(id) => write!(f, "document {id}"),
            Missing::DocumentSlug(slug) => write!(f, "a document with the slug {slug}"),
            Missing::Revision(hash) => write!(f, "revision {hash}"),
            Missing::RevisionOf { document, revision } => {
                write!(f, "revision {revision} of {document}")
            }
            Missing::Source(id) => write!(f, "source {id}"),
            Missing::Token(id) => write!(f, "token {id}"),
            Missing::Watch(id) => write!(f, "watch {id}"),
            Missing::CaptureOf(hash) => write!(f, "a capture that wrote revision {hash}"),
            Missing::Collection(id) => write!(f, "collection {id}"),
            Missing::Agent(id) => write!(f, "agent {id}"),
            Missing::Membership(collection, agent) => {
                write!(f, "agent {agent} in collection {collection}")
            }
        }
    }
}

/// A write that lost to the state it found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conflict {
    /// The document's head is no longer the one the writer saw.
    HeadMoved { expected: RevisionHash, current: RevisionHash },
    /// Another document has the slug.
    SlugTaken(Slug),
    /// Another collection has the slug.
    CollectionSlugTaken(Slug),
    /// The parent revision gained a child first (a concurrent revise).
    ParentHasChild(RevisionHash),
    /// The revision's text was redacted already.
    AlreadyRedacted(RevisionHash),
    /// A live watch of this kind already follows the URL.
    AlreadyWatched(String),
    /// The agent has as many live watches as one agent may have.
    TooManyWatches { limit: u64 },
    /// A capture came without its evidence, having found the page the same as the head, but
    /// the head moved before it was recorded: a revision needs the evidence.
    EvidenceNeeded,
    /// A capture for a watch whose lease ran out and which another worker has claimed since:
    /// that worker's capture counts, this one is not recorded.
    LeaseLost(WatchId),
    /// The log's newest checkpoint does not open with the key this process would sign with:
    /// another key signs this log, and two keys would fork what verifiers trust.
    LogKeyDiffers { size: u64 },
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Conflict::HeadMoved { expected, current } => {
                write!(f, "the head has moved on: expected {expected}, the head is now {current}")
            }
            Conflict::SlugTaken(slug) => {
                write!(f, "a document with slug {:?} already exists", slug.as_str())
            }
            Conflict::CollectionSlugTaken(slug) => {
                write!(f, "a collection with slug {:?} already exists", slug.as_str())
            }
            Conflict::ParentHasChild(parent) => write!(f, "revision {parent} already has a child"),
            Conflict::AlreadyRedacted(hash) => write!(f, "revision {hash} is redacted already"),
            Conflict::AlreadyWatched(url) => write!(f, "{url} is watched already"),
            Conflict::LeaseLost(watch) => write!(
                f,
                "the lease on watch {watch} ran out before its capture was recorded, and another \
                 worker holds it now"
            ),
            Conflict::EvidenceNeeded => {
                f.write_str("the page differs from the document's head: its evidence is needed")
            }
            Conflict::LogKeyDiffers { size } => write!(
                f,
                "the log's checkpoint of size {size} is signed by another key: this key signs \
                 nothing (every node must sign with the log's key)"
            ),
            Conflict::TooManyWatches { limit } => {
                write!(f, "an agent may have {limit} watches; remove one before adding another")
            }
        }
    }
}

impl From<Missing> for StoreError {
    fn from(missing: Missing) -> Self {
        StoreError::NotFound(missing)
    }
}

impl From<Conflict> for StoreError {
    fn from(conflict: Conflict) -> Self {
        StoreError::Conflict(conflict)
    }
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

/// A stored value the store cannot read back: the database broke an invariant.
pub(crate) fn corrupt(column: &str, err: impl fmt::Display) -> StoreError {
    StoreError::Unexpected(anyhow::anyhow!("unreadable value in {column}: {err}"))
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

/// PostgreSQL SQLSTATEs: connection exceptions (08), invalid authorization (28: the role was
/// dropped or its password changed), insufficient resources (53), operator intervention (57:
/// statement timeout, shutdown, a connection terminated), the database gone (3D000: dropped or
/// renamed under the server), lock not available, and the transaction rollbacks a retry
/// resolves (serialization failure, deadlock).
fn postgres_unavailable(code: &str) -> bool {
    code.starts_with("08")
        || code.starts_with("28")
        || code.starts_with("53")
        || code.starts_with("57")
        || matches!(code, "3D000" | "55P03" | "40001" | "40P01")
}
