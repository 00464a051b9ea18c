//! The store-wide write transaction. Every command runs in one (`Store::create_document` and
//! the like open and commit their own); a caller that must land several commands together or
//! not at all (the seed loader) opens one with `Store::begin` and commits it itself. Dropped
//! without `commit`, it rolls back.

use sea_orm::{
    DatabaseConnection, DatabaseTransaction, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};

use super::Store;
use super::documents::{self, Document};
use super::error::StoreResult;
use super::values::Slug;

pub struct WriteTransaction<'s> {
    pub(crate) store: &'s Store,
    pub(crate) tx: DatabaseTransaction,
}

impl Store {
    /// A write transaction. On SQLite it takes the write lock at `BEGIN` (waiting out the busy
    /// timeout), so a transaction never fails half-way for want of a lock it could not upgrade
    /// to; PostgreSQL ignores the mode.
    pub async fn begin(&self) -> StoreResult<WriteTransaction<'_>> {
        Ok(WriteTransaction { store: self, tx: begin_write(&self.db).await? })
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
    pub async fn commit(self) -> StoreResult<()> {
        Ok(self.tx.commit().await?)
    }

    /// The document with this slug, as the transaction sees it.
    pub async fn document_by_slug(&self, slug: &Slug) -> StoreResult<Option<Document>> {
        documents::find_by_slug(&self.tx, slug).await
    }
}
