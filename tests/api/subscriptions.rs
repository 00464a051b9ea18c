//! Subscriptions over WebSocket, spoken as a `graphql-ws` client speaks `graphql-transport-ws`:
//! each new revision of the documents subscribed to, citations whose quotes stop (or start
//! again) being true, events from another server on the same PostgreSQL database, and every way
//! a connection is refused or closed (with the protocol's close codes).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::helpers::{Backend, TestApp, assert_no_errors, spawn_configured};
use crate::websocket_frame::client_frame;

crate::on_both_backends!(
    document_changed_tells_each_new_revision_with_its_hash_and_author,
    citation_drift_tells_the_citing_side_when_a_quote_stops_and_starts_being_true,
    connections_are_refused_and_closed_with_the_protocols_codes,
    a_close_is_answered_with_the_clients_code_and_the_connection_ends_at_once,
    bad_subscriptions_are_answered_with_errors_and_the_connection_goes_on,
);

/// How long a test waits for a message it expects.
const WAIT: Duration = Duration::from_secs(10);

/// A client of `graphql-transport-ws`, as the `graphql-ws` package is.
pub struct WsClient {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// How a connection ended, as the client saw it.
#[derive(Debug, PartialEq)]
pub struct Closed {
    pub code: u16,
    pub reason: String,
}

impl WsClient {
    pub async fn open(address: &str) -> Self {
        Self::try_open(address, Some("graphql-transport-ws")).await.expect("open a WebSocket")
    }

    pub async fn try_open(
        address: &str,
        protocol: Option<&str>,
    ) -> Result<Self, tokio_tungstenite::tungstenite::Error> {
        Self::connect(address, protocol, None).await
    }

    /// Opens a socket as a page on `origin` would (browsers send `Origin` on every upgrade).
    pub async fn open_from(
        address: &str,
        origin: Option<&str>,
    ) -> Result<Self, tokio_tungstenite::tungstenite::Error> {
        Self::connect(address, Some("graphql-transport-ws"), origin).await
    }

    async fn connect(
        address: &str,
        protocol: Option<&str>,
        origin: Option<&str>,
    ) -> Result<Self, tokio_tungstenite::tungstenite::Error> {
        let url = format!("{}/graphql", address.replacen("http://", "ws://", 1));
        let mut request = url.into_client_request()?;
        if let Some(origin) = origin {
            request.headers_mut().insert("origin", HeaderValue::from_str(origin).unwrap());
        }
        if let Some(protocol) = protocol {
            request
                .headers_mut()
                .insert("sec-websocket-protocol", HeaderValue::from_str(protocol).unwrap());
        }
        let (socket, response) = tokio_tungstenite::connect_async(request).await?;
        assert_eq!(
            response.headers().get("sec-websocket-protocol").map(|v| v.to_str().unwrap()),
            protocol,
            "the server speaks the subprotocol offered"
        );
        Ok(Self { socket })
    }

    pub async fn send(&mut self, message: Value) {
        self.socket.send(Message::text(message.to_string())).await.expect("send");
    }

    /// `connection_init` with `payload`, and the server's `connection_ack`.
    pub async fn init(&mut self, payload: Value) {
        self.send(json!({ "type": "connection_init", "payload": payload })).await;
        let ack = self.next().await;
        assert_eq!(ack["type"], "connection_ack", "{ack:#}");
    }

    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({ "id": id, "type": "subscribe",
            "payload": { "query": query, "variables": variables } }))
            .await;
    }

    /// The next protocol message; panics on a close or after `WAIT`.
    pub async fn next(&mut self) -> Value {
        match self.next_within(WAIT).await {
            Some(message) => message,
            None => panic!("no message within {WAIT:?}"),
        }
    }

    /// The next protocol message, or `None` if none comes within `wait`; panics on a close.
    pub async fn next_within(&mut self, wait: Duration) -> Option<Value> {
        loop {
            let frame = tokio::time::timeout(wait, self.socket.next()).await.ok()?;
            match frame {
                Some(Ok(Message::Text(text))) => return Some(serde_json::from_str(&text).unwrap()),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("expected a message, got {other:?}"),
            }
        }
    }

    /// Waits for the server to close the connection; what it said, skipping other messages.
    pub async fn closed(&mut self) -> Closed {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .expect("the server closes the connection in time");
            match frame {
                Some(Ok(Message::Close(Some(frame)))) => {
                    return Closed { code: frame.code.into(), reason: frame.reason.to_string() };
                }
                Some(Ok(Message::Close(None))) | None => {
                    return Closed { code: 1005, reason: String::new() };
                }
                Some(Ok(_)) => continue,
                Some(Err(err)) => panic!("the connection broke instead of closing: {err}"),
            }
        }
    }
}

