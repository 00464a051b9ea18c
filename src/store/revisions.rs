//! Revisions: the read model, how a new one is sealed (hashed over its canonical header), and
//! every read of them: by hash, a document's history in pages or whole, the head at an
//! instant, the revisions captured from a source.

use std::collections::HashSet;

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Select,
};

use super::access::Viewer;
use super::documents::Document;
use super::error::{StoreError, StoreResult};
use super::hashing::RevisionHeader;
use super::page::{Direction, Page, PageRequest};
use super::texts::packing::{self, KeptHeader, UnpackError};
use super::transaction::WriteTransaction;
use super::values::{
    AgentId, ContentHash, DocumentId, Message, RevisionHash, SourceId, Timestamp, Title,
};
use super::{Missing, Store};
use crate::entity::revision;

/// One immutable state of a document, identified by its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    pub hash: RevisionHash,
    pub document_id: DocumentId,
    /// Position in the document's history: 1 for the first revision.
    pub number: i64,
    pub parent: Option<RevisionHash>,
    pub title: String,
    pub content_hash: ContentHash,
    pub author: AgentId,
    pub message: String,
    pub source: Option<SourceId>,
    pub created_at: Timestamp,
    /// How the row keeps the canonical header the hash was computed from (`header()` gives
    /// its bytes).
    pub stored_header: StoredHeader,
    /// The size of the text in bytes of UTF-8.
    pub content_bytes: u64,
    /// Its leaf in the transparency log (`None` only for a revision written before the log
    /// and not appended yet, which `store::migrate` rules out).
    pub log_index: Option<u64>,
    /// Whether its text was redacted (the header and hashes stay).
    pub redacted: bool,
}

/// The canonical header bytes of `row`: unpacked if they are packed, rebuilt from its
/// columns if that is how they are kept.
pub(crate) fn stored_header(row: &revision::Model) -> Result<String, UnpackError> {
    match row.packed_header.as_deref().map(KeptHeader::of) {
        Some(KeptHeader::Frame(frame)) => packing::unpack_header(frame),
        Some(KeptHeader::Rebuilt(_)) => Ok(header_of_columns(row)),
        None => Ok(row.header.clone()),
    }
}

/// The canonical header that `row`'s columns say: what the revision was hashed over, unless
/// one of them was altered.
pub(crate) fn header_of_columns(row: &revision::Model) -> String {
    row_header(row, |header| header.canonical_json())
}

/// What keeps `header` for `row` where `row`'s columns rebuild it exactly: its members'
/// digests (`packing::pack_rebuilt`).
pub(crate) fn digests_if_rebuilt(row: &revision::Model, header: &str) -> Option<Vec<u8>> {
    row_header(row, |rebuilt| {
        (rebuilt.canonical_json() == header)
            .then(|| packing::pack_rebuilt(&rebuilt.member_digests()))
    })
}

/// `f` applied to the header that `row`'s columns make.
pub(crate) fn row_header<T>(row: &revision::Model, f: impl FnOnce(&RevisionHeader) -> T) -> T {
    Revision::from(row.clone()).with_members(f)
}

/// A revision's canonical header as its row keeps it. Most reads of a revision never show the
/// header (a page of revisions, a document's head for its title), and unpacking one was a
/// tenth of such a read's instructions, so it is made only when asked for
/// (`Revision::header`).
#[derive(Debug, Clone)]
pub enum StoredHeader {
    Plain(String),
    /// A zstd frame (`packing::pack_header`).
    Packed(Vec<u8>),
    /// Not kept: it is the canonical header of the revision's own members, as every header
    /// this store writes is.
    Rebuilt,
}

impl StoredHeader {
    fn of(header: String, packed: Option<Vec<u8>>) -> Self {
        match packed {
            Some(kept) if matches!(KeptHeader::of(&kept), KeptHeader::Rebuilt(_)) => {
                StoredHeader::Rebuilt
            }
            Some(frame) => StoredHeader::Packed(frame),
            None => StoredHeader::Plain(header),
        }
    }

