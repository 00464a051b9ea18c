//! Content blobs: each text stored once under its SHA-256, however many revisions share it.

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use super::Store;
use super::error::{StoreError, StoreResult};
use super::revisions::Revision;
use super::values::ContentHash;
use crate::entity::blob;

/// Stores `content` under `hash` inside a write transaction, unless it is stored already.
pub(crate) async fn insert_blob(
    tx: &impl ConnectionTrait,
    hash: &ContentHash,
    content: &str,
) -> Result<(), DbErr> {
    blob::Entity::insert(blob::ActiveModel {
        sha256: Set(hash.as_str().to_owned()),
        content: Set(content.to_owned()),
        byte_length: Set(content.len() as i64),
        purged_at: Set(None),
    })
    // A text a redaction purged is stored again if a new revision brings it back.
    .on_conflict(
        OnConflict::column(blob::Column::Sha256)
            .update_columns([blob::Column::Content, blob::Column::PurgedAt])
            .action_and_where(Expr::col((blob::Entity, blob::Column::PurgedAt)).is_not_null())
            .to_owned(),
    )
    .exec_without_returning(tx)
    .await?;
    Ok(())
}

impl Store {
    /// The texts among `hashes` that are stored (and not purged by a redaction), in one query.
    pub async fn contents_by_hashes(
        &self,
        hashes: &[ContentHash],
    ) -> StoreResult<Vec<(ContentHash, String)>> {
        Ok(blob::Entity::find()
            .filter(blob::Column::Sha256.is_in(hashes.iter().map(|h| h.as_str())))
            .filter(blob::Column::PurgedAt.is_null())
            .all(&self.db)
            .await?
            .into_iter()
            .map(|row| (ContentHash::from_trusted(row.sha256), row.content))
            .collect())
    }

    /// The text of `revision`: `Redacted` if it was.
    pub(crate) async fn required_content(&self, revision: &Revision) -> StoreResult<String> {
        content_of(&self.db, revision).await
    }
}

/// The text of `revision` read through `conn`: `Redacted` if it was.
pub(crate) async fn content_of(
    conn: &impl ConnectionTrait,
    revision: &Revision,
) -> StoreResult<String> {
    if revision.redacted {
        return Err(StoreError::Redacted(revision.hash.clone()));
    }
    blob::Entity::find_by_id(revision.content_hash.as_str().to_owned())
        .filter(blob::Column::PurgedAt.is_null())
        .one(conn)
        .await?
        .map(|row| row.content)
        .ok_or_else(|| {
            StoreError::Unexpected(anyhow::anyhow!("content {} is missing", revision.content_hash))
        })
}
