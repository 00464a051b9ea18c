//! The hostile-input suite: more than 10,000 generated attacks on the release binary (and ~500
//! hostile WebSocket connections, `sockets`), on SQLite
//! and (when `PALIMPSEST_TEST_POSTGRES_URL` names a server) PostgreSQL. It counts crashes,
//! responses without a code, internal errors, writes that should not have happened (the
//! database is dumped before and after), answers slower than a second, and the server's memory
//! before and after; it prints those counts and fails unless each is zero and the memory came
//! back within twice its start.
//!
//! Run it on the build users run: `cargo test --release --test hostile -- --nocapture`.
//! Stack depth and speed differ in a debug build, so there it says so and does nothing.
//!
//! Past ~400 lines because the run and its report are one story (send, count, dump, compare,
//! print); the server's lifecycle is in `server`, the attacks in `cases`.

mod cases;
#[path = "../common/database.rs"]
mod database;
mod enumeration;
mod resources;
mod server;
mod sockets;
mod surfaces;
#[path = "../common/websocket_frame.rs"]
mod websocket_frame;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use cases::{Body, Case, Fixture, Request, Rng};
use server::{Database, Server, cli};

const CODES: &[&str] = &[
    "BAD_USER_INPUT",
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "NOT_FOUND",
    "CONFLICT",
    "PAYLOAD_TOO_LARGE",
    "QUERY_TOO_COMPLEX",
    "RATE_LIMITED",
    "UNAVAILABLE",
];

/// No answer may take longer than the longest piece of work the server allows (the diffs and
/// blames of one request compute for at most 1.5 s together by default), with room for the
/// rest of the request: a slower one means work escaped its bound. Typical answers here take
/// well under a second; the slowest is reported either way.
const SLOW: Duration = Duration::from_secs(2);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    debug_assertions,
    ignore = "run it on the release build: cargo test --release --test hostile"
)]
async fn hostile_requests_on_sqlite() {
    attack(Database::create(server::Backend::Sqlite, "palimpsest-hostile").await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    debug_assertions,
    ignore = "run it on the release build: cargo test --release --test hostile"
)]
#[cfg_attr(
    palimpsest_no_postgres,
    ignore = "PALIMPSEST_TEST_POSTGRES_URL was not set when the tests were built"
)]
async fn hostile_requests_on_postgres() {
    let database = Database::create(server::Backend::Postgres, "palimpsest-hostile")
        .await
        .expect("PALIMPSEST_TEST_POSTGRES_URL names a PostgreSQL server");
    attack(database).await;
}

/// What clients can make the server hold, attacked one way at a time (`resources`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    debug_assertions,
    ignore = "run it on the release build: cargo test --release --test hostile"
)]
async fn resource_attacks_on_sqlite() {
    resource_attacks(server::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    debug_assertions,
    ignore = "run it on the release build: cargo test --release --test hostile"
)]
#[cfg_attr(
    palimpsest_no_postgres,
    ignore = "PALIMPSEST_TEST_POSTGRES_URL was not set when the tests were built"
)]
async fn resource_attacks_on_postgres() {
    resource_attacks(server::Backend::Postgres).await;
}

/// Restricted documents, enumerated by ids, slugs, hashes, words and timing (`enumeration`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    debug_assertions,
    ignore = "run it on the release build: cargo test --release --test hostile"
)]
async fn enumeration_finds_nothing_on_sqlite() {
    enumerate(Database::create(server::Backend::Sqlite, "palimpsest-enumeration").await.unwrap())
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    debug_assertions,
    ignore = "run it on the release build: cargo test --release --test hostile"
)]
#[cfg_attr(
    palimpsest_no_postgres,
    ignore = "PALIMPSEST_TEST_POSTGRES_URL was not set when the tests were built"
)]
async fn enumeration_finds_nothing_on_postgres() {
    let database = Database::create(server::Backend::Postgres, "palimpsest-enumeration")
        .await
        .expect("PALIMPSEST_TEST_POSTGRES_URL names a PostgreSQL server");
    enumerate(database).await;
}

