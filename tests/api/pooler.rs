//! The server behind PgBouncer in transaction pooling mode, as `deploy/local-cluster.sh
//! pgbouncer-up` runs it before the test server (`PALIMPSEST_TEST_PGBOUNCER_URL` names it, any
//! database: the test reaches its own through it). The real binary, started as an operator
//! would (`--transaction-pooler`, `--session-database-url`), under writes and reads from many
//! clients at once over fewer server connections than the server's pool has, so that sqlx's
//! prepared statements meet on shared connections; subscriptions hear writes over the direct
//! session; the pooler's statement timeout bounds a write held by a lock; and a pooler whose
//! connections carry no timeout, or a missing session URL, stop the server at start.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, TransactionTrait};
use serde_json::{Value, json};

use crate::database::{Backend, TestDatabase};
use crate::helpers::{assert_no_errors, error_code};
use crate::subscriptions::WsClient;

const PGBOUNCER_ENV: &str = "PALIMPSEST_TEST_PGBOUNCER_URL";
/// A database `deploy/local-cluster.sh` lists in pgbouncer.ini without a `connect_query`.
const UNTIMED: &str = "palimpsest_untimed";

/// A `palimpsest serve` process, stopped when dropped; what it logs is kept.
struct Node {
    child: Child,
    address: String,
    log: Arc<Mutex<String>>,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(database_url: &str, args: &[&str], key: &std::path::Path) -> Result<Node, String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_palimpsest"))
        .args(["serve", "--bind", "127.0.0.1:0", "--no-seed", "--log-key"])
        .arg(key)
        .args(args)
        .env("DATABASE_URL", database_url)
        .env_remove("RUST_LOG")
        .stderr(Stdio::piped())
        .spawn()
        .expect("run palimpsest serve");
    let log = Arc::new(Mutex::new(String::new()));
    let (started, address) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    let kept = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(at) = line.split("serving GraphQL at ").nth(1) {
                let url = at.split_whitespace().next().unwrap_or_default();
                let _ = started.send(url.trim_end_matches("/graphql").to_owned());
            }
            let mut kept = kept.lock().unwrap();
            kept.push_str(&line);
            kept.push('\n');
        }
    });
    match address.recv_timeout(Duration::from_secs(60)) {
        Ok(address) => Ok(Node { child, address, log }),
        Err(_) => {
            let status = child.wait().expect("the server ended");
            Err(format!("{status}: {}", log.lock().unwrap()))
        }
    }
}

async fn graphql(address: &str, token: &str, query: &str, variables: Value) -> Value {
    reqwest::Client::new()
        .post(format!("{address}/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .expect("the server answers")
        .json()
        .await
        .expect("JSON")
}

const CREATE: &str = "mutation($slug: String!, $content: String!) {
  createDocument(input: { slug: $slug, title: $slug, kind: ARTICLE, content: $content }) {
    document { id } revision { hash } } }";
const REVISE: &str = "mutation($id: ID!, $head: String!, $content: String!) {
  reviseDocument(input: { documentId: $id, expectedHead: $head, content: $content }) {
    revision { hash number } } }";
const READ: &str = "query($slug: String!, $term: String!) {
  document(slug: $slug) { head { number content }
    revisions(first: 50) { totalCount edges { node { hash parent { hash } } } } }
  search(query: $term, first: 5) { nodes { document { slug } snippet } } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(palimpsest_no_postgres, ignore = "needs PALIMPSEST_TEST_POSTGRES_URL")]