const DOCUMENT_CHANGED: &str = "subscription($ids: [ID!], $slugs: [String!]) {
  documentChanged(ids: $ids, slugs: $slugs) {
    document { slug head { hash } }
    revision { number hash message author { name } }
    previousHash } }";

/// Writes with `write` until `client` hears of one (a subscription listens once the server has
/// run its resolver, which no protocol message marks); returns that first `next` message.
async fn first_event(client: &mut WsClient, mut write: impl AsyncFnMut(usize)) -> Value {
    for attempt in 0..20 {
        write(attempt).await;
        if let Some(message) = client.next_within(Duration::from_millis(500)).await {
            return message;
        }
    }
    panic!("the subscription never heard of a write");
}

async fn document_changed_tells_each_new_revision_with_its_hash_and_author(app: TestApp) {
    let token = app.editor().await;
    let created = app.create_document(&token, "watched", "version 1\n").await;
    let id = created["document"]["id"].as_str().unwrap().to_owned();
    let other = app.create_document(&token, "unwatched", "other 1\n").await;
    let other_id = other["document"]["id"].as_str().unwrap().to_owned();
    let mut head = created["revision"]["hash"].as_str().unwrap().to_owned();

    let mut client = WsClient::open(&app.address).await;
    client.init(json!({})).await;
    client.subscribe("changes", DOCUMENT_CHANGED, json!({ "slugs": ["watched"] })).await;

    // Revises until the subscription hears one; it hears each from then on, in order.
    let mut written = Vec::new();
    let first = first_event(&mut client, async |attempt| {
        let content = format!("version {}\n", attempt + 2);
        let body = app.revise(&token, &id, &head, &content).await;
        assert_no_errors(&body);
        let revision = &body["data"]["reviseDocument"]["revision"];
        head = revision["hash"].as_str().unwrap().to_owned();
        written.push(head.clone());
    })
    .await;
    assert_eq!(first["type"], "next", "{first:#}");
    assert_eq!(first["id"], "changes");
    let event = &first["payload"]["data"]["documentChanged"];
    let heard = event["revision"]["hash"].as_str().unwrap();
    assert!(written.iter().any(|h| h == heard), "{first:#}");
    assert_eq!(event["document"]["slug"], "watched");
    assert_eq!(event["revision"]["author"]["name"], "Test Editor", "{first:#}");

    // Drain what was heard of the earlier attempts (at most one more, in flight).
    while client.next_within(Duration::from_millis(300)).await.is_some() {}

    for n in 0..3 {
        // A write to another document between ours is not told.
        let other_head = app
            .query(
                "query($id: ID!) { node(id: $id) { ... on Document { head { hash } } } }",
                json!({ "id": other_id }),
            )
            .await["data"]["node"]["head"]["hash"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_no_errors(
            &app.revise(&token, &other_id, &other_head, &format!("other {n}\n")).await,
        );

        let body = app.revise(&token, &id, &head, &format!("final {n}\n")).await;
        assert_no_errors(&body);
        let revision = &body["data"]["reviseDocument"]["revision"];
        let previous = std::mem::replace(&mut head, revision["hash"].as_str().unwrap().to_owned());
        let message = client.next().await;
        assert_eq!(message["type"], "next");
        let event = &message["payload"]["data"]["documentChanged"];
        assert_eq!(event["revision"]["hash"], head.as_str(), "{message:#}");
        assert_eq!(event["revision"]["number"], revision["number"]);
        assert_eq!(event["revision"]["message"], "edit");
        assert_eq!(event["previousHash"], previous.as_str());
        assert_eq!(event["document"]["head"]["hash"], head.as_str(), "read as it is now");
    }
    assert_eq!(client.next_within(Duration::from_millis(300)).await, None, "nothing else");

    // `complete` from the client ends it; the connection stays open for more.
    client.send(json!({ "id": "changes", "type": "complete" })).await;
    assert_eq!(client.next().await, json!({ "type": "complete", "id": "changes" }));
    client.send(json!({ "type": "ping" })).await;
    let pong = client.next().await;
    assert_eq!(pong["type"], "pong", "{pong:#}");
    let body = app.revise(&token, &id, &head, "after complete\n").await;
    assert_no_errors(&body);
    assert_eq!(client.next_within(Duration::from_millis(500)).await, None);

    // A query over the same connection is answered once, then completed.
    client.subscribe("q", "{ document(slug: \"watched\") { slug } }", json!({})).await;
    let answer = client.next().await;
    assert_eq!(answer["payload"]["data"]["document"]["slug"], "watched", "{answer:#}");
    let complete = client.next().await;
    assert_eq!(complete, json!({ "type": "complete", "id": "q" }));
}

const CITATION_DRIFT: &str = "subscription($ids: [ID!]!) { citationDrift(documentIds: $ids) {
  citation { citingPassage { exact } targetPassage { exact } }
  revision { hash number }
  before { status against { hash } }
  after { status against { hash } changes { op text } } } }";