async fn enumerate(database: Database) {
    let findings = enumeration::attack(&database).await;
    let (hidden, missing) = findings.medians;
    println!("enumeration on {}:", database.name());
    println!("  requests:                 {}", findings.requests);
    println!("  answers that told:        {}", findings.leaks.len());
    println!("  median lookup, hidden:    {hidden} µs; of nothing: {missing} µs");
    assert!(findings.leaks.is_empty(), "answers that told of the document: {:#?}", findings.leaks);
    // The same code answers both; a class apart would show as one median far from the other.
    let (low, high) = (hidden.min(missing), hidden.max(missing));
    assert!(high <= low * 3 / 2 + 200, "found and not found take apart: {hidden} vs {missing} µs");
}

async fn resource_attacks(backend: server::Backend) {
    println!("resource attacks on {backend:?}:");
    resources::stalled_subscribers(backend).await;
    resources::subscriptions_priced_by_their_events(backend).await;
    resources::a_crowd_of_cheap_subscriptions(backend).await;
    resources::persisted_query_flood(backend).await;
    resources::an_archive_without_end(backend).await;
    resources::database_removed_under_the_server(backend).await;
}

#[derive(Default)]
struct Tally {
    requests: usize,
    by_family: BTreeMap<&'static str, usize>,
    statuses: BTreeMap<u16, usize>,
    codes: BTreeMap<String, usize>,
    crashes: usize,
    without_code: Vec<String>,
    internal: Vec<String>,
    writes_accepted: Vec<String>,
    slow: Vec<String>,
    slowest: Duration,
    slowest_family: &'static str,
}

