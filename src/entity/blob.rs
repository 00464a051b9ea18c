use sea_orm::entity::prelude::*;

use crate::store::ContentHash;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "blobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub sha256: ContentHash,
    /// The text, when `packing` is 0 (`store::packing::Packing`); empty otherwise.
    pub content: String,
    pub byte_length: i64,
    /// When the text was purged by a redaction (it is then empty); `None` while it is kept.
    pub purged_at: Option<i64>,
    pub packing: i16,
    /// The zstd frame of the text, when `packing` is 1 or 2: sealed (`store::seal`) when
    /// `sealed` is set.
    pub packed: Option<Vec<u8>>,
    /// The blob whose text `packed` is a delta against, when `packing` is 2.
    pub base_sha256: Option<ContentHash>,
    /// On a whole text, the longest chain of deltas ending at it.
    pub chain_height: i16,
    /// Whether `packed` is sealed under its bucket's key.
    pub sealed: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
