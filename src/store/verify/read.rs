//! How verification reads the corpus: in a read-only snapshot (so that writes landing during
//! the run are not mistaken for tampering), by ranges of document ids, and in chunks of
//! revisions in `(document, number)` order, each with its stored text.

use std::collections::HashMap;

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    AccessMode, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    DbBackend, EntityTrait, IsolationLevel, QueryFilter, QueryOrder, QuerySelect,
    TransactionOptions, TransactionTrait,
};
use uuid::Uuid;

use crate::entity::{document, log_node, revision};
use crate::store::error::StoreResult;
use crate::store::texts::packing::StoredBlob;
use crate::store::texts::read_stored;
use crate::store::values::RevisionHash;

/// A read-only transaction that sees one state of the database throughout.
/// (On SQLite every read transaction is one snapshot in WAL mode, and the driver has no
/// isolation levels or access modes to set: it would only warn that it ignored them.)
pub(super) async fn snapshot(db: &DatabaseConnection) -> StoreResult<DatabaseTransaction> {
    let postgres = db.get_database_backend() == DbBackend::Postgres;
    Ok(db
        .begin_with_options(TransactionOptions {
            isolation_level: postgres.then_some(IsolationLevel::RepeatableRead),
            access_mode: postgres.then_some(AccessMode::ReadOnly),
            sqlite_transaction_mode: None,
        })
        .await?)
}

/// The documents a verification covers.
#[derive(Debug, Clone, Copy)]
pub(super) enum Range {
    /// Ids after `after`, through `through` (each unbounded when `None`).
    Between {
        after: Option<Uuid>,
        through: Option<Uuid>,
    },
    Only(Uuid),
}

impl Range {
    /// The range as a condition on a column of document ids.
    fn on(&self, column: impl Fn() -> Expr) -> Condition {
        match *self {
            Range::Only(id) => Condition::all().add(column().eq(id)),
            Range::Between { after, through } => Condition::all()
                .add_option(after.map(|after| column().gt(after)))
                .add_option(through.map(|through| column().lte(through))),
        }
    }

    pub(super) fn revisions(&self) -> Condition {
        self.on(|| Expr::col((revision::Entity, revision::Column::DocumentId)))
    }

    fn documents(&self) -> Condition {
        self.on(|| Expr::col((document::Entity, document::Column::Id)))
    }
}

/// A document as verification holds its chain to it.
pub(super) struct DocumentRow {
    /// Its head, or how many bytes the column holds when that is not a digest.
    pub head: Result<RevisionHash, usize>,
    pub created_at: i64,
    pub updated_at: i64,
}

pub(super) async fn documents(
    conn: &impl ConnectionTrait,
    range: &Range,
) -> StoreResult<HashMap<Uuid, DocumentRow>> {
    let rows: Vec<(Uuid, Vec<u8>, i64, i64)> = document::Entity::find()
        .select_only()
        .columns([
            document::Column::Id,
            document::Column::HeadHash,
            document::Column::CreatedAt,
            document::Column::UpdatedAt,
        ])
        .filter(range.documents())
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, head, created_at, updated_at)| {
            let head = RevisionHash::from_stored(&head).ok_or(head.len());
            (id, DocumentRow { head, created_at, updated_at })
        })
        .collect())
}

/// The revisions whose digests are 32 bytes each, as the store writes them: those the checks
/// read. `malformed` names the others.
pub(super) fn well_formed() -> Condition {
    Condition::all()
        .add(hash_well_formed())
        .add(Expr::cust("length(revisions.content_sha256) = 32"))
        .add(Expr::cust("(revisions.parent_hash IS NULL OR length(revisions.parent_hash) = 32)"))
}

/// The revisions whose own hash is 32 bytes: those that have a leaf to give.
pub(super) fn hash_well_formed() -> Expr {
    Expr::cust("length(revisions.hash) = 32")
}

