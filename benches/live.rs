//! How soon a subscriber hears of a write (release build): a server in this process over a
//! fresh database (SQLite, and PostgreSQL when `PALIMPSEST_BENCH_POSTGRES_URL` names a server),
//! `SUBSCRIBERS` WebSocket clients (default 1 and 100) subscribed to `documentChanged` of one
//! document, and `WRITES` revisions (default 200) written one after another through the API.
//!
//! For each write it records when the mutation was sent, when its answer came back and when the
//! last subscriber heard of it. The commit happens between the first two, so the time from the
//! answer to the event is a lower bound on the event's delay after the commit, and the time
//! from sending to the event an upper bound (it includes the whole write). On PostgreSQL a
//! second server on the same database carries half of the subscribers, so events also cross
//! from one process's writes to another's subscribers through LISTEN/NOTIFY.
//!
//!     cargo bench --bench live
//!     PALIMPSEST_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench --bench live
//!
//! It prints its figures; nothing here asserts a time.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use palimpsest::http::{Application, HttpSettings};
use palimpsest::store::{self, AgentKind, AgentName, Role, Store, StoreLimits};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::Message;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let writes: usize = std::env::var("WRITES").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let subscribers: Vec<usize> = std::env::var("SUBSCRIBERS")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 100]);
    let dir = std::env::temp_dir().join(format!("palimpsest-live-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir)?;
    for &n in &subscribers {
        let url = format!("sqlite://{}?mode=rwc", dir.join(format!("live-{n}.db")).display());
        run("SQLite", &url, None, n, writes).await?;
    }
    std::fs::remove_dir_all(&dir)?;
    if let Ok(admin) = std::env::var("PALIMPSEST_BENCH_POSTGRES_URL") {
        let name = format!("palimpsest_live_{}", uuid::Uuid::now_v7().simple());
        let admin_db = store::connect(&admin).await?;
        use sea_orm::ConnectionTrait;
        admin_db.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await?;
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(base, _)| base);
        let url = format!("{base}/{name}");
        for &n in &subscribers {
            run("PostgreSQL", &url, Some(&url), n, writes).await?;
        }
        admin_db.execute_unprepared(&format!("DROP DATABASE \"{name}\" WITH (FORCE)")).await?;
    }
    Ok(())
}

/// Starts a server on `url` (and a second one when `second` names the same database), and
/// times `writes` revisions against `subscribers` subscribers.
async fn run(
    label: &str,
    url: &str,
    second: Option<&str>,
    subscribers: usize,
    writes: usize,
) -> anyhow::Result<()> {
    let one = serve(url).await?;
    let other = match second {
        Some(url) => Some(serve(url).await?),
        None => None,
    };
    let store = store::connect(url).await?;
    let store = Store::new(store, StoreLimits::default());
    let agent =
        store.create_agent(&AgentName::parse("Bench Writer")?, AgentKind::Person, None).await?;
    let token = store.create_token(agent, Role::Editor, None).await?.secret;
    let http = reqwest::Client::new();
    let slug = format!("live-{subscribers}");
    let created = graphql(
        &http,
        &one,
        &token,
        "mutation($input: CreateDocumentInput!) { createDocument(input: $input) { document { id } revision { hash } } }",
        json!({ "input": { "slug": slug, "kind": "ARTICLE", "title": "Live", "content": "version 0\n" } }),
    )
    .await?;
    let id = created["data"]["createDocument"]["document"]["id"].as_str().unwrap().to_owned();
    let mut head =
        created["data"]["createDocument"]["revision"]["hash"].as_str().unwrap().to_owned();

    let mut clients = Vec::with_capacity(subscribers);
    for n in 0..subscribers {
        let address = match (&other, n % 2) {
            (Some(other), 1) => other.as_str(),
            _ => one.as_str(),
        };
        clients.push(subscribe(address, &id).await?);
    }
    // Subscriptions listen once their resolvers ran; a write heard by all marks that.
    let mut heard_all = false;
    for attempt in 0..50 {
        head = revise(&http, &one, &token, &id, &head, &format!("warm-up {attempt}\n")).await?.0;
        if hear_all(&mut clients, &head, Duration::from_millis(500)).await.is_some() {
            heard_all = true;
            break;
        }
    }
    anyhow::ensure!(heard_all, "the subscribers never all heard a write");

    let mut after_answer = Vec::with_capacity(writes);
    let mut after_sending = Vec::with_capacity(writes);
    for n in 0..writes {
        let sent = Instant::now();
        let (hash, answered) = revise(&http, &one, &token, &id, &head, &format!("v{n}\n")).await?;
        head = hash;
        let heard = hear_all(&mut clients, &head, Duration::from_secs(10))
            .await
            .ok_or_else(|| anyhow::anyhow!("a subscriber did not hear write {n}"))?;
        after_answer.push(heard.saturating_duration_since(answered));
        after_sending.push(heard.duration_since(sent));
    }
    let line = |samples: &mut Vec<Duration>| {
        samples.sort();
        let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
        format!("p50 {:.2?}, p95 {:.2?}, max {:.2?}", at(0.5), at(0.95), at(1.0))
    };
    println!(
        "{label}{}, {subscribers} subscriber(s), {writes} writes: the last subscriber hears a \
         write after its answer: {}; after it was sent: {}",
        if other.is_some() { " (two servers)" } else { "" },
        line(&mut after_answer),
        line(&mut after_sending),
    );
    Ok(())
}