async fn attack(database: Database) {
    let tokens = tokens(&database).await;
    // Rate limits off: every request reaches the executor, the harshest case.
    let mut server =
        Server::start(&database, &["--rate-limit-anonymous", "0", "--rate-limit-token", "0"]).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let fixture = corpus(&client, &server, tokens).await;
    // Warm up as a server in use is: ordinary requests, concurrently, fill the database pool
    // and the allocator's per-thread caches. The memory after that is where the run starts.
    let ordinary = [
        "{ documents { nodes { slug head { content } } } }",
        "{ document(slug: \"small\") { head { blame { lines { number } } diff { unified } } } }",
        "{ document(slug: \"small\") { revisions { nodes { header } } citations { nodes { currentVerification { status } } } } }",
    ];
    for round in 0..10 {
        let requests = (0..16).map(|i| {
            let body = json!({ "query": ordinary[(round + i) % ordinary.len()] });
            client.post(format!("{}/graphql", server.address)).json(&body).send()
        });
        for response in futures_util::future::join_all(requests).await {
            assert_eq!(response.unwrap().status(), 200);
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_start = server.rss_kib();
    let before = database.dump().await;

    let mut rng = Rng::new(0x5eed_cafe);
    let cases = cases::generate(&fixture, &mut rng);
    let mut tally = Tally::default();
    let mut rss_peak = rss_start;
    let started = Instant::now();
    for (index, case) in cases.iter().enumerate() {
        run(&client, &server, case, &mut tally).await;
        if index % 50 == 0 {
            rss_peak = rss_peak.max(server.rss_kib());
            if !server.alive() {
                tally.crashes += 1;
                break;
            }
        }
    }
    let sockets = if server.alive() {
        sockets::attack(&server, &fixture, &mut rng).await
    } else {
        sockets::SocketTally::default()
    };
    let elapsed = started.elapsed();
    if !server.alive() {
        tally.crashes = tally.crashes.max(1);
        println!("the server died; its log ends:\n{}", server.log_tail());
    }
    // Freed memory goes back to the system within a second or two.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_end = server.rss_kib();
    let after = database.dump().await;
    let unexpected_writes = usize::from(before != after) + tally.writes_accepted.len();
    for (old, new) in before.lines().zip(after.lines()) {
        if old != new {
            println!("  changed: {}", short(&new.chars().take(600).collect::<String>()));
        }
    }
    report(&database, &tally, elapsed, unexpected_writes, (rss_start, rss_peak, rss_end));
    println!("  WebSocket connections:    {}", sockets.connections);
    for (family, count) in &sockets.by_family {
        println!("    {family:<28} {count}");
    }
    println!("  close codes:              {:?}", sockets.close_codes);
    println!("  WebSocket faults:         {}", sockets.faults.len());
    for fault in sockets.faults.iter().take(20) {
        println!("  fault: {fault}");
    }

    assert!(tally.requests >= 10_000, "{} requests", tally.requests);
    assert!(sockets.connections >= 480, "{} WebSocket connections", sockets.connections);
    assert!(sockets.faults.is_empty(), "WebSocket faults: {:#?}", sockets.faults);
    assert_eq!(tally.crashes, 0, "the server crashed");
    assert!(tally.without_code.is_empty(), "responses without a code: {:#?}", tally.without_code);
    assert!(tally.internal.is_empty(), "internal errors: {:#?}", tally.internal);
    assert_eq!(before, after, "the database changed");
    assert!(tally.writes_accepted.is_empty(), "writes accepted: {:#?}", tally.writes_accepted);
    assert!(tally.slow.is_empty(), "answers slower than {SLOW:?}: {:#?}", tally.slow);
    assert!(rss_end <= 2 * rss_start, "RSS {rss_end} KiB after, {rss_start} KiB before");
}

/// Tokens of every kind the attacks present, made with the CLI as an operator would (on a
/// database `migrate` created first, as token commands never create one).
async fn tokens(database: &Database) -> [String; 5] {
    cli(database, &["migrate"]);
    let token = |name: &str, role: &str, extra: &[&str]| {
        let mut args = vec!["token", "create", "--agent", name, "--role", role];
        args.extend_from_slice(extra);
        cli(database, &args)
    };
    let reader = token("Hostile Reader", "reader", &[]);
    let editor = token("Hostile Editor", "editor", &[]);
    let admin = token("Hostile Admin", "admin", &[]);
    let revoked = token("Hostile Revoked", "editor", &[]);
    let expired = token("Hostile Expired", "editor", &["--expires-in", "1s"]);
    let listing = cli(database, &["token", "list"]);
    let revoked_id = listing
        .lines()
        .find(|line| line.contains("Hostile Revoked"))
        .and_then(|line| line.split_whitespace().next())
        .unwrap()
        .to_owned();
    cli(database, &["token", "revoke", &revoked_id]);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    [reader, editor, admin, revoked, expired]
}

/// The documents the attacks aim at: one as large as allowed, with two revisions, and a small
/// one with a history and a citation.
async fn corpus(client: &reqwest::Client, server: &Server, tokens: [String; 5]) -> Fixture {
    let [reader, editor, admin, revoked, expired] = tokens;
    let post = |query: &str, variables: Value| {
        let request = client
            .post(format!("{}/graphql", server.address))
            .bearer_auth(&editor)
            .json(&json!({ "query": query, "variables": variables }));
        async move {
            let body: Value = request.send().await.unwrap().json().await.unwrap();
            assert!(body.get("errors").is_none(), "{body:#}");
            body["data"].clone()
        }
    };
    let create = "mutation($input: CreateDocumentInput!) { createDocument(input: $input) {
        document { id } revision { hash } } }";
    let revise = "mutation($input: ReviseDocumentInput!) { reviseDocument(input: $input) {
        revision { hash } } }";
    let text: String = (0..)
        .map(|i| format!("line {i} of a very large document, with words that change\n"))
        .take_while({
            let mut total = 0;
            move |line: &String| {
                total += line.len();
                total < 4 * 1024 * 1024 - 100
            }
        })
        .collect();
    let huge = post(
        create,
        json!({ "input": { "slug": "huge", "title": "Huge", "kind": "REPORT", "content": text } }),
    )
    .await;
    let huge_id = huge["createDocument"]["document"]["id"].as_str().unwrap().to_owned();
    let first = huge["createDocument"]["revision"]["hash"].as_str().unwrap();
    let revised = post(
        revise,
        json!({ "input": { "documentId": huge_id, "expectedHead": first, "content": text.replace("words", "WORDS") } }),
    )
    .await;
    let huge_head = revised["reviseDocument"]["revision"]["hash"].as_str().unwrap().to_owned();

    let small = post(create, json!({ "input": { "slug": "small", "title": "Small", "kind": "ARTICLE", "content": "version 1\n" } })).await;
    let small_id = small["createDocument"]["document"]["id"].as_str().unwrap().to_owned();
    let mut small_hashes =
        vec![small["createDocument"]["revision"]["hash"].as_str().unwrap().to_owned()];
    for n in 2..=4 {
        let body = post(
            revise,
            json!({ "input": { "documentId": small_id, "expectedHead": small_hashes.last(), "content": format!("version {n}\nline {n}\n") } }),
        )
        .await;
        small_hashes.push(body["reviseDocument"]["revision"]["hash"].as_str().unwrap().to_owned());
    }
    // A text of some 800 KB in four revisions that share little: its diffs and blames are
    // slow, yet several fit in one request's cost.
    let words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota"];
    let medium_text = |seed: u64| -> String {
        let mut rng = Rng::new(seed);
        (0..12_000)
            .map(|_| {
                let line: Vec<&str> = (0..12).map(|_| *rng.pick(&words)).collect();
                line.join(" ") + "\n"
            })
            .collect()
    };
    let medium = post(
        create,
        json!({ "input": { "slug": "medium", "title": "Medium", "kind": "REPORT", "content": medium_text(1) } }),
    )
    .await;
    let medium_id = medium["createDocument"]["document"]["id"].as_str().unwrap().to_owned();
    let mut medium_head = medium["createDocument"]["revision"]["hash"].as_str().unwrap().to_owned();
    for seed in 2..=4 {
        let body = post(
            revise,
            json!({ "input": { "documentId": medium_id, "expectedHead": medium_head, "content": medium_text(seed) } }),
        )
        .await;
        medium_head = body["reviseDocument"]["revision"]["hash"].as_str().unwrap().to_owned();
    }
    post(
        "mutation($input: AddCitationInput!) { addCitation(input: $input) { citation { id } } }",
        json!({ "input": { "documentId": small_id, "relation": "QUOTES",
            "target": { "documentId": huge_id }, "passage": { "exact": "version 4" },
            "targetPassage": { "exact": "line 7 of a very large document" } } }),
    )
    .await;
    Fixture { reader, editor, admin, revoked, expired, huge_id, huge_head, small_id, small_hashes }
}

