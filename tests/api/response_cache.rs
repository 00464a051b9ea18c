//! The response cache: an anonymous query asked again while nothing it read has changed is
//! answered without running it, and a commit from anywhere (the API, the store, another
//! process, another connection writing plain SQL) is seen by the very next request; a write to
//! one document leaves the answers that read only others.

use std::sync::atomic::Ordering;

use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, assert_no_errors, spawn_configured};

crate::on_both_backends!(
    an_identical_anonymous_query_is_answered_without_running_it,
    a_write_through_the_api_is_seen_by_the_next_request,
    a_write_by_another_connection_in_plain_sql_is_seen_by_the_next_request,
    a_write_by_the_store_outside_any_request_is_seen_by_the_next_request,
    answers_with_credentials_errors_or_the_rate_limit_are_not_kept,
    a_replayed_answer_costs_the_rate_limit_what_running_it_costs,
    with_the_cache_off_every_request_runs,
    a_write_to_one_document_keeps_the_answers_that_read_only_others,
    a_write_by_another_process_drops_only_what_it_changed,
    a_revision_keeping_title_and_source_keeps_the_pages_that_show_only_those,
    a_write_by_hand_that_logs_itself_is_seen_beside_other_writes,
    an_answer_kept_for_anyone_is_dropped_when_an_embargo_lifts,
);

/// On SQLite a write can move the database's version before it commits (a writer that finds
/// the write-ahead log all checkpointed starts it afresh first, which readers see), and a
/// version that moved with no change logged reads as a change to everything: every few hundred
/// writes emptied the cache. A marker read while this process has a write in flight waits for
/// it to end, and reads its change. Here the version moves by a commit that logs nothing just
/// before the write begins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite_a_marker_read_under_a_write_in_flight_reads_its_change() {
    use palimpsest::store::{
        AgentKind, Changed, CreateDocument, DocumentKind, Message, Placement, Slug, Title,
    };
    use sea_orm::ConnectionTrait;
    let app = crate::helpers::spawn_schema(Backend::Sqlite).await.unwrap();
    let token = app.editor().await;
    app.create_document(&token, "earlier", "text\n").await;
    let (_, actor) = app.another_process("Writer", AgentKind::Software).await;
    let store = app.store.clone();
    let before = store.change_marker().await.unwrap().unwrap();

    let db = palimpsest::store::connect(&app.database_url).await.unwrap();
    db.execute_unprepared("UPDATE documents SET updated_at = updated_at").await.unwrap();
    let write = store.begin().await.unwrap();
    let reading = tokio::spawn({
        let store = store.clone();
        async move { store.change_marker().await.unwrap().unwrap() }
    });
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    assert!(!reading.is_finished(), "the marker's read waits for the write in flight");
    let created = write
        .create_document(
            CreateDocument {
                slug: Slug::parse("written").unwrap(),
                kind: DocumentKind::Article,
                title: Title::parse("Written").unwrap(),
                content: "text\n".into(),
                message: Message::parse("").unwrap(),
                source: None,
                placement: Placement::PUBLIC,
            },
            &actor,
        )
        .await
        .unwrap();
    write.commit().await.unwrap();
    let after = reading.await.unwrap();
    assert_eq!(after.seq(), before.seq() + 1, "the write's change, read with the version");
    let Changed::Documents(changed) = store.changed_between(&before, &after).await.unwrap() else {
        panic!("taken for a change to everything");
    };
    assert!(changed.contains_key(&created.document.id), "{changed:?}");
}

const DOCUMENT: &str =
    "query($slug: String!) { document(slug: $slug) { title head { number message content } } }";

/// Posts `query` anonymously; returns the body and how many statements answering it ran.
async fn counted(app: &TestApp, query: &str, variables: Value) -> (Value, usize) {
    app.statements.store(0, Ordering::SeqCst);
    let body = app.query(query, variables).await;
    (body, app.statements.load(Ordering::SeqCst))
}

/// Asks `query`, then again until it is answered without running: at once on SQLite, whose marker
/// is the database file's; on PostgreSQL the marker is the cluster's, which the other tests'
/// databases on it move too, so an attempt may find that something committed meanwhile.
async fn replayed(app: &TestApp, query: &str, variables: Value) -> Value {
    let attempts = match app.backend {
        Backend::Sqlite => 1,
        Backend::Postgres => 100,
    };
    app.query(query, variables.clone()).await;
    for _ in 0..attempts {
        let (body, ran) = counted(app, query, variables.clone()).await;
        if ran == 0 {
            return body;
        }
    }
    panic!("{query} was run every time");
}

