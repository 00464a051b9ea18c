use sea_orm::entity::prelude::*;

/// The tombstone of a redacted revision's text.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "redactions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub revision_hash: String,
    pub agent_id: Uuid,
    pub token_id: Option<Uuid>,
    pub at: i64,
    pub reason: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