async fn run(client: &reqwest::Client, server: &Server, case: &Case, tally: &mut Tally) {
    tally.requests += 1;
    *tally.by_family.entry(case.family).or_default() += 1;
    let started = Instant::now();
    let verdict = match &case.request {
        Request::Raw(bytes) => raw(&server.address, bytes),
        Request::Http { post, path, headers, body } => {
            let url = format!("{}{path}", server.address);
            let mut request = if *post { client.post(&url) } else { client.get(&url) };
            for (name, value) in headers {
                request = request.header(name.as_str(), value.as_str());
            }
            request = match body {
                Some(Body::Json(value)) => request.json(value),
                Some(Body::Raw { content_type, bytes }) => {
                    if let Some(content_type) = content_type {
                        request = request.header("content-type", content_type.as_str());
                    }
                    request.body(bytes.clone())
                }
                None => request,
            };
            match request.send().await {
                Err(err) => Verdict::NoResponse(err.to_string()),
                Ok(response) => judge(path, response).await,
            }
        }
    };
    let elapsed = started.elapsed();
    if elapsed > tally.slowest {
        tally.slowest = elapsed;
        tally.slowest_family = case.family;
    }
    let label = || format!("{}: {}", case.family, describe(&case.request));
    if elapsed > SLOW {
        tally.slow.push(format!("{:?} {}", elapsed, label()));
    }
    match verdict {
        Verdict::Answered { status, codes, wrote } => {
            *tally.statuses.entry(status).or_default() += 1;
            for code in codes {
                if code == "INTERNAL" {
                    tally.internal.push(label());
                }
                *tally.codes.entry(code).or_default() += 1;
            }
            if status >= 500 && status != 503 {
                tally.internal.push(format!("status {status} {}", label()));
            }
            if wrote {
                tally.writes_accepted.push(label());
            }
        }
        Verdict::WithoutCode(why) => tally.without_code.push(format!("{why}: {}", label())),
        Verdict::NoResponse(why) => {
            tally.without_code.push(format!("no response ({why}): {}", label()))
        }
    }
}

enum Verdict {
    Answered { status: u16, codes: Vec<String>, wrote: bool },
    WithoutCode(String),
    NoResponse(String),
}