    /// The bytes kept, unpacked; `None` for a rebuilt header, which only its revision knows.
    fn text(&self) -> Option<Result<std::borrow::Cow<'_, str>, UnpackError>> {
        match self {
            StoredHeader::Plain(header) => Some(Ok(header.as_str().into())),
            StoredHeader::Packed(frame) => Some(packing::unpack_header(frame).map(Into::into)),
            StoredHeader::Rebuilt => None,
        }
    }
}

/// Equal when they keep the same header, however each keeps it (a frame that cannot be
/// unpacked equals only the same bytes). A rebuilt header is the revision's members, which
/// `Revision`'s equality compares one by one; it equals another rebuilt one.
impl PartialEq for StoredHeader {
    fn eq(&self, other: &Self) -> bool {
        use StoredHeader::*;
        match (self, other) {
            (Rebuilt, Rebuilt) => true,
            (Plain(mine), Plain(theirs)) => mine == theirs,
            (Packed(mine), Packed(theirs)) if mine == theirs => true,
            _ => match (self.text(), other.text()) {
                (Some(Ok(mine)), Some(Ok(theirs))) => mine == theirs,
                _ => false,
            },
        }
    }
}

impl Eq for StoredHeader {}

impl Revision {
    /// The canonical header bytes the hash was computed from: unpacked, or rebuilt from the
    /// revision's members, which are what it was computed over unless the row was altered
    /// (then it no longer hashes to `hash`, as a client checking it sees). A header that cannot
    /// be unpacked reads as empty, which hashes to nothing: every client holding the hash sees
    /// it fail, and `verify` names the damage.
    pub fn header(&self) -> std::borrow::Cow<'_, str> {
        match self.stored_header.text() {
            None => self.with_members(|header| header.canonical_json()).into(),
            Some(Ok(header)) => header,
            Some(Err(error)) => {
                tracing::error!(revision = %self.hash, %error, "stored header cannot be unpacked");
                "".into()
            }
        }
    }

    /// `f` applied to the header this revision's members make.
    pub(crate) fn with_members<T>(&self, f: impl FnOnce(&RevisionHeader) -> T) -> T {
        let title = Title::from_stored(self.title.clone());
        let message = Message::from_stored(self.message.clone());
        f(&RevisionHeader {
            document: self.document_id,
            parent: self.parent.as_ref(),
            title: &title,
            content_sha256: &self.content_hash,
            author: self.author,
            created_at: self.created_at,
            message: &message,
            source: self.source,
        })
    }
}

impl From<revision::Model> for Revision {
    fn from(row: revision::Model) -> Self {
        Revision {
            hash: row.hash,
            document_id: row.document_id.into(),
            number: row.number,
            parent: row.parent_hash,
            title: row.title,
            content_hash: row.content_sha256,
            author: row.author_id.into(),
            message: row.message,
            source: row.source_id.map(SourceId::from),
            created_at: Timestamp::from_micros(row.created_at),
            stored_header: StoredHeader::of(row.header, row.packed_header),
            content_bytes: row.content_bytes.max(0) as u64,
            log_index: row.log_index.map(|i| i as u64),
            redacted: row.redacted,
        }
    }
}

/// The parts of a new revision that the store derives rather than takes from the caller.
pub(crate) struct NewRevision<'a> {
    pub document: DocumentId,
    pub number: i64,
    pub parent: Option<&'a RevisionHash>,
    pub title: &'a Title,
    pub content: &'a str,
    /// SHA-256 of `content`, which the caller has computed already.
    pub content_hash: &'a ContentHash,
    pub message: &'a Message,
    pub author: AgentId,
    pub source: Option<SourceId>,
    pub created_at: Timestamp,
}

