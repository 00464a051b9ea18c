//! What the server does when its database or its own capacity fails it: a locked database, a
//! PostgreSQL server that vanishes, heavy work that cannot start before the deadline. Each is
//! answered with a code that says so (and when to retry), nothing is half-written, and the
//! server recovers without a restart.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{
    Backend, CREATE_DOCUMENT, TestApp, assert_no_errors, error_code, spawn_configured,
};

crate::on_both_backends!(
    a_locked_database_is_answered_unavailable_and_recovered_from,
    requests_run_under_a_deadline,
    a_database_removed_under_the_server_is_unavailable_and_acknowledges_no_write,
);

fn message(body: &Value) -> &str {
    body["errors"][0]["message"].as_str().unwrap()
}

/// An app whose database gives up on a lock after a fraction of a second.
async fn impatient_app(backend: Backend) -> TestApp {
    spawn_configured(backend, |config| {
        config.database.statement = Duration::from_millis(300);
        config.database.acquire = Duration::from_millis(1000);
    })
    .await
    .unwrap()
}

/// The write (SQLite) or read (PostgreSQL) that a held lock blocks.
async fn blocked_request(app: &TestApp, token: &str, slug: &str) -> reqwest::Response {
    let (query, variables) = match app.backend {
        Backend::Sqlite => (
            CREATE_DOCUMENT,
            json!({ "input": { "slug": slug, "title": "T", "kind": "ARTICLE", "content": "c" } }),
        ),
        Backend::Postgres => ("{ documents { totalCount } }", json!({})),
    };
    app.post_graphql()
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .unwrap()
}

async fn a_locked_database_is_answered_unavailable_and_recovered_from(app: TestApp) {
    let app = impatient_app(app.backend).await;
    let token = app.editor().await;
    let before = app.corpus_size().await;
    let lock = app.hold_lock().await;
    let response = blocked_request(&app, &token, "while-locked").await;
    let retry_after = response.headers().get("retry-after").cloned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "UNAVAILABLE", "{body:#}");
    assert_eq!(body["errors"][0]["extensions"]["retryAfter"], 5);
    assert_eq!(retry_after.unwrap(), "5");
    assert!(!message(&body).contains("SQL"), "{body:#}");
    lock.release().await;
    assert_eq!(app.corpus_size().await, before, "nothing was written");
    // No restart: the next request goes through.
    let response = blocked_request(&app, &token, "after-the-lock").await;
    assert_no_errors(&response.json().await.unwrap());
}

