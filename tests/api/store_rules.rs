//! The store's write commands as specifications, tested at the store's own boundary so that a
//! failure names the broken rule: revising (compare-and-swap, identical revisions, stored
//! titles), citing (pins, held heads), carrying citations into a revision, and loading the seed
//! in one transaction.

use palimpsest::passage::Selector;
use palimpsest::store::{
    Actor, AddCitation, AgentKind, AgentName, AnchorState, CitationRelation, CitationTarget,
    Conflict, CreateDocument, DocumentKind, Message, Missing, ReviseDocument, RevisionHash, Slug,
    Store, StoreError, Title, WriteOutcome,
};

use crate::helpers::TestApp;

crate::on_both_backends!(
    store:
    a_revision_lands_only_on_the_head_its_writer_saw,
    a_revision_identical_to_the_head_is_refused,
    revising_keeps_the_stored_title_whatever_todays_rules_say,
    a_citation_is_pinned_only_to_a_revision_of_the_cited_document,
    citations_follow_their_passage_into_each_revision,
    a_seed_that_fails_half_way_writes_nothing,
);

async fn author(store: &Store) -> Actor {
    let name = AgentName::parse("Store Test").unwrap();
    Actor::agent(store.create_agent(&name, AgentKind::Person, None).await.unwrap().id)
}

async fn create(store: &Store, author: &Actor, slug: &str, content: &str) -> WriteOutcome {
    let input = CreateDocument {
        slug: Slug::parse(slug).unwrap(),
        kind: DocumentKind::Article,
        title: Title::parse("A title").unwrap(),
        content: content.into(),
        message: Message::parse("first").unwrap(),
        source: None,
        placement: palimpsest::store::Placement::PUBLIC,
    };
    store.create_document(input, author).await.unwrap()
}

fn revise(created: &WriteOutcome, head: &RevisionHash, content: &str) -> ReviseDocument {
    ReviseDocument {
        document: created.document.id,
        expected_head: head.clone(),
        content: content.into(),
        title: None,
        message: Message::parse("edit").unwrap(),
        source: None,
    }
}

async fn a_revision_lands_only_on_the_head_its_writer_saw(app: TestApp) {
    let store = &app.store;
    let author = author(store).await;
    let created = create(store, &author, "cas", "one\n").await;
    let first = created.revision.hash.clone();
    let second = store.revise_document(revise(&created, &first, "two\n"), &author).await.unwrap();
    assert_eq!(second.revision.parent.as_ref(), Some(&first));
    assert_eq!(second.document.head, second.revision.hash);

    let stale = store.revise_document(revise(&created, &first, "three\n"), &author).await;
    match stale {
        Err(StoreError::Conflict(Conflict::HeadMoved { expected, current })) => {
            assert_eq!(expected, first);
            assert_eq!(current, second.revision.hash);
        }
        other => panic!("a stale head is a HeadMoved conflict, not {other:?}"),
    }
    let foreign = create(store, &author, "other", "x\n").await.revision.hash;
    let wrong_document = store.revise_document(revise(&created, &foreign, "y\n"), &author).await;
    assert!(
        matches!(wrong_document, Err(StoreError::NotFound(Missing::RevisionOf { .. }))),
        "{wrong_document:?}"
    );
}

async fn a_revision_identical_to_the_head_is_refused(app: TestApp) {
    let store = &app.store;
    let author = author(store).await;
    let created = create(store, &author, "same", "text\n").await;
    let head = created.revision.hash.clone();
    let refused = store.revise_document(revise(&created, &head, "text\n"), &author).await;
    match refused {
        Err(StoreError::Invalid(invalid)) => assert_eq!(invalid.field, "content"),
        other => panic!("an identical revision is invalid content, not {other:?}"),
    }
    // A new title alone is a change.
    let retitled = ReviseDocument {
        title: Some(Title::parse("Another title").unwrap()),
        ..revise(&created, &head, "text\n")
    };
    assert!(store.revise_document(retitled, &author).await.is_ok());
}

async fn revising_keeps_the_stored_title_whatever_todays_rules_say(app: TestApp) {
    use sea_orm::ConnectionTrait;
    let store = &app.store;
    let author = author(store).await;
    let created = create(store, &author, "old-title", "text\n").await;
    // A title stored under looser rules than today's (a control character): the store never
    // re-parses it, so the document stays revisable and keeps its title.
    store
        .connection()
        .execute_unprepared(&format!(
            "UPDATE revisions SET title = 'Old\tstyle' WHERE hash = {}",
            app.digest_literal(created.revision.hash.hex())
        ))
        .await
        .unwrap();
    let head = created.revision.hash.clone();
    let revised = store.revise_document(revise(&created, &head, "new text\n"), &author).await;
    assert_eq!(revised.unwrap().revision.title, "Old\tstyle");
}

fn cite(citing: &WriteOutcome, target: CitationTarget, passage: Option<&str>) -> AddCitation {
    AddCitation {
        document: citing.document.id,
        expected_head: None,
        relation: CitationRelation::Quotes,
        target,
        citing: passage.map(|p| Selector::quote(p).unwrap()),
        target_selector: None,
    }
}

