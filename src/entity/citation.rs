use sea_orm::entity::prelude::*;

use crate::store::RevisionHash;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "citations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The id of the first row of this citation; kept by every follower.
    pub lineage_id: Uuid,
    /// The row of the parent revision this one continues.
    pub origin_id: Option<Uuid>,
    pub citing_document_id: Uuid,
    pub citing_revision_hash: RevisionHash,
    pub relation: String,
    pub target_document_id: Option<Uuid>,
    pub target_revision_hash: Option<RevisionHash>,
    pub target_source_id: Option<Uuid>,
    pub citing_exact: Option<String>,
    pub citing_prefix: Option<String>,
    pub citing_suffix: Option<String>,
    pub citing_start: Option<i64>,
    pub citing_end: Option<i64>,
    pub target_exact: Option<String>,
    pub target_prefix: Option<String>,
    pub target_suffix: Option<String>,
    pub target_start: Option<i64>,
    pub target_end: Option<i64>,
    /// created, reanchored, carried or orphaned.
    pub anchor: String,
    pub created_by: Uuid,
    pub created_at: i64,
    /// Whether the quotes (`*_exact`, `*_prefix`, `*_suffix`) are sealed under the bucket key
    /// of the citing revision's hash (`store::seal`), as base64.
    pub sealed: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