const ADD_CITATION: &str = "mutation($input: AddCitationInput!) { addCitation(input: $input) {
  citation { currentVerification { status } } } }";

async fn citation_drift_tells_the_citing_side_when_a_quote_stops_and_starts_being_true(
    app: TestApp,
) {
    let token = app.editor().await;
    let said = "The committee approved the budget.\nThe chair thanked the members.\n";
    let cited = app.create_document(&token, "minutes", said).await;
    let cited_id = cited["document"]["id"].as_str().unwrap().to_owned();
    let mut head = cited["revision"]["hash"].as_str().unwrap().to_owned();
    let note = app.create_document(&token, "note", "It approved the budget.\n").await;
    let note_id = note["document"]["id"].as_str().unwrap().to_owned();
    let added = app
        .query_as(
            Some(&token),
            ADD_CITATION,
            json!({ "input": {
                "documentId": note_id, "relation": "QUOTES",
                "passage": { "exact": "approved the budget" },
                "target": { "documentId": cited_id },
                "targetPassage": { "exact": "committee approved the budget" } } }),
        )
        .await;
    assert_no_errors(&added);

    let mut client = WsClient::open(&app.address).await;
    client.init(json!({})).await;
    client.subscribe("drift", CITATION_DRIFT, json!({ "ids": [note_id] })).await;

    // Toggles the quoted words out and back in until the subscription hears one.
    let texts = ["The committee rejected the budget.\nThe chair thanked the members.\n", said];
    let mut written: Vec<(String, &str)> = Vec::new();
    let first = first_event(&mut client, async |attempt| {
        let text = texts[attempt % 2];
        let body = app.revise(&token, &cited_id, &head, text).await;
        assert_no_errors(&body);
        head = body["data"]["reviseDocument"]["revision"]["hash"].as_str().unwrap().to_owned();
        written.push((head.clone(), text));
    })
    .await;
    let event = &first["payload"]["data"]["citationDrift"];
    assert_eq!(event["citation"]["targetPassage"]["exact"], "committee approved the budget");
    assert_ne!(event["before"]["status"], event["after"]["status"], "{first:#}");
    while client.next_within(Duration::from_millis(300)).await.is_some() {}
    // Back to the words as quoted, if the last write took them out.
    if written.last().is_some_and(|(_, text)| *text != said) {
        let body = app.revise(&token, &cited_id, &head, said).await;
        assert_no_errors(&body);
        head = body["data"]["reviseDocument"]["revision"]["hash"].as_str().unwrap().to_owned();
        let back = client.next().await;
        assert_eq!(back["payload"]["data"]["citationDrift"]["after"]["status"], "VERIFIED");
    }

    // A revision that leaves the quoted words alone changes no verdict: nothing is told.
    let untouched = "The committee approved the budget.\nThe chair thanked everyone.\n";
    let body = app.revise(&token, &cited_id, &head, untouched).await;
    assert_no_errors(&body);
    head = body["data"]["reviseDocument"]["revision"]["hash"].as_str().unwrap().to_owned();
    assert_eq!(client.next_within(Duration::from_millis(500)).await, None);

    // The words are altered: VERIFIED → ALTERED, with the word diff.
    let previous = head.clone();
    let altered = "The committee approved the revised budget.\nThe chair thanked everyone.\n";
    let body = app.revise(&token, &cited_id, &head, altered).await;
    assert_no_errors(&body);
    head = body["data"]["reviseDocument"]["revision"]["hash"].as_str().unwrap().to_owned();
    let message = client.next().await;
    let event = &message["payload"]["data"]["citationDrift"];
    assert_eq!(event["citation"]["citingPassage"]["exact"], "approved the budget");
    assert_eq!(event["revision"]["hash"], head.as_str());
    assert_eq!(event["before"]["status"], "VERIFIED", "{message:#}");
    assert_eq!(event["before"]["against"]["hash"], previous.as_str());
    assert_eq!(event["after"]["status"], "ALTERED");
    assert_eq!(event["after"]["against"]["hash"], head.as_str());
    let inserted: Vec<&str> = event["after"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["op"] == "INSERT")
        .map(|c| c["text"].as_str().unwrap().trim())
        .collect();
    assert_eq!(inserted, ["revised"], "{message:#}");

    // Removed: ALTERED → NOT_FOUND; restored: NOT_FOUND → VERIFIED.
    for (text, before, after) in
        [("The chair thanked everyone.\n", "ALTERED", "NOT_FOUND"), (said, "NOT_FOUND", "VERIFIED")]
    {
        let body = app.revise(&token, &cited_id, &head, text).await;
        assert_no_errors(&body);
        head = body["data"]["reviseDocument"]["revision"]["hash"].as_str().unwrap().to_owned();
        let message = client.next().await;
        let event = &message["payload"]["data"]["citationDrift"];
        assert_eq!(
            (event["before"]["status"].as_str(), event["after"]["status"].as_str()),
            (Some(before), Some(after)),
            "{message:#}"
        );
    }

    // The cited side may subscribe too; a document on neither side hears nothing.
    let mut cited_side = WsClient::open(&app.address).await;
    cited_side.init(json!({})).await;
    cited_side.subscribe("drift", CITATION_DRIFT, json!({ "ids": [cited_id] })).await;
    let mut bystander = WsClient::open(&app.address).await;
    bystander.init(json!({})).await;
    let unrelated = app.create_document(&token, "unrelated", "nothing\n").await;
    bystander
        .subscribe("drift", CITATION_DRIFT, json!({ "ids": [unrelated["document"]["id"]] }))
        .await;
    let texts = ["The chair thanked everyone.\n", said];
    let heard = first_event(&mut cited_side, async |attempt| {
        let body = app.revise(&token, &cited_id, &head, texts[attempt % 2]).await;
        assert_no_errors(&body);
        head = body["data"]["reviseDocument"]["revision"]["hash"].as_str().unwrap().to_owned();
    })
    .await;
    assert_eq!(
        heard["payload"]["data"]["citationDrift"]["citation"]["citingPassage"]["exact"],
        "approved the budget"
    );
    assert_eq!(bystander.next_within(Duration::from_millis(300)).await, None);
}

