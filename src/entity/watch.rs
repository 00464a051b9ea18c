use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "watches")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub kind: String,
    pub url: String,
    pub document_id: Option<Uuid>,
    pub slug: Option<String>,
    pub document_kind: String,
    pub interval_seconds: i64,
    pub obey_robots: bool,
    pub paused: bool,
    pub feed_id: Option<Uuid>,
    pub created_by: Uuid,
    pub created_at: i64,
    pub removed_at: Option<i64>,
    pub next_run_at: i64,
    pub lease_until: Option<i64>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub last_run_at: Option<i64>,
    pub last_outcome: Option<String>,
    pub last_status: Option<i32>,
    pub last_detail: Option<String>,
    pub runs: i64,
    pub revisions: i64,
    pub failures: i64,
    pub seen_revision: Option<crate::store::RevisionHash>,
    pub seen_digest: Option<String>,
    pub seen_final_url: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
