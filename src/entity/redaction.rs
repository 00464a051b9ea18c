use sea_orm::entity::prelude::*;

use crate::store::RevisionHash;

/// The tombstone of a redacted revision's text.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "redactions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub revision_hash: RevisionHash,
    pub agent_id: Uuid,
    pub token_id: Option<Uuid>,
    pub at: i64,
    pub reason: String,
    /// When what the redaction purged was made unrecoverable in the database's files; `None`
    /// while that is still to be done.
    pub erased_at: Option<i64>,
    /// On PostgreSQL, the redaction's transaction id: erasing waits until no snapshot is older.
    pub erase_after: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