impl NewRevision<'_> {
    /// The revision and its row, hashed over the canonical header.
    pub(crate) fn seal(&self) -> (revision::ActiveModel, Revision) {
        let content_hash = self.content_hash;
        let header = RevisionHeader {
            document: self.document,
            parent: self.parent,
            title: self.title,
            content_sha256: content_hash,
            author: self.author,
            created_at: self.created_at,
            message: self.message,
            source: self.source,
        };
        let canonical = header.canonical_json();
        let hash = RevisionHash::of_header(&canonical);
        // The row keeps the time in microseconds, which a leap second (`…:60.5Z`, as an
        // archive may give it) does not survive: such a header is kept as it was hashed.
        let as_stored = RevisionHeader {
            created_at: Timestamp::from_micros(self.created_at.micros()),
            ..header.clone()
        };
        let (stored_header, kept) = if as_stored.canonical_json() == canonical {
            (StoredHeader::Rebuilt, packing::pack_rebuilt(&header.member_digests()))
        } else {
            let frame = packing::pack_header(&canonical);
            (StoredHeader::Packed(frame.clone()), frame)
        };
        let revision = Revision {
            hash,
            document_id: self.document,
            number: self.number,
            parent: self.parent.cloned(),
            title: self.title.as_str().to_owned(),
            content_hash: content_hash.clone(),
            author: self.author,
            message: self.message.as_str().to_owned(),
            source: self.source,
            created_at: self.created_at,
            stored_header,
            content_bytes: self.content.len() as u64,
            log_index: None,
            redacted: false,
        };
        let row = revision::ActiveModel {
            hash: Set(revision.hash.clone()),
            document_id: Set(self.document.as_uuid()),
            number: Set(self.number),
            parent_hash: Set(revision.parent.clone()),
            title: Set(revision.title.clone()),
            content_sha256: Set(content_hash.clone()),
            author_id: Set(self.author.as_uuid()),
            message: Set(revision.message.clone()),
            source_id: Set(self.source.map(|s| s.as_uuid())),
            created_at: Set(self.created_at.micros()),
            header: Set(String::new()),
            content_bytes: Set(self.content.len() as i64),
            log_index: Set(None),
            redacted: Set(false),
            // The columns above are the header's members: mostly only their digests are kept.
            packed_header: Set(Some(kept)),
        };
        (row, revision)
    }
}

/// Appends a sealed revision to the transparency log inside the caller's write transaction,
/// just before its row is inserted, so that the row carries its leaf index.
pub(crate) async fn log(
    transaction: &WriteTransaction<'_>,
    row: &mut revision::ActiveModel,
    revision: &mut Revision,
) -> StoreResult<()> {
    let index = transaction.append_to_log(&revision.hash).await?;
    row.log_index = Set(Some(index as i64));
    revision.log_index = Some(index);
    Ok(())
}

impl Store {
    pub async fn revision(&self, hash: &RevisionHash) -> StoreResult<Option<Revision>> {
        match (find(&self.db, hash).await?, self.on_miss()) {
            (None, Some(primary)) => find(primary, hash).await,
            (found, _) => Ok(found),
        }
    }

    /// The revision `hash` of `document`, or its head; `NotFound` if the hash names no revision
    /// of this document.
    pub async fn revision_of(
        &self,
        document: &Document,
        hash: Option<&RevisionHash>,
    ) -> StoreResult<Revision> {
        revision_of(&self.db, document, hash).await
    }

    /// The revisions among `hashes` that exist, whoever may read them: for reads that decided
    /// already whether their caller may.
    pub(crate) async fn revisions_with_hashes(
        &self,
        hashes: &[RevisionHash],
    ) -> StoreResult<Vec<Revision>> {
        self.revisions_by_hashes(&Viewer::everything(), hashes).await
    }

