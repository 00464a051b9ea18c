//! Who may read what, at the store's boundary: collections and their members, moves between
//! collections and embargoes, each audited, and the reads a viewer makes returning only what
//! it may read. The clock is the viewer's: an embargo is tested a second either side of its
//! time, not slept through.

use std::time::Duration;

use palimpsest::fulltext::SearchQuery;
use palimpsest::store::{
    Actor, AgentKind, AgentName, AuditAction, AuditFilter, CollectionId, CreateDocument,
    DocumentFilter, DocumentKind, DocumentOrder, HeadParts, Message, Missing, PageRequest, Role,
    SearchRequest, SearchScope, Slug, Store, StoreError, Timestamp, Title, Viewer, Visibility,
    WriteOutcome,
};

use crate::helpers::TestApp;

crate::on_both_backends!(
    schema:
    collections_and_their_members_are_managed_and_audited,
    a_restricted_document_is_read_only_by_the_members_of_its_collection,
    an_embargo_lifts_at_its_time_by_the_readers_clock,
    a_collection_made_public_or_restricted_takes_its_documents_along,
    the_views_of_a_document_answer_an_outsider_as_for_no_document,
    writing_to_a_document_one_may_not_read_is_answered_as_for_no_document,
    a_public_document_citing_a_hidden_one_names_it_to_no_outsider,
    writing_restricted_material_needs_an_editors_role_in_its_collection,
    collections_are_managed_by_admins_and_audited_within_them,
    a_watch_on_a_hidden_documents_slug_is_refused_as_for_a_taken_slug;
    http:
    a_subscriber_hears_of_a_document_only_while_it_may_read_it,
);

async fn agent(store: &Store, name: &str) -> Actor {
    let name = AgentName::parse(name).unwrap();
    Actor::agent(store.create_agent(&name, AgentKind::Person, None).await.unwrap().id)
}

async fn create(store: &Store, author: &Actor, slug: &str) -> WriteOutcome {
    let input = CreateDocument {
        slug: Slug::parse(slug).unwrap(),
        kind: DocumentKind::Article,
        title: Title::parse("A title").unwrap(),
        content: format!("the text of {slug}\n"),
        message: Message::parse("first").unwrap(),
        source: None,
        placement: palimpsest::store::Placement::PUBLIC,
    };
    store.create_document(input, author).await.unwrap()
}

async fn restricted(store: &Store, admin: &Actor, slug: &str) -> CollectionId {
    let slug = Slug::parse(slug).unwrap();
    store
        .create_collection(
            slug,
            palimpsest::store::CollectionName::parse("Newsroom drafts").unwrap(),
            Visibility::Restricted,
            Some(admin),
        )
        .await
        .unwrap()
        .id
}

/// The slugs of the documents `viewer` finds in a list, and the count it is told.
async fn listed(store: &Store, viewer: &Viewer) -> (Vec<String>, u64) {
    let filter = DocumentFilter::readable_by(viewer.clone());
    let page = PageRequest::first(100);
    let listed = store.list_documents(&filter, DocumentOrder::default(), page).await.unwrap();
    let slugs = listed.items.iter().map(|d| d.slug.as_str().to_owned()).collect();
    (slugs, store.count_documents(&filter).await.unwrap())
}

/// The slugs of the documents whose heads and histories hold `words`, as `viewer` searches.
async fn searched(store: &Store, viewer: &Viewer, words: &str) -> Vec<String> {
    let mut slugs = Vec::new();
    for scope in [SearchScope::Heads, SearchScope::History] {
        let request = SearchRequest {
            viewer: viewer.clone(),
            query: SearchQuery::parse(words).unwrap(),
            scope,
            kind: None,
            after: None,
            limit: 20,
        };
        let found = store.search(&request).await.unwrap();
        slugs.extend(found.hits.iter().map(|h| h.document.slug.as_str().to_owned()));
    }
    slugs
}

/// Whether `viewer` finds the document by its slug and by its id.
async fn found(store: &Store, viewer: &Viewer, created: &WriteOutcome) -> (bool, bool) {
    let parts = HeadParts::default();
    let by_slug = store.document_with_head_by_slug(viewer, &created.document.slug, parts).await;
    let ids = [created.document.id];
    let by_id = store.documents_with_heads_by_ids(viewer, &ids, parts).await;
    (by_slug.unwrap().is_some(), !by_id.unwrap().is_empty())
}

