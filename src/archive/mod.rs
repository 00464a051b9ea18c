//! The corpus as a file: Palimpsest's archive format (JSON Lines, `docs/archive-format.md`,
//! `docs/archive.schema.json`), written by `palimpsest export` and read by `palimpsest
//! import`. One record per line: agents and sources, then revisions in commit order, each a
//! child of the one before it in its document, with every id, time and hash as stored, so that
//! an export imported into an empty store gives the same headers and hashes.
//!
//! This module maps records to the store's values and back; `export` streams a store into
//! records, `import` checks a file whole and then writes it in batches.

pub mod export;
pub mod import;
pub mod ocfl;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::capture::warc;
use crate::store::{
    Agent, AgentId, AgentName, Capture, CaptureId, Collection, CollectionId, CollectionName,
    CorpusCapture, CorpusRevision, DocumentId, EvidenceKind, EvidenceRecord, ImportAgent,
    ImportRevision, InvalidValue, Message, NewSource, Placement, RevisionHash, SealedImport, Slug,
    Source, SourceFields, SourceId, Timestamp, Title,
};

/// One line of an archive.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record {
    Collection(CollectionRecord),
    Agent(AgentRecord),
    Source(SourceRecord),
    Revision(RevisionRecord),
    Capture(CaptureRecord),
}

/// A collection other than the public one: who may read the documents placed in it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectionRecord {
    pub id: String,
    pub slug: String,
    pub name: String,
    /// `public` or `restricted`.
    pub visibility: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentRecord {
    pub id: String,
    pub name: String,
    /// `person`, `organization` or `software`.
    pub kind: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceRecord {
    pub id: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher: Option<String>,
    #[serde(default)]
    pub authors: Vec<String>,
    #[serde(default)]
    pub recipients: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retrieved_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevisionRecord {
    /// The document's id (a UUID), slug and kind.
    pub document: String,
    pub slug: String,
    pub kind: String,
    /// 1 for the revision that creates the document.
    pub number: i64,
    /// The revision hash; checked against the header when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    pub parent: Option<String>,
    pub title: String,
    pub message: String,
    /// The author's agent id.
    pub author: String,
    pub source: Option<String>,
    pub created_at: String,
    /// SHA-256 of the text; checked when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_sha256: Option<String>,
    /// The text; absent when it was redacted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub redacted: bool,
    /// The collection that keeps the document (an id), absent for the public one; used when
    /// the revision creates the document, as `slug` and `kind` are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection: Option<String>,
    /// The document's embargo, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish_at: Option<String>,
}

/// One capture of a page (`docs/captures.md`) and the HTTP evidence kept with it: what the
/// page's server sent, as WARC records, byte for byte.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptureRecord {
    pub id: String,
    /// The document it wrote or saw (none for a capture that found nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    pub fetched_at: String,
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The revision it wrote, or the head it saw again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_record: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_record: Option<String>,
    /// The capture agent's id.
    pub agent: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceLine>,
}

/// One WARC record kept with a capture.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceLine {
    /// Its `WARC-Record-ID`'s UUID.
    pub id: String,
    /// `request`, `response` or `revisit`.
    pub kind: String,
    /// The records it is stored compressed against: those of one kind for one URL.
    pub chain: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_digest: Option<String>,
    /// The record as written (header and block), base64.
    pub warc: String,
}

fn is_false(value: &bool) -> bool {
    !value
}

impl From<&Agent> for AgentRecord {
    fn from(agent: &Agent) -> Self {
        Self {
            id: agent.id.to_string(),
            name: agent.name.clone(),
            kind: agent.kind.as_str().to_owned(),
            created_at: agent.created_at.to_string(),
        }
    }
}

impl From<&Source> for SourceRecord {
    fn from(source: &Source) -> Self {
        Self {
            id: source.id.to_string(),
            kind: source.kind.as_str().to_owned(),
            title: source.title.clone(),
            url: source.url.clone(),
            publisher: source.publisher.clone(),
            authors: source.authors.clone(),
            recipients: source.recipients.clone(),
            published_at: source.published_at.map(|t| t.to_string()),
            retrieved_at: source.retrieved_at.map(|t| t.to_string()),
            archive_url: source.archive_url.clone(),
            license: source.license.clone(),
            created_at: source.created_at.to_string(),
        }
    }
}