async fn connections_are_refused_and_closed_with_the_protocols_codes(app: TestApp) {
    // Without the subprotocol the upgrade is refused.
    let refused = WsClient::try_open(&app.address, None).await.err().expect("refused");
    match refused {
        tokio_tungstenite::tungstenite::Error::Http(response) => {
            assert_eq!(response.status(), 400);
        }
        other => panic!("expected an HTTP refusal, got {other}"),
    }

    // A token that is not known: 4403 Forbidden.
    let mut client = WsClient::open(&app.address).await;
    client
        .send(json!({ "type": "connection_init",
        "payload": { "authorization": "Bearer not-a-token" } }))
        .await;
    let closed = client.closed().await;
    assert_eq!(closed.code, 4403, "{closed:?}");
    assert!(closed.reason.contains("unknown, revoked or expired"), "{closed:?}");

    // Not `Bearer <token>`: 4403 too, saying what is expected.
    let mut client = WsClient::open(&app.address).await;
    client.send(json!({ "type": "connection_init", "payload": { "Authorization": 42 } })).await;
    assert_eq!(client.closed().await.code, 4403);

    // A consistency token (read-your-writes, docs/deployment.md#read-replicas) is taken, and one
    // this server never hands out is refused, saying so.
    let mut client = WsClient::open(&app.address).await;
    client.init(json!({ "consistency": "v1.0000000000000001" })).await;
    let mut client = WsClient::open(&app.address).await;
    client
        .send(json!({ "type": "connection_init", "payload": { "consistency": "0/16B3A1C0" } }))
        .await;
    let closed = client.closed().await;
    assert_eq!(closed.code, 4403, "{closed:?}");
    assert!(closed.reason.contains("consistency"), "{closed:?}");

    // A good token is accepted; a subscribe before `connection_init`: 4401 Unauthorized.
    let token = app.editor().await;
    let mut client = WsClient::open(&app.address).await;
    client.init(json!({ "authorization": format!("Bearer {token}") })).await;
    let mut client = WsClient::open(&app.address).await;
    client.subscribe("early", DOCUMENT_CHANGED, json!({ "slugs": ["x"] })).await;
    assert_eq!(client.closed().await.code, 4401);

    // A second `connection_init`: 4429.
    let mut client = WsClient::open(&app.address).await;
    client.init(json!({})).await;
    client.send(json!({ "type": "connection_init" })).await;
    assert_eq!(client.closed().await.code, 4429);

    // Not a protocol message: 4400.
    let mut client = WsClient::open(&app.address).await;
    client.init(json!({})).await;
    client.socket.send(Message::text("{ not json")).await.unwrap();
    assert_eq!(client.closed().await.code, 4400);

    // A `connection_init` payload that is not an object: 4400 too.
    for payload in [json!("Bearer abc"), json!(7), json!(["a"])] {
        let mut client = WsClient::open(&app.address).await;
        client.send(json!({ "type": "connection_init", "payload": payload })).await;
        assert_eq!(client.closed().await.code, 4400, "{payload}");
    }

    // An id already running: 4409.
    app.create_document(&token, "twice", "text\n").await;
    let mut client = WsClient::open(&app.address).await;
    client.init(json!({})).await;
    client.subscribe("same", DOCUMENT_CHANGED, json!({ "slugs": ["twice"] })).await;
    client.subscribe("same", DOCUMENT_CHANGED, json!({ "slugs": ["twice"] })).await;
    let closed = client.closed().await;
    assert_eq!(closed.code, 4409, "{closed:?}");
    assert!(closed.reason.contains("same"));

    // Limits: connections, operations per connection, and time to `connection_init`.
    let limited = spawn_configured(app.backend, |config| {
        config.http.max_sockets = 1;
        config.http.max_socket_operations = 2;
        config.http.socket_init_timeout = Duration::from_millis(300);
    })
    .await
    .unwrap();
    let token = limited.editor().await;
    limited.create_document(&token, "limited", "text\n").await;
    let mut first = WsClient::open(&limited.address).await;
    first.init(json!({})).await;
    match WsClient::try_open(&limited.address, Some("graphql-transport-ws")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 503);
            assert!(response.headers().contains_key("retry-after"));
        }
        other => panic!("a second connection is refused, got {:?}", other.map(|_| ())),
    }
    for id in ["a", "b", "c"] {
        first.subscribe(id, DOCUMENT_CHANGED, json!({ "slugs": ["limited"] })).await;
    }
    let refused = first.next().await;
    assert_eq!(refused["id"], "c", "{refused:#}");
    let error = &refused["payload"]["errors"][0];
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{refused:#}");
    assert!(error["message"].as_str().unwrap().contains("runs 2 operations"));
    assert_eq!(first.next().await, json!({ "type": "complete", "id": "c" }));
    drop(first);
    // Its permit returns when it closes; a connection that never initialises is closed: 4408.
    let mut idle = None;
    for _ in 0..50 {
        match WsClient::try_open(&limited.address, Some("graphql-transport-ws")).await {
            Ok(client) => {
                idle = Some(client);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let mut idle = idle.expect("the closed connection's place is free again");
    assert_eq!(idle.closed().await.code, 4408);
}

/// RFC 6455 (5.5.1, 7.1.1): a close from the client is answered with its own code, and the
/// server, having sent its close frame, closes the TCP connection itself, at once.
async fn a_close_is_answered_with_the_clients_code_and_the_connection_ends_at_once(app: TestApp) {
    use tokio_tungstenite::tungstenite::protocol::CloseFrame;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
    for code in [1000, 4321] {
        let mut client = WsClient::open(&app.address).await;
        client.init(json!({})).await;
        let started = std::time::Instant::now();
        let frame = CloseFrame { code: CloseCode::from(code), reason: "done".into() };
        client.socket.close(Some(frame)).await.unwrap();
        let answer = tokio::time::timeout(WAIT, client.socket.next()).await.expect("an answer");
        match answer {
            Some(Ok(Message::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), code),
            other => panic!("expected the close frame with code {code}, got {other:?}"),
        }
        let end = tokio::time::timeout(WAIT, client.socket.next()).await.expect("the end");
        assert!(matches!(end, None | Some(Err(_))), "{end:?}");
        let took = started.elapsed();
        assert!(took < Duration::from_millis(500), "the connection ended after {took:?}");
    }
    // A close the server starts ends the connection as soon.
    let mut client = WsClient::open(&app.address).await;
    client.init(json!({})).await;
    client.socket.send(Message::text("{ not json")).await.unwrap();
    let started = std::time::Instant::now();
    assert_eq!(client.closed().await.code, 4400);
    let end = tokio::time::timeout(WAIT, client.socket.next()).await.expect("the end");
    assert!(matches!(end, None | Some(Err(_))), "{end:?}");
    assert!(started.elapsed() < Duration::from_millis(500), "ended after {:?}", started.elapsed());
}

async fn bad_subscriptions_are_answered_with_errors_and_the_connection_goes_on(app: TestApp) {
    let mut client = WsClient::open(&app.address).await;
    client.init(json!({})).await;
    let cases = [
        (json!({ "slugs": ["a"], "ids": ["b"] }), "BAD_USER_INPUT", "exactly one"),
        (json!({}), "BAD_USER_INPUT", "exactly one"),
        (json!({ "slugs": [] }), "BAD_USER_INPUT", "1 to 100"),
        (json!({ "slugs": ["no-such-document"] }), "NOT_FOUND", "no-such-document"),
        (json!({ "slugs": ["Not A Slug!"] }), "BAD_USER_INPUT", "slug"),
        (json!({ "ids": ["nonsense"] }), "BAD_USER_INPUT", "not a document id"),
    ];
    for (n, (variables, code, says)) in cases.into_iter().enumerate() {
        let id = format!("bad{n}");
        client.subscribe(&id, DOCUMENT_CHANGED, variables.clone()).await;
        let message = client.next().await;
        assert_eq!(message["id"], id.as_str());
        let error = &message["payload"]["errors"][0];
        assert_eq!(error["extensions"]["code"], code, "{variables}: {message:#}");
        assert!(error["message"].as_str().unwrap().contains(says), "{variables}: {message:#}");
        assert_eq!(client.next().await, json!({ "type": "complete", "id": id }));
    }
    let many: Vec<String> = (0..101).map(|n| format!("d{n}")).collect();
    client.subscribe("many", DOCUMENT_CHANGED, json!({ "slugs": many })).await;
    let message = client.next().await;
    assert_eq!(message["payload"]["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(client.next().await["type"], "complete");

    // A document that does not parse or validate is refused the same way.
    client.subscribe("syntax", "subscription { documentChanged(", json!({})).await;
    let message = client.next().await;
    assert!(message["payload"]["errors"][0]["message"].is_string(), "{message:#}");
    assert_eq!(client.next().await["type"], "complete");
    client.subscribe("unknown", "subscription { nothingHere }", json!({})).await;
    let message = client.next().await;
    assert!(message["payload"]["errors"][0]["message"].as_str().unwrap().contains("nothingHere"));
    assert_eq!(client.next().await["type"], "complete");

    // The connection still works.
    client.send(json!({ "type": "ping" })).await;
    assert_eq!(client.next().await["type"], "pong");
}

/// A subscriber that cannot keep up with the events is told so and disconnected (1013) rather
/// than have them buffered for it without bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_falls_behind_is_disconnected_with_1013() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(app) = spawn_configured(backend, |config| config.store.live_buffer = 4).await
        else {
            continue;
        };
        let token = app.editor().await;
        let created = app.create_document(&token, "busy", "version 0\n").await;
        let id = created["document"]["id"].as_str().unwrap().to_owned();
        let mut head = created["revision"]["hash"].as_str().unwrap().to_owned();
        let mut client = WsClient::open(&app.address).await;
        client.init(json!({})).await;
        client.subscribe("busy", DOCUMENT_CHANGED, json!({ "ids": [id] })).await;
        first_event(&mut client, async |attempt| {
            let body = app.revise(&token, &id, &head, &format!("version {}\n", attempt + 1)).await;
            assert_no_errors(&body);
            head = body["data"]["reviseDocument"]["revision"]["hash"].as_str().unwrap().to_owned();
        })
        .await;
        // Twenty revisions committed at once: more than the subscriber may fall behind.
        app.revise_many(&id, &head, 20).await;
        let mut told = false;
        let closed = loop {
            match tokio::time::timeout(WAIT, client.socket.next()).await.expect("in time") {
                Some(Ok(Message::Text(text))) => {
                    let message: Value = serde_json::from_str(&text).unwrap();
                    if let Some(error) = message["payload"]["errors"].get(0) {
                        assert_eq!(error["extensions"]["code"], "UNAVAILABLE", "{message:#}");
                        assert!(error["message"].as_str().unwrap().contains("missed"));
                        told = true;
                    }
                }
                Some(Ok(Message::Close(Some(frame)))) => break frame,
                other => panic!("{backend:?}: expected messages then a close, got {other:?}"),
            }
        };
        assert!(told, "{backend:?}: the subscription said it missed events");
        assert_eq!(u16::from(closed.code), 1013, "{backend:?}: {closed:?}");
    }
}

/// Two servers on one PostgreSQL database behave as one: a write on either reaches the
/// subscribers of both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    palimpsest_no_postgres,
    ignore = "PALIMPSEST_TEST_POSTGRES_URL was not set when the tests were built"
)]
async fn a_write_on_one_server_reaches_subscribers_of_another_on_the_same_postgres_database() {
    let one = crate::helpers::spawn_app(Backend::Postgres)
        .await
        .expect("PALIMPSEST_TEST_POSTGRES_URL names a PostgreSQL server");
    let other = one.second_server().await;
    let token = one.editor().await;
    let created = one.create_document(&token, "shared", "version 1\n").await;
    let id = created["document"]["id"].as_str().unwrap().to_owned();
    let mut head = created["revision"]["hash"].as_str().unwrap().to_owned();

    let mut on_other = WsClient::open(&other).await;
    on_other.init(json!({ "authorization": format!("Bearer {token}") })).await;
    on_other.subscribe("s", DOCUMENT_CHANGED, json!({ "ids": [id] })).await;
    let mut on_one = WsClient::open(&one.address).await;
    on_one.init(json!({})).await;
    on_one.subscribe("s", DOCUMENT_CHANGED, json!({ "ids": [id] })).await;

    // Written on the first server, heard on the second.
    first_event(&mut on_other, async |attempt| {
        let body = one.revise(&token, &id, &head, &format!("version {}\n", attempt + 2)).await;
        assert_no_errors(&body);
        head = body["data"]["reviseDocument"]["revision"]["hash"].as_str().unwrap().to_owned();
    })
    .await;
    while on_other.next_within(Duration::from_millis(300)).await.is_some() {}
    while on_one.next_within(Duration::from_millis(300)).await.is_some() {}

    // Written on the second server (through its own API), heard on both.
    let body = crate::helpers::query_at(
        &one.client,
        &other,
        Some(&token),
        crate::helpers::REVISE_DOCUMENT,
        json!({ "input": { "documentId": id, "expectedHead": head,
            "content": "written on the other server\n", "message": "edit" } }),
    )
    .await;
    assert_no_errors(&body);
    let hash = body["data"]["reviseDocument"]["revision"]["hash"].as_str().unwrap().to_owned();
    for client in [&mut on_other, &mut on_one] {
        let message = client.next().await;
        assert_eq!(
            message["payload"]["data"]["documentChanged"]["revision"]["hash"],
            hash.as_str()
        );
    }
}

/// The server's connection listening for revisions drops (PostgreSQL restarted, the backend
/// killed): every listener is told it may have missed events, once the connection listens
/// again, and a listener that began meanwhile hears every revision from then on or is told it
/// missed some — never silence for a revision committed in the gap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    palimpsest_no_postgres,
    ignore = "PALIMPSEST_TEST_POSTGRES_URL was not set when the tests were built"
)]
async fn a_dropped_listening_connection_tells_every_listener_including_those_who_came_meanwhile() {
    use palimpsest::store::Notice;
    use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};

    let app = crate::helpers::spawn_app(Backend::Postgres)
        .await
        .expect("PALIMPSEST_TEST_POSTGRES_URL names a PostgreSQL server");
    let token = app.editor().await;
    let mut before = app.store.listen_revisions().await.expect("listen");
    let killed = app
        .store
        .connection()
        .query_all_raw(Statement::from_string(
            DatabaseBackend::Postgres,
            "SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity \
             WHERE datname = current_database() AND query ILIKE 'LISTEN%'",
        ))
        .await
        .expect("terminate the listening backend");
    assert_eq!(killed.len(), 1, "one connection listens for revisions");

    let told = tokio::time::timeout(WAIT, before.next()).await.expect("told within the wait");
    assert!(matches!(told, Some(Notice::Missed)), "a listener is told when the connection drops");
    let mut meanwhile = app.store.listen_revisions().await.expect("listen");

    // A revision is heard by both (after being told of the gap, for one that began in it).
    let created = app.create_document(&token, "relistened", "after the gap\n").await;
    let hash = created["revision"]["hash"].as_str().unwrap().to_owned();
    for listener in [&mut before, &mut meanwhile] {
        loop {
            match tokio::time::timeout(WAIT, listener.next()).await.expect("an event") {
                Some(Notice::Event(event)) => {
                    assert_eq!(event.hash.hex(), hash);
                    break;
                }
                Some(Notice::Missed) => continue,
                None => panic!("the store is gone"),
            }
        }
    }
}

