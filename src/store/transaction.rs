//! The store-wide write transaction every command runs in.

use sea_orm::{
    DatabaseTransaction, DbErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

use super::Store;

impl Store {
    /// A write transaction. On SQLite it takes the write lock at `BEGIN` (waiting out the busy
    /// timeout), so a transaction never fails half-way for want of a lock it could not upgrade
    /// to; PostgreSQL ignores the mode.
    pub(crate) async fn begin_write(&self) -> Result<DatabaseTransaction, DbErr> {
        self.db
            .begin_with_options(TransactionOptions {
                isolation_level: None,
                access_mode: None,
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            })
            .await
    }
}
