use sea_orm::entity::prelude::*;

use crate::store::RevisionHash;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "captures")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub watch_id: Option<Uuid>,
    pub document_id: Option<Uuid>,
    pub url: String,
    pub final_url: Option<String>,
    pub status: Option<i32>,
    pub fetched_at: i64,
    pub outcome: String,
    pub detail: Option<String>,
    pub revision_hash: Option<RevisionHash>,
    pub payload_digest: Option<String>,
    pub request_record: Option<Uuid>,
    pub response_record: Option<Uuid>,
    pub agent_id: Uuid,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