/// A response has a code when it is a GraphQL response whose every error carries
/// `extensions.code`, or a plain response whose error status comes with a body.
async fn judge(path: &str, response: reqwest::Response) -> Verdict {
    let status = response.status().as_u16();
    if !response.headers().contains_key("x-request-id") {
        return Verdict::WithoutCode(format!("status {status} without x-request-id"));
    }
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let Ok(bytes) = response.bytes().await else {
        return Verdict::NoResponse("the body broke off".into());
    };
    if path.starts_with("/graphql") && content_type.contains("json") {
        let Ok(body) = serde_json::from_slice::<Value>(&bytes) else {
            return Verdict::WithoutCode(format!("status {status}: the body is not JSON"));
        };
        let mut codes = Vec::new();
        if let Some(errors) = body.get("errors") {
            let Some(errors) = errors.as_array().filter(|e| !e.is_empty()) else {
                return Verdict::WithoutCode("`errors` is not a list of errors".into());
            };
            for error in errors {
                match error["extensions"]["code"].as_str() {
                    Some(code) if CODES.contains(&code) || code == "INTERNAL" => {
                        codes.push(code.to_owned())
                    }
                    other => {
                        return Verdict::WithoutCode(format!("an error with code {other:?}"));
                    }
                }
            }
        } else if body.get("data").is_none() {
            return Verdict::WithoutCode("neither data nor errors".into());
        }
        // A mutation that came back with its payload wrote something.
        let wrote = body["data"].as_object().is_some_and(|data| {
            ["createDocument", "reviseDocument", "addCitation", "createSource", "createAgent"]
                .iter()
                .any(|m| data.get(*m).is_some_and(|payload| !payload.is_null()))
        });
        return Verdict::Answered { status, codes, wrote };
    }
    if status >= 400 && bytes.iter().all(u8::is_ascii_whitespace) {
        return Verdict::WithoutCode(format!("status {status} with an empty body"));
    }
    Verdict::Answered { status, codes: Vec::new(), wrote: false }
}

/// Writes bytes to a fresh connection; the server must answer with a status line.
fn raw(address: &str, bytes: &[u8]) -> Verdict {
    let host = address.trim_start_matches("http://");
    let Ok(mut stream) = std::net::TcpStream::connect(host) else {
        return Verdict::NoResponse("cannot connect".into());
    };
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = stream.write_all(bytes);
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let mut answer = Vec::new();
    let _ = stream.take(64 * 1024).read_to_end(&mut answer);
    let head = String::from_utf8_lossy(&answer);
    match head.strip_prefix("HTTP/1.1 ").and_then(|rest| rest.get(..3)?.parse::<u16>().ok()) {
        Some(status)
            if status >= 400
                && head.split_once("\r\n\r\n").is_none_or(|(_, body)| body.trim().is_empty()) =>
        {
            Verdict::WithoutCode(format!("status {status} with an empty body"))
        }
        Some(status) => Verdict::Answered { status, codes: Vec::new(), wrote: false },
        None => Verdict::WithoutCode(format!("no status line: {:?}", &head[..head.len().min(80)])),
    }
}

fn short(text: &str) -> String {
    text.chars().take(200).collect()
}

fn describe(request: &Request) -> String {
    let text = match request {
        Request::Raw(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        Request::Http { post, path, body, .. } => {
            let body = match body {
                Some(Body::Json(value)) => value.to_string(),
                Some(Body::Raw { bytes, .. }) => String::from_utf8_lossy(bytes).into_owned(),
                None => String::new(),
            };
            format!("{} {path} {body}", if *post { "POST" } else { "GET" })
        }
    };
    text.chars().take(160).collect()
}

fn report(
    database: &Database,
    tally: &Tally,
    elapsed: Duration,
    unexpected_writes: usize,
    (rss_start, rss_peak, rss_end): (u64, u64, u64),
) {
    println!("\nhostile suite on {} ({:.1} s)", database.name(), elapsed.as_secs_f64());
    println!("  requests:                 {}", tally.requests);
    for (family, count) in &tally.by_family {
        println!("    {family:<28} {count}");
    }
    println!("  statuses:                 {:?}", tally.statuses);
    println!("  error codes:              {:?}", tally.codes);
    println!("  crashes:                  {}", tally.crashes);
    println!("  responses without a code: {}", tally.without_code.len());
    println!("  internal errors:          {}", tally.internal.len());
    println!("  writes that should not happen: {unexpected_writes}");
    println!(
        "  answers slower than {SLOW:?}: {} (slowest {:?}, {})",
        tally.slow.len(),
        tally.slowest,
        tally.slowest_family
    );
    println!(
        "  RSS: {} KiB at the start, {} KiB at the peak, {} KiB after ({:.2}x)",
        rss_start,
        rss_peak,
        rss_end,
        rss_end as f64 / rss_start.max(1) as f64
    );
    for (what, list) in [
        ("without a code", &tally.without_code),
        ("internal", &tally.internal),
        ("write accepted", &tally.writes_accepted),
        ("slow", &tally.slow),
    ] {
        for item in list.iter().take(10) {
            println!("  {what}: {item}");
        }
    }
}
