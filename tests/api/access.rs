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
    a_public_document_citing_a_hidden_one_names_it_to_no_outsider;
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
    };
    store.create_document(input, author).await.unwrap()
}

async fn restricted(store: &Store, admin: &Actor, slug: &str) -> CollectionId {
    let slug = Slug::parse(slug).unwrap();
    store
        .create_collection(slug, "Newsroom drafts".into(), Visibility::Restricted, admin)
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
            "Again".into(),
            Visibility::Public,
            &admin,
        )
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "a taken slug: {again:?}");
    let slugs: Vec<_> =
        store.list_collections().await.unwrap().into_iter().map(|c| c.slug.to_string()).collect();
    assert_eq!(slugs, ["drafts", "public"], "the public collection exists from the start");

    store.set_member(drafts, member.agent, Role::Reader, &admin).await.unwrap();
    let promoted = store.set_member(drafts, member.agent, Role::Editor, &admin).await.unwrap();
    assert_eq!(promoted.role, Role::Editor, "setting a member again changes its role");
    let members = store.members_of(drafts).await.unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!((members[0].agent, members[0].role), (member.agent, Role::Editor));
    let viewer = store.viewer_of(member.agent, Timestamp::now()).await.unwrap();
    assert_eq!(viewer.role_in(drafts), Some(Role::Editor));
    assert_eq!(viewer.role_in(CollectionId::PUBLIC), None);

    store.remove_member(drafts, member.agent, &admin).await.unwrap();
    assert!(store.members_of(drafts).await.unwrap().is_empty());
    let gone = store.remove_member(drafts, member.agent, &admin).await;
    assert!(
        matches!(gone, Err(StoreError::NotFound(Missing::Membership(..)))),
        "removing a non-member: {gone:?}"
    );
    let nobody = palimpsest::store::AgentId::generate();
    let unknown = store.set_member(drafts, nobody, Role::Reader, &admin).await;
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
    store.set_member(drafts, member.agent, Role::Reader, &admin).await.unwrap();
    let open = create(store, &admin, "open-letter").await;
    let leaked = create(store, &admin, "leaked-letter").await;
    let moved = store.move_document(leaked.document.id, drafts, &admin).await.unwrap();
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
    store.move_document(leaked.document.id, CollectionId::PUBLIC, &admin).await.unwrap();
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
    let embargoed = store.set_embargo(report.document.id, Some(publish_at), &admin).await.unwrap();
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
    store.set_member(CollectionId::PUBLIC, desk.agent, Role::Editor, &admin).await.unwrap();
    let desk = store
        .viewer_of(desk.agent, Timestamp::from_micros(publish_at.micros() - second))
        .await
        .unwrap();
    assert_eq!(found(store, &desk, &report).await, (true, true));

    store.set_embargo(report.document.id, None, &admin).await.unwrap();
    assert_eq!(found(store, &before, &report).await, (true, true), "the embargo lifted early");
}

async fn a_collection_made_public_or_restricted_takes_its_documents_along(app: TestApp) {
    let store = &app.store;
    let admin = agent(store, "Admin").await;
    let archive = restricted(store, &admin, "archive").await;
    let letter = create(store, &admin, "letter").await;
    let publish_at = Timestamp::from_micros(Timestamp::now().micros() + 3_600_000_000);
    store.move_document(letter.document.id, archive, &admin).await.unwrap();
    store.set_embargo(letter.document.id, Some(publish_at), &admin).await.unwrap();
    let now = Viewer::public(Timestamp::now());
    let later = Viewer::public(Timestamp::from_micros(publish_at.micros() + 1));
    assert_eq!(found(store, &later, &letter).await, (false, false), "restricted, embargo or not");

    store.set_collection_visibility(archive, Visibility::Public, &admin).await.unwrap();
    assert_eq!(found(store, &now, &letter).await, (false, false), "public, but embargoed");
    assert_eq!(found(store, &later, &letter).await, (true, true), "public, embargo passed");

    store.set_collection_visibility(archive, Visibility::Restricted, &admin).await.unwrap();
    assert_eq!(found(store, &later, &letter).await, (false, false), "restricted again");
    let public =
        store.set_collection_visibility(CollectionId::PUBLIC, Visibility::Restricted, &admin);
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
    store.move_document(hidden.document.id, drafts, &admin).await.unwrap();
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

    store.move_document(created.document.id, drafts, &admin).await.unwrap();
    revise(100).await;
    assert_eq!(client.next_within(Duration::from_secs(1)).await, None, "restricted: silent");

    store.move_document(created.document.id, CollectionId::PUBLIC, &admin).await.unwrap();
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
    app.store.move_document(hidden.document.id, drafts, &admin).await.unwrap();
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
    store.move_document(hidden.document.id, drafts, &admin).await.unwrap();
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
    assert_eq!(page.citations[0].verification.status, VerificationStatus::Unverifiable);
    let provenance = store.provenance(&outsider, &key, None, &budget).await.unwrap();
    assert!(provenance.documents.iter().all(|d| d.id != hidden.document.id));

    let everything = Viewer::everything();
    let page = store.revision_page(&everything, &key, None).await.unwrap();
    assert!(page.citations[0].target.is_some());
    assert_eq!(page.citations[0].verification.status, VerificationStatus::Verified);
    let provenance = store.provenance(&everything, &key, None, &budget).await.unwrap();
    assert!(provenance.documents.iter().any(|d| d.id == hidden.document.id));
}