#[cfg_attr(
    palimpsest_no_pgbouncer,
    ignore = "needs PALIMPSEST_TEST_PGBOUNCER_URL (deploy/local-cluster.sh pgbouncer-up)"
)]
async fn the_server_runs_behind_pgbouncer_in_transaction_mode_with_its_timeouts() {
    let pgbouncer = std::env::var(PGBOUNCER_ENV).expect("PALIMPSEST_TEST_PGBOUNCER_URL");
    let pgbouncer = pgbouncer.rsplit_once('/').expect("a URL with a database").0.to_owned();
    let database = TestDatabase::create(Backend::Postgres, "palimpsest-pooler")
        .await
        .expect("PALIMPSEST_TEST_POSTGRES_URL");
    let name = database.url.rsplit('/').next().unwrap().to_owned();
    let pooled = format!("{pgbouncer}/{name}");
    let key = std::env::temp_dir().join(format!("palimpsest-pooler-{name}.key"));
    let direct = database.url.as_str();

    // Refused at start: no session to listen on, and a pooler whose connections have no
    // statement timeout (the server cannot send one through it).
    let no_session = serve(&pooled, &["--transaction-pooler"], &key).err().expect("refused");
    assert!(no_session.contains("--session-database-url"), "{no_session}");
    let untimed = serve(
        &format!("{pgbouncer}/{UNTIMED}"),
        &["--transaction-pooler", "--session-database-url", direct],
        &key,
    )
    .err()
    .expect("refused");
    assert!(
        untimed.contains("connect_query") && untimed.contains("statement_timeout"),
        "{untimed}"
    );
    // A session on another database than the pooled one: LISTEN would hear nothing.
    let elsewhere = database.url.rsplit_once('/').unwrap().0.to_owned() + "/postgres";
    let mismatched =
        serve(&pooled, &["--transaction-pooler", "--session-database-url", &elsewhere], &key)
            .err()
            .expect("refused");
    assert!(mismatched.contains("must be the same database"), "{mismatched}");

    let node = serve(&pooled, &["--transaction-pooler", "--session-database-url", direct], &key)
        .expect("the server starts behind the pooler");
    assert!(
        node.log.lock().unwrap().contains("transaction pooler"),
        "{}",
        node.log.lock().unwrap()
    );
    let address = node.address.clone();
    let token = {
        let output = Command::new(env!("CARGO_BIN_EXE_palimpsest"))
            .args(["token", "create", "--agent", "Pooled Editor", "--role", "editor"])
            .env("DATABASE_URL", direct)
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    };

    let mut documents = Vec::new();
    for n in 0..16 {
        let content = format!("writer w{n}x revision 1\n");
        let created = graphql(
            &address,
            &token,
            CREATE,
            json!({ "slug": format!("pooled-{n}"), "content": content }),
        )
        .await;
        assert_no_errors(&created);
        let created = &created["data"]["createDocument"];
        documents.push((created["document"]["id"].clone(), created["revision"]["hash"].clone(), 1));
    }
    // A subscriber hears writes: the server LISTENs over the session, not through the pooler.
    let mut subscriber = WsClient::open(&address).await;
    subscriber.init(json!({})).await;
    subscriber
        .subscribe(
            "first",
            "subscription { documentChanged(slugs: [\"pooled-0\"]) { revision { number } } }",
            json!({}),
        )
        .await;
    // It listens once its resolver has run, which no message marks: revise until it hears.
    let first = &mut documents[0];
    loop {
        assert!(first.2 < 20, "the subscriber never heard a write");
        let content = format!("writer w0x revision {}\n", first.2 + 1);
        let revised = graphql(
            &address,
            &token,
            REVISE,
            json!({ "id": first.0, "head": first.1, "content": content }),
        )
        .await;
        assert_no_errors(&revised);
        first.1 = revised["data"]["reviseDocument"]["revision"]["hash"].clone();
        first.2 += 1;
        if subscriber.next_within(Duration::from_millis(500)).await.is_some() {
            break;
        }
    }
    while subscriber.next_within(Duration::from_millis(300)).await.is_some() {}
    let from = first.2 + 1;

    // Sixteen writers and readers at once, each on its own document: every statement the
    // write and read paths prepare, over PgBouncer's shared server connections.
    let clients = documents.into_iter().enumerate().map(|(n, (id, mut head, last))| {
        let (address, token) = (address.clone(), token.clone());
        tokio::spawn(async move {
            let slug = format!("pooled-{n}");
            for number in last + 1..=last + 7 {
                let content = format!("writer w{n}x revision {number}\n");
                let revised = graphql(
                    &address,
                    &token,
                    REVISE,
                    json!({ "id": id, "head": head, "content": content }),
                )
                .await;
                assert_no_errors(&revised);
                head = revised["data"]["reviseDocument"]["revision"]["hash"].clone();
                let read = graphql(
                    &address,
                    &token,
                    READ,
                    json!({ "slug": slug, "term": format!("w{n}x") }),
                )
                .await;
                assert_no_errors(&read);
                let document = &read["data"]["document"];
                assert_eq!(document["head"]["number"], number, "{read}");
                assert_eq!(document["head"]["content"], content);
                assert_eq!(document["revisions"]["totalCount"], number);
                let hits = read["data"]["search"]["nodes"].as_array().unwrap();
                assert!(
                    !hits.is_empty() && hits.iter().all(|h| h["document"]["slug"] == slug),
                    "{read}"
                );
            }
        })
    });
    for client in futures_util::future::join_all(clients).await {
        client.expect("a client's writes and reads all succeed");
    }
    let mut heard = Vec::new();
    while let Some(message) = subscriber.next_within(Duration::from_millis(500)).await {
        heard.push(message["payload"]["data"]["documentChanged"]["revision"]["number"].clone());
    }
    let written: Vec<_> = (from..from + 7).map(|n| json!(n)).collect();
    assert_eq!(heard, written, "the subscriber heard each revision, in order");

    // The pooler's statement timeout bounds a write held by a lock: UNAVAILABLE, in time.
    let holder = sea_orm::Database::connect(direct).await.unwrap();
    let holder = holder.begin().await.unwrap();
    holder.execute_unprepared("LOCK TABLE documents IN ACCESS EXCLUSIVE MODE").await.unwrap();
    let started = Instant::now();
    let held = graphql(
        &address,
        &token,
        CREATE,
        json!({ "slug": "held", "content": "waits for the lock\n" }),
    )
    .await;
    let waited = started.elapsed();
    holder.rollback().await.unwrap();
    assert_eq!(error_code(&held), "UNAVAILABLE", "{held}");
    assert!(waited < Duration::from_secs(9), "the statement timeout applied: {waited:?}");
    let after =
        graphql(&address, &token, CREATE, json!({ "slug": "held", "content": "now it lands\n" }))
            .await;
    assert_no_errors(&after);
    drop(node);
    let _ = std::fs::remove_file(&key);
}