/// A revision with a digest column that does not hold 32 bytes.
pub(super) struct Malformed {
    pub document: Uuid,
    pub number: i64,
    /// The lengths of its `hash`, `parent_hash` and `content_sha256`, in bytes.
    pub lengths: [Option<i64>; 3],
}

/// The revisions in `range` that `well_formed` leaves out (none but after tampering: a scan
/// of the range's revisions, without reading their rows' other columns).
pub(super) async fn malformed(
    conn: &impl ConnectionTrait,
    range: &Range,
) -> StoreResult<Vec<Malformed>> {
    let length = |column: &str| Expr::cust(format!("CAST(length(revisions.{column}) AS BIGINT)"));
    type Row = (Uuid, i64, Option<i64>, Option<i64>, Option<i64>);
    let rows: Vec<Row> = revision::Entity::find()
        .select_only()
        .columns([revision::Column::DocumentId, revision::Column::Number])
        .expr(length("hash"))
        .expr(length("parent_hash"))
        .expr(length("content_sha256"))
        .filter(range.revisions())
        .filter(well_formed().not())
        .order_by_asc(revision::Column::DocumentId)
        .order_by_asc(revision::Column::Number)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(document, number, hash, parent, content)| Malformed {
            document,
            number,
            lengths: [hash, parent, content],
        })
        .collect())
}

/// A chunk of revisions as read, before it is checked.
pub(super) struct Chunk {
    pub rows: Vec<revision::Model>,
    /// The stored blobs of the chunk's unredacted revisions' texts, and of every text on
    /// their chains of deltas, still packed (they are unpacked on the compute pool).
    pub blobs: Vec<StoredBlob>,
    pub leaves: HashMap<i64, Vec<u8>>,
}

/// The next `limit` revisions after `cursor` in `(document, number)` order, and their stored
/// texts (one query each); and, if asked, their leaves.
pub(super) async fn chunk(
    conn: &impl ConnectionTrait,
    range: &Range,
    cursor: Option<(Uuid, i64)>,
    limit: u64,
    with_leaves: bool,
) -> StoreResult<Option<Chunk>> {
    let mut query = revision::Entity::find().filter(range.revisions()).filter(well_formed());
    if let Some(cursor) = cursor {
        query = query.filter(key().gt(key_of(cursor)));
    }
    let rows = query
        .order_by_asc(revision::Column::DocumentId)
        .order_by_asc(revision::Column::Number)
        .limit(limit)
        .all(conn)
        .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    // A redacted revision's text is not read: it is gone by design.
    let mut wanted: Vec<&str> =
        rows.iter().filter(|r| !r.redacted).map(|r| r.content_sha256.hex()).collect();
    wanted.sort_unstable();
    wanted.dedup();
    let blobs = read_stored(conn, &wanted).await?;
    let leaves = if with_leaves { leaves_of(conn, &rows).await? } else { HashMap::new() };
    Ok(Some(Chunk { rows, blobs, leaves }))
}

/// The stored leaves at the log indexes of `rows`.
async fn leaves_of(
    conn: &impl ConnectionTrait,
    rows: &[revision::Model],
) -> StoreResult<HashMap<i64, Vec<u8>>> {
    let indexes: Vec<i64> = rows.iter().filter_map(|r| r.log_index).collect();
    Ok(log_node::Entity::find()
        .filter(log_node::Column::Level.eq(0))
        .filter(log_node::Column::Position.is_in(indexes))
        .all(conn)
        .await?
        .into_iter()
        .map(|node| (node.position, node.hash))
        .collect())
}

/// A revision's place in the order verification reads: `(document_id, number)`, compared as
/// a row value so that the `revisions_by_number` index serves it.
fn key() -> Expr {
    Expr::tuple([
        Expr::col((revision::Entity, revision::Column::DocumentId)),
        Expr::col((revision::Entity, revision::Column::Number)),
    ])
}

fn key_of((document, number): (Uuid, i64)) -> Expr {
    Expr::tuple([Expr::val(document), Expr::val(number)])
}

/// A count or size as stored (never negative unless the database was tampered with).
pub(super) fn unsigned(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}
