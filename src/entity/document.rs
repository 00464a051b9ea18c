use sea_orm::entity::prelude::*;

use crate::store::RevisionHash;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "documents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub slug: String,
    pub kind: String,
    /// Moves, with `updated_at`, when a revision is appended (the placement columns below
    /// change only by `store::access`).
    pub head_hash: RevisionHash,
    pub created_at: i64,
    pub updated_at: i64,
    pub collection_id: Uuid,
    /// The embargo: until then, only the collection's members may read the document.
    pub publish_at: Option<i64>,
    /// From when anyone may read the document (0: always), NULL when only members ever may;
    /// follows the collection's visibility and `publish_at` (`store::access`).
    pub public_from: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