/// One sample of `/metrics`, by its name and labels.
async fn metric(app: &TestApp, sample: &str) -> u64 {
    let text = app.client.get(format!("{}/metrics", app.address)).send().await.unwrap();
    assert!(
        text.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4")
    );
    let text = text.text().await.unwrap();
    let line = text.lines().find(|l| l.starts_with(&format!("{sample} "))).unwrap_or_else(|| {
        panic!("no {sample} in /metrics:\n{text}");
    });
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

async fn an_identical_anonymous_query_is_answered_without_running_it(app: TestApp) {
    let token = app.editor().await;
    app.create_document(&token, "kept", "the text\n").await;
    let hit = r#"palimpsest_response_cache_requests_total{result="hit"}"#;
    let (hits, entries) =
        (metric(&app, hit).await, metric(&app, "palimpsest_response_cache_entries").await);
    let (first, ran) = counted(&app, DOCUMENT, json!({ "slug": "kept" })).await;
    assert_no_errors(&first);
    assert!(ran > 0, "the first request runs");
    let again = replayed(&app, DOCUMENT, json!({ "slug": "kept" })).await;
    assert_eq!(again, first, "the same request, the database unchanged: replayed");
    assert!(metric(&app, hit).await > hits, "/metrics counts the replay");
    assert!(metric(&app, "palimpsest_response_cache_entries").await > entries);

    // Another request, even one asking for the same thing in other words, runs.
    let (other, ran) =
        counted(&app, &DOCUMENT.replace("title", "title "), json!({ "slug": "kept" })).await;
    assert_eq!(other, first);
    assert!(ran > 0);

    // Over GET as well, and a GET is not a POST's answer.
    let url = format!("{}/graphql", app.address);
    let get = || {
        app.client
            .get(&url)
            .query(&[("query", DOCUMENT), ("variables", r#"{"slug":"kept"}"#)])
            .header("accept", "application/graphql-response+json")
    };
    let response = get().send().await.unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "application/graphql-response+json; charset=utf-8"
    );
    assert_eq!(response.json::<Value>().await.unwrap(), first);
    for attempt in 0.. {
        app.statements.store(0, Ordering::SeqCst);
        assert_eq!(get().send().await.unwrap().json::<Value>().await.unwrap(), first);
        if app.statements.load(Ordering::SeqCst) == 0 {
            break;
        }
        assert!(app.backend == Backend::Postgres && attempt < 100, "a GET is replayed too");
    }
}

async fn a_write_through_the_api_is_seen_by_the_next_request(app: TestApp) {
    let token = app.editor().await;
    let created = app.create_document(&token, "moving", "first\n").await;
    let id = created["document"]["id"].as_str().unwrap();
    let mut head = created["revision"]["hash"].as_str().unwrap().to_owned();
    for n in 2..=4 {
        let (before, _) = counted(&app, DOCUMENT, json!({ "slug": "moving" })).await;
        assert_eq!(before["data"]["document"]["head"]["number"], n - 1);
        replayed(&app, DOCUMENT, json!({ "slug": "moving" })).await;
        let revised = app.revise(&token, id, &head, &format!("text {n}\n")).await;
        assert_no_errors(&revised);
        head = revised["data"]["reviseDocument"]["revision"]["hash"].as_str().unwrap().into();
        let (after, ran) = counted(&app, DOCUMENT, json!({ "slug": "moving" })).await;
        assert!(ran > 0, "a commit since: the request runs");
        assert_eq!(after["data"]["document"]["head"]["number"], n);
        assert_eq!(after["data"]["document"]["head"]["content"], format!("text {n}\n"));
    }
}

async fn a_write_by_another_connection_in_plain_sql_is_seen_by_the_next_request(app: TestApp) {
    use sea_orm::ConnectionTrait;
    let token = app.editor().await;
    app.create_document(&token, "by-hand", "text\n").await;
    let before = replayed(&app, DOCUMENT, json!({ "slug": "by-hand" })).await;
    assert_eq!(before["data"]["document"]["head"]["message"], "first capture");

    assert_eq!(before["data"]["document"]["head"]["content"], "text\n");

    // Another process, as far as the server can tell: its own pool, plain SQL. (A column a
    // revision's hash does not cover: the server keeps the others by hash.)
    let other = palimpsest::store::connect(&app.database_url).await.unwrap();
    other.execute_unprepared("UPDATE revisions SET redacted = true").await.unwrap();
    let (after, ran) = counted(&app, DOCUMENT, json!({ "slug": "by-hand" })).await;
    assert!(ran > 0);
    assert_eq!(after["data"]["document"]["head"]["content"], Value::Null, "{after}");
}

async fn a_write_by_the_store_outside_any_request_is_seen_by_the_next_request(app: TestApp) {
    const LOG: &str = "{ transparencyLog { size } }";
    let token = app.editor().await;
    app.create_document(&token, "logged", "text\n").await;
    let before = replayed(&app, LOG, json!({})).await;
    assert_eq!(before["data"]["transparencyLog"]["size"], 0, "as the last checkpoint has it");
    // The server's signer does this on its timer.
    app.store.sign_checkpoint(&app.log_key).await.unwrap();
    let (after, ran) = counted(&app, LOG, json!({})).await;
    assert!(ran > 0);
    assert_eq!(after["data"]["transparencyLog"]["size"], 1, "{after}");
}

async fn answers_with_credentials_errors_or_the_rate_limit_are_not_kept(app: TestApp) {
    let token = app.editor().await;
    app.create_document(&token, "private", "text\n").await;
    for _ in 0..2 {
        app.statements.store(0, Ordering::SeqCst);
        let body = app.query_as(Some(&token), DOCUMENT, json!({ "slug": "private" })).await;
        assert_no_errors(&body);
        assert!(app.statements.load(Ordering::SeqCst) > 0, "a request with a token runs");
    }
    let partly = "{ documents(first: 5) { nodes { slug } } revision(hash: \"nope\") { hash } }";
    for _ in 0..2 {
        let (body, ran) = counted(&app, partly, json!({})).await;
        assert!(body["errors"].is_array() && body["data"]["documents"].is_object(), "{body}");
        assert!(ran > 0, "an answer with errors is not kept");
    }
}

async fn a_replayed_answer_costs_the_rate_limit_what_running_it_costs(app: TestApp) {
    // The same requests on a server with the cache and one without: the same charges, the
    // same refusal.
    let mut used = Vec::new();
    for cache in [16 << 20, 0] {
        let app = spawn_configured(app.backend, |config| {
            config.http.response_cache_bytes = cache;
            config.http.rate_limits.anonymous_points = 200;
            config.http.rate_limits.window = std::time::Duration::from_secs(24 * 3600);
        })
        .await
        .unwrap();
        let query = json!({ "query": "{ documents(first: 20) { nodes { slug } } }" });
        let mut seen = Vec::new();
        loop {
            let response = app.post_graphql().json(&query).send().await.unwrap();
            if response.status() == 429 {
                break;
            }
            assert_eq!(response.status(), 200);
            seen.push(response.headers()["x-ratelimit-used"].to_str().unwrap().to_owned());
            assert!(seen.len() < 50, "the limit refuses in the end");
        }
        used.push(seen);
    }
    assert!(used[0].len() > 2, "{used:?}");
    assert_eq!(used[0], used[1], "charged alike with and without the cache");

    // The rate limit's own report is the request's, never another's.
    let app = spawn_configured(app.backend, |config| {
        config.http.rate_limits.anonymous_points = 10_000;
    })
    .await
    .unwrap();
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let (body, _) = counted(&app, "{ rateLimit { remaining } }", json!({})).await;
        remaining.push(body["data"]["rateLimit"]["remaining"].as_u64().unwrap());
    }
    assert!(remaining[0] > remaining[1] && remaining[1] > remaining[2], "{remaining:?}");
}

async fn with_the_cache_off_every_request_runs(app: TestApp) {
    let app =
        spawn_configured(app.backend, |config| config.http.response_cache_bytes = 0).await.unwrap();
    let token = app.editor().await;
    app.create_document(&token, "uncached", "text\n").await;
    for _ in 0..3 {
        let (body, ran) = counted(&app, DOCUMENT, json!({ "slug": "uncached" })).await;
        assert_no_errors(&body);
        assert!(ran > 0);
    }
}

/// The head's hash of the document `slug`, read by a token (not through the cache).
async fn head_of(app: &TestApp, token: &str, slug: &str) -> (String, String) {
    let body = app
        .query_as(
            Some(token),
            "query($s: String!) { document(slug: $s) { id head { hash } } }",
            json!({ "s": slug }),
        )
        .await;
    let document = &body["data"]["document"];
    (document["id"].as_str().unwrap().into(), document["head"]["hash"].as_str().unwrap().into())
}

/// Revises the document `slug` at its head, through the API.
async fn revise_slug(app: &TestApp, token: &str, slug: &str, content: &str) {
    revise_with(app, token, slug, json!({ "content": content, "message": "edit" })).await;
}

/// `revise_slug` with `input`'s fields (content, title, source…).
async fn revise_with(app: &TestApp, token: &str, slug: &str, mut input: Value) {
    let (id, head) = head_of(app, token, slug).await;
    input["documentId"] = json!(id);
    input["expectedHead"] = json!(head);
    let body =
        app.query_as(Some(token), crate::helpers::REVISE_DOCUMENT, json!({ "input": input })).await;
    assert_no_errors(&body);
}

/// Runs `write` until the request for `kept` that follows it is replayed: at once on SQLite;
/// on PostgreSQL, whose marker the other tests' databases move too, in some attempt.
async fn kept_past<F, Fut>(app: &TestApp, kept: Value, write: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    query_kept_past(app, DOCUMENT, kept, write).await;
}

/// `kept_past` for any query.
async fn query_kept_past<F, Fut>(app: &TestApp, query: &str, kept: Value, mut write: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let attempts = match app.backend {
        Backend::Sqlite => 1,
        Backend::Postgres => 30,
    };
    for _ in 0..attempts {
        let before = replayed(app, query, kept.clone()).await;
        write().await;
        // Another request moves the cache past the write first: reading what changed is a
        // statement of its own.
        app.query("{ __typename }", json!({})).await;
        let (after, ran) = counted(app, query, kept.clone()).await;
        assert_eq!(after, before);
        if ran == 0 {
            return;
        }
    }
    panic!("a write to another document dropped the answer to {query} {kept}");
}

async fn a_write_to_one_document_keeps_the_answers_that_read_only_others(app: TestApp) {
    let token = app.editor().await;
    app.create_document(&token, "quiet", "quiet text\n").await;
    app.create_document(&token, "busy", "busy text 0\n").await;
    const LIST: &str = "{ documents(first: 10) { nodes { slug head { content } } } }";
    let mut n = 0;
    kept_past(&app, json!({ "slug": "quiet" }), || {
        n += 1;
        let (app, token, n) = (&app, &token, n);
        async move { revise_slug(app, token, "busy", &format!("busy text {n}\n")).await }
    })
    .await;

    // What read the written document, or a list of documents, is not replayed.
    let (busy, ran) = counted(&app, DOCUMENT, json!({ "slug": "busy" })).await;
    assert!(ran > 0);
    assert_eq!(busy["data"]["document"]["head"]["content"], format!("busy text {n}\n"));
    replayed(&app, LIST, json!({})).await;
    revise_slug(&app, &token, "busy", "busy, listed\n").await;
    let (list, ran) = counted(&app, LIST, json!({})).await;
    assert!(ran > 0, "a list reads the documents on it");
    assert!(list.to_string().contains("busy, listed"), "{list}");

    // A page in creation order reads the documents on it and which there are: kept past a
    // revision of a document not on it, not past a new document.
    const FIRST: &str = "{ documents(first: 1) { totalCount nodes { slug head { content } } } }";
    query_kept_past(&app, FIRST, json!({}), || {
        n += 1;
        let (app, token, n) = (&app, &token, n);
        async move { revise_slug(app, token, "busy", &format!("busy text {n}\n")).await }
    })
    .await;
    app.create_document(&token, "newest", "new\n").await;
    let (first, ran) = counted(&app, FIRST, json!({})).await;
    assert!(ran > 0, "a new document changes which there are");
    assert_eq!(first["data"]["documents"]["totalCount"], 3);
    assert_eq!(first["data"]["documents"]["nodes"][0]["slug"], "quiet");
    // In the order of their updates, any revision reorders the pages: none is kept past it.
    const UPDATED: &str = "{ documents(first: 1, orderBy: { field: UPDATED_AT, direction: DESC })
        { nodes { slug } } }";
    replayed(&app, UPDATED, json!({})).await;
    revise_slug(&app, &token, "quiet", "quiet, moved up\n").await;
    let (updated, ran) = counted(&app, UPDATED, json!({})).await;
    assert!(ran > 0);
    assert_eq!(updated["data"]["documents"]["nodes"][0]["slug"], "quiet");

    // A new document changes what a query for its slug answered before it was made.
    let missing = json!({ "slug": "later" });
    let before = replayed(&app, DOCUMENT, missing.clone()).await;
    assert_eq!(before["data"]["document"], Value::Null);
    app.create_document(&token, "later", "made later\n").await;
    let (after, ran) = counted(&app, DOCUMENT, missing).await;
    assert!(ran > 0);
    assert_eq!(after["data"]["document"]["head"]["content"], "made later\n");
}

async fn a_write_by_another_process_drops_only_what_it_changed(app: TestApp) {
    let token = app.editor().await;
    app.create_document(&token, "theirs", "theirs 0\n").await;
    app.create_document(&token, "ours", "ours\n").await;
    let (other, actor) =
        app.another_process("Elsewhere", palimpsest::store::AgentKind::Software).await;
    let revise = |n: u32| {
        let (app, token, other, actor) = (&app, &token, &other, &actor);
        async move {
            let (id, head) = head_of(app, token, "theirs").await;
            let decoded =
                base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &id)
                    .unwrap();
            let uuid = String::from_utf8(decoded).unwrap();
            other
                .revise_document(
                    palimpsest::store::ReviseDocument {
                        document: palimpsest::store::DocumentId::parse(
                            uuid.trim_start_matches("Document:"),
                        )
                        .unwrap(),
                        expected_head: palimpsest::store::RevisionHash::parse(&head).unwrap(),
                        content: format!("theirs {n}\n"),
                        title: None,
                        message: palimpsest::store::Message::parse("elsewhere").unwrap(),
                        source: None,
                    },
                    actor,
                )
                .await
                .unwrap();
        }
    };
    let mut n = 0;
    kept_past(&app, json!({ "slug": "ours" }), || {
        n += 1;
        revise(n)
    })
    .await;
    replayed(&app, DOCUMENT, json!({ "slug": "theirs" })).await;
    revise(100).await;
    let (theirs, ran) = counted(&app, DOCUMENT, json!({ "slug": "theirs" })).await;
    assert!(ran > 0);
    assert_eq!(theirs["data"]["document"]["head"]["content"], "theirs 100\n");
    // Its change log says when a revision changed only a document's history: a page showing
    // only what such a revision keeps is kept past it.
    query_kept_past(&app, SUMMARIES, json!({}), || {
        n += 1;
        revise(n)
    })
    .await;
}

