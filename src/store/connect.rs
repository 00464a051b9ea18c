//! Opening the database: connection pools with timeouts. Migrating it and the data jobs that
//! follow are `upkeep`.

use std::time::Duration;

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection};

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

/// How the server's connections reach PostgreSQL.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Pooling {
    /// Each connection is a session of its own: straight to PostgreSQL, or through a pooler in
    /// session mode.
    #[default]
    Sessions,
    /// Through a pooler in transaction mode (PgBouncer's `pool_mode = transaction`), which
    /// hands a server connection to a client for one transaction at a time. Such a pooler
    /// refuses the `statement_timeout` startup option, so the timeout must be set where the
    /// pooler opens its connections (`connect_query`, or the role's settings), and the pool
    /// checks that it is; sqlx's named prepared statements need the pooler to track them
    /// (PgBouncer 1.21 or later with `max_prepared_statements`). LISTEN, which needs a
    /// session, goes over a direct connection (`Store::listen_over`).
    Transactions,
}

/// Opens a connection pool with the default timeouts.
pub async fn connect(database_url: &str) -> anyhow::Result<DatabaseConnection> {
    connect_with(database_url, DatabaseTimeouts::default()).await
}

/// A connection for reading the whole corpus once (`verify`): on SQLite, reads map the file
/// instead of copying each page through a system call, which bounds such a scan. A server does
/// not map it: every pooled connection maps the file anew, and the pages it touches count
/// towards the server's resident memory once per connection.
pub async fn connect_for_scans(database_url: &str) -> anyhow::Result<DatabaseConnection> {
    connect_inner(database_url, DatabaseTimeouts::default(), Purpose::Scan).await
}

/// A connection for writing many revisions in batches (`import`): on SQLite, a commit waits
/// for the write-ahead log to reach the disk only at checkpoints (`synchronous = NORMAL`,
/// which WAL mode keeps consistent through a crash). A power cut may lose the last batches
/// committed, never part of one, and the import run again writes them.
pub async fn connect_for_bulk(database_url: &str) -> anyhow::Result<DatabaseConnection> {
    connect_inner(database_url, DatabaseTimeouts::default(), Purpose::Bulk).await
}

/// What a pool is opened for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Serve,
    /// Serving through a transaction pooler: no startup options.
    Pooled,
    Scan,
    Bulk,
}

/// How much of a SQLite database file reads may map into memory (address space, not RAM).
const SQLITE_MMAP_BYTES: u64 = 256 << 20;

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
    connect_inner(database_url, timeouts, Purpose::Serve).await
}

/// Opens a server's connection pool reached as `pooling` says. Through a transaction pooler
/// the statement timeout cannot be sent, so the pool is opened only when the pooler's
/// connections already carry one: a server whose statements could run unbounded does not
/// start.
pub async fn connect_via(
    database_url: &str,
    timeouts: DatabaseTimeouts,
    pooling: Pooling,
) -> anyhow::Result<DatabaseConnection> {
    match pooling {
        Pooling::Sessions => connect_with(database_url, timeouts).await,
        Pooling::Transactions => {
            anyhow::ensure!(
                !database_url.starts_with("sqlite:"),
                "a transaction pooler stands before PostgreSQL; {} is a SQLite database",
                redact_password(database_url)
            );
            let db = connect_inner(database_url, timeouts, Purpose::Pooled).await?;
            let timeout = db
                .query_one_raw(sea_orm::Statement::from_string(
                    DatabaseBackend::Postgres,
                    "SHOW statement_timeout",
                ))
                .await?
                .map(|row| row.try_get_by_index::<String>(0))
                .transpose()?
                .unwrap_or_default();
            if timeout == "0" || timeout.is_empty() {
                anyhow::bail!(
                    "the connections the pooler at {} opens have no statement_timeout, and a \
                     transaction pooler does not pass one on from here: set it where the \
                     pooler connects, e.g. `connect_query = 'SET statement_timeout = {}'` on \
                     the database's line in pgbouncer.ini, or `ALTER ROLE … SET \
                     statement_timeout = {}` (docs/deployment.md#behind-pgbouncer)",
                    redact_password(database_url),
                    timeouts.statement.as_millis(),
                    timeouts.statement.as_millis(),
                );
            }
            tracing::info!(
                statement_timeout = %timeout,
                "connected through a transaction pooler; its statement timeout applies"
            );
            Ok(db)
        }
    }
}

/// A pool reached as `pooling` says that connects when first used, not now: for a read replica
/// that does not answer when the server starts, and is taken into rotation once it does.
pub(crate) async fn connect_lazily(
    database_url: &str,
    timeouts: DatabaseTimeouts,
    pooling: Pooling,
) -> anyhow::Result<DatabaseConnection> {
    let purpose = match pooling {
        Pooling::Sessions => Purpose::Serve,
        Pooling::Transactions => Purpose::Pooled,
    };
    open(database_url, timeouts, purpose, true).await
}