async fn collections_and_their_members_are_managed_and_audited(app: TestApp) {
    let store = &app.store;
    let admin = agent(store, "Admin").await;
    let member = agent(store, "Member").await;
    let drafts = restricted(store, &admin, "drafts").await;

    let again = store
        .create_collection(
            Slug::parse("drafts").unwrap(),
            palimpsest::store::CollectionName::parse("Again").unwrap(),
            Visibility::Public,
            Some(&admin),
        )
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "a taken slug: {again:?}");
    let slugs: Vec<_> = store
        .list_collections(None)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.slug.to_string())
        .collect();
    assert_eq!(slugs, ["drafts", "public"], "the public collection exists from the start");

    store.set_member(drafts, member.agent, Role::Reader, Some(&admin)).await.unwrap();
    let promoted =
        store.set_member(drafts, member.agent, Role::Editor, Some(&admin)).await.unwrap();
    assert_eq!(promoted.role, Role::Editor, "setting a member again changes its role");
    let members = store.members_of(drafts).await.unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!((members[0].agent, members[0].role), (member.agent, Role::Editor));
    let viewer = store.viewer_of(member.agent, Timestamp::now()).await.unwrap();
    assert_eq!(viewer.role_in(drafts), Some(Role::Editor));
    assert_eq!(viewer.role_in(CollectionId::PUBLIC), None);

    store.remove_member(drafts, member.agent, Some(&admin)).await.unwrap();
    assert!(store.members_of(drafts).await.unwrap().is_empty());
    let gone = store.remove_member(drafts, member.agent, Some(&admin)).await;
    assert!(
        matches!(gone, Err(StoreError::NotFound(Missing::Membership(..)))),
        "removing a non-member: {gone:?}"
    );
    let nobody = palimpsest::store::AgentId::generate();
    let unknown = store.set_member(drafts, nobody, Role::Reader, Some(&admin)).await;
    assert!(matches!(unknown, Err(StoreError::NotFound(Missing::Agent(_)))), "{unknown:?}");

    let events =
        store.audit_events(&AuditFilter::default(), PageRequest::first(100)).await.unwrap().items;
    let actions: Vec<AuditAction> = events.iter().map(|e| e.action).collect();
    for action in [AuditAction::CreateCollection, AuditAction::AddMember, AuditAction::RemoveMember]
    {
        assert!(actions.contains(&action), "{action} is audited: {actions:?}");
    }
}

async fn a_restricted_document_is_read_only_by_the_members_of_its_collection(app: TestApp) {
    let store = &app.store;
    let admin = agent(store, "Admin").await;
    let member = agent(store, "Member").await;
    let outsider = agent(store, "Outsider").await;
    let drafts = restricted(store, &admin, "drafts").await;
    store.set_member(drafts, member.agent, Role::Reader, Some(&admin)).await.unwrap();
    let open = create(store, &admin, "open-letter").await;
    let leaked = create(store, &admin, "leaked-letter").await;
    let moved = store.move_document(leaked.document.id, drafts, Some(&admin)).await.unwrap();
    assert_eq!(moved.collection, drafts);

    let now = Timestamp::now();
    let anyone = Viewer::public(now);
    let outsider = store.viewer_of(outsider.agent, now).await.unwrap();
    let member = store.viewer_of(member.agent, now).await.unwrap();
    for (who, viewer) in [("anyone", &anyone), ("an outsider", &outsider)] {
        assert_eq!(listed(store, viewer).await, (vec!["open-letter".into()], 1), "{who}");
        assert_eq!(found(store, viewer, &leaked).await, (false, false), "{who}");
        assert_eq!(found(store, viewer, &open).await, (true, true), "{who}");
        assert!(!viewer.may_read(&moved), "{who}");
        assert_eq!(searched(store, viewer, "leaked").await, Vec::<String>::new(), "{who}");
        assert_eq!(searched(store, viewer, "open").await, ["open-letter", "open-letter"]);
    }
    assert_eq!(searched(store, &member, "leaked").await, ["leaked-letter", "leaked-letter"]);
    let (mut slugs, count) = listed(store, &member).await;
    slugs.sort();
    assert_eq!((slugs, count), (vec!["leaked-letter".into(), "open-letter".into()], 2));
    assert_eq!(found(store, &member, &leaked).await, (true, true));
    assert!(Viewer::everything().may_read(&moved), "the operator reads everything");

    // Moved back, it is public again; both moves are in the audit log.
    store.move_document(leaked.document.id, CollectionId::PUBLIC, Some(&admin)).await.unwrap();
    assert_eq!(found(store, &Viewer::public(Timestamp::now()), &leaked).await, (true, true));
    let events =
        store.audit_events(&AuditFilter::default(), PageRequest::first(100)).await.unwrap().items;
    let moves = events.iter().filter(|e| e.action == AuditAction::MoveDocument).count();
    assert_eq!(moves, 2);
}

