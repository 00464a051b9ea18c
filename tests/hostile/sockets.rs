//! Hostile WebSockets on `/graphql` (graphql-transport-ws): garbage, protocol abuse, bad
//! tokens, oversized frames, operation and connection floods, queries built to be expensive.
//! Each connection must end as the protocol says (an error message or a close with the
//! expected code) within `SLOW`; none may hang, and the server must live through all of them.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::Message;

use crate::cases::{Fixture, Rng};
use crate::server::Server;

/// The longest a connection may take to answer or close as expected.
const SLOW: Duration = Duration::from_secs(10);

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

#[derive(Default)]
pub struct SocketTally {
    pub connections: usize,
    pub by_family: BTreeMap<&'static str, usize>,
    pub close_codes: BTreeMap<u16, usize>,
    pub faults: Vec<String>,
}

fn count(tally: &mut SocketTally, family: &'static str) {
    tally.connections += 1;
    *tally.by_family.entry(family).or_default() += 1;
}

impl SocketTally {
    fn fault(&mut self, family: &str, what: String) {
        self.faults.push(format!("{family}: {what}"));
    }
}

async fn open(server: &Server) -> Option<Socket> {
    let mut request = format!("{}/graphql", server.address.replacen("http://", "ws://", 1))
        .into_client_request()
        .ok()?;
    request
        .headers_mut()
        .insert("sec-websocket-protocol", HeaderValue::from_static("graphql-transport-ws"));
    tokio_tungstenite::connect_async(request).await.ok().map(|(socket, _)| socket)
}

async fn send(socket: &mut Socket, message: Value) -> bool {
    socket.send(Message::text(message.to_string())).await.is_ok()
}

/// What the connection said next: a protocol message, or how it closed.
enum Heard {
    Message(Value),
    Closed(Option<u16>),
    Nothing,
}

async fn hear(socket: &mut Socket) -> Heard {
    hear_within(socket, SLOW).await
}

async fn hear_within(socket: &mut Socket, wait: Duration) -> Heard {
    loop {
        match tokio::time::timeout(wait, socket.next()).await {
            Err(_) => return Heard::Nothing,
            Ok(None | Some(Err(_))) => return Heard::Closed(None),
            Ok(Some(Ok(Message::Close(frame)))) => {
                return Heard::Closed(frame.map(|f| u16::from(f.code)));
            }
            Ok(Some(Ok(Message::Text(text)))) => {
                return match serde_json::from_str(&text) {
                    Ok(value) => Heard::Message(value),
                    Err(_) => Heard::Message(json!({ "unparsable": text.to_string() })),
                };
            }
            Ok(Some(Ok(_))) => continue,
        }
    }
}

/// Expects the connection to close with `code` (skipping protocol messages before it).
async fn expect_close(tally: &mut SocketTally, family: &str, socket: &mut Socket, code: u16) {
    loop {
        match hear(socket).await {
            Heard::Message(_) => continue,
            Heard::Closed(Some(got)) => {
                *tally.close_codes.entry(got).or_default() += 1;
                if got != code {
                    tally.fault(family, format!("closed with {got}, expected {code}"));
                }
                return;
            }
            Heard::Closed(None) => {
                tally.fault(family, format!("dropped without a close frame, expected {code}"));
                return;
            }
            Heard::Nothing => {
                tally.fault(family, format!("no close within {SLOW:?}, expected {code}"));
                return;
            }
        }
    }
}

async fn init(tally: &mut SocketTally, family: &str, socket: &mut Socket) -> bool {
    if !send(socket, json!({ "type": "connection_init" })).await {
        tally.fault(family, "could not send connection_init".into());
        return false;
    }
    match hear(socket).await {
        Heard::Message(m) if m["type"] == "connection_ack" => true,
        _ => {
            tally.fault(family, "no connection_ack".into());
            false
        }
    }
}

/// Expects an error answer (a `next` or `error` with errors whose codes are in `codes`) and
/// then `complete` for operation `id`.
async fn expect_error(
    tally: &mut SocketTally,
    family: &str,
    socket: &mut Socket,
    id: &str,
    codes: &[&str],
) {
    match hear(socket).await {
        Heard::Message(message) if message["id"] == id => {
            let code = message["payload"]["errors"][0]["extensions"]["code"].as_str();
            let message_text = message["payload"]["errors"][0]["message"].as_str();
            match (code, message_text) {
                (Some(code), Some(_)) if codes.contains(&code) => {}
                _ => tally.fault(family, format!("unexpected answer: {message}")),
            }
            match hear(socket).await {
                Heard::Message(m) if m["type"] == "complete" && m["id"] == id => {}
                _ => tally.fault(family, "no complete after the error".into()),
            }
        }
        Heard::Message(other) => tally.fault(family, format!("unexpected message {other}")),
        Heard::Closed(code) => {
            tally.fault(family, format!("closed ({code:?}) instead of answering"))
        }
        Heard::Nothing => tally.fault(family, format!("no answer within {SLOW:?}")),
    }
}