/// A subscriber that stops reading holds no more than its connection's share of memory, and
/// only until its outbox has stayed full for the send timeout: then it is dropped and what was
/// queued for it is given back (a real socket with a small receive window, subscribed to a
/// large text that keeps changing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_stops_reading_is_dropped_and_what_it_held_is_given_back() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const SHARE: usize = 256 * 1024;
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(app) = spawn_configured(backend, |config| {
            config.http.memory.per_connection = SHARE;
            config.http.socket_send_timeout = Duration::from_secs(1);
        })
        .await
        else {
            continue;
        };
        let token = app.editor().await;
        let text = |n: usize| format!("{n:06} {}\n", "lorem ipsum ".repeat(5_000));
        let created = app.create_document(&token, "large", &text(0)).await;
        let id = created["document"]["id"].as_str().unwrap().to_owned();
        let mut head = created["revision"]["hash"].as_str().unwrap().to_owned();

        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let port: u16 = app.address.rsplit(':').next().unwrap().parse().unwrap();
        let mut stream = socket.connect(([127, 0, 0, 1], port).into()).await.unwrap();
        stream
            .write_all(
                b"GET /graphql HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\n\
                  Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
                  Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n",
            )
            .await
            .unwrap();
        let subscribe = json!({ "id": "1", "type": "subscribe", "payload": {
            "query": "subscription($ids: [ID!]) { documentChanged(ids: $ids) { document { head { content } } } }",
            "variables": { "ids": [id] } } });
        for message in [json!({ "type": "connection_init" }), subscribe] {
            stream.write_all(&client_frame(&message.to_string())).await.unwrap();
        }
        // It never reads again. Each revision is an event of some 60 KiB for it.
        let mut most = 0;
        for n in 1..=120 {
            let body = app.revise(&token, &id, &head, &text(n)).await;
            assert_no_errors(&body);
            head = body["data"]["reviseDocument"]["revision"]["hash"].as_str().unwrap().to_owned();
            most = most.max(app.memory.held());
        }
        assert!(most > 0, "{backend:?}: events were queued for the subscriber");
        assert!(most <= SHARE, "{backend:?}: {most} bytes held for one connection");
        // Given back once the outbox stayed full for the send timeout.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while app.memory.held() > 0 {
            assert!(tokio::time::Instant::now() < deadline, "{backend:?}: still held");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // The server goes on, and the connection is gone: what the kernel still had for it
        // arrives, then its end (within the server's write-stall timeout).
        assert_no_errors(&app.query("{ documents { totalCount } }", json!({})).await);
        let mut sink = vec![0u8; 1 << 16];
        let ended = tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                match stream.read(&mut sink).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        })
        .await;
        assert!(ended.is_ok(), "{backend:?}: the server dropped the connection");
    }
}