impl From<CorpusRevision> for RevisionRecord {
    fn from(exported: CorpusRevision) -> Self {
        let r = exported.revision;
        Self {
            document: r.document_id.to_string(),
            slug: exported.slug,
            kind: exported.kind.as_str().to_owned(),
            number: r.number,
            hash: Some(r.hash.to_string()),
            parent: r.parent.map(|p| p.to_string()),
            title: r.title,
            message: r.message,
            author: r.author.to_string(),
            source: r.source.map(|s| s.to_string()),
            created_at: r.created_at.to_string(),
            content_sha256: Some(r.content_hash.to_string()),
            content: exported.content,
            redacted: r.redacted,
            collection: Some(exported.placement.collection)
                .filter(|c| *c != CollectionId::PUBLIC)
                .map(|c| c.to_string()),
            publish_at: exported.placement.publish_at.map(|t| t.to_string()),
        }
    }
}

impl From<CorpusCapture> for CaptureRecord {
    fn from(exported: CorpusCapture) -> Self {
        let c = exported.capture;
        Self {
            id: c.id.to_string(),
            document: c.document.map(|d| d.to_string()),
            url: c.url,
            final_url: c.final_url,
            status: c.status,
            fetched_at: c.fetched_at.to_string(),
            outcome: c.outcome.as_str().to_owned(),
            detail: c.detail,
            revision: c.revision.map(|r| r.to_string()),
            payload_digest: c.payload_digest,
            request_record: c.request_record.map(|r| r.to_string()),
            response_record: c.response_record.map(|r| r.to_string()),
            agent: c.agent.to_string(),
            evidence: exported
                .evidence
                .into_iter()
                .map(|r| EvidenceLine {
                    id: r.id.to_string(),
                    kind: r.kind.as_str().to_owned(),
                    chain: r.chain,
                    payload_digest: r.payload_digest,
                    warc: BASE64.encode(&r.bytes),
                })
                .collect(),
        }
    }
}

impl CaptureRecord {
    /// The capture, each evidence record read as WARC with its digests checked and its id and
    /// kind the line's.
    pub fn parse(self) -> Result<CorpusCapture, InvalidValue> {
        let record_id = |field: &'static str, value: &Option<String>| {
            value
                .as_deref()
                .map(|v| Uuid::parse_str(v).map_err(|e| InvalidValue::new(field, e.to_string())))
                .transpose()
        };
        let mut evidence = Vec::with_capacity(self.evidence.len());
        for line in &self.evidence {
            let id = Uuid::parse_str(&line.id)
                .map_err(|e| InvalidValue::new("evidence.id", e.to_string()))?;
            let kind = EvidenceKind::parse(&line.kind).ok_or_else(|| {
                InvalidValue::new("evidence.kind", "is not request, response or revisit")
            })?;
            let bytes = BASE64
                .decode(&line.warc)
                .map_err(|e| InvalidValue::new("evidence.warc", e.to_string()))?;
            let read = warc::read(&bytes, warc::ReadLimits::one_record())
                .map_err(|e| InvalidValue::new("evidence.warc", e.to_string()))?;
            let [record] = read.as_slice() else {
                return Err(InvalidValue::new("evidence.warc", "is not one WARC record"));
            };
            if record.id().uuid() != id || record.kind().as_str() != kind.as_str() {
                return Err(InvalidValue::new(
                    "evidence.warc",
                    format!(
                        "is a {} record {}, not the line's",
                        record.kind().as_str(),
                        record.id().uuid()
                    ),
                ));
            }
            evidence.push(EvidenceRecord {
                id,
                kind,
                chain: line.chain.clone(),
                bytes,
                payload_digest: line.payload_digest.clone(),
                packed: None,
            });
        }
        let capture = Capture {
            id: CaptureId::parse(&self.id)?,
            watch: None,
            document: self.document.as_deref().map(DocumentId::parse).transpose()?,
            url: self.url,
            final_url: self.final_url,
            status: self.status,
            fetched_at: Timestamp::parse("fetched_at", &self.fetched_at)?,
            outcome: self.outcome.parse()?,
            detail: self.detail,
            revision: self.revision.as_deref().map(RevisionHash::parse).transpose()?,
            payload_digest: self.payload_digest,
            request_record: record_id("request_record", &self.request_record)?,
            response_record: record_id("response_record", &self.response_record)?,
            agent: AgentId::parse(&self.agent)?,
        };
        Ok(CorpusCapture { capture, evidence })
    }
}

impl From<&Collection> for CollectionRecord {
    fn from(c: &Collection) -> Self {
        Self {
            id: c.id.to_string(),
            slug: c.slug.to_string(),
            name: c.name.clone(),
            visibility: c.visibility.as_str().to_owned(),
            created_at: c.created_at.to_string(),
        }
    }
}

