use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "capture_records")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub capture_id: Uuid,
    pub kind: String,
    pub chain: String,
    pub base_id: Option<Uuid>,
    pub depth: i16,
    pub packed: Vec<u8>,
    pub byte_length: i64,
    pub payload_digest: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