/// A subscription is priced as the query its events are (its selection, plus what listening
/// costs): a selection a query could not afford is refused when it subscribes, as the query
/// would be, and `queryCost` says so; two root fields are refused as graphql-js refuses them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_is_priced_as_its_events_and_selects_one_root_field() {
    let app = crate::helpers::spawn_app(Backend::Sqlite).await.unwrap();
    let token = app.editor().await;
    app.create_document(&token, "priced", "text\n").await;
    let blames: String = (0..20)
        .map(|n| format!("a{n}: document {{ revisions(first: 100) {{ nodes {{ blame {{ lines {{ number text }} }} }} }} }} "))
        .collect();
    let expensive =
        format!("subscription {{ documentChanged(slugs: [\"priced\"]) {{ {blames} }} }}");
    let priced = app
        .query(
            "query($q: String!) { queryCost(query: $q) { cost withinLimit } }",
            json!({ "q": expensive }),
        )
        .await;
    let cost = priced["data"]["queryCost"]["cost"].as_u64().unwrap();
    assert!(cost > 2_000_000, "{priced:#}");
    assert_eq!(priced["data"]["queryCost"]["withinLimit"], false);

    let mut client = WsClient::open(&app.address).await;
    client.init(json!({})).await;
    client.subscribe("expensive", &expensive, json!({})).await;
    let refused = client.next().await;
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX",
        "{refused:#}"
    );
    assert_eq!(client.next().await, json!({ "type": "complete", "id": "expensive" }));

    let two = "subscription Both { documentChanged(slugs: [\"priced\"]) { previousHash } \
               citationDrift(documentIds: [\"x\"]) { before { status } } }";
    client.subscribe("two", two, json!({})).await;
    let refused = client.next().await;
    let error = &refused["payload"]["errors"][0];
    assert_eq!(error["message"], "Subscription \"Both\" must select only one top level field.");
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(client.next().await["type"], "complete");
}

