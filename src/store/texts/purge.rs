//! Purging a redacted text: its blob emptied, and the texts that were deltas against it
//! rebased so that none of them needs it.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Statement};

use super::packing::{self, MAX_CHAIN, Packing, Unpacked};
use super::read::read_stored;
use super::seal::keys_for;
use super::sealed_frame;
use crate::entity::blob;
use crate::store::error::StoreResult;
use crate::store::sql::placeholder;
use crate::store::values::ContentHash;

/// Empties the text of blob `hash` (a redaction purges it). Texts kept as deltas against it
/// are first kept whole, so that no other text is lost with it.
pub(crate) async fn purge(
    tx: &impl ConnectionTrait,
    hash: &ContentHash,
    at: i64,
) -> StoreResult<()> {
    use blob::Column as C;
    // Its dependents are texts of parents of revisions with this text (see the invariant).
    let backend = tx.get_database_backend();
    let sql = format!(
        "SELECT b.sha256 FROM revisions r \
         JOIN revisions p ON p.hash = r.parent_hash \
         JOIN blobs b ON b.sha256 = p.content_sha256 \
         WHERE r.content_sha256 = {} AND b.base_sha256 = {}",
        placeholder(backend, 1),
        placeholder(backend, 2),
    );
    let dependents: Vec<String> = tx
        .query_all_raw(Statement::from_sql_and_values(backend, sql, [hash.into(), hash.into()]))
        .await?
        .iter()
        .map(|row| row.try_get_by_index::<ContentHash>(0).map(ContentHash::into_hex))
        .collect::<Result<_, _>>()?;
    if !dependents.is_empty() {
        let wanted: Vec<&str> = dependents.iter().map(String::as_str).collect();
        let mut texts = packing::unpack_all(read_stored(tx, &wanted).await?, wanted.clone());
        let keys = keys_for(tx, wanted).await?;
        for dependent in &dependents {
            match texts.remove(dependent) {
                Some(Unpacked::Text(text)) => {
                    let whole = sealed_frame(&keys, dependent, &packing::pack_whole(&text))?;
                    blob::Entity::update_many()
                        .col_expr(C::Packing, Expr::value(Packing::Whole.code()))
                        .col_expr(C::Packed, Expr::value(whole))
                        .col_expr(C::Sealed, Expr::value(true))
                        .col_expr(C::BaseSha256, Expr::value(Option::<ContentHash>::None))
                        // Chains already ending at it are of unknown length: none may grow.
                        .col_expr(C::ChainHeight, Expr::value(MAX_CHAIN))
                        .filter(C::Sha256.eq(ContentHash::from_trusted(dependent.clone())))
                        .exec(tx)
                        .await?;
                }
                // It is lost already; the redaction goes on, and `verify` reports it.
                Some(Unpacked::Damaged(error)) => {
                    tracing::error!(blob = %dependent, %error, "a stored text cannot be read");
                }
                Some(Unpacked::Purged) | None => {}
            }
        }
    }
    blob::Entity::update_many()
        .col_expr(C::Content, Expr::value(""))
        .col_expr(C::Packing, Expr::value(Packing::Plain.code()))
        .col_expr(C::Packed, Expr::value(Option::<Vec<u8>>::None))
        .col_expr(C::BaseSha256, Expr::value(Option::<ContentHash>::None))
        .col_expr(C::PurgedAt, Expr::value(at))
        .filter(C::Sha256.eq(hash.clone()))
        .exec(tx)
        .await?;
    Ok(())
}