async fn connect_inner(
    database_url: &str,
    timeouts: DatabaseTimeouts,
    purpose: Purpose,
) -> anyhow::Result<DatabaseConnection> {
    open(database_url, timeouts, purpose, false).await
}

async fn open(
    database_url: &str,
    timeouts: DatabaseTimeouts,
    purpose: Purpose,
    lazy: bool,
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
        .min_connections(if in_memory { 1 } else { 0 })
        .connect_lazy(lazy);
    if is_sqlite {
        options.map_sqlx_sqlite_opts(move |opts| {
            let opts = opts
                .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .busy_timeout(timeouts.statement)
                .foreign_keys(true)
                // What a redaction purges is overwritten, not merely freed, in the file.
                .pragma("secure_delete", "on");
            match purpose {
                Purpose::Serve | Purpose::Pooled => opts,
                Purpose::Scan => opts.pragma("mmap_size", SQLITE_MMAP_BYTES.to_string()),
                Purpose::Bulk => opts
                    .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                    .pragma("cache_size", "-65536"),
            }
        });
    } else {
        let statement_ms = timeouts.statement.as_millis().to_string();
        options.map_sqlx_postgres_opts(move |opts| {
            if purpose == Purpose::Pooled {
                // PgBouncer refuses startup parameters it does not track. PostgreSQL 12 and
                // later print floats exactly without `extra_float_digits`, and sqlx reads them
                // in binary anyway.
                opts.extra_float_digits(None)
            } else {
                opts.options([("statement_timeout", statement_ms.as_str())])
            }
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
    match Database::connect(options).await {
        Ok(db) => Ok(db),
        Err(err) if is_missing_database(&err) => {
            let name = database_url.rsplit('/').next().unwrap_or_default();
            let name = name.split('?').next().unwrap_or_default();
            anyhow::bail!(
                "the PostgreSQL database \"{name}\" does not exist on {}: create it (`createdb \
                 {name}`, or `CREATE DATABASE {name}` in psql), then run `palimpsest migrate`",
                redact_password(database_url)
            )
        }
        Err(err) => {
            Err(err).with_context(|| format!("cannot connect to {}", redact_password(database_url)))
        }
    }
}

/// The PostgreSQL database a pool reaches, by its own name (behind a pooler, whatever name
/// the pooler gives it).
pub async fn database_name(db: &DatabaseConnection) -> anyhow::Result<String> {
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            DatabaseBackend::Postgres,
            "SELECT current_database() AS name",
        ))
        .await?
        .ok_or_else(|| anyhow::anyhow!("no answer to SELECT current_database()"))?;
    Ok(row.try_get::<String>("", "name")?)
}

/// Whether connecting failed because the PostgreSQL database named does not exist (SQLSTATE
/// 3D000, invalid_catalog_name).
fn is_missing_database(err: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr};
    let (DbErr::Conn(RuntimeErr::SqlxError(sqlx)) | DbErr::Query(RuntimeErr::SqlxError(sqlx))) =
        err
    else {
        return false;
    };
    sqlx.as_database_error().and_then(|e| e.code()).is_some_and(|code| code == "3D000")
}

/// The file of a `sqlite:` URL, unless it names an in-memory database.
pub fn sqlite_file(database_url: &str) -> Option<std::path::PathBuf> {
    let rest = database_url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.contains(":memory:")).then(|| std::path::PathBuf::from(path))
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

/// The SQLite file a store was opened on, as it was then. A file deleted (or replaced) under a
/// running server is not noticed by SQLite, which goes on writing to the unlinked file: every
/// write after that would be acknowledged and then lost. So each write checks, just before it
/// commits, that the path still names the file it was opened on.
#[derive(Debug)]
pub(crate) struct DatabaseFile {
    path: std::path::PathBuf,
    identity: (u64, u64),
}

impl DatabaseFile {
    /// The file behind `db`, when it is a SQLite database in a file that exists.
    pub(crate) fn of(db: &DatabaseConnection) -> Option<Self> {
        if db.get_database_backend() != DatabaseBackend::Sqlite {
            return None;
        }
        let options = db.get_sqlite_connection_pool().connect_options();
        let path = std::fs::canonicalize(options.get_filename()).ok()?;
        let identity = identity(&path).ok()?;
        Some(DatabaseFile { path, identity })
    }

    /// `Unavailable` once the path no longer names the file the store writes to.
    pub(crate) fn check(&self) -> super::StoreResult<()> {
        match identity(&self.path) {
            Ok(now) if now == self.identity => Ok(()),
            found => Err(super::StoreError::Unavailable {
                retry_after: super::error::RETRY_AFTER_UNAVAILABLE,
                cause: anyhow::anyhow!(
                    "the database file {} was {} while the server ran: nothing more is written \
                     to it; restore it (or move the new one away) and restart the server",
                    self.path.display(),
                    if found.is_err() { "removed" } else { "replaced" },
                ),
            }),
        }
    }
}

/// The device and inode of a file.
fn identity(path: &std::path::Path) -> std::io::Result<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let metadata = std::fs::metadata(path)?;
    Ok((metadata.dev(), metadata.ino()))
}