async fn requests_run_under_a_deadline(app: TestApp) {
    let app = spawn_configured(app.backend, |config| {
        config.http.limits.deadline = Duration::from_millis(200);
    })
    .await
    .unwrap();
    let token = app.editor().await;
    let (_, hashes) = app.document_with_history(&token, "late", 2).await;
    // Hold the heavy-work pool, so that a diff waits for it past the deadline.
    let (release, hold) = std::sync::mpsc::channel::<()>();
    let held = tokio::spawn({
        let compute = app.store.compute().clone();
        async move { compute.run(move || hold.recv().ok()).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let body = app
        .query(
            "query($from: String!, $to: String!) { diff(from: $from, to: $to) { unified } }",
            json!({ "from": hashes[0], "to": hashes[1] }),
        )
        .await;
    release.send(()).unwrap();
    held.await.unwrap().unwrap();
    assert_eq!(error_code(&body), "QUERY_TOO_COMPLEX", "{body:#}");
    assert_eq!(body["errors"][0]["extensions"]["limit"], "timeMs");
    assert_eq!(body["errors"][0]["extensions"]["max"], 200);
    // A write is never cut short by the deadline: it ends by itself, as committed or not.
    let lock = app.hold_lock().await;
    let blocked = tokio::spawn({
        let (client, url, token) =
            (app.client.clone(), format!("{}/graphql", app.address), token.clone());
        async move {
            client
                .post(url)
                .bearer_auth(token)
                .json(&json!({ "query": CREATE_DOCUMENT, "variables": { "input": {
                    "slug": "after-the-deadline", "title": "T", "kind": "ARTICLE", "content": "c" } } }))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    lock.release().await;
    // The write waited for the lock, past the deadline, and then wrote.
    assert_no_errors(&blocked.await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    palimpsest_no_postgres,
    ignore = "PALIMPSEST_TEST_POSTGRES_URL was not set when the tests were built"
)]
async fn postgres_outages_are_answered_unavailable_and_readiness_follows_the_database() {
    let Some(app) = spawn_configured(Backend::Postgres, |config| {
        config.through_proxy = true;
        config.database.statement = Duration::from_millis(500);
        config.database.acquire = Duration::from_millis(500);
    })
    .await
    else {
        panic!("{} names no PostgreSQL server", crate::helpers::POSTGRES_ENV);
    };
    let proxy = app.proxy.as_ref().unwrap();
    let ready = |app: &TestApp| {
        let request = app.client.get(format!("{}/readyz", app.address)).send();
        async move { request.await.unwrap().status() }
    };
    assert_eq!(ready(&app).await, 200);
    proxy.cut();
    let response = app
        .post_graphql()
        .json(&json!({ "query": "{ documents { totalCount } }" }))
        .send()
        .await
        .unwrap();
    assert!(response.headers().contains_key("retry-after"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "UNAVAILABLE", "{body:#}");
    let not_ready = app.client.get(format!("{}/readyz", app.address)).send().await.unwrap();
    assert_eq!(not_ready.status(), 503);
    assert!(not_ready.headers().contains_key("retry-after"));
    // Liveness is the process's, not the database's.
    let health = app.client.get(format!("{}/healthz", app.address)).send().await.unwrap();
    assert_eq!(health.status(), 200);

    proxy.restore();
    let mut recovered = false;
    for _ in 0..50 {
        let body = app.query("{ documents { totalCount } }", json!({})).await;
        if body.get("errors").is_none() {
            recovered = true;
            break;
        }
        assert_eq!(error_code(&body), "UNAVAILABLE", "{body:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered, "the server recovered without a restart");
    assert_eq!(ready(&app).await, 200);
}

/// A SQLite file deleted under the running server, or a PostgreSQL database dropped under it:
/// writes are answered `UNAVAILABLE` (SQLite would go on writing to the unlinked file, and
/// every acknowledged write would be lost), and the server says it is not ready.
async fn a_database_removed_under_the_server_is_unavailable_and_acknowledges_no_write(
    app: TestApp,
) {
    let token = app.editor().await;
    let created = app.create_document(&token, "before", "text\n").await;
    assert!(created["document"]["id"].is_string());
    match app.backend {
        Backend::Sqlite => {
            let path = app.database_url.trim_start_matches("sqlite://");
            let path = path.split('?').next().unwrap();
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{path}{suffix}"));
            }
        }
        Backend::Postgres => {
            use sea_orm::ConnectionTrait;
            let (base, name) = app.database_url.rsplit_once('/').unwrap();
            let admin = sea_orm::Database::connect(format!("{base}/postgres")).await.unwrap();
            admin
                .execute_unprepared(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
                .await
                .unwrap();
        }
    }
    let response = app
        .post_graphql()
        .bearer_auth(&token)
        .json(&json!({ "query": CREATE_DOCUMENT, "variables": { "input": {
            "slug": "after", "title": "T", "kind": "ARTICLE", "content": "c" } } }))
        .send()
        .await
        .unwrap();
    // The mutation field failed (`data.createDocument` is null): GraphQL over HTTP answers 200,
    // with when to retry.
    let retry_after = response.headers().get("retry-after").cloned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "UNAVAILABLE", "{:?}: {body:#}", app.backend);
    assert_eq!(retry_after.unwrap(), "5");
    assert!(!message(&body).contains("internal"), "{body:#}");
    let ready = app.client.get(format!("{}/readyz", app.address)).send().await.unwrap();
    assert_eq!(ready.status(), 503);
}
