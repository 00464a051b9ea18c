//! The GraphQL enums that mirror the store's named kinds, variant by variant: async-graphql's
//! `remote` writes both conversions as exhaustive matches, so a variant added on one side and
//! not the other fails to compile.

use async_graphql::Enum;

/// What kind of work a document is.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "DocumentKind", remote = "crate::store::DocumentKind")]
pub enum DocumentKind {
    Article,
    Letter,
    Report,
    Statement,
    Other,
}

/// What kind of agent (in the W3C PROV sense) an agent is.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::store::AgentKind")]
pub enum AgentKind {
    Person,
    Organization,
    Software,
}

/// What kind of thing a source is.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::store::SourceKind")]
pub enum SourceKind {
    WebPage,
    Letter,
    Report,
    Print,
    Interview,
    Dataset,
    Other,
}

/// How a citing document relates to what it cites.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::store::CitationRelation")]
pub enum CitationRelation {
    Quotes,
    Paraphrases,
    Cites,
    Supports,
    Disputes,
}

/// How a citation came to be in its citing revision.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::store::AnchorState")]
pub enum CitationAnchor {
    /// Added to this revision.
    Created,
    /// Followed from the previous revision: the exact passage is still there.
    Reanchored,
    /// Followed from the previous revision; it names no passage.
    Carried,
    /// Followed from the previous revision, but its passage is gone from this one.
    Orphaned,
}

/// What an audited command did.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::store::AuditAction")]
pub enum AuditAction {
    CreateDocument,
    ReviseDocument,
    AddCitation,
    CreateSource,
    CreateAgent,
    RedactRevision,
    /// At the command line, by the operator.
    CreateToken,
    /// At the command line, by the operator.
    RevokeToken,
    /// At the command line, by the operator (`palimpsest import`): one event per document a
    /// batch extended.
    ImportRevisions,
    /// A page or feed watched (`watchPage`, `watchFeed`, or a feed's new entry).
    AddWatch,
    PauseWatch,
    ResumeWatch,
    RemoveWatch,
    /// A watch made due now (`captureWatchNow`).
    CaptureWatchNow,
    /// A page captured, by the capture agent: the detail says what came of it.
    CapturePage,
    CreateCollection,
    /// A collection made public or restricted; its documents follow.
    SetCollectionVisibility,
    /// An agent made a member of a collection, or its role there changed.
    AddMember,
    RemoveMember,
    /// A document moved into another collection: the detail names both.
    MoveDocument,
    /// A document's embargo set or lifted.
    SetEmbargo,
}

/// How an audited command ended.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::store::AuditOutcome")]
pub enum AuditOutcome {
    Succeeded,
    /// Refused for the caller's role; nothing was written.
    Forbidden,
    /// Lost to the state it found (e.g. the head had moved on); nothing was written.
    Conflict,
    /// A capture that found nothing to keep (the page gone, a fetch that failed, or one
    /// refused by robots.txt or the address rules); the detail says why.
    Failed,
}

/// What verification found wrong, named after the check that failed.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::store::ProblemKind")]
pub enum IntegrityProblemKind {
    /// The stored text does not hash to the revision's content hash.
    ContentHash,
    /// No stored text for a revision that is not redacted.
    ContentMissing,
    /// The recorded size disagrees with the stored text.
    ContentSize,
    /// The stored header does not hash to the revision's hash.
    HeaderHash,
    /// A stored column disagrees with the header member that covers it.
    HeaderField,
    /// The stored header is not the canonical form of a revision header.
    HeaderMalformed,
    /// The parent link does not follow the chain.
    Parent,
    /// The revision number does not follow the chain.
    Number,
    /// The time is not after the parent's.
    Time,
    /// The document's head is not the end of its chain.
    Head,
    /// A document without revisions, or revisions without their document.
    Chain,
    /// A redaction flag without its tombstone, or the reverse.
    Redaction,
    /// A revision with no leaf in the transparency log.
    LogMissing,
    /// A leaf of the log that is not its revision's, or belongs to none.
    LogLeaf,
    /// A stored subtree of the log that the leaves do not make.
    LogNode,
    /// Leaves or nodes past the log's size.
    LogSize,
    /// A signed checkpoint the log no longer matches (rewritten or cut short).
    Checkpoint,
    /// A checkpoint whose signature does not verify with the log's key.
    CheckpointSignature,
}
