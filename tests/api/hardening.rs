//! What the server does when the world is hostile: NUL bytes, forged host headers, tokens that
//! must stop working, and malformed requests on every route (a broken database is in
//! `outages`). Each answer has a status, a code or a body that says what happened, and
//! nothing is written that should not be.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, CREATE_DOCUMENT, TestApp, error_code, spawn_configured};

crate::on_both_backends!(
    nul_bytes_are_refused_naming_the_field_and_write_nothing,
    permanent_links_never_follow_client_headers,
    forwarded_headers_are_followed_only_when_trusted,
    expired_and_revoked_tokens_authenticate_nobody,
    every_response_has_a_request_id_and_a_body_that_says_what_happened,
    html_pages_and_graphiql_forbid_framing_and_foreign_content,
);

const ADD_CITATION: &str = "mutation($input: AddCitationInput!) {
  addCitation(input: $input) { citation { id } } }";

fn message(body: &Value) -> &str {
    body["errors"][0]["message"].as_str().unwrap()
}

async fn nul_bytes_are_refused_naming_the_field_and_write_nothing(app: TestApp) {
    let token = app.editor().await;
    let created = app.create_document(&token, "clean", "clean text\n").await;
    let id = created["document"]["id"].as_str().unwrap();
    let head = created["revision"]["hash"].as_str().unwrap();
    let before = app.corpus_size().await;
    let create = |field: &str| {
        let mut input = json!({ "slug": "nul", "title": "T", "kind": "ARTICLE", "content": "c" });
        input[field] = json!("before\u{0}after");
        json!({ "input": input })
    };
    let cases = [
        (CREATE_DOCUMENT, create("content"), "content"),
        (CREATE_DOCUMENT, create("message"), "message"),
        (CREATE_DOCUMENT, create("title"), "title"),
        (
            crate::helpers::REVISE_DOCUMENT,
            json!({ "input": { "documentId": id, "expectedHead": head, "content": "x\u{0}" } }),
            "content",
        ),
        (
            ADD_CITATION,
            json!({ "input": { "documentId": id, "relation": "QUOTES",
                "target": { "documentId": id }, "passage": { "exact": "clean\u{0}" } } }),
            "passage",
        ),
        (
            ADD_CITATION,
            json!({ "input": { "documentId": id, "relation": "QUOTES",
                "target": { "documentId": id }, "passage": { "exact": "clean" },
                "targetPassage": { "exact": "text", "prefix": "\u{0}" } } }),
            "targetPassage",
        ),
    ];
    for (query, variables, field) in cases {
        let body = app.query_as(Some(&token), query, variables.clone()).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{variables}: {body:#}");
        assert!(message(&body).contains(field), "{field}: {body:#}");
    }
    assert_eq!(app.corpus_size().await, before);

    // Anonymous: a cursor holding NUL is just not a cursor.
    use base64::Engine;
    let cursor = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("s:a\u{0}b");
    let body = app
        .query(
            "query($after: String) { documents(after: $after, orderBy: {field: SLUG, direction: ASC}) { totalCount } }",
            json!({ "after": cursor }),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body:#}");
    assert!(message(&body).contains("after"));
    let body = app.query("{ document(slug: \"a\\u0000b\") { id } }", json!({})).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
}

async fn links_in(app: &TestApp, headers: &[(&str, &str)]) -> Vec<String> {
    let token = app.editor().await;
    app.create_document(&token, "linked", "text\n").await;
    let no_redirects =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut found = Vec::new();
    for path in [
        "/documents/linked",
        "/documents/linked/cite?format=bibtex",
        "/documents/linked/timemap",
        "/documents/linked/provenance",
    ] {
        let mut request = no_redirects.get(format!("{}{path}", app.address));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        found.push(response.text().await.unwrap());
    }
    let mut gate = no_redirects
        .get(format!("{}/documents/linked/text", app.address))
        .header("Accept-Datetime", "Fri, 01 Jan 2100 00:00:00 GMT");
    for (name, value) in headers {
        gate = gate.header(*name, *value);
    }
    let response = gate.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    found.push(response.headers()["location"].to_str().unwrap().to_owned());
    let mut graphql = app
        .post_graphql()
        .json(&json!({ "query": "{ document(slug: \"linked\") { cite(format: RIS) { text } } }" }));
    for (name, value) in headers {
        graphql = graphql.header(*name, *value);
    }
    found.push(graphql.send().await.unwrap().text().await.unwrap());
    found
}

const FORGED: [(&str, &str); 4] = [
    ("Host", "evil.example"),
    ("X-Forwarded-Host", "evil.example"),
    ("X-Forwarded-Proto", "gopher"),
    ("Forwarded", "host=evil.example;proto=https"),
];

async fn permanent_links_never_follow_client_headers(app: TestApp) {
    for text in links_in(&app, &FORGED).await {
        assert!(!text.contains("evil.example"), "{text}");
        assert!(text.contains(&format!("{}/documents/linked", app.address)), "{text}");
    }
}

async fn forwarded_headers_are_followed_only_when_trusted(app: TestApp) {
    let app =
        spawn_configured(app.backend, |config| config.http.trust_forwarded = true).await.unwrap();
    let proxied = [("X-Forwarded-Host", "corpus.example"), ("X-Forwarded-Proto", "https")];
    for text in links_in(&app, &proxied).await {
        assert!(text.contains("https://corpus.example/documents/linked"), "{text}");
    }
    let page = app.client.get(format!("{}/documents/linked", app.address)).send().await.unwrap();
    let vary =
        page.headers().get_all("vary").iter().map(|v| v.to_str().unwrap()).collect::<Vec<_>>();
    assert!(vary.iter().any(|v| v.contains("X-Forwarded-Host")), "{vary:?}");
}

async fn expired_and_revoked_tokens_authenticate_nobody(app: TestApp) {
    use palimpsest::store::{AgentKind, Role, Timestamp};
    let agent = app
        .store
        .create_agent(
            &palimpsest::store::AgentName::parse("Short Lived").unwrap(),
            AgentKind::Person,
            None,
        )
        .await
        .unwrap();
    let soon = Timestamp::from_micros(Timestamp::now().micros() + 1_500_000);
    let expiring = app.store.create_token(agent.clone(), Role::Editor, Some(soon)).await.unwrap();
    let revoked = app.store.create_token(agent.clone(), Role::Editor, None).await.unwrap();
    let viewer = "{ viewer { name } }";
    for secret in [&expiring.secret, &revoked.secret] {
        let body = app.query_as(Some(secret), viewer, json!({})).await;
        assert_eq!(body["data"]["viewer"]["name"], "Short Lived");
    }
    app.store.revoke_token(revoked.token.id).await.unwrap();
    let body = app.query_as(Some(&revoked.secret), viewer, json!({})).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let body = app.query_as(Some(&expiring.secret), viewer, json!({})).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
    assert!(message(&body).contains("expired"));
    // An expiry in the past is refused outright.
    let past = Timestamp::from_micros(Timestamp::now().micros() - 1);
    assert!(app.store.create_token(agent, Role::Editor, Some(past)).await.is_err());
}

async fn every_response_has_a_request_id_and_a_body_that_says_what_happened(app: TestApp) {
    use sea_orm::ConnectionTrait;
    let token = app.editor().await;
    app.create_document(&token, "broken", "text\n").await;
    // A row the store cannot read: the page fails with a 500 that names its request id.
    app.store
        .connection()
        .execute_unprepared("UPDATE documents SET kind = 'novel' WHERE slug = 'broken'")
        .await
        .unwrap();
    let response =
        app.client.get(format!("{}/documents/broken", app.address)).send().await.unwrap();
    assert_eq!(response.status(), 500);
    let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    let text = response.text().await.unwrap();
    assert!(text.contains(&id) && !text.contains("novel"), "{text}");

    for (path, status) in [
        ("/documents/%FF%FE", StatusCode::BAD_REQUEST),
        ("/documents/a/revisions/%C3%28", StatusCode::BAD_REQUEST),
        ("/no/such/route", StatusCode::NOT_FOUND),
        ("/cite?format=ris&documents=", StatusCode::BAD_REQUEST),
    ] {
        let response = app.client.get(format!("{}{path}", app.address)).send().await.unwrap();
        assert_eq!(response.status(), status, "{path}");
        assert!(response.headers().contains_key("x-request-id"), "{path}");
        assert_eq!(response.headers()["x-content-type-options"], "nosniff", "{path}");
        assert!(!response.text().await.unwrap().trim().is_empty(), "{path} has a body");
    }

    // A huge input is never echoed back whole.
    let huge = "x".repeat(200_000);
    for query in [
        format!("{{ document(slug: \"{huge}\") {{ id }} }}"),
        format!("{{ revision(hash: \"{huge}\") {{ id }} }}"),
        format!("{{ node(id: \"{huge}\") {{ id }} }}"),
    ] {
        let body = app.query(&query, json!({})).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT");
        assert!(message(&body).len() < 400, "{}", &message(&body)[..400]);
    }
    let response = app
        .client
        .get(format!("{}/documents/{}/cite?format=bibtex", app.address, "a".repeat(2000)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().len() < 400);
    let response = app
        .client
        .get(format!("{}/cite?documents=a&format={}", app.address, "b".repeat(20_000)))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_client_error());
    assert!(response.text().await.unwrap().len() < 400);
}

async fn html_pages_and_graphiql_forbid_framing_and_foreign_content(app: TestApp) {
    let token = app.editor().await;
    app.create_document(&token, "framed", "text\n").await;
    for (path, accept) in
        [("/documents/framed", "text/html"), ("/graphql", "text/html,application/xhtml+xml")]
    {
        let response = app
            .client
            .get(format!("{}{path}", app.address))
            .header("Accept", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let headers = response.headers();
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(csp.contains("default-src 'none'"), "{path}: {csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_http_is_answered_with_a_body() {
    use std::io::{Read, Write};
    let app = crate::helpers::spawn_app(Backend::Sqlite).await.unwrap();
    let host = app.address.trim_start_matches("http://").to_owned();
    let answers = tokio::task::spawn_blocking(move || {
        [
            &b"GET /gra phql HTTP/1.1\r\nHost: x\r\n\r\n"[..],
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
            b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        ]
        .iter()
        .map(|request| {
            let mut stream = std::net::TcpStream::connect(&host).unwrap();
            stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            stream.write_all(request).unwrap();
            let mut answer = String::new();
            let _ = stream.read_to_string(&mut answer);
            answer
        })
        .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    for answer in answers {
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
        assert!(answer.contains("content-type: text/plain"), "{answer}");
        assert!(answer.contains("\r\n\r\n400 the request is not valid HTTP/1.1"), "{answer}");
    }
}

/// The transport's keep-alive counts from when an answer is sent, however long the worker was
/// busy before it: a worker held by a synchronous step (or starved of CPU) used to count from
/// the instant its clock task last ran, so the deadline had passed as the answer went out and
/// the connection was closed under a client sending its next request (reqwest's
/// `IncompleteMessage`; seen in CI's hostile suite). The patch is in
/// vendor/actix-http/PATCHED.md; a bare server here, since only a handler may block its worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_worker_keeps_the_connection_it_answered_on_open() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let host = listener.local_addr().unwrap().to_string();
    let server = actix_web::HttpServer::new(|| {
        actix_web::App::new().route(
            "/",
            actix_web::web::get().to(|| async {
                std::thread::sleep(Duration::from_millis(1500));
                "done"
            }),
        )
    })
    .keep_alive(Duration::from_secs(1))
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    let answers = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(&host).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut answers = Vec::new();
        for _ in 0..2 {
            stream.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
            let mut answer = Vec::new();
            let mut buf = [0; 1024];
            // The answer ends with its four-byte body; a closed connection ends the read early.
            while !answer.ends_with(b"done") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => answer.extend_from_slice(&buf[..n]),
                }
            }
            answers.push(String::from_utf8_lossy(&answer).into_owned());
            // Well inside the one-second keep-alive.
            std::thread::sleep(Duration::from_millis(200));
        }
        answers
    })
    .await
    .unwrap();
    handle.stop(false).await;
    for answer in &answers {
        assert!(answer.starts_with("HTTP/1.1 200") && answer.ends_with("done"), "{answers:?}");
    }
}
