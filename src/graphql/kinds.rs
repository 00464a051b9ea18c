//! The GraphQL enums that mirror the store's named kinds, variant by variant.

use async_graphql::Enum;

use crate::store;

/// What kind of work a document is.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "DocumentKind")]
pub enum DocumentKind {
    Article,
    Letter,
    Report,
    Statement,
    Other,
}

/// What kind of agent (in the W3C PROV sense) an agent is.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentKind {
    Person,
    Organization,
    Software,
}

/// What kind of thing a source is.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
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
pub enum CitationRelation {
    Quotes,
    Paraphrases,
    Cites,
    Supports,
    Disputes,
}

/// How a citation came to be in its citing revision.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
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

mirror_enum!(DocumentKind, store::DocumentKind { Article, Letter, Report, Statement, Other });
mirror_enum!(AgentKind, store::AgentKind { Person, Organization, Software });
mirror_enum!(
    SourceKind,
    store::SourceKind { WebPage, Letter, Report, Print, Interview, Dataset, Other }
);
mirror_enum!(
    CitationRelation,
    store::CitationRelation { Quotes, Paraphrases, Cites, Supports, Disputes }
);
mirror_enum!(CitationAnchor, store::AnchorState { Created, Reanchored, Carried, Orphaned });
