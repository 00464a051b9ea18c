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

use std::sync::Arc;

use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sea_orm::sqlx::{self, ConnectOptions, PgPool};
use sea_orm::{DatabaseConnection, DatabaseConnectionType, DbErr, RuntimeErr};

use super::Store;
use super::error::StoreResult;

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

/// How the store reads its change marker.
pub(crate) enum ChangeWatch {
    Sqlite {
        options: Arc<SqliteConnectOptions>,
        watcher: tokio::sync::Mutex<Watcher>,
    },
    Postgres(PgPool),
    /// A backend this store cannot watch: every read is a change.
    None,
}

#[derive(Default)]
pub(crate) struct Watcher {
    connection: Option<SqliteConnection>,
    opened: u64,
}

impl ChangeWatch {
    pub(crate) fn for_connection(db: &DatabaseConnection) -> Self {
        match &db.inner {
            DatabaseConnectionType::SqlxSqlitePoolConnection(_) => ChangeWatch::Sqlite {
                options: db.get_sqlite_connection_pool().connect_options(),
                watcher: tokio::sync::Mutex::default(),
            },
            // Straight on the pool: reading the marker is no statement of a request's own.
            DatabaseConnectionType::SqlxPostgresPoolConnection(_) => {
                ChangeWatch::Postgres(db.get_postgres_connection_pool().clone())
            }
            _ => ChangeWatch::None,
        }
    }
}

fn sqlx_error(err: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(Arc::new(err)))
}

impl Store {
    /// The database's change marker now, `None` if this backend has none. A caller keeps what
    /// it reads after this call under the marker, and serves it only to callers whose own
    /// marker equals it.
    pub async fn change_marker(&self) -> StoreResult<Option<ChangeMarker>> {
        match self.changes.as_ref() {
            ChangeWatch::Sqlite { options, watcher } => {
                let mut watcher = watcher.lock().await;
                let mut connection = match watcher.connection.take() {
                    Some(connection) => connection,
                    None => {
                        let connection = options.connect().await.map_err(sqlx_error)?;
                        watcher.opened += 1;
                        connection
                    }
                };
                // On an error the connection is dropped: the next call opens a new one, whose
                // count starts afresh under a new number.
                let version = sqlx::query_scalar::<_, i64>("PRAGMA data_version")
                    .fetch_one(&mut connection)
                    .await
                    .map_err(sqlx_error)?;
                watcher.connection = Some(connection);
                Ok(Some(ChangeMarker(Marker::Sqlite { connection: watcher.opened, version })))
            }
            ChangeWatch::Postgres(pool) => {
                let snapshot =
                    sqlx::query_scalar::<_, String>("SELECT pg_current_snapshot()::text")
                        .fetch_one(pool)
                        .await
                        .map_err(sqlx_error)?;
                Ok(Some(ChangeMarker(Marker::Postgres(snapshot))))
            }
            ChangeWatch::None => Ok(None),
        }
    }
}