async fn serve(url: &str) -> anyhow::Result<String> {
    let db = store::connect(url).await?;
    store::migrate(&db).await?;
    let store = Store::new(db, StoreLimits::default());
    let settings = HttpSettings {
        bind: "127.0.0.1:0".into(),
        workers: Some(2),
        checkpoint_interval: Duration::from_secs(3600),
        ..HttpSettings::default()
    };
    let app = Application::build(&settings, store)?;
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    Ok(address)
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn subscribe(address: &str, id: &str) -> anyhow::Result<Socket> {
    let mut request =
        format!("{}/graphql", address.replacen("http://", "ws://", 1)).into_client_request()?;
    request
        .headers_mut()
        .insert("sec-websocket-protocol", HeaderValue::from_static("graphql-transport-ws"));
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
    socket.send(Message::text(json!({ "type": "connection_init" }).to_string())).await?;
    let ack = socket.next().await.ok_or_else(|| anyhow::anyhow!("closed before the ack"))??;
    anyhow::ensure!(ack.to_text()?.contains("connection_ack"), "no ack: {ack}");
    let query = "subscription($id: ID!) { documentChanged(ids: [$id]) { revision { hash } } }";
    socket
        .send(Message::text(
            json!({ "id": "1", "type": "subscribe",
                "payload": { "query": query, "variables": { "id": id } } })
            .to_string(),
        ))
        .await?;
    Ok(socket)
}

/// When the last of `clients` heard of revision `hash` (each skipping earlier events), or
/// `None` if one did not within `wait`.
async fn hear_all(clients: &mut [Socket], hash: &str, wait: Duration) -> Option<Instant> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut last = None;
    for client in clients.iter_mut() {
        loop {
            let frame = tokio::time::timeout_at(deadline, client.next()).await.ok()??.ok()?;
            let Message::Text(text) = frame else { continue };
            let message: Value = serde_json::from_str(&text).ok()?;
            if message["payload"]["data"]["documentChanged"]["revision"]["hash"] == hash {
                let now = Instant::now();
                last = Some(last.map_or(now, |l: Instant| l.max(now)));
                break;
            }
        }
    }
    last
}

async fn revise(
    http: &reqwest::Client,
    address: &str,
    token: &str,
    id: &str,
    head: &str,
    content: &str,
) -> anyhow::Result<(String, Instant)> {
    let body = graphql(
        http,
        address,
        token,
        "mutation($input: ReviseDocumentInput!) { reviseDocument(input: $input) { revision { hash } } }",
        json!({ "input": { "documentId": id, "expectedHead": head, "content": content, "message": "bench" } }),
    )
    .await?;
    let answered = Instant::now();
    let hash = body["data"]["reviseDocument"]["revision"]["hash"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("revise failed: {body}"))?
        .to_owned();
    Ok((hash, answered))
}

async fn graphql(
    http: &reqwest::Client,
    address: &str,
    token: &str,
    query: &str,
    variables: Value,
) -> anyhow::Result<Value> {
    Ok(http
        .post(format!("{address}/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await?
        .json()
        .await?)
}