    /// The revisions among `hashes` that exist and `viewer` may read, in no particular order.
    pub async fn revisions_by_hashes(
        &self,
        viewer: &Viewer,
        hashes: &[RevisionHash],
    ) -> StoreResult<Vec<Revision>> {
        let mut found = readable_revisions(&self.db, viewer, hashes).await?;
        if let Some(primary) = self.on_miss().filter(|_| found.len() < hashes.len()) {
            let have: HashSet<&RevisionHash> = found.iter().map(|r| &r.hash).collect();
            let missed: Vec<RevisionHash> =
                hashes.iter().filter(|h| !have.contains(h)).cloned().collect();
            found.extend(readable_revisions(primary, viewer, &missed).await?);
        }
        Ok(found)
    }

    /// One page of a document's history, newest first; the cursor is the revision number.
    pub async fn list_revisions(
        &self,
        document: DocumentId,
        page: PageRequest<i64>,
    ) -> StoreResult<Page<Revision>> {
        let rows = revision_page_query(document, &page).all(&self.db).await?;
        let rows = rows.into_iter().map(Revision::from).collect();
        Ok(Page::from_probe(rows, page.limit, page.direction))
    }

    pub async fn count_revisions(&self, document: DocumentId) -> StoreResult<u64> {
        Ok(revision::Entity::find()
            .filter(revision::Column::DocumentId.eq(document.as_uuid()))
            .count(&self.db)
            .await?)
    }

    /// The revision that was the document's head at `instant`: the last one created at or
    /// before it. `None` before the document existed.
    pub async fn revision_as_of(
        &self,
        document: DocumentId,
        instant: Timestamp,
    ) -> StoreResult<Option<Revision>> {
        use revision::Column as C;
        Ok(revision::Entity::find()
            .filter(C::DocumentId.eq(document.as_uuid()))
            .filter(C::CreatedAt.lte(instant.micros()))
            .order_by_desc(C::CreatedAt)
            .limit(1)
            .one(&self.db)
            .await?
            .map(Revision::from))
    }

    /// For each of `documents`, the revision that was its head at `instant`, in one query;
    /// documents that did not exist yet are absent.
    pub async fn revisions_as_of(
        &self,
        documents: &[DocumentId],
        instant: Timestamp,
    ) -> StoreResult<Vec<Revision>> {
        use revision::Column as C;
        use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Query};
        let older = Alias::new("older");
        let latest = Query::select()
            .expr(Func::max(Expr::col((older.clone(), C::CreatedAt))))
            .from_as(revision::Entity, older.clone())
            .and_where(
                Expr::col((older.clone(), C::DocumentId)).equals((revision::Entity, C::DocumentId)),
            )
            .and_where(Expr::col((older, C::CreatedAt)).lte(instant.micros()))
            .to_owned();
        Ok(revision::Entity::find()
            .filter(C::DocumentId.is_in(documents.iter().map(|d| d.as_uuid())))
            .filter(
                Expr::col((revision::Entity, C::CreatedAt))
                    .eq(Expr::SubQuery(None, Box::new(latest.into()))),
            )
            .all(&self.db)
            .await?
            .into_iter()
            .map(Revision::from)
            .collect())
    }

    /// One page of the revisions captured from a source, newest first; the cursor is the
    /// revision's (time, hash).
    pub async fn revisions_from_source(
        &self,
        viewer: &Viewer,
        source: SourceId,
        page: PageRequest<(i64, RevisionHash)>,
    ) -> StoreResult<Page<Revision>> {
        use revision::Column as C;
        let document = Expr::col((revision::Entity, C::DocumentId));
        let mut query = revision::Entity::find()
            .filter(C::SourceId.eq(source.as_uuid()))
            .filter(viewer.readable_document_ids(document));
        let older = |(t, h): &(i64, RevisionHash)| {
            Condition::any()
                .add(C::CreatedAt.lt(*t))
                .add(Condition::all().add(C::CreatedAt.eq(*t)).add(C::Hash.lt(h.clone())))
        };
        let newer = |(t, h): &(i64, RevisionHash)| {
            Condition::any()
                .add(C::CreatedAt.gt(*t))
                .add(Condition::all().add(C::CreatedAt.eq(*t)).add(C::Hash.gt(h.clone())))
        };
        if let Some(after) = &page.after {
            query = query.filter(older(after));
        }
        if let Some(before) = &page.before {
            query = query.filter(newer(before));
        }
        query = match page.direction {
            Direction::Forward => query.order_by_desc(C::CreatedAt).order_by_desc(C::Hash),
            Direction::Backward => query.order_by_asc(C::CreatedAt).order_by_asc(C::Hash),
        };
        let rows = query.limit(page.limit + 1).all(&self.db).await?;
        Ok(Page::from_probe(
            rows.into_iter().map(Revision::from).collect(),
            page.limit,
            page.direction,
        ))
    }

    pub async fn count_revisions_from_source(
        &self,
        viewer: &Viewer,
        source: SourceId,
    ) -> StoreResult<u64> {
        let document = Expr::col((revision::Entity, revision::Column::DocumentId));
        Ok(revision::Entity::find()
            .filter(revision::Column::SourceId.eq(source.as_uuid()))
            .filter(viewer.readable_document_ids(document))
            .count(&self.db)
            .await?)
    }
}