async fn an_embargo_lifts_at_its_time_by_the_readers_clock(app: TestApp) {
    let store = &app.store;
    let admin = agent(store, "Admin").await;
    let report = create(store, &admin, "annual-report").await;
    let publish_at = Timestamp::from_micros(Timestamp::now().micros() + 3_600_000_000);
    let embargoed =
        store.set_embargo(report.document.id, Some(publish_at), Some(&admin)).await.unwrap();
    assert_eq!(embargoed.publish_at, Some(publish_at));

    let second = Duration::from_secs(1).as_micros() as i64;
    let before = Viewer::public(Timestamp::from_micros(publish_at.micros() - second));
    let after = Viewer::public(Timestamp::from_micros(publish_at.micros() + second));
    assert_eq!(found(store, &before, &report).await, (false, false), "a second before");
    assert_eq!(listed(store, &before).await, (vec![], 0), "a second before");
    assert_eq!(found(store, &after, &report).await, (true, true), "a second after");
    assert_eq!(listed(store, &after).await, (vec!["annual-report".into()], 1), "a second after");

    // Until then, the public collection's members read it as restricted material.
    let desk = agent(store, "Desk").await;
    store.set_member(CollectionId::PUBLIC, desk.agent, Role::Editor, Some(&admin)).await.unwrap();
    let desk = store
        .viewer_of(desk.agent, Timestamp::from_micros(publish_at.micros() - second))
        .await
        .unwrap();
    assert_eq!(found(store, &desk, &report).await, (true, true));

    store.set_embargo(report.document.id, None, Some(&admin)).await.unwrap();
    assert_eq!(found(store, &before, &report).await, (true, true), "the embargo lifted early");
}

async fn a_collection_made_public_or_restricted_takes_its_documents_along(app: TestApp) {
    let store = &app.store;
    let admin = agent(store, "Admin").await;
    let archive = restricted(store, &admin, "archive").await;
    let letter = create(store, &admin, "letter").await;
    let publish_at = Timestamp::from_micros(Timestamp::now().micros() + 3_600_000_000);
    store.move_document(letter.document.id, archive, Some(&admin)).await.unwrap();
    store.set_embargo(letter.document.id, Some(publish_at), Some(&admin)).await.unwrap();
    let now = Viewer::public(Timestamp::now());
    let later = Viewer::public(Timestamp::from_micros(publish_at.micros() + 1));
    assert_eq!(found(store, &later, &letter).await, (false, false), "restricted, embargo or not");

    store.set_collection_visibility(archive, Visibility::Public, Some(&admin)).await.unwrap();
    assert_eq!(found(store, &now, &letter).await, (false, false), "public, but embargoed");
    assert_eq!(found(store, &later, &letter).await, (true, true), "public, embargo passed");

    store.set_collection_visibility(archive, Visibility::Restricted, Some(&admin)).await.unwrap();
    assert_eq!(found(store, &later, &letter).await, (false, false), "restricted again");
    let public =
        store.set_collection_visibility(CollectionId::PUBLIC, Visibility::Restricted, Some(&admin));
    assert!(
        matches!(public.await, Err(StoreError::Invalid(_))),
        "the public collection stays public"
    );
}

