//! Whole histories in and out: revisions written in batches with their original authors,
//! times, messages and sources (`import_batch`), and the corpus read back in commit order
//! (`corpus_*`). The file format lives in `crate::archive`; this module takes and gives
//! parsed values.
//!
//! An import batch is one transaction and keeps every invariant a single write keeps: each
//! revision extends its document's head as the transaction finds it, times strictly increase
//! along a history, every revision becomes a leaf of the transparency log in order, and each
//! document the batch touches gets one audit event.

mod corpus;
mod import;

pub use import::IndexesPaused;

use std::collections::{HashMap, HashSet};

use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QuerySelect, RelationDef,
};

use super::Store;
use super::error::StoreResult;
use super::kinds::{AgentKind, DocumentKind};
use super::revisions::NewRevision;
use super::sql::ROWS_PER_STATEMENT;
use super::values::{
    AgentId, AgentName, ContentHash, DocumentId, Message, RevisionHash, Slug, SourceId, Timestamp,
    Title,
};
use super::writes::Placement;
use crate::entity::{agent, document, revision, source};

/// An agent as an archive names it, id and all.
#[derive(Debug, Clone)]
pub struct ImportAgent {
    pub id: AgentId,
    pub name: AgentName,
    pub kind: AgentKind,
    pub created_at: Timestamp,
}

/// One revision of an imported history, as read: `seal` hashes it.
#[derive(Debug, Clone)]
pub struct ImportRevision {
    pub document: DocumentId,
    /// The document's slug and kind, used when this revision creates it (number 1).
    pub slug: Slug,
    pub kind: DocumentKind,
    pub number: i64,
    pub parent: Option<RevisionHash>,
    pub title: Title,
    pub content: String,
    pub message: Message,
    pub author: AgentId,
    pub source: Option<SourceId>,
    pub created_at: Timestamp,
    /// Where the document is kept, used when this revision creates it: its collection must be
    /// stored.
    pub placement: Placement,
}

impl ImportRevision {
    /// Its text hashed and its header built and hashed under the hashing contract: what an
    /// import batch holds, so that this work is done where the archive is read, beside the
    /// transaction that writes the batch before, not inside it.
    pub fn seal(self) -> SealedImport {
        let content_hash = ContentHash::of(&self.content);
        let (row, sealed) = NewRevision {
            document: self.document,
            number: self.number,
            parent: self.parent.as_ref(),
            title: &self.title,
            content: &self.content,
            content_hash: &content_hash,
            message: &self.message,
            author: self.author,
            source: self.source,
            created_at: self.created_at,
        }
        .seal();
        SealedImport { revision: self, content_hash, row, hash: sealed.hash, paragraph_keys: None }
    }
}

/// An imported revision with its digests (`ImportRevision::seal`), and, once
/// `with_paragraph_keys` gave them, the keys the search index files its paragraphs under.
#[derive(Debug, Clone)]
pub struct SealedImport {
    revision: ImportRevision,
    content_hash: ContentHash,
    row: revision::ActiveModel,
    hash: RevisionHash,
    paragraph_keys: Option<Vec<i64>>,
}

impl SealedImport {
    pub fn revision(&self) -> &ImportRevision {
        &self.revision
    }

    pub fn content_hash(&self) -> &ContentHash {
        &self.content_hash
    }

    pub fn hash(&self) -> &RevisionHash {
        &self.hash
    }

    /// What it holds in memory, near enough to bound a batch by: its text and its paragraphs'
    /// keys (a text of short lines has more bytes of keys than of text).
    pub fn held_bytes(&self) -> usize {
        let keys = self.paragraph_keys.as_ref().map_or(0, |keys| keys.len());
        self.revision.content.len() + keys * std::mem::size_of::<i64>()
    }

    /// The search index's keys of its title and paragraphs, worked out here rather than by the
    /// transaction that writes the batch (they hash every paragraph).
    pub fn with_paragraph_keys(mut self) -> Self {
        let keys =
            super::search::paragraph_keys(self.revision.title.as_str(), &self.revision.content);
        self.paragraph_keys = Some(keys);
        self
    }
}

