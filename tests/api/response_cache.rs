//! The response cache: an anonymous query asked again while the database is unchanged is
//! answered without running it, and a commit from anywhere (the API, the store, another
//! connection writing plain SQL) is seen by the very next request.

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
);

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

async fn an_identical_anonymous_query_is_answered_without_running_it(app: TestApp) {
    let token = app.editor().await;
    app.create_document(&token, "kept", "the text\n").await;
    let (first, ran) = counted(&app, DOCUMENT, json!({ "slug": "kept" })).await;
    assert_no_errors(&first);
    assert!(ran > 0, "the first request runs");
    let again = replayed(&app, DOCUMENT, json!({ "slug": "kept" })).await;
    assert_eq!(again, first, "the same request, the database unchanged: replayed");

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

    // Another process, as far as the server can tell: its own pool, plain SQL.
    let other = palimpsest::store::connect(&app.database_url).await.unwrap();
    other.execute_unprepared("UPDATE revisions SET message = 'Rewritten by hand'").await.unwrap();
    let (after, ran) = counted(&app, DOCUMENT, json!({ "slug": "by-hand" })).await;
    assert!(ran > 0);
    assert_eq!(after["data"]["document"]["head"]["message"], "Rewritten by hand");
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