/// Each event is paid for from the client's rate limit as a query of its own would be: a
/// subscriber whose allowance is spent is told `RATE_LIMITED` (with when to come back) and its
/// subscription ends, while the connection goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_event_is_charged_to_the_rate_limit_and_a_subscriber_that_cannot_pay_is_stopped() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(app) = spawn_configured(backend, |config| {
            config.http.rate_limits.anonymous_points = 400;
            config.http.rate_limits.window = Duration::from_secs(24 * 3600);
        })
        .await
        else {
            continue;
        };
        let token = app.editor().await;
        let created = app.create_document(&token, "paid", "version 0\n").await;
        let id = created["document"]["id"].as_str().unwrap().to_owned();
        let mut head = created["revision"]["hash"].as_str().unwrap().to_owned();
        let mut client = WsClient::open(&app.address).await;
        client.init(json!({})).await;
        // 50 for listening and 2 for the selection: 52 points when it starts, 52 per event.
        client
            .subscribe(
                "paid",
                "subscription($ids: [ID!]) { documentChanged(ids: $ids) { revision { hash } } }",
                json!({ "ids": [id] }),
            )
            .await;
        let mut events = 0;
        let stopped = loop {
            assert!(events < 10, "{backend:?}: the subscriber was never stopped");
            let body = app.revise(&token, &id, &head, &format!("version {}\n", events + 1)).await;
            assert_no_errors(&body);
            head = body["data"]["reviseDocument"]["revision"]["hash"].as_str().unwrap().to_owned();
            let Some(message) = client.next_within(Duration::from_secs(2)).await else { continue };
            if message["payload"]["errors"].is_array() {
                break message;
            }
            assert_eq!(
                message["payload"]["data"]["documentChanged"]["revision"]["hash"],
                head.as_str()
            );
            events += 1;
        };
        let error = &stopped["payload"]["errors"][0];
        assert_eq!(error["extensions"]["code"], "RATE_LIMITED", "{backend:?}: {stopped:#}");
        assert!(error["extensions"]["retryAfter"].as_u64().unwrap() > 0);
        // 400 points: the subscribe and its admission, then six events of 52 points.
        assert_eq!(events, 6, "{backend:?}: events paid for before the allowance was spent");
        assert_eq!(client.next().await, json!({ "type": "complete", "id": "paid" }));
        client.send(json!({ "type": "ping" })).await;
        assert_eq!(client.next().await["type"], "pong");
    }
}
