//! What an answer read, so that the response cache can keep it past writes to other documents.
//!
//! A query is *document-scoped* when every field it selects reads only what belongs to the
//! documents its root fields find (`Query.document`, `Query.revision`, and `Query.documents`,
//! whose pages also read which documents there are, `DocumentId::LISTED`): their rows,
//! revisions, texts, captures and redactions, and the agents and sources those name (records
//! shared by all, whose changes the store logs as changes to everything). That is decided once
//! per query text, from its fields alone, against the table in `owned`: a field not in it
//! (citations, other lists, search, proofs, anything added later) makes the answer read
//! everything, so a field forgotten here costs the cache a replay, never an answer. At run
//! time the root fields say which documents they found; one that finds none reads
//! everything, since a document made later would change its answer.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use async_graphql::Context;
use async_graphql::parser::types::{
    ExecutableDocument, FragmentDefinition, OperationType, Selection, SelectionSet,
};
use async_graphql::{Name, Positioned};

use crate::store::DocumentId;

/// What one answer read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reads {
    /// Anything: a write to anything may change it.
    Everything,
    /// Only these documents (and the shared records they name).
    Documents(BTreeSet<DocumentId>),
}

/// What a request's answer reads, gathered as it runs.
#[derive(Debug, Default)]
pub struct ReadSet(Mutex<Gathered>);

#[derive(Debug, Default)]
struct Gathered {
    /// Whether the query is document-scoped; until that is known, it reads everything.
    scoped: bool,
    /// A root field found no document.
    missed: bool,
    documents: BTreeSet<DocumentId>,
}

impl ReadSet {
    fn gathered(&self) -> std::sync::MutexGuard<'_, Gathered> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether the query text is document-scoped (`document_scoped`).
    pub(crate) fn set_scoped(&self, scoped: bool) {
        self.gathered().scoped = scoped;
    }

    /// What the answer read.
    pub fn reads(&self) -> Reads {
        let gathered = self.gathered();
        match gathered.scoped && !gathered.missed {
            true => Reads::Documents(gathered.documents.clone()),
            false => Reads::Everything,
        }
    }
}

/// Records what a page of documents read: each of them and which there are, or, in an order
/// that revisions change, everything.
pub(crate) fn listed<'a>(
    ctx: &Context<'_>,
    documents: impl IntoIterator<Item = &'a DocumentId>,
    order_stable: bool,
) {
    if !order_stable {
        return found(ctx, None);
    }
    found(ctx, Some(DocumentId::LISTED));
    for document in documents {
        found(ctx, Some(*document));
    }
}

/// Records what a root field found: the document it read, or none.
pub(crate) fn found(ctx: &Context<'_>, document: Option<DocumentId>) {
    if let Ok(reads) = ctx.data::<Arc<ReadSet>>() {
        let mut gathered = reads.gathered();
        match document {
            Some(document) => {
                gathered.documents.insert(document);
            }
            None => gathered.missed = true,
        }
    }
}