/// The revision `hash`, read through `conn` (the pool or a write transaction).
pub(crate) async fn find(
    conn: &impl ConnectionTrait,
    hash: &RevisionHash,
) -> StoreResult<Option<Revision>> {
    Ok(revision::Entity::find_by_id(hash.clone()).one(conn).await?.map(Revision::from))
}

/// The revisions among `hashes` that `viewer` may read, through `conn`.
async fn readable_revisions(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    hashes: &[RevisionHash],
) -> StoreResult<Vec<Revision>> {
    let document = Expr::col((revision::Entity, revision::Column::DocumentId));
    Ok(revision::Entity::find()
        .filter(revision::Column::Hash.is_in(hashes.iter().cloned()))
        .filter(viewer.readable_document_ids(document))
        .all(conn)
        .await?
        .into_iter()
        .map(Revision::from)
        .collect())
}

/// The revision `hash`, which must exist, read through `conn`.
pub(crate) async fn required(
    conn: &impl ConnectionTrait,
    hash: &RevisionHash,
) -> StoreResult<Revision> {
    find(conn, hash)
        .await?
        .ok_or_else(|| StoreError::Unexpected(anyhow::anyhow!("revision {hash} is missing")))
}

/// The one home of "this revision belongs to this document": the revision `hash` of
/// `document`, or its head, read through `conn`.
pub(crate) async fn revision_of(
    conn: &impl ConnectionTrait,
    document: &Document,
    hash: Option<&RevisionHash>,
) -> StoreResult<Revision> {
    let Some(hash) = hash else { return required(conn, &document.head).await };
    find(conn, hash).await?.filter(|r| r.document_id == document.id).ok_or_else(|| {
        StoreError::NotFound(Missing::RevisionOf {
            document: document.slug.clone(),
            revision: hash.clone(),
        })
    })
}

/// The query for one page of a document's history, newest first, one row past the page.
pub(super) fn revision_page_query(
    document: DocumentId,
    page: &PageRequest<i64>,
) -> Select<revision::Entity> {
    revision_page_where(revision::Column::DocumentId.eq(document.as_uuid()), page)
}