const WATCH: &str =
    "subscription($slugs: [String!]) { documentChanged(slugs: $slugs) { revision { hash } } }";

pub async fn attack(server: &Server, fixture: &Fixture, rng: &mut Rng) -> SocketTally {
    let mut tally = SocketTally::default();

    // Not protocol messages, after `connection_init`: 4400.
    for _ in 0..100 {
        let family = "garbage after init";
        count(&mut tally, family);
        let Some(mut socket) = open(server).await else {
            tally.fault(family, "upgrade refused".into());
            continue;
        };
        if !init(&mut tally, family, &mut socket).await {
            continue;
        }
        let garbage = match rng.below(4) {
            0 => "{ not json".to_owned(),
            1 => json!({ "type": "no-such-type", "id": 1 }).to_string(),
            2 => json!({ "type": "subscribe", "id": 7, "payload": "x" }).to_string(),
            _ => (0..rng.range(1, 200)).map(|_| rng.range(32, 126) as u8 as char).collect(),
        };
        let _ = socket.send(Message::text(garbage)).await;
        expect_close(&mut tally, family, &mut socket, 4400).await;
    }

    // Binary garbage before anything else: 4400.
    for _ in 0..20 {
        let family = "binary before init";
        count(&mut tally, family);
        let Some(mut socket) = open(server).await else { continue };
        let bytes: Vec<u8> = (0..rng.range(1, 500)).map(|_| rng.below(256) as u8).collect();
        let _ = socket.send(Message::binary(bytes)).await;
        expect_close(&mut tally, family, &mut socket, 4400).await;
    }

    // A subscribe before `connection_init`: 4401.
    for _ in 0..30 {
        let family = "subscribe before init";
        count(&mut tally, family);
        let Some(mut socket) = open(server).await else { continue };
        send(
            &mut socket,
            json!({ "id": "1", "type": "subscribe",
            "payload": { "query": WATCH, "variables": { "slugs": ["small"] } } }),
        )
        .await;
        expect_close(&mut tally, family, &mut socket, 4401).await;
    }

    // Tokens that must not get in: 4403.
    let bad = [
        format!("Bearer {}", fixture.revoked),
        format!("Bearer {}", fixture.expired),
        "Bearer pal_forged".to_owned(),
        "Basic dXNlcjpwYXNz".to_owned(),
        "Bearer ".to_owned(),
        "x".repeat(100_000),
    ];
    for token in bad.iter().chain(bad.iter()) {
        let family = "bad tokens";
        count(&mut tally, family);
        let Some(mut socket) = open(server).await else { continue };
        send(
            &mut socket,
            json!({ "type": "connection_init", "payload": { "authorization": token } }),
        )
        .await;
        expect_close(&mut tally, family, &mut socket, 4403).await;
    }

    // A frame larger than a request body may be: the connection ends, the server lives.
    for _ in 0..3 {
        let family = "oversized frame";
        count(&mut tally, family);
        let Some(mut socket) = open(server).await else { continue };
        if !init(&mut tally, family, &mut socket).await {
            continue;
        }
        let _ = socket.send(Message::text("x".repeat(11 * 1024 * 1024))).await;
        match hear(&mut socket).await {
            Heard::Closed(_) => {}
            Heard::Message(m) => tally.fault(family, format!("answered {m}")),
            Heard::Nothing => tally.fault(family, "neither closed nor answered".into()),
        }
    }

    // Queries built to be expensive, and arguments out of bounds: errors, the socket goes on.
    let nested = format!(
        "subscription {{ documentChanged(slugs: [\"small\"]) {{ {}hash{} }} }}",
        "document { head { document { head { ".repeat(20),
        " } } } }".repeat(20)
    );
    let aliases = format!(
        "subscription {{ documentChanged(slugs: [\"small\"]) {{ {} }} }}",
        (0..500).map(|i| format!("a{i}: previousHash")).collect::<Vec<_>>().join(" ")
    );
    let many: Vec<String> = (0..5000).map(|n| format!("d{n}")).collect();
    let cases: Vec<(String, Value, &[&str])> = vec![
        (nested, json!({}), &["QUERY_TOO_COMPLEX"]),
        (aliases, json!({}), &["QUERY_TOO_COMPLEX"]),
        (WATCH.to_owned(), json!({ "slugs": many }), &["BAD_USER_INPUT"]),
        (WATCH.to_owned(), json!({ "slugs": ["\u{0}"] }), &["BAD_USER_INPUT"]),
        (
            "subscription { citationDrift(documentIds: []) { revision { hash } } }".to_owned(),
            json!({}),
            &["BAD_USER_INPUT"],
        ),
        ("subscription { documentChanged".to_owned(), json!({}), &["BAD_USER_INPUT"]),
    ];
    for round in 0..5 {
        let family = "expensive or bad subscriptions";
        count(&mut tally, family);
        let Some(mut socket) = open(server).await else { continue };
        if !init(&mut tally, family, &mut socket).await {
            continue;
        }
        for (n, (query, variables, codes)) in cases.iter().enumerate() {
            let id = format!("{round}-{n}");
            send(
                &mut socket,
                json!({ "id": id, "type": "subscribe",
                "payload": { "query": query, "variables": variables } }),
            )
            .await;
            expect_error(&mut tally, family, &mut socket, &id, codes).await;
        }
    }

    // More operations than a connection may run: the excess is refused, one by one.
    for _ in 0..3 {
        let family = "operation flood";
        count(&mut tally, family);
        let Some(mut socket) = open(server).await else { continue };
        if !init(&mut tally, family, &mut socket).await {
            continue;
        }
        for n in 0..150 {
            send(
                &mut socket,
                json!({ "id": format!("op{n}"), "type": "subscribe",
                "payload": { "query": WATCH, "variables": { "slugs": ["small"] } } }),
            )
            .await;
        }
        let mut refused = 0;
        while refused < 50 {
            match hear(&mut socket).await {
                Heard::Message(m) if m["payload"]["errors"].is_array() => refused += 1,
                Heard::Message(_) => {}
                _ => {
                    tally.fault(family, format!("{refused} of 50 refusals, then silence"));
                    break;
                }
            }
        }
        // A ping still gets its pong past 100 running operations.
        send(&mut socket, json!({ "type": "ping" })).await;
        loop {
            match hear(&mut socket).await {
                Heard::Message(m) if m["type"] == "pong" => break,
                Heard::Message(_) => continue,
                _ => {
                    tally.fault(family, "no pong".into());
                    break;
                }
            }
        }
    }

    // The same id twice: 4409.
    for _ in 0..10 {
        let family = "duplicate ids";
        count(&mut tally, family);
        let Some(mut socket) = open(server).await else { continue };
        if !init(&mut tally, family, &mut socket).await {
            continue;
        }
        for _ in 0..2 {
            send(
                &mut socket,
                json!({ "id": "same", "type": "subscribe",
                "payload": { "query": WATCH, "variables": { "slugs": ["small"] } } }),
            )
            .await;
        }
        expect_close(&mut tally, family, &mut socket, 4409).await;
    }

    // A `connection_init` whose payload is not an object: 4400.
    for payload in [json!("Bearer x"), json!(7), json!([1]), json!(true)] {
        let family = "connection_init that is not an object";
        count(&mut tally, family);
        let Some(mut socket) = open(server).await else { continue };
        send(&mut socket, json!({ "type": "connection_init", "payload": payload })).await;
        expect_close(&mut tally, family, &mut socket, 4400).await;
    }

    // A close from the client is answered with its code, and the connection ends at once.
    for code in [1000u16, 4000, 4999] {
        let family = "a close answered and ended";
        count(&mut tally, family);
        let Some(mut socket) = open(server).await else { continue };
        if !init(&mut tally, family, &mut socket).await {
            continue;
        }
        let started = std::time::Instant::now();
        let frame = tokio_tungstenite::tungstenite::protocol::CloseFrame {
            code: code.into(),
            reason: "bye".into(),
        };
        let _ = socket.close(Some(frame)).await;
        expect_close(&mut tally, family, &mut socket, code).await;
        let ended = tokio::time::timeout(SLOW, socket.next()).await;
        if !matches!(ended, Ok(None | Some(Err(_)))) {
            tally.fault(family, format!("the connection did not end: {ended:?}"));
        } else if started.elapsed() > Duration::from_millis(500) {
            tally.fault(family, format!("it ended after {:?}", started.elapsed()));
        }
    }

    // Every subscription with arguments built from the schema's types: errors or events,
    // never a fault.
    let schema = crate::surfaces::schema();
    for field in ["citationDrift", "documentChanged"] {
        let family = "hostile arguments, every subscription";
        count(&mut tally, family);
        let Some(mut socket) = open(server).await else { continue };
        if !init(&mut tally, family, &mut socket).await {
            continue;
        }
        for n in 0..40 {
            // A message over the frame limit is closed with 1009, as it should be: that is the
            // "oversized frame" family's case, so this one sends arguments that fit.
            let (query, variables) = loop {
                let call = crate::surfaces::hostile_call(&schema, "Subscription", field, rng);
                if call.1.to_string().len() < 1 << 20 {
                    break call;
                }
            };
            let id = format!("h{n}");
            send(
                &mut socket,
                json!({ "id": id, "type": "subscribe",
                "payload": { "query": query, "variables": variables } }),
            )
            .await;
            // An error then `complete`, or (for valid arguments) a subscription that listens:
            // completed here by the client.
            match hear_within(&mut socket, Duration::from_millis(500)).await {
                Heard::Message(m) if m["id"] == id.as_str() => {
                    if m["payload"]["errors"].is_array() {
                        let _ = hear(&mut socket).await;
                    }
                }
                Heard::Nothing => {
                    send(&mut socket, json!({ "id": id, "type": "complete" })).await;
                }
                other => {
                    tally.fault(family, format!("{field}: {}", describe(&other)));
                    break;
                }
            }
        }
    }

    // Many connections at once, each with a subscription, all dropped without a word.
    let family = "connection flood";
    let mut sockets = Vec::new();
    for _ in 0..300 {
        count(&mut tally, family);
        if let Some(mut socket) = open(server).await {
            send(&mut socket, json!({ "type": "connection_init" })).await;
            send(
                &mut socket,
                json!({ "id": "1", "type": "subscribe",
                "payload": { "query": WATCH, "variables": { "slugs": ["small"] } } }),
            )
            .await;
            sockets.push(socket);
        }
    }
    if sockets.len() < 300 {
        tally.fault(family, format!("only {} of 300 connections opened", sockets.len()));
    }
    drop(sockets);
    tally
}

