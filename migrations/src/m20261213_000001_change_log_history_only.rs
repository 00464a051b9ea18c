//! Each document a change names in the change log says whether the change touched only its
//! history (a revision appended with its parent's title and source): a response cache then
//! keeps the answers that read no more of the document than what a list of documents shows of
//! it. Rows written before (or by a build that does not know the column) default to a change
//! to the whole document, which drops at least as much as they did.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ChangeLog {
    Table,
    HistoryOnly,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ChangeLog::Table)
                    .add_column(
                        ColumnDef::new(ChangeLog::HistoryOnly).boolean().not_null().default(false),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ChangeLog::Table)
                    .drop_column(ChangeLog::HistoryOnly)
                    .to_owned(),
            )
            .await
    }
}
