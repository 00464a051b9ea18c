//! Optimistic concurrency under real contention: of 16 clients revising the same head at
//! once, exactly one wins and the history stays a single chain; and 64 clients writing at once,
//! each to its own document, all get their turn: none is refused for want of the database's
//! write lock (on SQLite a process's writers queue for it in order, `Store::write_turn`), nor
//! are the process's other writes made meanwhile (agents, tokens, revocations).

use serde_json::json;

use crate::helpers::{TestApp, assert_no_errors, error_code};

crate::on_both_backends!(
    sixteen_concurrent_revisions_of_one_head_leave_exactly_one_winner,
    sixty_four_writers_at_once_are_all_served_and_every_write_lands_once,
);

async fn sixty_four_writers_at_once_are_all_served_and_every_write_lands_once(app: TestApp) {
    const WRITERS: usize = 64;
    const REVISIONS: usize = 8;
    let token = app.editor().await;
    let writers = (0..WRITERS).map(|w| {
        let (app, token) = (&app, token.clone());
        async move {
            let created = app.create_document(&token, &format!("writer-{w}"), "start\n").await;
            let id = created["document"]["id"].as_str().unwrap().to_owned();
            let mut head = created["revision"]["hash"].as_str().unwrap().to_owned();
            for n in 0..REVISIONS {
                let body = app.revise(&token, &id, &head, &format!("writer {w} edit {n}\n")).await;
                assert_no_errors(&body);
                head = body["data"]["reviseDocument"]["revision"]["hash"].as_str().unwrap().into();
            }
            (id, head)
        }
    });
    // The process's other writes, which open their transactions themselves, take turns too.
    let store = &app.store;
    let others = (0..16).map(|k| async move {
        let name = palimpsest::store::AgentName::parse(&format!("Beside {k}")).unwrap();
        let kind = palimpsest::store::AgentKind::Person;
        let agent = store.create_agent(&name, kind, None).await.expect("an agent");
        let token = store.create_token(agent, palimpsest::store::Role::Reader, None).await;
        store.revoke_token(token.expect("a token").token.id).await.expect("a revocation");
    });
    let (written, ()) =
        futures_util::future::join(futures_util::future::join_all(writers), async {
            futures_util::future::join_all(others).await;
        })
        .await;
    for (id, head) in written {
        let body = app
            .query(
                "query($id: ID!) { document(id: $id) { head { hash number }
                   revisions(first: 20) { totalCount nodes { content } } } }",
                json!({ "id": id }),
            )
            .await;
        assert_no_errors(&body);
        let document = &body["data"]["document"];
        assert_eq!(document["head"]["hash"], head.as_str());
        assert_eq!(document["head"]["number"], REVISIONS as i64 + 1);
        let contents: Vec<_> = document["revisions"]["nodes"].as_array().unwrap().iter().collect();
        let distinct: std::collections::HashSet<_> =
            contents.iter().map(|n| &n["content"]).collect();
        assert_eq!(distinct.len(), REVISIONS + 1, "each write once: {document}");
    }
    assert_eq!(app.corpus_size().await, (WRITERS as u64, (WRITERS * (REVISIONS + 1)) as u64));
}

async fn sixteen_concurrent_revisions_of_one_head_leave_exactly_one_winner(app: TestApp) {
    let token = app.editor().await;
    let created = app.create_document(&token, "contested", "original\n").await;
    let id = created["document"]["id"].as_str().unwrap().to_owned();
    let head = created["revision"]["hash"].as_str().unwrap().to_owned();

    let attempts = (0..16).map(|i| {
        let (app, token, id, head) = (&app, token.clone(), id.clone(), head.clone());
        async move { app.revise(&token, &id, &head, &format!("edit by client {i}\n")).await }
    });
    let results = futures_util::future::join_all(attempts).await;
    let winners: Vec<_> = results.iter().filter(|body| body.get("errors").is_none()).collect();
    let losers: Vec<_> = results.iter().filter(|body| body.get("errors").is_some()).collect();
    assert_eq!(winners.len(), 1, "exactly one succeeds: {results:#?}");
    for loser in &losers {
        assert_eq!(error_code(loser), "CONFLICT", "{loser:#}");
    }

    let body = app
        .query(
            "query($id: ID!) { document(id: $id) { head { hash } revisions { totalCount nodes { number parent { hash } hash } } } }",
            json!({ "id": id }),
        )
        .await;
    assert_no_errors(&body);
    let document = &body["data"]["document"];
    assert_eq!(document["revisions"]["totalCount"], 2);
    assert_eq!(document["head"]["hash"], winners[0]["data"]["reviseDocument"]["revision"]["hash"]);
    assert_eq!(document["revisions"]["nodes"][0]["parent"]["hash"], head);
    assert_eq!(app.corpus_size().await, (1, 2));
}