/// Each composite read of a document (its pages, Memento, PROV, citation records, receipts,
/// evidence) answers a caller who may not read it exactly as it answers for a slug no document
/// has: `NotFound` naming the slug asked for.
async fn the_views_of_a_document_answer_an_outsider_as_for_no_document(app: TestApp) {
    use palimpsest::budget::Budget;
    use palimpsest::store::DocumentKey;
    use palimpsest::textdiff::ContextLines;
    let store = &app.store;
    let admin = agent(store, "Admin").await;
    let drafts = restricted(store, &admin, "drafts").await;
    let hidden = create(store, &admin, "hidden").await;
    store.move_document(hidden.document.id, drafts, Some(&admin)).await.unwrap();
    let hash = hidden.revision.hash.clone();
    let budget = Budget::unlimited();
    let outsider = Viewer::public(Timestamp::now());

    for slug in ["hidden", "never-written"] {
        let slug = Slug::parse(slug).unwrap();
        let key = DocumentKey::Slug(slug.clone());
        let missing = |result: Result<(), StoreError>, what: &str| match result {
            Err(StoreError::NotFound(Missing::DocumentSlug(named))) => {
                assert_eq!(named, slug, "{what}")
            }
            other => panic!("{what} of {slug}: {other:?}"),
        };
        missing(store.head_text(&outsider, &slug, true).await.map(drop), "head_text");
        missing(store.head_at(&outsider, &slug, Timestamp::now()).await.map(drop), "head_at");
        missing(store.memento(&outsider, &slug, &hash, true).await.map(drop), "memento");
        missing(store.timemap(&outsider, &slug, None, 10).await.map(drop), "timemap");
        missing(store.document_at(&outsider, &key, None).await.map(drop), "document_at");
        missing(store.revision_page(&outsider, &key, None).await.map(drop), "revision_page");
        missing(store.history_page(&outsider, &key, None, 10).await.map(drop), "history_page");
        missing(store.diff_page(&outsider, &key, None, &hash, &budget).await.map(drop), "diff");
        missing(store.provenance(&outsider, &key, None, &budget).await.map(drop), "provenance");
        let cited = store.documents_at_heads(&outsider, std::slice::from_ref(&key)).await;
        missing(cited.map(drop), "documents_at_heads");
        missing(store.receipt_parts(&outsider, &slug, &hash, &hash).await.map(drop), "receipt");
        missing(store.capture_evidence(&outsider, &slug, &hash).await.map(drop), "evidence");
    }
    // Its revisions, by hash, are no more there than a hash never written.
    let never = palimpsest::store::RevisionHash::parse(&"0".repeat(64)).unwrap();
    for asked in [&hash, &never] {
        assert!(
            store
                .revisions_by_hashes(&outsider, std::slice::from_ref(asked))
                .await
                .unwrap()
                .is_empty()
        );
        let diff = store
            .diff_revisions(
                &outsider,
                None,
                asked,
                Default::default(),
                ContextLines::DEFAULT,
                &budget,
            )
            .await;
        match diff {
            Err(StoreError::NotFound(Missing::Revision(named))) => assert_eq!(&named, asked),
            other => panic!("a diff to {asked}: {other:?}"),
        }
    }
    // The caller who may read it is answered.
    let slug = Slug::parse("hidden").unwrap();
    store.head_text(&Viewer::everything(), &slug, true).await.unwrap();
    assert_eq!(store.revisions_by_hashes(&Viewer::everything(), &[hash]).await.unwrap().len(), 1);
}

/// `documentChanged` checks each event: a document moved into a restricted collection goes
/// silent for an anonymous subscriber, and speaks again once moved back.
async fn a_subscriber_hears_of_a_document_only_while_it_may_read_it(app: TestApp) {
    use crate::subscriptions::WsClient;
    use palimpsest::store::ReviseDocument;
    let store = &app.store;
    let admin = agent(store, "Admin").await;
    let drafts = restricted(store, &admin, "drafts").await;
    let created = create(store, &admin, "watched").await;
    let mut head = created.revision.hash.clone();
    let mut revise = async |n: usize| {
        let input = ReviseDocument {
            document: created.document.id,
            expected_head: head.clone(),
            content: format!("version {n}\n"),
            title: None,
            message: Message::parse("edit").unwrap(),
            source: None,
        };
        let revised = store.revise_document(input, &admin).await.unwrap().revision;
        head = revised.hash;
        revised.number
    };
    let mut client = WsClient::open(&app.address).await;
    client.init(serde_json::json!({})).await;
    let query = "subscription($slugs: [String!]) { documentChanged(slugs: $slugs) { revision { number } } }";
    client.subscribe("s", query, serde_json::json!({ "slugs": ["watched"] })).await;
    // Heard once the subscription listens (no protocol message marks that).
    let mut heard = None;
    for n in 2..40 {
        revise(n).await;
        if let Some(message) = client.next_within(Duration::from_millis(300)).await {
            heard = Some(message);
            break;
        }
    }
    assert_eq!(heard.expect("the public document is heard of")["type"], "next");

    store.move_document(created.document.id, drafts, Some(&admin)).await.unwrap();
    revise(100).await;
    assert_eq!(client.next_within(Duration::from_secs(1)).await, None, "restricted: silent");

    store.move_document(created.document.id, CollectionId::PUBLIC, Some(&admin)).await.unwrap();
    let last = revise(101).await;
    let message = client.next().await;
    assert_eq!(message["payload"]["data"]["documentChanged"]["revision"]["number"], last);
}