fn describe(heard: &Heard) -> String {
    match heard {
        Heard::Message(m) => format!("unexpected message {m}"),
        Heard::Closed(code) => format!("closed ({code:?})"),
        Heard::Nothing => "silence".to_owned(),
    }
}

/// A socket for the resource tests, opened as any client would.
pub async fn open_public(server: &Server) -> Option<Socket> {
    open(server).await
}

/// `connection_init` and one subscription; the code of the first error it is answered with
/// (`None` if it was accepted or nothing came).
pub async fn subscribe_once(socket: &mut Socket, query: &str, variables: Value) -> Option<String> {
    send(socket, json!({ "type": "connection_init" })).await;
    let Heard::Message(ack) = hear(socket).await else { return None };
    if ack["type"] != "connection_ack" {
        return None;
    }
    send(socket, json!({ "id": "1", "type": "subscribe", "payload": { "query": query, "variables": variables } }))
        .await;
    match hear_within(socket, Duration::from_secs(5)).await {
        Heard::Message(m) => {
            m["payload"]["errors"][0]["extensions"]["code"].as_str().map(str::to_owned)
        }
        _ => None,
    }
}

/// A connection of `n` cheap subscriptions to `document`, reading every event it is sent
/// (a well-behaved client in a crowd) until dropped.
pub struct Crowd(tokio::task::JoinHandle<()>);

impl Drop for Crowd {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub async fn crowd(server: &Server, document: &str, n: usize) -> Option<Crowd> {
    let mut socket = open(server).await?;
    send(&mut socket, json!({ "type": "connection_init" })).await;
    for i in 0..n {
        send(
            &mut socket,
            json!({ "id": format!("c{i}"), "type": "subscribe", "payload": {
                "query": "subscription($ids: [ID!]) { documentChanged(ids: $ids) { revision { hash } } }",
                "variables": { "ids": [document] } } }),
        )
        .await;
    }
    Some(Crowd(tokio::spawn(async move { while let Some(Ok(_)) = socket.next().await {} })))
}