/// A page of documents that shows of each only its summary: what a revision keeping its
/// parent's title and source leaves as it was.
const SUMMARIES: &str =
    "{ documents(first: 10) { totalCount nodes { slug title head { source { url } } } } }";

async fn a_revision_keeping_title_and_source_keeps_the_pages_that_show_only_those(app: TestApp) {
    let token = app.editor().await;
    app.create_document(&token, "shown", "shown 0\n").await;
    app.create_document(&token, "beside", "beside\n").await;
    let mut n = 0;
    query_kept_past(&app, SUMMARIES, json!({}), || {
        n += 1;
        let (app, token, n) = (&app, &token, n);
        async move { revise_slug(app, token, "shown", &format!("shown {n}\n")).await }
    })
    .await;

    // What shows more of the document than its summary is not kept past such a revision.
    for (query, variables) in [
        (DOCUMENT, json!({ "slug": "shown" })),
        ("{ documents(first: 10) { nodes { slug updatedAt } } }", json!({})),
        ("{ documents(first: 10) { nodes { slug head { number } } } }", json!({})),
    ] {
        let before = replayed(&app, query, variables.clone()).await;
        n += 1;
        revise_slug(&app, &token, "shown", &format!("shown {n}\n")).await;
        let (after, ran) = counted(&app, query, variables).await;
        assert!(ran > 0, "{query} was replayed after a revision of its document");
        assert_ne!(after, before, "{query}");
    }

    // A new title, and a new source, show on the page at once.
    replayed(&app, SUMMARIES, json!({})).await;
    revise_with(&app, &token, "shown", json!({ "content": "retitled\n", "title": "Retitled" }))
        .await;
    let (page, ran) = counted(&app, SUMMARIES, json!({})).await;
    assert!(ran > 0);
    assert!(page.to_string().contains("\"Retitled\""), "{page}");
    let source = app
        .query_as(
            Some(&token),
            "mutation { createSource(input: { title: \"Seen\", url: \"https://example.org/seen\" }) \
             { source { id } } }",
            json!({}),
        )
        .await;
    let source = source["data"]["createSource"]["source"]["id"].as_str().unwrap().to_owned();
    replayed(&app, SUMMARIES, json!({})).await;
    revise_with(&app, &token, "shown", json!({ "content": "sourced\n", "source": source })).await;
    let (page, ran) = counted(&app, SUMMARIES, json!({})).await;
    assert!(ran > 0);
    assert!(page.to_string().contains("https://example.org/seen"), "{page}");
    // And a revision that drops the source again.
    replayed(&app, SUMMARIES, json!({})).await;
    revise_slug(&app, &token, "shown", "unsourced\n").await;
    let (page, ran) = counted(&app, SUMMARIES, json!({})).await;
    assert!(ran > 0);
    assert!(!page.to_string().contains("https://example.org/seen"), "{page}");
}