async fn a_citation_is_pinned_only_to_a_revision_of_the_cited_document(app: TestApp) {
    let store = &app.store;
    let author = author(store).await;
    let citing = create(store, &author, "citing", "as the letter says\n").await;
    let cited = create(store, &author, "cited", "the letter\n").await;
    let unrelated = create(store, &author, "unrelated", "other\n").await;
    let pinned_elsewhere = CitationTarget::Document {
        id: cited.document.id,
        pinned: Some(unrelated.revision.hash.clone()),
    };
    match store.add_citation(cite(&citing, pinned_elsewhere, None), &author).await {
        Err(StoreError::Invalid(invalid)) => assert_eq!(invalid.field, "target.revision"),
        other => panic!("a pin to another document's revision is invalid, not {other:?}"),
    }
    let pinned = CitationTarget::Document {
        id: cited.document.id,
        pinned: Some(cited.revision.hash.clone()),
    };
    let stale = AddCitation {
        expected_head: Some(unrelated.revision.hash.clone()),
        ..cite(&citing, pinned.clone(), None)
    };
    assert!(matches!(
        store.add_citation(stale, &author).await,
        Err(StoreError::Conflict(Conflict::HeadMoved { .. }))
    ));
    let citation = store.add_citation(cite(&citing, pinned, Some("the letter")), &author).await;
    let citation = citation.unwrap();
    assert_eq!(citation.citing_revision, citing.revision.hash);
    assert_eq!(citation.anchor, AnchorState::Created);
}

async fn citations_follow_their_passage_into_each_revision(app: TestApp) {
    let store = &app.store;
    let author = author(store).await;
    let citing = create(store, &author, "follows", "Intro.\nThe quoted words.\n").await;
    let cited = create(store, &author, "source-doc", "The quoted words.\n").await;
    let target = CitationTarget::Document { id: cited.document.id, pinned: None };
    let with_passage =
        store.add_citation(cite(&citing, target.clone(), Some("quoted words")), &author).await;
    let with_passage = with_passage.unwrap();
    store.add_citation(cite(&citing, target, None), &author).await.unwrap();

    // "New intro.\nIntro.\nThe " is 22 bytes: the passage moved down by the new first line.
    let anchors = |hash: RevisionHash| async move {
        let citations = store.citations_made_by(&[hash]).await.unwrap();
        let mut anchors: Vec<(AnchorState, Option<usize>)> = citations
            .iter()
            .map(|c| (c.anchor, c.citing_passage.as_ref().and_then(|p| p.start)))
            .collect();
        anchors.sort_by_key(|(anchor, _)| anchor.as_str());
        anchors
    };
    let head = citing.revision.hash.clone();
    let moved = store
        .revise_document(revise(&citing, &head, "New intro.\nIntro.\nThe quoted words.\n"), &author)
        .await
        .unwrap();
    assert_eq!(
        anchors(moved.revision.hash.clone()).await,
        [(AnchorState::Carried, None), (AnchorState::Reanchored, Some(22))]
    );
    let reworded = store
        .revise_document(revise(&citing, &moved.revision.hash, "Intro.\nOther words.\n"), &author)
        .await
        .unwrap();
    assert_eq!(
        anchors(reworded.revision.hash.clone()).await,
        [(AnchorState::Carried, None), (AnchorState::Orphaned, None)]
    );
    let restored = store
        .revise_document(
            revise(&citing, &reworded.revision.hash, "The quoted words again.\n"),
            &author,
        )
        .await
        .unwrap();
    let rows =
        store.citations_made_by(std::slice::from_ref(&restored.revision.hash)).await.unwrap();
    let followed = rows.iter().find(|c| c.lineage == with_passage.lineage).unwrap();
    assert_eq!(followed.anchor, AnchorState::Reanchored);
}

async fn a_seed_that_fails_half_way_writes_nothing(app: TestApp) {
    let dir = std::env::temp_dir().join(format!("palimpsest-seed-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a.txt"), "The first text.\n").unwrap();
    // The citation's passage is not in the citing text: the load fails after the document
    // was written in its transaction.
    let manifest = serde_json::json!({
        "loader": { "name": "Seed Test Loader", "kind": "software" },
        "documents": [{ "slug": "seeded", "kind": "article", "title": "Seeded", "content_file": "a.txt" }],
        "citations": [{
            "from": "seeded", "relation": "quotes",
            "target": { "document": "seeded" },
            "passage": { "exact": "words that are not there" }
        }]
    });
    std::fs::write(dir.join("corpus.json"), manifest.to_string()).unwrap();
    let result =
        palimpsest::seed::load(&app.store, &palimpsest::seed::Seeds::Dir(dir.clone())).await;
    std::fs::remove_dir_all(&dir).ok();
    assert!(result.is_err(), "the seed cannot record its citation");
    assert_eq!(app.corpus_size().await, (0, 0), "nothing of the failed seed is stored");
    let loader = AgentName::parse("Seed Test Loader").unwrap();
    assert!(app.store.agents_named(&loader, None).await.unwrap().is_empty());
}
