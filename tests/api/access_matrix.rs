//! The access matrix: every root field of the schema (queries, mutations, subscriptions), every
//! field that leads from elsewhere to documents, revisions or citations, and every route is
//! classified here, read from the schema and the route table, so that one added later fails
//! this test until it is. Each one that can reveal a document is probed: with the identifiers
//! of a document in a restricted collection (its id, slug, hash, a word only its text holds), a
//! caller outside the collection must get exactly what it got before that document existed —
//! the answer for a document that does not exist — and a member must get the data.

use std::collections::BTreeSet;
use std::time::Duration;

use async_graphql::parser::parse_schema;
use async_graphql::parser::types::{BaseType, TypeKind, TypeSystemDefinition};
use base64::Engine;
use futures_util::StreamExt;
use serde_json::{Value, json};

use palimpsest::store::{Role, Slug};

use crate::helpers::{TestApp, assert_no_errors, request_context, scrubbed};

crate::on_both_backends!(
    every_way_to_a_document_answers_an_outsider_as_if_it_did_not_exist,
    every_field_and_route_that_can_reveal_a_document_is_classified,
);

/// How a field or route is held to the rule.
enum Class {
    /// A GraphQL operation that reaches documents through it (placeholders: `{GID}`, `{ID}`,
    /// `{SLUG}`, `{HASH}`, `{TERM}`, `{SOURCE}`, `{CITING}`), run by readers.
    Read(&'static str),
    /// A mutation naming the document, run by an admin and an editor of no collection.
    Write(&'static str),
    /// A subscription, its first answer (or silence) compared.
    Subscribe(&'static str),
    /// A route (its path with placeholders), GET by an anonymous client.
    Get(&'static str),
    /// Reached only through what the named probe or test holds to the rule.
    Through(&'static str),
    /// Reveals no document, or only to whom it is meant for: why.
    Not(&'static str),
}

use Class::*;

const CITED_BY: &str = "Read: Document.citedBy of the public document the hidden one cites";
const WRITE_RESULT: &str = "a write's own result, answered only to a caller who may write there";

/// Every root field, every field elsewhere that returns documents, revisions or citations, and
/// every route, with how it is held to the rule.
const MATRIX: &[(&str, Class)] = &[
    (
        "Query.document",
        // Each key both with and without the head (a selection without it reads no join).
        Read(
            r#"{ a: document(slug: "{SLUG}") { id title } b: document(id: "{GID}") { id } c: document(slug: "{SLUG}") { slug } d: document(id: "{GID}") { head { hash } } e: document(id: "{GID}") { id revisions(first: 5) { nodes { hash author { name } } } } f: document(slug: "{SLUG}") { slug revisions { nodes { number } } } }"#,
        ),
    ),
    ("Query.documents", Read("{ documents(first: 50) { totalCount nodes { slug } } }")),
    ("Query.node", Read(r#"{ node(id: "{GID}") { id } }"#)),
    ("Query.nodes", Read(r#"{ nodes(ids: ["{GID}", "{REVISION}"]) { id } }"#)),
    ("Query.revision", Read(r#"{ revision(hash: "{HASH}") { hash content } }"#)),
    (
        "Query.diff",
        Read(
            r#"{ diff(from: "{PUBLIC_HASH}", to: "{HASH}") { stats { insertions deletions } to { hash } } }"#,
        ),
    ),
    (
        "Query.search",
        Read(
            r#"{ a: search(query: "{TERM}") { nodes { document { slug } snippet score } } b: search(query: "{TERM}", scope: HISTORY) { nodes { revision { hash } } } }"#,
        ),
    ),
    ("Query.cite", Read(r#"{ cite(documents: ["{GID}"], format: BIBTEX) { text } }"#)),
    (
        "Query.changeReceipt",
        Read(r#"{ changeReceipt(document: "{SLUG}", from: "{HASH}", to: "{HASH}") }"#),
    ),
    (
        "Query.driftedCitations",
        Read("{ driftedCitations(first: 50) { drifts { citation { id } } } }"),
    ),
    (
        "Query.sources",
        Read(
            "{ sources(first: 50) { nodes { id revisions(first: 10) { totalCount nodes { hash } } } } }",
        ),
    ),
    ("Query.collections", Read("{ collections { slug } }")),
    ("Query.collection", Read(r#"{ collection(slug: "drafts") { slug } }"#)),
    ("Query.verification", Not("admins only: it reads every document (Permission::VerifyCorpus)")),
    (
        "Query.auditEvents",
        Not("archivists and admins only; docs/access.md says what an archivist sees"),
    ),
    (
        "Query.watches",
        Not(
            "editors, archivists and admins only; a watch's document is null to whom may not read it",
        ),
    ),
    (
        "Query.transparencyLog",
        Not("the log holds every revision hash, which tells nothing of a text (docs/access.md)"),
    ),
    ("Query.consistencyProof", Not("proofs between tree sizes name no document")),
    ("Query.queryCost", Not("prices a query's text without running it")),
    ("Query.rateLimit", Not("the caller's own allowance")),
    ("Query.viewer", Not("the caller's own agent")),
    (
        "Mutation.reviseDocument",
        Write(
            r#"mutation { reviseDocument(input: { documentId: "{GID}", expectedHead: "{HASH}", content: "x" }) { revision { hash } } }"#,
        ),
    ),
    (
        "Mutation.addCitation",
        Write(
            r#"mutation { addCitation(input: { documentId: "{CITING}", relation: CITES, target: { documentId: "{GID}" } }) { citation { id } } }"#,
        ),
    ),
    (
        "Mutation.redactRevision",
        Write(
            r#"mutation { redactRevision(input: { hash: "{HASH}", reason: "takedown" }) { revision { hash } } }"#,
        ),
    ),
    (
        "Mutation.createDocument",
        Not(
            "slugs are one namespace: a taken slug is CONFLICT, hidden or not (docs/access.md); into a collection one may not see, NOT_FOUND",
        ),
    ),
    ("Mutation.watchPage", Not("as createDocument: a slug a hidden document holds is CONFLICT")),
    ("Mutation.watchFeed", Not("names no document")),
    ("Mutation.captureWatchNow", Not("names a watch, not a document")),
    ("Mutation.pauseWatch", Not("names a watch, not a document")),
    ("Mutation.resumeWatch", Not("names a watch, not a document")),
    ("Mutation.removeWatch", Not("names a watch, not a document")),
    ("Mutation.createSource", Not("names no document")),
    ("Mutation.createAgent", Not("names no document")),
    ("Mutation.createCollection", Not("admins only: they manage who may read what")),
    ("Mutation.setCollectionVisibility", Not("admins only")),
    ("Mutation.setCollectionMember", Not("admins only")),
    ("Mutation.removeCollectionMember", Not("admins only")),
    ("Mutation.moveDocument", Not("admins only: an admin manages every document")),
    ("Mutation.setEmbargo", Not("admins only: an admin manages every document")),
    (
        "Subscription.documentChanged",
        Subscribe(r#"subscription { documentChanged(slugs: ["{SLUG}"]) { revision { hash } } }"#),
    ),
    (
        "Subscription.citationDrift",
        Through(
            "access::a_subscriber_hears_of_a_document_only_while_it_may_read_it: each event is checked as documentChanged's",
        ),
    ),
    (
        "Citation.citingDocument",
        Read(
            r#"{ document(slug: "{CITED}") { citedBy(first: 10) { totalCount nodes { citingDocument { slug } citingRevision { hash } origin { id } } } } }"#,
        ),
    ),
    ("Citation.citingRevision", Through(CITED_BY)),
    ("Citation.origin", Through(CITED_BY)),
    (
        "Citation.targetDocument",
        Through("access::a_public_document_citing_a_hidden_one_names_it_to_no_outsider"),
    ),
    (
        "Citation.targetRevision",
        Through("access::a_public_document_citing_a_hidden_one_names_it_to_no_outsider"),
    ),
    (
        "QuoteVerification.against",
        Through("access::a_public_document_citing_a_hidden_one_names_it_to_no_outsider"),
    ),
    ("CitationConnection.edges", Through(CITED_BY)),
    ("CitationConnection.nodes", Through(CITED_BY)),
    ("CitationEdge.node", Through(CITED_BY)),
    ("CitationDrift.citation", Through("Read: Query.driftedCitations")),
    ("CitationDriftPage.drifts", Through("Read: Query.driftedCitations")),
    ("CitationDriftEvent.citation", Through("Subscription.citationDrift")),
    ("CitationDriftEvent.revision", Through("Subscription.citationDrift")),
    ("DocumentChange.document", Through("Subscription.documentChanged")),
    ("DocumentChange.revision", Through("Subscription.documentChanged")),
    ("DocumentConnection.edges", Through("Read: Query.documents")),
    ("DocumentConnection.nodes", Through("Read: Query.documents")),
    ("DocumentEdge.node", Through("Read: Query.documents")),
    ("RevisionConnection.edges", Through("Read: Query.sources (Source.revisions)")),
    ("RevisionConnection.nodes", Through("Read: Query.sources (Source.revisions)")),
    ("RevisionEdge.node", Through("Read: Query.sources (Source.revisions)")),
    ("Source.revisions", Through("Read: Query.sources")),
    ("SearchHit.document", Through("Read: Query.search")),
    ("SearchHit.revision", Through("Read: Query.search")),
    ("SearchHit.since", Through("Read: Query.search")),
    ("SearchHit.until", Through("Read: Query.search")),
    ("SearchHitConnection.edges", Through("Read: Query.search")),
    ("SearchHitConnection.nodes", Through("Read: Query.search")),
    ("SearchHitEdge.node", Through("Read: Query.search")),
    ("Diff.from", Through("Read: Query.diff")),
    ("Diff.to", Through("Read: Query.diff")),
    ("BlameLine.revision", Not("a readable document's own revisions")),
    ("BlameRange.revision", Not("a readable document's own revisions")),
    ("Watch.document", Not("null to a caller who may not read it (the DocumentId loader)")),
    ("CreateDocumentPayload.document", Not(WRITE_RESULT)),
    ("CreateDocumentPayload.revision", Not(WRITE_RESULT)),
    ("ReviseDocumentPayload.document", Not(WRITE_RESULT)),
    ("ReviseDocumentPayload.revision", Not(WRITE_RESULT)),
    ("AddCitationPayload.citation", Not(WRITE_RESULT)),
    ("RedactRevisionPayload.revision", Not(WRITE_RESULT)),
    ("DocumentPayload.document", Not("an admin's management of a document")),
    ("GET, HEAD /", Get("/")),
    ("GET, HEAD /search", Get("/search?q={TERM}")),
    ("GET, HEAD /documents/{slug}", Get("/documents/{SLUG}")),
    ("GET, HEAD /documents/{slug}/text", Get("/documents/{SLUG}/text")),
    ("GET, HEAD /documents/{slug}/timemap", Get("/documents/{SLUG}/timemap")),
    (
        "GET, HEAD /documents/{slug}/revisions/{hash}/text",
        Get("/documents/{SLUG}/revisions/{HASH}/text"),
    ),
    ("GET, HEAD /documents/{slug}/revisions/{hash}", Get("/documents/{SLUG}/revisions/{HASH}")),
    (
        "GET, HEAD /documents/{slug}/revisions/{hash}/capture.warc.gz",
        Get("/documents/{SLUG}/revisions/{HASH}/capture.warc.gz"),
    ),
    ("GET, HEAD /documents/{slug}/receipt", Get("/documents/{SLUG}/receipt?from={HASH}&to={HASH}")),
    ("GET, HEAD /documents/{slug}/history", Get("/documents/{SLUG}/history")),
    ("GET, HEAD /documents/{slug}/diff", Get("/documents/{SLUG}/diff?to={HASH}")),
    ("GET, HEAD /documents/{slug}/cite", Get("/documents/{SLUG}/cite?format=bibtex")),
    ("GET, HEAD /documents/{slug}/provenance", Get("/documents/{SLUG}/provenance")),
    ("GET, HEAD /cite", Get("/cite?documents={SLUG}&format=bibtex")),
    ("GET with Upgrade: websocket /graphql", Through("Subscription.documentChanged")),
    ("POST /graphql", Through("every Read and Write probe, POSTed")),
    ("GET, HEAD /graphql", Through("the Read probes: the same executor, read-only")),
    ("GET, HEAD /graphiql/{file}", Not("GraphiQL's static assets, the same for all")),
    ("GET, HEAD /schema.graphql", Not("the schema's text, the same for all")),
    ("GET, HEAD /healthz", Not("whether the process is alive")),
    ("GET, HEAD /readyz", Not("whether the database answers")),
    ("GET, HEAD /metrics", Not("counts of the response cache and the replicas' rotation")),
];

/// The type names whose values are documents, revisions or citations, or hold them.
const BEARING: &[&str] = &[
    "Document",
    "Revision",
    "Citation",
    "CitationConnection",
    "CitationEdge",
    "CitationDrift",
    "CitationDriftPage",
    "CitationDriftEvent",
    "DocumentChange",
    "DocumentConnection",
    "DocumentEdge",
    "RevisionConnection",
    "RevisionEdge",
    "SearchHit",
    "SearchHitConnection",
    "SearchHitEdge",
];

/// What the schema and the route table hold that must be classified: every root field, every
/// field of another type (not `Document` or `Revision`, whose fields a reader reaches only
/// through a document it may read) returning a bearing type, and every route.
fn to_classify() -> BTreeSet<String> {
    let schema = parse_schema(palimpsest::graphql::sdl()).unwrap();
    let mut names = BTreeSet::new();
    for definition in &schema.definitions {
        let TypeSystemDefinition::Type(ty) = definition else { continue };
        let TypeKind::Object(object) = &ty.node.kind else { continue };
        let owner = ty.node.name.node.as_str();
        for field in &object.fields {
            let field = &field.node;
            let mut returned = &field.ty.node;
            while let BaseType::List(inner) = &returned.base {
                returned = inner;
            }
            let BaseType::Named(named) = &returned.base else { unreachable!() };
            let root = matches!(owner, "Query" | "Mutation" | "Subscription");
            let leads =
                !matches!(owner, "Document" | "Revision") && BEARING.contains(&named.as_str());
            if root || leads {
                names.insert(format!("{owner}.{}", field.name.node));
            }
        }
    }
    for route in palimpsest::http::ROUTES {
        names.insert(format!("{} {}", route.methods, route.path));
    }
    names
}

async fn every_field_and_route_that_can_reveal_a_document_is_classified(_app: TestApp) {
    let classified: BTreeSet<String> = MATRIX.iter().map(|(name, _)| (*name).to_owned()).collect();
    assert_eq!(classified.len(), MATRIX.len(), "a name is classified twice");
    let wanted = to_classify();
    let missing: Vec<_> = wanted.difference(&classified).collect();
    let stale: Vec<_> = classified.difference(&wanted).collect();
    assert!(missing.is_empty(), "not classified in MATRIX: {missing:?}");
    assert!(stale.is_empty(), "classified, but not in the schema or the routes: {stale:?}");
    for (name, class) in MATRIX {
        if let Through(why) | Not(why) = class {
            assert!(why.len() > 10, "{name}: say why it reveals no document");
        }
    }
}

/// The identifiers a probe is filled with.
struct Names {
    id: String,
    gid: String,
    revision: String,
    slug: String,
    hash: String,
}

impl Names {
    fn fill(&self, template: &str, shared: &Shared) -> String {
        template
            .replace("{GID}", &self.gid)
            .replace("{ID}", &self.id)
            .replace("{REVISION}", &self.revision)
            .replace("{SLUG}", &self.slug)
            .replace("{HASH}", &self.hash)
            .replace("{PUBLIC_HASH}", &shared.public_hash)
            .replace("{TERM}", TERM)
            .replace("{CITING}", &shared.citing)
            .replace("{CITED}", "open-letter")
    }

    /// Each identifier and the name it is shown by, for comparing answers.
    fn scrub(&self) -> Vec<(&str, &str)> {
        vec![
            (self.gid.as_str(), "<GID>"),
            (self.revision.as_str(), "<REVISION>"),
            (self.hash.as_str(), "<HASH>"),
            (self.id.as_str(), "<ID>"),
        ]
    }
}

/// What every probe shares.
struct Shared {
    public_hash: String,
    /// A public document an outsider may write, to cite from.
    citing: String,
}

/// A word only the restricted document's text holds.
const TERM: &str = "quokkazanzibar";
const SLUG: &str = "hidden-draft";

fn global_id(kind: &str, key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{kind}:{key}"))
}

/// One answer, as it can be compared: the JSON (an HTTP route: its status and body).
async fn probe(
    app: &TestApp,
    class: &Class,
    token: Option<&str>,
    names: &Names,
    shared: &Shared,
) -> Value {
    match class {
        Read(template) | Write(template) => {
            app.query_as(token, &names.fill(template, shared), json!({})).await
        }
        Subscribe(template) => {
            let request = async_graphql::Request::new(names.fill(template, shared));
            let context = request_context(token, "matrix", 100);
            let data = std::sync::Arc::new(async_graphql::Data::default());
            let mut stream = app.schema.execute_stream(request, context, data);
            match tokio::time::timeout(Duration::from_millis(300), stream.next()).await {
                Ok(Some(response)) => serde_json::to_value(response).unwrap(),
                Ok(None) => json!("ended"),
                Err(_) => json!("silent"),
            }
        }
        Get(path) => {
            let url = format!("{}{}", app.address, names.fill(path, shared));
            let response = app.client.get(url).send().await.unwrap();
            let status = response.status().as_u16();
            let body = response.text().await.unwrap();
            json!({ "status": status, "body": body })
        }
        Through(_) | Not(_) => Value::Null,
    }
}

async fn every_way_to_a_document_answers_an_outsider_as_if_it_did_not_exist(app: TestApp) {
    let admin = app.token("Desk Admin", Role::Admin).await;
    let outsider = app.token("Outside Editor", Role::Editor).await;
    let member_token = app.token("Drafts Editor", Role::Reader).await;

    // The public material: a document (the hidden one will cite it) with a source.
    let source = app
        .query_as(
            Some(&admin),
            r#"mutation { createSource(input: { kind: LETTER, title: "The letter" }) { source { id } } }"#,
            json!({}),
        )
        .await;
    assert_no_errors(&source);
    let source = source["data"]["createSource"]["source"]["id"].as_str().unwrap().to_owned();
    let open = app.create_document(&admin, "open-letter", "An open letter, made public.\n").await;
    let public_hash = open["revision"]["hash"].as_str().unwrap();
    let citing = app.create_document(&admin, "citing-note", "A note that cites.\n").await;
    let shared = Shared {
        public_hash: public_hash.to_owned(),
        citing: citing["document"]["id"].as_str().unwrap().to_owned(),
    };

    // What every probe answers while no restricted document exists, for identifiers no
    // document has.
    let never = uuid::Uuid::now_v7().to_string();
    let never_hash = palimpsest::store::ContentHash::of("never written").to_string();
    let missing = Names {
        gid: global_id("Document", &never),
        revision: global_id("Revision", &never_hash),
        id: never,
        slug: SLUG.to_owned(),
        hash: never_hash,
    };
    let readers: [(&str, Option<&str>); 2] =
        [("anonymous", None), ("an outside editor", Some(&outsider))];
    let mut before = Vec::new();
    for (name, class) in MATRIX {
        for (who, token) in callers(class, &readers, &admin, &outsider) {
            if matches!(class, Get(_)) && !app.serves_http() {
                continue;
            }
            let answer = probe(&app, class, token, &missing, &shared).await;
            before.push(((*name, who), scrubbed(&answer, &missing.scrub())));
        }
    }

    // A restricted collection, a member who writes in it, and a document there that cites the
    // public one, from a source, with the word no public text holds — all through the API.
    let drafts = app
        .query_as(
            Some(&admin),
            r#"mutation { createCollection(input: { slug: "drafts", name: "Newsroom drafts", visibility: RESTRICTED }) { collection { id } } }"#,
            json!({}),
        )
        .await;
    assert_no_errors(&drafts);
    let drafts =
        drafts["data"]["createCollection"]["collection"]["id"].as_str().unwrap().to_owned();
    let viewer = app.query_as(Some(&member_token), "{ viewer { id } }", json!({})).await;
    let member = viewer["data"]["viewer"]["id"].as_str().unwrap().to_owned();
    let added = app
        .query_as(
            Some(&admin),
            "mutation($c: ID!, $a: ID!) { setCollectionMember(input: { collectionId: $c, agentId: $a, role: EDITOR }) { member { role } } }",
            json!({ "c": drafts, "a": member }),
        )
        .await;
    assert_no_errors(&added);
    let created = app
        .query_as(
            Some(&member_token),
            "mutation($c: ID!, $s: ID!, $text: String!) { createDocument(input: { slug: \"hidden-draft\", title: \"Draft\", kind: LETTER, content: $text, collectionId: $c, source: $s }) { document { id uuid collection { slug } } revision { hash } } }",
            json!({ "c": drafts, "s": source, "text": format!("A draft that says {TERM}: An open letter, made public.\n") }),
        )
        .await;
    assert_no_errors(&created);
    let document = &created["data"]["createDocument"]["document"];
    assert_eq!(document["collection"]["slug"], "drafts");
    let hash = created["data"]["createDocument"]["revision"]["hash"].as_str().unwrap().to_owned();
    let cite = app
        .query_as(
            Some(&member_token),
            "mutation($d: ID!, $t: ID!, $pin: String!) { addCitation(input: { documentId: $d, relation: QUOTES, target: { documentId: $t, revision: $pin }, passage: { exact: \"An open letter, made public.\" }, targetPassage: { exact: \"An open letter, made public.\" } }) { citation { id } } }",
            json!({ "d": document["id"], "t": open["document"]["id"], "pin": public_hash }),
        )
        .await;
    assert_no_errors(&cite);
    // The quoted passage changes: the citation drifts (`driftedCitations` has it to show).
    let open_id = open["document"]["id"].as_str().unwrap();
    let revised =
        app.revise(&admin, open_id, public_hash, "An open letter, since withdrawn.\n").await;
    assert_no_errors(&revised);
    let head = app
        .query_as(
            Some(&member_token),
            r#"{ document(slug: "hidden-draft") { head { hash } } }"#,
            json!({}),
        )
        .await;
    let head = head["data"]["document"]["head"]["hash"].as_str().unwrap().to_owned();
    // Receipts stand on a signed checkpoint that covers their revisions.
    app.store.sign_checkpoint(&app.log_key).await.unwrap();
    let hidden = Names {
        id: document["uuid"].as_str().unwrap().to_owned(),
        gid: document["id"].as_str().unwrap().to_owned(),
        revision: global_id("Revision", &head),
        slug: SLUG.to_owned(),
        hash: head,
    };
    assert_ne!(hash, "", "the first revision has a hash");

    // Outsiders are answered as before it existed; its member is answered with it.
    let mut compared = 0;
    let mut before = before.into_iter();
    for (name, class) in MATRIX {
        for (who, token) in callers(class, &readers, &admin, &outsider) {
            if matches!(class, Get(_)) && !app.serves_http() {
                continue;
            }
            let ((at, asked), expected) = before.next().unwrap();
            assert_eq!((at, asked), (*name, who));
            let answer = probe(&app, class, token, &hidden, &shared).await;
            assert_eq!(
                scrubbed(&answer, &hidden.scrub()),
                expected,
                "{name}, asked by {who}, told of the restricted document"
            );
            compared += 1;
        }
        if let Read(_) | Get(_) | Subscribe(_) = class {
            if matches!(class, Get(_)) {
                // The plain routes take no credentials: they show what anyone may read.
                continue;
            }
            let outside = probe(&app, class, None, &hidden, &shared).await;
            let inside = probe(&app, class, Some(&member_token), &hidden, &shared).await;
            // A probe the schema refuses would compare equal whatever the rule.
            if let Read(_) = class {
                assert_no_errors(&inside);
            }
            assert_ne!(inside, outside, "{name}: the member is not answered with the document");
            if *name == "Query.document" {
                // Each way to the document answers the member: by slug and by id, with its
                // head and without (a read that skips the head's join), and by id and by slug
                // with its first page of history (read with it in one statement).
                for alias in ["a", "b", "c", "d", "e", "f"] {
                    assert!(
                        !inside["data"][alias].is_null(),
                        "{name}: {alias} is null to the member"
                    );
                }
            }
        }
    }
    assert!(compared >= 40, "only {compared} answers compared");
    let _ = Slug::parse(SLUG).unwrap();
}

/// Who asks a probe: readers read; writes are made by an admin and an editor of no collection
/// (each may write public documents, neither may read the restricted one).
fn callers<'a>(
    class: &Class,
    readers: &[(&'a str, Option<&'a str>); 2],
    admin: &'a str,
    outsider: &'a str,
) -> Vec<(&'a str, Option<&'a str>)> {
    match class {
        Read(_) | Subscribe(_) => readers.to_vec(),
        Write(_) => {
            vec![("an admin of no collection", Some(admin)), ("an outside editor", Some(outsider))]
        }
        Get(_) => vec![("anonymous", None)],
        Through(_) | Not(_) => Vec::new(),
    }
}