/// A write names what it writes to: to a caller who may not read it, a restricted document or
/// revision is answered as one that does not exist, with the same code and words.
async fn writing_to_a_document_one_may_not_read_is_answered_as_for_no_document(app: TestApp) {
    use serde_json::json;
    let editor = app.editor().await;
    let archivist = app.token("Archivist", Role::Archivist).await;
    let admin = agent(&app.store, "Admin").await;
    let drafts = restricted(&app.store, &admin, "drafts").await;
    let hidden = create(&app.store, &admin, "hidden-draft").await;
    app.store.move_document(hidden.document.id, drafts, Some(&admin)).await.unwrap();
    let never = palimpsest::store::DocumentId::generate();
    let never_hash = "0".repeat(64);

    let answer = |body: serde_json::Value, id: &str| {
        let error = &body["errors"][0];
        let code = error["extensions"]["code"].as_str().unwrap_or_default().to_owned();
        (code, error["message"].as_str().unwrap_or_default().replace(id, "ID"))
    };
    let revise = async |id: String| {
        let input = json!({ "documentId": id, "expectedHead": hidden.revision.hash.to_string(),
            "content": "mine now\n", "message": "edit" });
        let body = app
            .query_as(Some(&editor), crate::helpers::REVISE_DOCUMENT, json!({ "input": input }))
            .await;
        answer(body, &id)
    };
    let to_hidden = revise(hidden.document.id.to_string()).await;
    assert_eq!(to_hidden.0, "NOT_FOUND", "{to_hidden:?}");
    assert_eq!(to_hidden, revise(never.to_string()).await);

    let redact = async |hash: String| {
        let query = "mutation($h: String!) { redactRevision(input: { hash: $h, reason: \"no\" }) { revision { hash } } }";
        let body = app.query_as(Some(&archivist), query, json!({ "h": hash })).await;
        answer(body, &hash)
    };
    let to_hidden = redact(hidden.revision.hash.to_string()).await;
    assert_eq!(to_hidden.0, "NOT_FOUND", "{to_hidden:?}");
    assert_eq!(to_hidden, redact(never_hash).await);
    // A citation pinned to a hidden revision, naming a document anyone may read.
    let citing = create(&app.store, &admin, "citing-note").await;
    let cited = create(&app.store, &admin, "cited-note").await;
    let cite = async |hash: String| {
        let query = "mutation($input: AddCitationInput!) { addCitation(input: $input) { citation { id } } }";
        let input = json!({ "documentId": citing.document.id.to_string(), "relation": "CITES",
            "target": { "documentId": cited.document.id.to_string(), "revision": hash } });
        answer(app.query_as(Some(&editor), query, json!({ "input": input })).await, &hash)
    };
    let to_hidden = cite(hidden.revision.hash.to_string()).await;
    assert_eq!(to_hidden.0, "NOT_FOUND", "{to_hidden:?}");
    assert_eq!(to_hidden, cite("0".repeat(64)).await);

    let hashes = [hidden.revision.hash.clone()];
    let head = app.store.revisions_by_hashes(&Viewer::everything(), &hashes).await.unwrap();
    assert!(!head[0].redacted, "nothing was written");
}

/// A public document's page and provenance show that it cites, and never what it cites, to a
/// caller who may not read the cited document: no title, slug or revision, and no verdict
/// worked out on the hidden text.
async fn a_public_document_citing_a_hidden_one_names_it_to_no_outsider(app: TestApp) {
    use palimpsest::budget::Budget;
    use palimpsest::passage::{Selector, VerificationStatus};
    use palimpsest::store::{AddCitation, CitationRelation, CitationTarget, DocumentKey};
    let store = &app.store;
    let admin = agent(store, "Admin").await;
    let drafts = restricted(store, &admin, "drafts").await;
    let hidden = create(store, &admin, "hidden-letter").await;
    store.move_document(hidden.document.id, drafts, Some(&admin)).await.unwrap();
    let public = create(store, &admin, "fact-check").await;
    let cite = AddCitation {
        document: public.document.id,
        expected_head: None,
        relation: CitationRelation::Quotes,
        target: CitationTarget::Document { id: hidden.document.id, pinned: None },
        citing: Some(Selector::quote("the text of").unwrap()),
        target_selector: None,
    };
    store.add_citation(cite, &admin).await.unwrap();
    let key = DocumentKey::Slug(Slug::parse("fact-check").unwrap());
    let budget = Budget::unlimited();

    let outsider = Viewer::public(Timestamp::now());
    let page = store.revision_page(&outsider, &key, None).await.unwrap();
    assert_eq!(page.citations.len(), 1, "that it cites shows");
    assert!(page.citations[0].target.is_none(), "what it cites does not");
    // Its verdict shows, and nothing read from the cited text: no passage, no similarity.
    let verdict = &page.citations[0].verification;
    assert_eq!(verdict.status, VerificationStatus::Verified);
    assert!(verdict.found.is_none() && verdict.similarity.is_none() && verdict.diff.is_none());
    let query = r#"{ document(slug: "fact-check") { head { citations { nodes {
        targetDocument { slug } verification { status passage { exact } similarity against { hash } }
        currentVerification { status passage { exact } changes { text } } } } } } }"#;
    let body = app.query(query, serde_json::json!({})).await;
    let citation = &body["data"]["document"]["head"]["citations"]["nodes"][0];
    assert!(citation["targetDocument"].is_null(), "{body}");
    for field in ["verification", "currentVerification"] {
        assert_eq!(citation[field]["status"], "VERIFIED", "{body}");
        assert!(citation[field]["passage"].is_null(), "{body}");
    }
    assert!(citation["verification"]["against"].is_null(), "{body}");
    let provenance = store.provenance(&outsider, &key, None, &budget).await.unwrap();
    assert!(provenance.documents.iter().all(|d| d.id != hidden.document.id));

    let everything = Viewer::everything();
    let page = store.revision_page(&everything, &key, None).await.unwrap();
    assert!(page.citations[0].target.is_some());
    assert_eq!(page.citations[0].verification.status, VerificationStatus::Verified);
    let provenance = store.provenance(&everything, &key, None, &budget).await.unwrap();
    assert!(provenance.documents.iter().any(|d| d.id == hidden.document.id));
}