impl CollectionRecord {
    pub fn parse(&self) -> Result<Collection, InvalidValue> {
        Ok(Collection {
            id: CollectionId::parse(&self.id)?,
            slug: Slug::parse(&self.slug)?,
            name: CollectionName::parse(&self.name)?.as_str().to_owned(),
            visibility: self.visibility.parse()?,
            created_at: Timestamp::parse("created_at", &self.created_at)?,
        })
    }
}

impl AgentRecord {
    pub fn parse(&self) -> Result<ImportAgent, InvalidValue> {
        Ok(ImportAgent {
            id: AgentId::parse(&self.id)?,
            name: AgentName::parse(&self.name)?,
            kind: self.kind.parse()?,
            created_at: Timestamp::parse("created_at", &self.created_at)?,
        })
    }
}

impl SourceRecord {
    pub fn parse(&self) -> Result<Source, InvalidValue> {
        let time = |field, value: &Option<String>| {
            value.as_deref().map(|v| Timestamp::parse(field, v)).transpose()
        };
        let parsed = NewSource::parse(SourceFields {
            kind: Some(self.kind.parse()?),
            title: self.title.as_deref(),
            url: self.url.as_deref(),
            publisher: self.publisher.as_deref(),
            authors: &self.authors,
            recipients: &self.recipients,
            published_at: time("published_at", &self.published_at)?,
            retrieved_at: time("retrieved_at", &self.retrieved_at)?,
            archive_url: self.archive_url.as_deref(),
            license: self.license.as_deref(),
        })?;
        Ok(Source {
            id: SourceId::parse(&self.id)?,
            kind: parsed.kind,
            title: parsed.title,
            url: parsed.url,
            publisher: parsed.publisher,
            authors: parsed.authors.iter().map(|n| n.as_str().to_owned()).collect(),
            recipients: parsed.recipients.iter().map(|n| n.as_str().to_owned()).collect(),
            published_at: parsed.published_at,
            retrieved_at: parsed.retrieved_at,
            archive_url: parsed.archive_url,
            license: parsed.license,
            created_at: Timestamp::parse("created_at", &self.created_at)?,
        })
    }
}

impl RevisionRecord {
    /// The revision, sealed: its text hashed and checked against `content_sha256` and its
    /// header hashed and checked against `hash` where they are given.
    pub fn parse(self) -> Result<SealedImport, InvalidValue> {
        if self.redacted {
            return Err(InvalidValue::new(
                "redacted",
                "a redacted revision cannot be imported: its text is not in the archive",
            ));
        }
        let content = self
            .content
            .ok_or_else(|| InvalidValue::new("content", "is missing (and not redacted)"))?;
        if content.contains('\0') {
            return Err(InvalidValue::new("content", "holds NUL (U+0000)"));
        }
        if self.number < 1 {
            return Err(InvalidValue::new("number", "counts from 1"));
        }
        let revision = ImportRevision {
            document: DocumentId::parse(&self.document)?,
            slug: Slug::parse(&self.slug)?,
            kind: self.kind.parse()?,
            number: self.number,
            parent: self.parent.as_deref().map(RevisionHash::parse).transpose()?,
            title: Title::parse(&self.title)?,
            content,
            message: Message::parse(&self.message)?,
            author: AgentId::parse(&self.author)?,
            source: self.source.as_deref().map(SourceId::parse).transpose()?,
            created_at: Timestamp::parse("created_at", &self.created_at)?,
            placement: Placement {
                collection: self
                    .collection
                    .as_deref()
                    .map(CollectionId::parse)
                    .transpose()?
                    .unwrap_or(CollectionId::PUBLIC),
                publish_at: self
                    .publish_at
                    .as_deref()
                    .map(|at| Timestamp::parse("publish_at", at))
                    .transpose()?,
            },
        };
        let sealed = revision.seal();
        let content_hash = sealed.content_hash();
        if let Some(given) = &self.content_sha256
            && given != content_hash.hex()
        {
            return Err(InvalidValue::new(
                "content_sha256",
                format!("is {given}, but the content hashes to {content_hash}"),
            ));
        }
        let hash = sealed.hash();
        if let Some(given) = &self.hash
            && given != hash.hex()
        {
            return Err(InvalidValue::new(
                "hash",
                format!("is {given}, but the revision's header hashes to {hash}"),
            ));
        }
        Ok(sealed)
    }
}