/// What a field of the table returns: a value, or an object of the named type.
#[derive(Clone, Copy)]
enum Child {
    Leaf,
    Object(&'static str),
}

/// The fields that read only what belongs to their object's document, with what they return.
/// Root fields (on `Query`) must record what they found (`found`).
fn owned(parent: &str, field: &str) -> Option<Child> {
    use Child::{Leaf, Object};
    if field == "__typename" {
        return Some(Leaf);
    }
    Some(match (parent, field) {
        // The schema itself, which no write changes.
        ("Query", "__schema" | "__type") => Leaf,
        ("Query", "document") => Object("Document"),
        ("Query", "revision") => Object("Revision"),
        // A page of documents reads them and which there are (`DocumentId::LISTED`); in the
        // order of their updates it reads everything (`DocumentConnection::load`).
        ("Query", "documents") => Object("DocumentConnection"),
        ("DocumentConnection", "totalCount") => Leaf,
        ("DocumentConnection", "nodes") => Object("Document"),
        ("DocumentConnection", "edges") => Object("DocumentEdge"),
        ("DocumentConnection", "pageInfo") => Object("PageInfo"),
        ("DocumentEdge", "cursor") => Leaf,
        ("DocumentEdge", "node") => Object("Document"),
        (
            "Document",
            "id" | "uuid" | "slug" | "kind" | "title" | "url" | "createdAt" | "updatedAt",
        ) => Leaf,
        ("Document", "head" | "revision" | "asOf") => Object("Revision"),
        ("Document", "revisions") => Object("RevisionConnection"),
        ("RevisionConnection", "totalCount") => Leaf,
        ("RevisionConnection", "nodes") => Object("Revision"),
        ("RevisionConnection", "edges") => Object("RevisionEdge"),
        ("RevisionConnection", "pageInfo") => Object("PageInfo"),
        ("RevisionEdge", "cursor") => Leaf,
        ("RevisionEdge", "node") => Object("Revision"),
        ("PageInfo", "hasNextPage" | "hasPreviousPage" | "startCursor" | "endCursor") => Leaf,
        (
            "Revision",
            "id" | "hash" | "number" | "title" | "content" | "contentBytes" | "contentHash"
            | "createdAt" | "message" | "header" | "logIndex" | "url",
        ) => Leaf,
        ("Revision", "document") => Object("Document"),
        ("Revision", "parent") => Object("Revision"),
        ("Revision", "author") => Object("Agent"),
        ("Revision", "source") => Object("Source"),
        ("Revision", "capture") => Object("RevisionCapture"),
        ("Revision", "sightings") => Object("RevisionSightings"),
        ("Revision", "redaction") => Object("Redaction"),
        ("Revision", "blame") => Object("Blame"),
        ("Blame", "lines") => Object("BlameLine"),
        ("Blame", "ranges") => Object("BlameRange"),
        ("BlameLine", "number" | "text") | ("BlameRange", "startLine" | "endLine") => Leaf,
        ("BlameLine" | "BlameRange", "revision") => Object("Revision"),
        ("Redaction", "reason" | "redactedAt" | "erasedAt") => Leaf,
        ("Redaction", "agent") => Object("Agent"),
        ("Agent", "id" | "uuid" | "name" | "agentKind" | "kind") => Leaf,
        (
            "Source",
            "id" | "uuid" | "kind" | "sourceKind" | "title" | "sourceTitle" | "url" | "sourceUrl"
            | "archiveUrl" | "authors" | "publisher" | "publishedAt" | "retrievedAt" | "license"
            | "recipients" | "createdAt",
        ) => Leaf,
        (
            "RevisionCapture",
            "url" | "finalUrl" | "status" | "fetchedAt" | "payloadDigest" | "warcRecordId"
            | "warcUrl",
        ) => Leaf,
        ("RevisionSightings", "count" | "firstSeenAt" | "lastSeenAt") => Leaf,
        _ => return None,
    })
}

/// Whether every operation of `document` is a query that selects only fields of the table.
pub(crate) fn document_scoped(document: &ExecutableDocument) -> bool {
    let mut walk = Walk { fragments: &document.fragments, memo: HashMap::new() };
    document.operations.iter().all(|(_, operation)| {
        operation.node.ty == OperationType::Query
            && walk.selection_set(&operation.node.selection_set.node, "Query")
    })
}

struct Walk<'a> {
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    /// Fragments already walked, on the type they were spread on.
    memo: HashMap<(&'a str, &'static str), bool>,
}

impl<'a> Walk<'a> {
    fn selection_set(&mut self, set: &'a SelectionSet, ty: &'static str) -> bool {
        set.items.iter().all(|item| match &item.node {
            Selection::Field(field) => {
                let field = &field.node;
                match owned(ty, field.name.node.as_str()) {
                    None => false,
                    Some(Child::Leaf) => true,
                    Some(Child::Object(child)) => {
                        self.selection_set(&field.selection_set.node, child)
                    }
                }
            }
            // A fragment on another type (an interface, say) is not followed: it reads
            // everything.
            Selection::InlineFragment(inline) => {
                let inline = &inline.node;
                inline.type_condition.as_ref().is_none_or(|on| on.node.on.node.as_str() == ty)
                    && self.selection_set(&inline.selection_set.node, ty)
            }
            Selection::FragmentSpread(spread) => {
                self.fragment(spread.node.fragment_name.node.as_str(), ty)
            }
        })
    }