/// Runs `query` as `token` and returns its answer, or the code of its first error.
async fn code_of(app: &TestApp, token: &str, query: &str, variables: serde_json::Value) -> String {
    let body = app.query_as(Some(token), query, variables).await;
    match body["errors"][0]["extensions"]["code"].as_str() {
        Some(code) => code.to_owned(),
        None => "OK".to_owned(),
    }
}

/// A collection made through GraphQL by an admin, with the given member's agent in it.
async fn collection_via_api(
    app: &TestApp,
    admin: &str,
    slug: &str,
    visibility: &str,
    members: &[(&str, &str)],
) -> String {
    use serde_json::json;
    let made = app
        .query_as(
            Some(admin),
            "mutation($s: String!, $v: CollectionVisibility!) { createCollection(input: { slug: $s, name: \"A collection\", visibility: $v }) { collection { id } } }",
            json!({ "s": slug, "v": visibility }),
        )
        .await;
    crate::helpers::assert_no_errors(&made);
    let id = made["data"]["createCollection"]["collection"]["id"].as_str().unwrap().to_owned();
    for (token, role) in members {
        let agent = app.query_as(Some(token), "{ viewer { id } }", json!({})).await;
        let added = app
            .query_as(
                Some(admin),
                "mutation($c: ID!, $a: ID!, $r: Role!) { setCollectionMember(input: { collectionId: $c, agentId: $a, role: $r }) { member { role } } }",
                json!({ "c": id, "a": agent["data"]["viewer"]["id"], "r": role }),
            )
            .await;
        crate::helpers::assert_no_errors(&added);
    }
    id
}

const CREATE_IN: &str = "mutation($slug: String!, $c: ID, $at: DateTime) { createDocument(input: { slug: $slug, title: \"T\", kind: ARTICLE, content: \"text\\n\", collectionId: $c, publishAt: $at }) { document { id collection { slug } publishAt } } }";