async fn a_write_by_hand_that_logs_itself_is_seen_beside_other_writes(app: TestApp) {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    let token = app.editor().await;
    app.create_document(&token, "edited", "text\n").await;
    app.create_document(&token, "other", "text\n").await;
    replayed(&app, DOCUMENT, json!({ "slug": "edited" })).await;

    // A write by hand that logs itself as ARCHITECTURE.md shows, and a write through the API
    // to another document, between two requests: the edited document's answer is not kept.
    let db = palimpsest::store::connect(&app.database_url).await.unwrap();
    let tx = db.begin().await.unwrap();
    tx.execute_unprepared(
        "UPDATE revisions SET redacted = true \
         WHERE document_id = (SELECT id FROM documents WHERE slug = 'edited')",
    )
    .await
    .unwrap();
    tx.execute_unprepared("UPDATE change_head SET seq = seq + 1 WHERE id = 1").await.unwrap();
    tx.execute_unprepared(
        "INSERT INTO change_log (seq, document_id) \
         SELECT seq, NULL FROM change_head WHERE id = 1",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    revise_slug(&app, &token, "other", "other, later\n").await;
    let (after, ran) = counted(&app, DOCUMENT, json!({ "slug": "edited" })).await;
    assert!(ran > 0);
    assert_eq!(after["data"]["document"]["head"]["content"], Value::Null, "{after}");
}

/// An embargo lifting commits nothing, yet it changes what anyone may read: the answer kept
/// while the document was embargoed (null) is not replayed once it is public.
async fn an_answer_kept_for_anyone_is_dropped_when_an_embargo_lifts(app: TestApp) {
    use palimpsest::store::{Actor, AgentKind, AgentName, Slug, Timestamp};
    let token = app.editor().await;
    app.create_document(&token, "embargoed", "the annual report\n").await;
    let store = &app.store;
    let slug = Slug::parse("embargoed").unwrap();
    let document = store.document_by_slug(&slug).await.unwrap().unwrap();
    let name = AgentName::parse("Embargo Desk").unwrap();
    let desk = Actor::agent(store.create_agent(&name, AgentKind::Person, None).await.unwrap().id);
    let publish_at = Timestamp::from_micros(Timestamp::now().micros() + 3_000_000);
    store.set_embargo(document.id, Some(publish_at), Some(&desk)).await.unwrap();

    let hidden = replayed(&app, DOCUMENT, json!({ "slug": "embargoed" })).await;
    assert!(Timestamp::now() < publish_at, "replayed before the embargo lifted");
    assert_eq!(hidden["data"]["document"], Value::Null, "{hidden}");

    let wait = publish_at.micros() - Timestamp::now().micros() + 50_000;
    tokio::time::sleep(std::time::Duration::from_micros(wait.max(0) as u64)).await;
    let public = app.query(DOCUMENT, json!({ "slug": "embargoed" })).await;
    assert_no_errors(&public);
    assert_eq!(public["data"]["document"]["head"]["content"], "the annual report\n");
}