    /// The shape measure has already refused fragments that spread themselves.
    fn fragment(&mut self, name: &'a str, ty: &'static str) -> bool {
        if let Some(&scoped) = self.memo.get(&(name, ty)) {
            return scoped;
        }
        let scoped = match self.fragments.get(name) {
            Some(definition) if definition.node.type_condition.node.on.node.as_str() == ty => {
                self.selection_set(&definition.node.selection_set.node, ty)
            }
            _ => false,
        };
        self.memo.insert((name, ty), scoped);
        scoped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_schema;
    use async_graphql::parser::types::{BaseType, FieldDefinition, TypeKind, TypeSystemDefinition};

    /// The `(type, field)` pairs of `owned` besides `__typename` and the two on `Query` that
    /// are introspection's.
    const TABLE_ENTRIES: usize = 94;

    fn scoped(query: &str) -> bool {
        document_scoped(&async_graphql::parser::parse_query(query).unwrap())
    }

    #[test]
    fn a_document_and_its_history_are_document_scoped() {
        assert!(scoped("{ document(slug: \"a\") { id title head { number content } } }"));
        assert!(scoped(
            "query Q($id: ID!) { document(id: $id) { id slug revisions(first: 20) { \
             nodes { number author { name } message createdAt hash } } } }"
        ));
        assert!(scoped(
            "{ revision(hash: \"x\") { ...R document { slug } } } \
             fragment R on Revision { hash source { url } sightings { lastSeenAt } }"
        ));
        assert!(scoped("{ __typename document(slug: \"a\") { ... on Document { slug } } }"));
        // A page of documents: its documents and which there are (`listed`).
        assert!(scoped("{ documents(first: 5) { totalCount nodes { slug head { title } } } }"));
    }

    #[test]
    fn what_reads_beyond_the_document_reads_everything() {
        assert!(!scoped(
            "{ documents(first: 5) { nodes { slug citedBy(first: 1) { totalCount } } } }"
        ));
        assert!(!scoped("{ document(slug: \"a\") { citedBy(first: 5) { totalCount } } }"));
        assert!(!scoped("{ document(slug: \"a\") { head { inclusionProof { treeSize } } } }"));
        assert!(!scoped("{ node(id: \"x\") { ... on Document { slug } } }"));
        assert!(!scoped("{ document(slug: \"a\") { ... on Node { id } } }"));
        assert!(!scoped("{ revision(hash: \"x\") { ...D } } fragment D on Document { slug }"));
        assert!(!scoped("mutation { __typename }"));
        assert!(!scoped(
            "query A { document(slug: \"a\") { slug } } query B { search(query: \"x\") { totalCount } }"
        ));
    }

    /// Every entry of the table met in the schema returns the type it says: a wrong child type
    /// would walk a selection against the wrong fields.
    #[test]
    fn the_table_agrees_with_the_schema() {
        let sdl = crate::graphql::sdl();
        let schema = parse_schema(&sdl).unwrap();
        let objects: HashMap<&str, &Vec<Positioned<FieldDefinition>>> = schema
            .definitions
            .iter()
            .filter_map(|definition| match definition {
                TypeSystemDefinition::Type(ty) => match &ty.node.kind {
                    TypeKind::Object(object) => Some((ty.node.name.node.as_str(), &object.fields)),
                    _ => None,
                },
                _ => None,
            })
            .collect();
        let mut checked = 0;
        for (name, fields) in &objects {
            for field in fields.iter() {
                let field = &field.node;
                let Some(child) = owned(name, field.name.node.as_str()) else { continue };
                checked += 1;
                let mut ty = &field.ty.node;
                while let BaseType::List(inner) = &ty.base {
                    ty = inner;
                }
                let BaseType::Named(named) = &ty.base else { unreachable!() };
                match child {
                    Child::Object(expected) => {
                        assert_eq!(named.as_str(), expected, "{name}.{}", field.name.node)
                    }
                    Child::Leaf => assert!(
                        !objects.contains_key(named.as_str()),
                        "{name}.{} returns the object {named}, not a value",
                        field.name.node
                    ),
                }
            }
        }
        // The table's entries, each found in the schema.
        assert_eq!(checked, TABLE_ENTRIES, "an entry of the table names no field of the schema");
    }
}
