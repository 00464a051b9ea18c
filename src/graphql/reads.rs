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
//!
//! A document-scoped query may read no more of each document than its *summary*, what a list of
//! documents shows of it: its slug, kind, title and the like, its head's title and source, and
//! where it is listed (`on_summary`). A revision that keeps its parent's title and source
//! changes only the document's history (`Touched::History`), which leaves such answers as
//! they were; the cache keeps them past it.

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
    /// Only the summaries of these documents (and the shared records they name): a change to
    /// their histories alone leaves the answer as it was.
    Summaries(BTreeSet<DocumentId>),
}

/// How much a query text may read, decided from its fields alone (`scope_of`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Scope {
    #[default]
    Everything,
    /// The documents its root fields find.
    Documents,
    /// The summaries of the documents its root fields find.
    Summaries,
}

/// What a request's answer reads, gathered as it runs.
#[derive(Debug, Default)]
pub struct ReadSet(Mutex<Gathered>);

#[derive(Debug, Default)]
struct Gathered {
    /// How much the query text reads; until that is known, everything.
    scope: Scope,
    /// A root field found no document.
    missed: bool,
    documents: BTreeSet<DocumentId>,
}

impl ReadSet {
    fn gathered(&self) -> std::sync::MutexGuard<'_, Gathered> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How much the query text reads (`scope_of`).
    pub(crate) fn set_scope(&self, scope: Scope) {
        self.gathered().scope = scope;
    }

    /// What the answer read.
    pub fn reads(&self) -> Reads {
        let gathered = self.gathered();
        match (gathered.scope, gathered.missed) {
            (Scope::Everything, _) | (_, true) => Reads::Everything,
            (Scope::Documents, false) => Reads::Documents(gathered.documents.clone()),
            (Scope::Summaries, false) => Reads::Summaries(gathered.documents.clone()),
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

/// The fields of the table that show no more of a document than its summary: what stays as
/// it was when a revision keeps its parent's title and source (`Touched::History`). Asked only
/// of fields `owned` has. A revision is reached on the summary only as its document's head.
fn on_summary(parent: &str, field: &str) -> bool {
    matches!(
        (parent, field),
        (_, "__typename")
            | ("Query", "__schema" | "__type" | "document" | "documents")
            | ("DocumentConnection" | "DocumentEdge" | "PageInfo" | "Source", _)
            | (
                "Document",
                "id" | "uuid" | "slug" | "kind" | "title" | "url" | "createdAt" | "head"
            )
            | ("Revision", "title" | "source" | "document")
    )
}

/// How much the operations of `document` read: everything unless each is a query that
/// selects only fields of the table.
pub(crate) fn scope_of(document: &ExecutableDocument) -> Scope {
    let mut walk = Walk { fragments: &document.fragments, memo: HashMap::new() };
    let scopes = document.operations.iter().map(|(_, operation)| match operation.node.ty {
        OperationType::Query => walk.selection_set(&operation.node.selection_set.node, "Query"),
        _ => Scope::Everything,
    });
    scopes.reduce(both).unwrap_or(Scope::Everything)
}

/// What reads both reads as much as the wider of the two.
fn both(a: Scope, b: Scope) -> Scope {
    match (a, b) {
        (Scope::Everything, _) | (_, Scope::Everything) => Scope::Everything,
        (Scope::Documents, _) | (_, Scope::Documents) => Scope::Documents,
        (Scope::Summaries, Scope::Summaries) => Scope::Summaries,
    }
}

struct Walk<'a> {
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    /// Fragments already walked, on the type they were spread on.
    memo: HashMap<(&'a str, &'static str), Scope>,
}

impl<'a> Walk<'a> {
    fn selection_set(&mut self, set: &'a SelectionSet, ty: &'static str) -> Scope {
        let mut scope = Scope::Summaries;
        for item in &set.items {
            let item = match &item.node {
                Selection::Field(field) => {
                    let name = field.node.name.node.as_str();
                    let reads = match owned(ty, name) {
                        None => Scope::Everything,
                        Some(Child::Leaf) => Scope::Summaries,
                        Some(Child::Object(child)) => {
                            self.selection_set(&field.node.selection_set.node, child)
                        }
                    };
                    match on_summary(ty, name) {
                        true => reads,
                        false => both(reads, Scope::Documents),
                    }
                }
                // A fragment on another type (an interface, say) is not followed: it reads
                // everything.
                Selection::InlineFragment(inline) => {
                    let inline = &inline.node;
                    match inline
                        .type_condition
                        .as_ref()
                        .is_none_or(|on| on.node.on.node.as_str() == ty)
                    {
                        true => self.selection_set(&inline.selection_set.node, ty),
                        false => Scope::Everything,
                    }
                }
                Selection::FragmentSpread(spread) => {
                    self.fragment(spread.node.fragment_name.node.as_str(), ty)
                }
            };
            scope = both(scope, item);
            if scope == Scope::Everything {
                break;
            }
        }
        scope
    }

    /// The shape measure has already refused fragments that spread themselves.
    fn fragment(&mut self, name: &'a str, ty: &'static str) -> Scope {
        if let Some(&scope) = self.memo.get(&(name, ty)) {
            return scope;
        }
        let scope = match self.fragments.get(name) {
            Some(definition) if definition.node.type_condition.node.on.node.as_str() == ty => {
                self.selection_set(&definition.node.selection_set.node, ty)
            }
            _ => Scope::Everything,
        };
        self.memo.insert((name, ty), scope);
        scope
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

    fn scope(query: &str) -> Scope {
        scope_of(&async_graphql::parser::parse_query(query).unwrap())
    }

    fn scoped(query: &str) -> bool {
        scope(query) != Scope::Everything
    }

    #[test]
    fn a_page_showing_titles_and_head_sources_reads_only_summaries() {
        let page = "{ documents(first: 50) { totalCount pageInfo { endCursor } edges { cursor } \
                    nodes { id slug kind title url createdAt \
                    head { __typename title source { url authors retrievedAt } } } } }";
        assert_eq!(scope(page), Scope::Summaries);
        assert_eq!(
            scope("{ document(slug: \"a\") { title head { source { url } } } }"),
            Scope::Summaries
        );
        assert_eq!(
            scope(
                "{ document(slug: \"a\") { ...S } } fragment S on Document { slug head { title } }"
            ),
            Scope::Summaries
        );
    }

    #[test]
    fn what_a_revision_changes_is_read_beyond_the_summary() {
        for field in [
            "updatedAt",
            "head { number }",
            "head { hash }",
            "head { content }",
            "head { author { name } }",
            "head { message }",
            "revisions(first: 1) { totalCount }",
            "revision(number: 1) { title }",
            "asOf(at: \"2026-01-01T00:00:00Z\") { title }",
        ] {
            let query = format!("{{ documents(first: 5) {{ nodes {{ slug {field} }} }} }}");
            assert_eq!(scope(&query), Scope::Documents, "{query}");
        }
        // A revision found by its hash is not its document's head.
        assert_eq!(scope("{ revision(hash: \"x\") { title source { url } } }"), Scope::Documents);
        // Beside a field that reads everything, everything.
        assert_eq!(
            scope("{ documents(first: 5) { nodes { slug citedBy(first: 1) { totalCount } } } }"),
            Scope::Everything
        );
        assert_eq!(
            scope(
                "query A { document(slug: \"a\") { slug } } query B { document(slug: \"b\") { updatedAt } }"
            ),
            Scope::Documents
        );
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
