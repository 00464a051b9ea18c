//! Attacks on what the server holds, one per test and server: clients that never read what
//! they subscribed to, subscriptions built to make each event expensive, a crowd of cheap ones
//! beside a writer, and persisted queries of many megabytes. Each prints what it measured and
//! fails unless the server let go of what the attack made it hold (RSS back within twice its
//! start), answered everyone else in time, and closed what it had to close.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use crate::server::{Backend, Database, Server, cli};
use crate::websocket_frame::client_frame;

/// The longest an answer to someone else may take while an attack runs.
const IN_TIME: Duration = Duration::from_secs(2);

async fn server_for(backend: Backend, extra: &[&str]) -> Option<(Database, Server, String)> {
    let database = Database::create(backend, "palimpsest-resources").await?;
    cli(&database, &["migrate"]);
    let token =
        cli(&database, &["token", "create", "--agent", "Resource Editor", "--role", "editor"]);
    let server = Server::start(&database, extra).await;
    Some((database, server, token))
}

/// A client at another address than the attacker's (127.0.0.1): the per-address limits the
/// attacker spends are not its own.
fn bystander() -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

async fn post(
    client: &reqwest::Client,
    server: &Server,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> Value {
    let mut request = client.post(format!("{}/graphql", server.address));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

const CREATE: &str = "mutation($c: String!) { createDocument(input: { slug: \"target\", title: \"Target\", kind: REPORT, content: $c }) { document { id } revision { hash } } }";
const REVISE: &str = "mutation($d: ID!, $h: String!, $c: String!) { reviseDocument(input: { documentId: $d, expectedHead: $h, content: $c }) { revision { hash } } }";

/// Writes `n` revisions of `id` from a bystander; returns the longest one took.
async fn revise(
    server: &Server,
    token: &str,
    id: &str,
    head: &mut String,
    texts: impl Fn(usize) -> String,
    n: usize,
) -> Duration {
    let client = bystander();
    let mut slowest = Duration::ZERO;
    for k in 0..n {
        let started = Instant::now();
        let body = post(
            &client,
            server,
            Some(token),
            REVISE,
            json!({ "d": id, "h": head, "c": texts(k + 1) }),
        )
        .await;
        slowest = slowest.max(started.elapsed());
        *head = body["data"]["reviseDocument"]["revision"]["hash"]
            .as_str()
            .unwrap_or_else(|| panic!("{body:#}"))
            .to_owned();
    }
    slowest
}

/// How long an ordinary anonymous read takes for a bystander now.
async fn bystander_read(server: &Server) -> Duration {
    let started = Instant::now();
    let body =
        post(&bystander(), server, None, "{ documents(first: 3) { nodes { slug } } }", json!({}))
            .await;
    assert!(body["errors"].is_null(), "{body:#}");
    started.elapsed()
}

/// The server's CPU time so far.
fn cpu(server: &Server) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", server.pid())).unwrap_or_default();
    let fields: Vec<&str> =
        stat.rsplit(')').next().unwrap_or_default().split_whitespace().collect();
    let ticks: u64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// Connections established to the server's port (IPv4 loopback), as the kernel lists them.
fn established(server: &Server) -> usize {
    let port: u16 = server.address.rsplit(':').next().unwrap().parse().unwrap();
    let local = format!(":{port:04X}");
    std::fs::read_to_string("/proc/net/tcp")
        .unwrap_or_default()
        .lines()
        .skip(1)
        .filter(|line| {
            let cells: Vec<&str> = line.split_whitespace().collect();
            cells.get(1).is_some_and(|l| l.ends_with(&local)) && cells.get(3) == Some(&"01")
        })
        .count()
}

/// A raw WebSocket that subscribes and then never reads, with a small receive window.
async fn subscriber(server: &Server, query: &str, variables: Value) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let port: u16 = server.address.rsplit(':').next().unwrap().parse().unwrap();
    let mut stream = socket.connect(([127, 0, 0, 1], port).into()).await.unwrap();
    stream
        .write_all(
            b"GET /graphql HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
              Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n",
        )
        .await
        .unwrap();
    let subscribe = json!({ "id": "1", "type": "subscribe", "payload": { "query": query, "variables": variables } });
    for message in [json!({ "type": "connection_init" }), subscribe] {
        stream.write_all(&client_frame(&message.to_string())).await.unwrap();
    }
    stream
}

/// Twelve anonymous subscribers to a 1 MB text that never read; it is revised 60 times.
/// Each may hold no more than its share, and only until its outbox stayed full for 10 s; then
/// it is dropped (actix-http drops a connection that takes no bytes for 10 s).
pub async fn stalled_subscribers(backend: Backend) {
    let family = "stalled subscribers";
    let Some((_database, mut server, token)) = server_for(backend, &[]).await else { return };
    let text = |k: usize| format!("{k:08}\n{}", "words that keep coming back ".repeat(37_000));
    let created = post(&bystander(), &server, Some(&token), CREATE, json!({ "c": text(0) })).await;
    let id = created["data"]["createDocument"]["document"]["id"].as_str().unwrap().to_owned();
    let mut head =
        created["data"]["createDocument"]["revision"]["hash"].as_str().unwrap().to_owned();
    let start = server.rss_kib();
    let mut sockets = Vec::new();
    for _ in 0..12 {
        let query = "subscription($ids: [ID!]) { documentChanged(ids: $ids) { document { head { content } } } }";
        sockets.push(subscriber(&server, query, json!({ "ids": [id] })).await);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let slowest = revise(&server, &token, &id, &mut head, text, 60).await;
    let peak = server.rss_kib();
    let started = Instant::now();
    while established(&server) > 0 && started.elapsed() < Duration::from_secs(40) {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let dropped_after = started.elapsed();
    let left = established(&server);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let end = server.rss_kib();
    println!(
        "  {family} ({backend:?}): RSS {start} → {peak} → {end} KiB; the slowest revise {slowest:?}; \
         {left} of 12 connections left after {dropped_after:?}"
    );
    assert!(server.alive(), "{family}: the server died");
    assert!(slowest < IN_TIME, "{family}: a revise took {slowest:?}");
    assert_eq!(left, 0, "{family}: connections still held");
    assert!(end <= 2 * start, "{family}: RSS {end} KiB after, {start} KiB before");
    drop(sockets);
}

/// Forty anonymous subscriptions that select, under twenty aliases, the blame of a hundred
/// revisions per event: priced as their events, each is refused when it subscribes, and a
/// revision costs the server what it always does.
pub async fn subscriptions_priced_by_their_events(backend: Backend) {
    let family = "subscriptions priced by their events";
    let Some((_database, server, token)) = server_for(backend, &[]).await else { return };
    let lines: String =
        (0..3000).map(|i| format!("line {i} of a long text that keeps going\n")).collect();
    let created = post(&bystander(), &server, Some(&token), CREATE, json!({ "c": lines })).await;
    let id = created["data"]["createDocument"]["document"]["id"].as_str().unwrap().to_owned();
    let mut head =
        created["data"]["createDocument"]["revision"]["hash"].as_str().unwrap().to_owned();
    revise(
        &server,
        &token,
        &id,
        &mut head,
        |k| lines.replace(&format!("line {} ", k * 50), "LINE "),
        20,
    )
    .await;
    let blames: String = (0..20)
        .map(|n| format!("a{n}: document {{ revisions(first: 100) {{ nodes {{ blame {{ lines {{ number text }} }} }} }} }} "))
        .collect();
    let query =
        format!("subscription($ids: [ID!]) {{ documentChanged(ids: $ids) {{ {blames} }} }}");
    let client = reqwest::Client::new();
    let priced = post(
        &client,
        &server,
        None,
        "query($q: String!) { queryCost(query: $q) { cost withinLimit } }",
        json!({ "q": query }),
    )
    .await;
    let start = server.rss_kib();
    let mut refused = 0;
    for _ in 0..40 {
        let Some(mut socket) = crate::sockets::open_public(&server).await else { continue };
        if crate::sockets::subscribe_once(&mut socket, &query, json!({ "ids": [id] }))
            .await
            .as_deref()
            == Some("QUERY_TOO_COMPLEX")
        {
            refused += 1;
        }
    }
    let cpu_before = cpu(&server);
    let slowest =
        revise(&server, &token, &id, &mut head, |k| format!("{lines}one more {k}\n"), 1).await;
    let read = bystander_read(&server).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let spent = cpu(&server).saturating_sub(cpu_before);
    let end = server.rss_kib();
    println!(
        "  {family} ({backend:?}): priced {}, refused {refused} of 40; one revise {slowest:?}, \
         server CPU {spent:?} after it, a bystander's read {read:?}; RSS {start} → {end} KiB",
        priced["data"]["queryCost"]["cost"]
    );
    assert_eq!(refused, 40, "{family}: every such subscription is refused");
    assert_eq!(priced["data"]["queryCost"]["withinLimit"], false);
    assert!(slowest < IN_TIME && read < IN_TIME, "{family}: {slowest:?} / {read:?}");
    assert!(spent < Duration::from_secs(1), "{family}: the revision cost the server {spent:?}");
    assert!(end <= 2 * start, "{family}: RSS {end} KiB after, {start} KiB before");
}

/// 48 connections of 100 cheap subscriptions each (rate limits off, the harshest case); a
/// writer at another address revises: its write and a bystander's read stay quick, since at
/// most a few events resolve at once.
pub async fn a_crowd_of_cheap_subscriptions(backend: Backend) {
    let family = "a crowd of cheap subscriptions";
    let flags = ["--rate-limit-anonymous", "0", "--rate-limit-token", "0"];
    let Some((_database, mut server, token)) = server_for(backend, &flags).await else { return };
    let created =
        post(&bystander(), &server, Some(&token), CREATE, json!({ "c": "text 0\n" })).await;
    let id = created["data"]["createDocument"]["document"]["id"].as_str().unwrap().to_owned();
    let mut head =
        created["data"]["createDocument"]["revision"]["hash"].as_str().unwrap().to_owned();
    let start = server.rss_kib();
    let mut crowd = Vec::new();
    for _ in 0..48 {
        if let Some(socket) = crate::sockets::crowd(&server, &id, 100).await {
            crowd.push(socket);
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut slowest = Duration::ZERO;
    let mut slowest_read = Duration::ZERO;
    for round in 0..3 {
        slowest = slowest.max(
            revise(&server, &token, &id, &mut head, |k| format!("text {round}-{k}\n"), 1).await,
        );
        slowest_read = slowest_read.max(bystander_read(&server).await);
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    drop(crowd);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let end = server.rss_kib();
    println!(
        "  {family} ({backend:?}): 4,800 subscriptions; the slowest revise {slowest:?}, the \
         slowest bystander's read {slowest_read:?}; RSS {start} → {end} KiB"
    );
    assert!(server.alive(), "{family}: the server died");
    assert!(
        slowest < IN_TIME && slowest_read < IN_TIME,
        "{family}: {slowest:?} / {slowest_read:?}"
    );
    assert!(end <= 2 * start, "{family}: RSS {end} KiB after, {start} KiB before");
}

/// Sixty anonymous registrations of a 4 MB persisted query (a comment passes the query
/// limits): each runs, none is kept, and the server holds nothing for them.
pub async fn persisted_query_flood(backend: Backend) {
    let family = "persisted query flood";
    let flags = ["--rate-limit-anonymous", "0"];
    let Some((_database, mut server, _)) = server_for(backend, &flags).await else { return };
    let client = reqwest::Client::new();
    let start = server.rss_kib();
    let mut kept = 0;
    for i in 0..60 {
        let query = format!("{{ documents {{ totalCount }} }} #{i}{}", "x".repeat(4 << 20));
        let hash = palimpsest_hash(&query);
        let ext = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
        let url = format!("{}/graphql", server.address);
        let ran: Value = client
            .post(&url)
            .json(&json!({ "query": query, "extensions": ext }))
            .send()
            .await
            .unwrap_or_else(|err| unanswered(family, &mut server, &err))
            .json()
            .await
            .unwrap();
        assert!(ran["errors"].is_null(), "{family}: {ran:#}");
        let again: Value = client
            .post(&url)
            .json(&json!({ "extensions": ext }))
            .send()
            .await
            .unwrap_or_else(|err| unanswered(family, &mut server, &err))
            .json()
            .await
            .unwrap();
        kept += usize::from(again["errors"].is_null());
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let end = server.rss_kib();
    println!("  {family} ({backend:?}): 60 × 4 MB; kept {kept}; RSS {start} → {end} KiB");
    assert_eq!(kept, 0, "{family}: a 4 MB query was kept");
    assert!(end <= 2 * start, "{family}: RSS {end} KiB after, {start} KiB before");
}

/// Fails on a request `family` sent that got no answer, saying whether the server had died.
fn unanswered(family: &str, server: &mut Server, err: &reqwest::Error) -> ! {
    let state = if server.alive() { "is running" } else { "died" };
    panic!("{family}: no answer, the server {state}: {err:?}; its log ends:\n{}", server.log_tail())
}

fn palimpsest_hash(text: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The database removed under the running server — the SQLite file deleted, the PostgreSQL
/// database dropped: writes are refused `UNAVAILABLE`, never acknowledged into nothing, and
/// readiness says so. Run last: it destroys its database.
pub async fn database_removed_under_the_server(backend: Backend) {
    let family = "database removed under the server";
    let Some((database, mut server, token)) = server_for(backend, &[]).await else { return };
    let client = bystander();
    let created = post(&client, &server, Some(&token), CREATE, json!({ "c": "before\n" })).await;
    assert!(created["errors"].is_null(), "{created:#}");
    match backend {
        Backend::Sqlite => {
            let path =
                database.url.trim_start_matches("sqlite://").split('?').next().unwrap().to_owned();
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{path}{suffix}"));
            }
        }
        Backend::Postgres => {
            use sea_orm::ConnectionTrait;
            let (base, name) = database.url.rsplit_once('/').unwrap();
            let admin = sea_orm::Database::connect(format!("{base}/postgres")).await.unwrap();
            admin
                .execute_unprepared(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
                .await
                .unwrap();
        }
    }
    let mut acknowledged = 0;
    let mut codes = std::collections::BTreeMap::new();
    for k in 0..20 {
        let query = "mutation($s: String!) { createDocument(input: { slug: $s, title: \"T\", kind: OTHER, content: \"after\" }) { document { id } } }";
        let body =
            post(&client, &server, Some(&token), query, json!({ "s": format!("after-{k}") })).await;
        acknowledged += usize::from(body["data"]["createDocument"]["document"]["id"].is_string());
        let code = body["errors"][0]["extensions"]["code"].as_str().unwrap_or("none").to_owned();
        *codes.entry(code).or_insert(0) += 1;
    }
    let ready = client.get(format!("{}/readyz", server.address)).send().await.unwrap().status();
    println!(
        "  {family} ({backend:?}): {acknowledged} of 20 writes acknowledged; codes {codes:?}; /readyz {ready}"
    );
    assert!(server.alive(), "{family}: the server died");
    assert_eq!(acknowledged, 0, "{family}: writes acknowledged into nothing");
    assert_eq!(codes.get("UNAVAILABLE"), Some(&20), "{family}: {codes:?}");
    assert_eq!(ready, 503);
}

/// `palimpsest import` given what never ends: `/dev/zero`, and standard input that never
/// sends a line's end. Each stops at once, saying why, and writes nothing.
pub async fn an_archive_without_end(backend: Backend) {
    let family = "an archive without end";
    let Some(database) = Database::create(backend, "palimpsest-resources").await else { return };
    cli(&database, &["migrate"]);
    let run = |file: &str, endless_stdin: bool| {
        let started = Instant::now();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_palimpsest"))
            .args(["import", file])
            .env("DATABASE_URL", &database.url)
            .stdin(if endless_stdin {
                std::process::Stdio::piped()
            } else {
                std::process::Stdio::null()
            })
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Text without a line's end, for as long as the importer reads it.
        if let Some(mut stdin) = child.stdin.take() {
            std::thread::spawn(move || {
                let chunk = vec![b'x'; 1 << 16];
                while std::io::Write::write_all(&mut stdin, &chunk).is_ok() {}
            });
        }
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                let mut said = String::new();
                std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut said).unwrap();
                return (status.success(), said, started.elapsed());
            }
            if started.elapsed() > Duration::from_secs(60) {
                let _ = child.kill();
                return (true, "still running after 60 s".to_owned(), started.elapsed());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    for (what, file, endless_stdin) in [
        ("/dev/zero", "/dev/zero", false),
        ("endless standard input without a line's end", "-", true),
    ] {
        let (succeeded, said, took) = run(file, endless_stdin);
        println!("  {family} ({backend:?}): {what}: stopped after {took:?}: {}", said.trim());
        assert!(!succeeded, "{family}: {what}: {said}");
        assert!(said.contains("not a JSON Lines archive"), "{family}: {what}: {said}");
        assert!(took < Duration::from_secs(10), "{family}: {what} took {took:?}");
    }
}