/// A collection's documents that are not public are written by its editors, whatever their
/// token's role; a member reader may not write them, and an editor of no collection may not
/// place a document there (NOT_FOUND for a restricted collection it cannot see, FORBIDDEN for an
/// embargo in a public one).
async fn writing_restricted_material_needs_an_editors_role_in_its_collection(app: TestApp) {
    use serde_json::json;
    let admin = app.token("Admin", Role::Admin).await;
    let member_editor = app.token("Member editor", Role::Reader).await;
    let member_reader = app.token("Member reader", Role::Editor).await;
    let outsider = app.token("Outsider", Role::Editor).await;
    let drafts = collection_via_api(
        &app,
        &admin,
        "drafts",
        "RESTRICTED",
        &[(&member_editor, "EDITOR"), (&member_reader, "READER")],
    )
    .await;
    let press =
        collection_via_api(&app, &admin, "press", "PUBLIC", &[(&member_editor, "EDITOR")]).await;

    // A reader-token member with an editor's role in the collection creates and revises there.
    let vars = json!({ "slug": "draft-one", "c": drafts });
    let created = app.query_as(Some(&member_editor), CREATE_IN, vars).await;
    crate::helpers::assert_no_errors(&created);
    let document = &created["data"]["createDocument"]["document"];
    assert_eq!(document["collection"]["slug"], "drafts");
    let id = document["id"].as_str().unwrap().to_owned();
    let head = app
        .query_as(
            Some(&member_editor),
            "{ document(slug: \"draft-one\") { head { hash } } }",
            json!({}),
        )
        .await;
    let head = head["data"]["document"]["head"]["hash"].as_str().unwrap().to_owned();
    let app = &app;
    let revise = |token: &str, content: &str| {
        let input = json!({ "documentId": id, "expectedHead": head, "content": content });
        let token = token.to_owned();
        async move {
            code_of(app, &token, crate::helpers::REVISE_DOCUMENT, json!({ "input": input })).await
        }
    };
    // An editor-token member whose role there is reader is refused, and the refusal audited.
    assert_eq!(revise(&member_reader, "by a reader\n").await, "FORBIDDEN");
    // An editor of no collection is answered as for a document that does not exist.
    assert_eq!(revise(&outsider, "by an outsider\n").await, "NOT_FOUND");
    assert_eq!(revise(&member_editor, "by its editor\n").await, "OK");

    // Placing documents: a restricted collection one cannot see does not exist; an embargo
    // needs an editor's role in the collection, even a public one.
    let soon = "2999-01-01T00:00:00Z";
    let place = |token: &str, slug: &str, collection: &str, at: Option<&str>| {
        let vars = json!({ "slug": slug, "c": collection, "at": at });
        let token = token.to_owned();
        async move { code_of(app, &token, CREATE_IN, vars).await }
    };
    assert_eq!(place(&outsider, "sneaked-in", &drafts, None).await, "NOT_FOUND");
    assert_eq!(place(&outsider, "early-news", &press, Some(soon)).await, "FORBIDDEN");
    assert_eq!(place(&outsider, "open-news", &press, None).await, "OK");
    assert_eq!(place(&member_editor, "embargoed-news", &press, Some(soon)).await, "OK");
    let seen = app.query_as(None, "{ document(slug: \"embargoed-news\") { id } }", json!({})).await;
    assert!(seen["data"]["document"].is_null(), "embargoed: {seen}");
    let seen = app
        .query_as(
            Some(&member_editor),
            "{ document(slug: \"embargoed-news\") { publishAt } }",
            json!({}),
        )
        .await;
    assert_eq!(seen["data"]["document"]["publishAt"], "2999-01-01T00:00:00.000000Z");

    // The refusals are in the audit log, as refusals of the token's role are.
    let events = app
        .query_as(
            Some(&admin),
            "{ auditEvents(filter: { action: REVISE_DOCUMENT }) { nodes { outcome detail } } }",
            json!({}),
        )
        .await;
    let outcomes: Vec<String> = events["data"]["auditEvents"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| format!("{} {}", e["outcome"], e["detail"]))
        .collect();
    assert!(
        outcomes.iter().any(|o| o.contains("FORBIDDEN") && o.contains("reader of this collection")),
        "{outcomes:?}"
    );
}

