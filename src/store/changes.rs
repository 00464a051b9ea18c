//! A marker of the database's committed state that differs after anything commits to it,
//! however it was written: by this store, by another process on the same database, or by hand
//! in SQL. A cache of what reads answered, keyed on the marker read before the read ran, is
//! therefore exact: an entry is only ever served to a read that began when nothing had
//! committed since the entry's own read began.
//!
//! Neither database needs a write for it. PostgreSQL's `pg_current_snapshot()` moves whenever a
//! transaction that writes starts or ends (read-only transactions take no id), cluster-wide.
//! SQLite's `PRAGMA data_version` changes when another connection commits, so one connection
//! kept for the purpose and never used to write sees every commit as another's.
//!
//! Reads are batched: one is in flight at a time, and every caller that arrives while it runs
//! waits for the next, which begins after they arrived and so answers for all of them.

use std::sync::{Arc, Mutex};

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sea_orm::sqlx::{self, ConnectOptions, PgPool};
use sea_orm::{DatabaseConnection, DatabaseConnectionType, DbErr, RuntimeErr};

use super::Store;
use super::error::{RETRY_AFTER_UNAVAILABLE, StoreError, StoreResult};

/// The committed state of the database at one moment, compared only for equality: two equal
/// markers mean nothing committed between their reads.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChangeMarker(Marker);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Marker {
    /// `data_version` as seen by the watching connection, and which connection that was: a
    /// new connection starts counting afresh.
    Sqlite { connection: u64, version: i64 },
    /// `pg_current_snapshot()`: `xmin:xmax:in-progress ids`, which never repeats.
    Postgres(String),
}

type Read = Shared<BoxFuture<'static, Result<Option<ChangeMarker>, Arc<StoreError>>>>;

/// How the store reads its change marker.
pub(crate) struct ChangeWatch {
    source: tokio::sync::Mutex<Source>,
    /// The read that has not begun yet, which a caller arriving now waits for.
    next: Mutex<Option<Read>>,
}

enum Source {
    Sqlite {
        options: Arc<SqliteConnectOptions>,
        connection: Option<SqliteConnection>,
        opened: u64,
    },
    Postgres(PgPool),
    /// A backend this store cannot watch.
    None,
}

impl ChangeWatch {
    pub(crate) fn for_connection(db: &DatabaseConnection) -> Self {
        let source = match &db.inner {
            DatabaseConnectionType::SqlxSqlitePoolConnection(_) => Source::Sqlite {
                options: db.get_sqlite_connection_pool().connect_options(),
                connection: None,
                opened: 0,
            },
            // Straight on the pool: reading the marker is no statement of a request's own.
            DatabaseConnectionType::SqlxPostgresPoolConnection(_) => {
                Source::Postgres(db.get_postgres_connection_pool().clone())
            }
            _ => Source::None,
        };
        Self { source: tokio::sync::Mutex::new(source), next: Mutex::new(None) }
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
            Source::Sqlite { options, connection, opened } => {
                let mut watching = match connection.take() {
                    Some(watching) => watching,
                    None => {
                        let watching = options.connect().await.map_err(sqlx_error)?;
                        *opened += 1;
                        watching
                    }
                };
                // On an error the connection is dropped: the next read opens a new one, whose
                // count starts afresh under a new number.
                let version = sqlx::query_scalar::<_, i64>("PRAGMA data_version")
                    .fetch_one(&mut watching)
                    .await
                    .map_err(sqlx_error)?;
                *connection = Some(watching);
                Ok(Some(ChangeMarker(Marker::Sqlite { connection: *opened, version })))
            }
            Source::Postgres(pool) => {
                let snapshot =
                    sqlx::query_scalar::<_, String>("SELECT pg_current_snapshot()::text")
                        .fetch_one(&*pool)
                        .await
                        .map_err(sqlx_error)?;
                Ok(Some(ChangeMarker(Marker::Postgres(snapshot))))
            }
            Source::None => Ok(None),
        }
    }
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
}