/// A CLI import into the SQLite file a server is serving (another process, so no shared turn):
/// it lands whole, and each of the server's writes meanwhile is acknowledged or answered
/// `UNAVAILABLE` with `Retry-After` — the documented answer when another process holds the
/// write lock past the timeout — and lands once when retried; no other error, nothing lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cli_import_beside_the_server_lands_whole_and_the_servers_writes_are_served_or_retried() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    let app = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite).await.unwrap();
    let mut archive = crate::archive::Archive::new();
    for i in 0..300 {
        archive.history(&format!("imported-{i}"), 10);
    }
    let path = std::env::temp_dir().join(format!("beside-{}.jsonl", uuid::Uuid::now_v7()));
    std::fs::write(&path, archive.bytes()).unwrap();
    let token = app.editor().await;
    // The writers' documents, made before the import starts.
    let mut documents = Vec::new();
    for w in 0..8 {
        let created = app.create_document(&token, &format!("beside-{w}"), "start\n").await;
        let id = created["document"]["id"].as_str().unwrap().to_owned();
        documents.push((id, created["revision"]["hash"].as_str().unwrap().to_owned()));
    }
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_palimpsest"));
    command
        .args(["import", path.to_str().unwrap(), "--batch", "500"])
        .env("DATABASE_URL", &app.database_url)
        .env_remove("RUST_LOG");
    let import = tokio::task::spawn_blocking(move || command.output());
    let importing = AtomicBool::new(true);
    let (acknowledged, retried) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let writers = documents.into_iter().enumerate().map(|(w, (id, mut head))| {
        let (app, token, importing) = (&app, token.clone(), &importing);
        let (acknowledged, retried) = (&acknowledged, &retried);
        async move {
            let mut n = 0;
            while importing.load(Ordering::Relaxed) {
                let body = app.revise(&token, &id, &head, &format!("writer {w} edit {n}\n")).await;
                if body["errors"].is_null() {
                    head =
                        body["data"]["reviseDocument"]["revision"]["hash"].as_str().unwrap().into();
                    acknowledged.fetch_add(1, Ordering::Relaxed);
                    n += 1;
                } else {
                    assert_eq!(error_code(&body), "UNAVAILABLE", "{body}");
                    retried.fetch_add(1, Ordering::Relaxed);
                }
            }
            (id, n)
        }
    });
    let (output, written) = futures_util::future::join(
        async {
            let output = import.await.unwrap().expect("run palimpsest import");
            importing.store(false, Ordering::Relaxed);
            output
        },
        futures_util::future::join_all(writers),
    )
    .await;
    let _ = std::fs::remove_file(&path);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{said}");
    assert!(said.contains("imported 3000 revisions"), "{said}");
    for (id, n) in written {
        let body = app
            .query(
                "query($id: ID!) { document(id: $id) { head { number } } }",
                serde_json::json!({ "id": id }),
            )
            .await;
        assert_eq!(body["data"]["document"]["head"]["number"], n as i64 + 1, "each write once");
    }
    let acknowledged = acknowledged.load(Ordering::Relaxed) as u64;
    assert!(acknowledged > 0, "the server wrote while the import ran");
    assert_eq!(app.corpus_size().await, (308, 3000 + 8 + acknowledged));
    println!(
        "{acknowledged} writes acknowledged beside the import, {} retried",
        retried.into_inner()
    );
}

/// Fresh SQLite files migrated at once, many times over, all migrate: the migrations' DDL runs
/// on one connection (`store::migrate`), so no statement is prepared against a schema an
/// earlier statement of the same migration already changed. Over the pool it once failed in
/// CI with "trigger search_heads_closed already exists", under load.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fresh_sqlite_files_migrated_at_once_all_migrate() {
    use crate::database::{Backend, TestDatabase};
    for _round in 0..4 {
        let migrations = (0..16).map(|_| async {
            let database = TestDatabase::create(Backend::Sqlite, "palimpsest-migrating").await;
            let database = database.expect("a SQLite file");
            let db = palimpsest::store::connect(&database.url).await.expect("open");
            let before = palimpsest::store::migrate(&db).await.expect("every migration applies");
            db.close().await.unwrap();
            (database, before)
        });
        for (_database, before) in futures_util::future::join_all(migrations).await {
            assert_eq!(before, 0, "a fresh file had no migration applied before");
        }
    }
}
