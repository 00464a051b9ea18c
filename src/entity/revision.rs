use sea_orm::entity::prelude::*;

use crate::store::{ContentHash, RevisionHash};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "revisions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub hash: RevisionHash,
    pub document_id: Uuid,
    pub number: i64,
    pub parent_hash: Option<RevisionHash>,
    pub title: String,
    pub content_sha256: ContentHash,
    pub author_id: Uuid,
    pub message: String,
    pub source_id: Option<Uuid>,
    pub created_at: i64,
    /// The canonical header bytes, verbatim: the input of `hash`; empty when they are kept
    /// in `packed_header`.
    pub header: String,
    /// The size of the text in bytes (of UTF-8), so reads can be priced before loading it.
    pub content_bytes: i64,
    /// The revision's leaf in the transparency log.
    pub log_index: Option<i64>,
    /// Set, with a row in `redactions`, when the text was redacted; nothing else changes.
    pub redacted: bool,
    /// What is kept of the canonical header (`store::packing::KeptHeader`): the digests of
    /// its members, where it is these columns' canonical header (everything the store
    /// writes), else a zstd frame of it. `None` when it is kept plain in `header`.
    pub packed_header: Option<Vec<u8>>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