/// A page of the history of the document `of_document` picks (one document: the page is
/// ordered by number alone), newest first unless read backward.
pub(super) fn revision_page_where(
    of_document: sea_orm::sea_query::SimpleExpr,
    page: &PageRequest<i64>,
) -> Select<revision::Entity> {
    use revision::Column as C;
    let mut query = revision::Entity::find().filter(of_document);
    if let Some(after) = page.after {
        query = query.filter(C::Number.lt(after));
    }
    if let Some(before) = page.before {
        query = query.filter(C::Number.gt(before));
    }
    query = match page.direction {
        Direction::Forward => query.order_by_desc(C::Number),
        Direction::Backward => query.order_by_asc(C::Number),
    };
    query.limit(page.limit + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_reads_the_same_packed_or_plain() {
        let canonical = r#"{"author":"019abcde-0000-7000-8000-000000000001","content_sha256":"537dd50b26c5a1707437be3d6b35bb85ba9dbc4bb2b4dfded9ee3dfd7fae3a3f","created_at":"2026-11-24T10:15:30.123456Z","document":"019abcde-0123-7456-89ab-0123456789ab","message":"","parent":null,"source":null,"title":"T","type":"palimpsest.revision/v1"}"#;
        let plain = StoredHeader::Plain(canonical.to_owned());
        let packed = StoredHeader::Packed(packing::pack_header(canonical));
        assert_eq!(plain, packed);
        let damaged = StoredHeader::Packed(vec![0x28, 0xb5, 0x2f]);
        assert_ne!(damaged, plain);
        assert_eq!(damaged, damaged.clone());
    }

    #[test]
    fn a_sealed_revision_keeps_only_digests_and_reads_its_header_back_whole() {
        use sea_orm::TryIntoModel;
        let title = Title::parse("Former security chiefs write \u{2014} \"end the war\"").unwrap();
        let message = Message::parse("Captured\tp. 3").unwrap();
        let content = "Hamas has been dismantled as a military and governmental force.\n";
        let content_hash = ContentHash::of(content);
        let (row, sealed) = NewRevision {
            document: DocumentId::parse("019abcde-0123-7456-89ab-0123456789ab").unwrap(),
            number: 1,
            parent: None,
            title: &title,
            content,
            content_hash: &content_hash,
            message: &message,
            author: AgentId::parse("019abcde-0000-7000-8000-000000000001").unwrap(),
            source: None,
            created_at: Timestamp::parse("t", "2026-11-24T10:15:30.123456Z").unwrap(),
        }
        .seal();
        let row = row.try_into_model().unwrap();
        assert!(row.header.is_empty());
        assert_eq!(row.packed_header.as_ref().map(Vec::len), Some(19));
        assert_eq!(stored_header(&row).unwrap(), sealed.header());
        let read = Revision::from(row);
        assert_eq!(read.stored_header, StoredHeader::Rebuilt);
        assert_eq!(read, sealed);
        assert_eq!(RevisionHash::of_header(&read.header()), read.hash);
        assert!(
            read.header().contains(r#""title":"Former security chiefs write — \"end the war\"""#)
        );
        // Kept plain, the same header reads the same.
        let plain = Revision {
            stored_header: StoredHeader::Plain(read.header().into_owned()),
            ..read.clone()
        };
        assert_eq!(plain.header(), read.header());
    }

    #[test]
    fn a_header_the_row_cannot_rebuild_is_kept_whole() {
        use sea_orm::TryIntoModel;
        let title = Title::parse("T").unwrap();
        let message = Message::parse("").unwrap();
        let content_hash = ContentHash::of("x");
        // A leap second: hashed as `:60`, kept by the row as the next minute's `:00`.
        let created_at = Timestamp::parse("t", "2016-12-31T23:59:60.500000Z").unwrap();
        let (row, sealed) = NewRevision {
            document: DocumentId::parse("019abcde-0123-7456-89ab-0123456789ab").unwrap(),
            number: 1,
            parent: None,
            title: &title,
            content: "x",
            content_hash: &content_hash,
            message: &message,
            author: AgentId::parse("019abcde-0000-7000-8000-000000000001").unwrap(),
            source: None,
            created_at,
        }
        .seal();
        assert!(sealed.header().contains(r#""created_at":"2016-12-31T23:59:60.500000Z""#));
        let row = row.try_into_model().unwrap();
        assert_ne!(header_of_columns(&row), sealed.header());
        assert!(matches!(
            row.packed_header.as_deref().map(KeptHeader::of),
            Some(KeptHeader::Frame(_))
        ));
        let read = Revision::from(row);
        assert_eq!(read.header(), sealed.header());
        assert_eq!(RevisionHash::of_header(&read.header()), read.hash);
    }
}