/// Collections are listed to those who may know of them, their members to their members and
/// admins; only admins manage them, and an archivist audits only what it may read.
async fn collections_are_managed_by_admins_and_audited_within_them(app: TestApp) {
    use serde_json::json;
    let admin = app.token("Admin", Role::Admin).await;
    let member = app.token("Member", Role::Archivist).await;
    let archivist = app.token("Outside archivist", Role::Archivist).await;
    let editor = app.editor().await;
    let keeper = app.token("Keeper", Role::Archivist).await;
    let drafts = collection_via_api(
        &app,
        &admin,
        "drafts",
        "RESTRICTED",
        &[(&member, "EDITOR"), (&keeper, "ARCHIVIST")],
    )
    .await;
    let slugs = |token: Option<String>| {
        let app = &app;
        async move {
            let body = app.query_as(token.as_deref(), "{ collections { slug } }", json!({})).await;
            body["data"]["collections"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["slug"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(slugs(None).await, ["public"]);
    assert_eq!(slugs(Some(editor.clone())).await, ["public"]);
    assert_eq!(slugs(Some(member.clone())).await, ["drafts", "public"]);
    assert_eq!(slugs(Some(admin.clone())).await, ["drafts", "public"]);
    let node = json!({ "id": drafts });
    let by_id = "query($id: ID!) { node(id: $id) { ... on Collection { slug } } }";
    assert!(app.query_as(Some(&editor), by_id, node.clone()).await["data"]["node"].is_null());
    assert_eq!(
        app.query_as(Some(&member), by_id, node.clone()).await["data"]["node"]["slug"],
        "drafts"
    );
    let members = "{ collection(slug: \"public\") { members { role } } }";
    assert_eq!(code_of(&app, &editor, members, json!({})).await, "FORBIDDEN");
    assert_eq!(code_of(&app, &admin, members, json!({})).await, "OK");
    let make = "mutation { createCollection(input: { slug: \"mine\", name: \"Mine\", visibility: PUBLIC }) { collection { id } } }";
    assert_eq!(code_of(&app, &editor, make, json!({})).await, "FORBIDDEN");
    let taken = "mutation { createCollection(input: { slug: \"drafts\", name: \"Again\", visibility: PUBLIC }) { collection { id } } }";
    assert_eq!(code_of(&app, &admin, taken, json!({})).await, "CONFLICT");
    let public = json!({ "c": drafts, "v": "RESTRICTED" });
    let visibility = "mutation($c: ID!, $v: CollectionVisibility!) { setCollectionVisibility(input: { collectionId: $c, visibility: $v }) { collection { visibility } } }";
    assert_eq!(code_of(&app, &admin, visibility, public).await, "OK");

    // A document in the drafts, its revision redacted; an archivist of no collection sees
    // none of it (the redaction's event names the revision by its hash).
    let created =
        app.query_as(Some(&member), CREATE_IN, json!({ "slug": "audit-me", "c": drafts })).await;
    crate::helpers::assert_no_errors(&created);
    let head = app
        .query_as(Some(&member), "{ document(slug: \"audit-me\") { head { hash } } }", json!({}))
        .await;
    let revision =
        format!("revision:{}", head["data"]["document"]["head"]["hash"].as_str().unwrap());
    let redact = "mutation($h: String!) { redactRevision(input: { hash: $h, reason: \"test\" }) { revision { hash } } }";
    let redacted =
        app.query_as(Some(&keeper), redact, json!({ "h": &revision["revision:".len()..] })).await;
    crate::helpers::assert_no_errors(&redacted);
    let audited = |token: String| {
        let app = &app;
        async move {
            let body = app
                .query_as(
                    Some(&token),
                    "{ auditEvents(last: 100) { totalCount nodes { action target } } }",
                    json!({}),
                )
                .await;
            crate::helpers::assert_no_errors(&body);
            body["data"]["auditEvents"]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    format!("{} {}", e["action"].as_str().unwrap(), e["target"].as_str().unwrap())
                })
                .collect::<Vec<_>>()
        }
    };
    let everything = audited(admin.clone()).await;
    let within = audited(member.clone()).await;
    let outside = audited(archivist.clone()).await;
    let about_drafts = |events: &[String]| {
        events
            .iter()
            .filter(|e| {
                e.contains("audit-me")
                    || e.contains("CREATE_DOCUMENT document:")
                    || e.contains("collection:")
                    || e.contains(&revision)
            })
            .count()
    };
    assert!(
        everything.iter().any(|e| e.starts_with("CREATE_DOCUMENT document:")),
        "{everything:?}"
    );
    assert!(everything.iter().any(|e| e.ends_with(&revision)), "{everything:?}");
    assert_eq!(about_drafts(&within), about_drafts(&everything), "{within:?}");
    assert_eq!(about_drafts(&outside), 0, "{outside:?}");
    // A whole-corpus verification reads restricted documents: admins only.
    let verify = "{ verification(first: 10) { report { ok } } }";
    assert_eq!(code_of(&app, &archivist, verify, json!({})).await, "FORBIDDEN");
    assert_eq!(code_of(&app, &admin, verify, json!({})).await, "OK");
    // A restricted document's verification: its archivists (members), not the outside one.
    let one = "{ document(slug: \"audit-me\") { verification { ok } } }";
    assert_eq!(code_of(&app, &member, one, json!({})).await, "FORBIDDEN", "an editor there");
}

/// A watch that names the slug of a document its maker may not read takes it as any document
/// takes a slug, and writes nothing into it.
async fn a_watch_on_a_hidden_documents_slug_is_refused_as_for_a_taken_slug(app: TestApp) {
    use serde_json::json;
    let editor = app.editor().await;
    let admin = agent(&app.store, "Admin").await;
    let drafts = restricted(&app.store, &admin, "drafts").await;
    let hidden = create(&app.store, &admin, "hidden-page").await;
    app.store.move_document(hidden.document.id, drafts, Some(&admin)).await.unwrap();
    create(&app.store, &admin, "open-page").await;
    let watch = "mutation($slug: String!) { watchPage(input: { url: \"http://127.0.0.1:9/page\", slug: $slug }) { watch { id } } }";
    assert_eq!(code_of(&app, &editor, watch, json!({ "slug": "hidden-page" })).await, "CONFLICT");
    let create_doc = "mutation { createDocument(input: { slug: \"hidden-page\", title: \"T\", kind: ARTICLE, content: \"x\\n\" }) { document { id } } }";
    assert_eq!(code_of(&app, &editor, create_doc, json!({})).await, "CONFLICT");
    assert_eq!(code_of(&app, &editor, watch, json!({ "slug": "open-page" })).await, "OK");
}