/// What one transaction of an import writes: agents and sources first (those already stored
/// are left as they are), then revisions in the order given, each the child of the one
/// before it in its document.
#[derive(Debug, Default)]
pub struct ImportBatch {
    pub agents: Vec<ImportAgent>,
    pub sources: Vec<super::sources::Source>,
    pub revisions: Vec<SealedImport>,
}

/// Where a stored document's history ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEnd {
    pub slug: String,
    pub head: RevisionHash,
    /// The head's text.
    pub content: ContentHash,
    pub number: i64,
    pub created_at: Timestamp,
}

/// A revision as an export writes it: its row, its text (`None` once redacted) and its
/// document's slug and kind.
#[derive(Debug, Clone)]
pub struct CorpusRevision {
    pub revision: super::revisions::Revision,
    pub content: Option<String>,
    pub slug: String,
    pub kind: DocumentKind,
    /// Where its document is kept now, and its embargo.
    pub placement: Placement,
}

impl Store {
    /// Where each of `documents` that is stored stands now, in one query.
    pub async fn history_ends(
        &self,
        documents: &[DocumentId],
    ) -> StoreResult<HashMap<DocumentId, HistoryEnd>> {
        history_ends_in(&self.db, documents).await
    }

    /// The hash of revision `number` of `document`, if it is stored.
    pub async fn revision_hash_at(
        &self,
        document: DocumentId,
        number: i64,
    ) -> StoreResult<Option<RevisionHash>> {
        let hash: Option<RevisionHash> = revision::Entity::find()
            .select_only()
            .column(revision::Column::Hash)
            .filter(revision::Column::DocumentId.eq(document.as_uuid()))
            .filter(revision::Column::Number.eq(number))
            .into_tuple()
            .one(&self.db)
            .await?;
        Ok(hash)
    }

    /// Which of `ids` name stored agents.
    pub async fn stored_agents(&self, ids: &[AgentId]) -> StoreResult<HashSet<AgentId>> {
        let found: Vec<uuid::Uuid> = agent::Entity::find()
            .select_only()
            .column(agent::Column::Id)
            .filter(agent::Column::Id.is_in(ids.iter().map(|id| id.as_uuid())))
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(found.into_iter().map(AgentId::from).collect())
    }

    /// Which of `ids` name stored sources.
    pub async fn stored_sources(&self, ids: &[SourceId]) -> StoreResult<HashSet<SourceId>> {
        let found: Vec<uuid::Uuid> = source::Entity::find()
            .select_only()
            .column(source::Column::Id)
            .filter(source::Column::Id.is_in(ids.iter().map(|id| id.as_uuid())))
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(found.into_iter().map(SourceId::from).collect())
    }
}

fn head_of_document() -> RelationDef {
    document::Entity::belongs_to(revision::Entity)
        .from(document::Column::HeadHash)
        .to(revision::Column::Hash)
        .into()
}

async fn history_ends_in(
    conn: &impl ConnectionTrait,
    documents: &[DocumentId],
) -> StoreResult<HashMap<DocumentId, HistoryEnd>> {
    let mut ends = HashMap::new();
    for chunk in documents.chunks(ROWS_PER_STATEMENT) {
        let rows: Vec<(uuid::Uuid, String, RevisionHash, ContentHash, i64, i64)> =
            document::Entity::find()
                .select_only()
                .column(document::Column::Id)
                .column(document::Column::Slug)
                .column(document::Column::HeadHash)
                .column(revision::Column::ContentSha256)
                .column(revision::Column::Number)
                .column(revision::Column::CreatedAt)
                .join(JoinType::InnerJoin, head_of_document())
                .filter(document::Column::Id.is_in(chunk.iter().map(|d| d.as_uuid())))
                .into_tuple()
                .all(conn)
                .await?;
        for (id, slug, head, content, number, created_at) in rows {
            let end = HistoryEnd {
                slug,
                head,
                content,
                number,
                created_at: Timestamp::from_micros(created_at),
            };
            ends.insert(DocumentId::from(id), end);
        }
    }
    Ok(ends)
}
