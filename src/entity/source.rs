use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sources")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub kind: String,
    pub title: Option<String>,
    pub url: Option<String>,
    pub created_at: i64,
    pub publisher: Option<String>,
    /// A JSON array of names.
    pub authors: String,
    /// A JSON array of names.
    pub recipients: String,
    pub published_at: Option<i64>,
    pub retrieved_at: Option<i64>,
    pub archive_url: Option<String>,
    pub license: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
