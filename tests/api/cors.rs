//! CORS, as a browser asks: preflights for `/graphql` and the read routes, what a listed
//! origin, an unlisted one and `*` get, and WebSockets from pages held to the same origins.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{Backend, TestApp, spawn_configured};
use crate::subscriptions::WsClient;
use palimpsest::http::CorsOrigins;

const PAGE: &str = "http://localhost:5173";

async fn app_with(origins: &[&str]) -> TestApp {
    let origins =
        CorsOrigins::parse(&origins.iter().map(|o| o.to_string()).collect::<Vec<_>>()).unwrap();
    spawn_configured(Backend::Sqlite, move |config| config.http.cors = origins).await.unwrap()
}

async fn preflight(
    app: &TestApp,
    path: &str,
    origin: &str,
    method: &str,
    headers: &str,
) -> reqwest::Response {
    app.client
        .request(Method::OPTIONS, format!("{}{path}", app.address))
        .header("origin", origin)
        .header("access-control-request-method", method)
        .header("access-control-request-headers", headers)
        .send()
        .await
        .unwrap()
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).map(|v| v.to_str().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_default_no_other_origin_may_read_and_same_origin_pages_work() {
    let app = app_with(&[]).await;
    let asked = preflight(&app, "/graphql", PAGE, "POST", "content-type").await;
    assert_eq!(header(&asked, "access-control-allow-origin"), None);
    // Requests still run (curl, same-origin pages): the browser is what refuses the page.
    let answered = app
        .post_graphql()
        .header("origin", PAGE)
        .json(&json!({ "query": "{ documents { totalCount } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(answered.status(), 200);
    assert_eq!(header(&answered, "access-control-allow-origin"), None);
    // No answer differs by origin, so caches are not told it might.
    assert!(!header(&answered, "vary").unwrap_or("").contains("Origin"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listed_origin_may_read_and_write_with_a_bearer_token() {
    let app = app_with(&[PAGE, "https://news.example.org"]).await;
    for path in ["/graphql", "/documents/some-slug/text", "/documents/some-slug/cite", "/cite"] {
        let asked = preflight(&app, path, PAGE, "POST", "content-type, authorization").await;
        assert!(asked.status().is_success(), "{path}: {}", asked.status());
        assert_eq!(header(&asked, "access-control-allow-origin"), Some(PAGE), "{path}");
        let methods = header(&asked, "access-control-allow-methods").unwrap();
        assert!(methods.contains("POST") && methods.contains("GET"), "{methods}");
        let headers = header(&asked, "access-control-allow-headers").unwrap().to_lowercase();
        assert!(headers.contains("authorization") && headers.contains("content-type"), "{headers}");
        assert_eq!(header(&asked, "access-control-max-age"), Some("7200"));
        assert_eq!(header(&asked, "access-control-allow-credentials"), None, "no cookies");
        assert!(header(&asked, "vary").unwrap().to_lowercase().contains("origin"));
    }
    // Apollo Client's headers are allowed too.
    let asked =
        preflight(&app, "/graphql", PAGE, "POST", "apollographql-client-name, content-type").await;
    assert_eq!(header(&asked, "access-control-allow-origin"), Some(PAGE));
    // So is the consistency token a read presents with read replicas.
    let asked =
        preflight(&app, "/graphql", PAGE, "POST", "palimpsest-consistency, content-type").await;
    assert_eq!(header(&asked, "access-control-allow-origin"), Some(PAGE));

    let token = app.editor().await;
    let answered = app
        .post_graphql()
        .header("origin", PAGE)
        .bearer_auth(&token)
        .json(&json!({ "query": "{ viewer { name } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&answered, "access-control-allow-origin"), Some(PAGE));
    let exposed = header(&answered, "access-control-expose-headers").unwrap().to_lowercase();
    assert!(exposed.contains("x-request-id") && exposed.contains("x-ratelimit-remaining"));
    assert!(
        exposed.contains("palimpsest-consistency") && exposed.contains("palimpsest-staleness-ms")
    );
    let body: serde_json::Value = answered.json().await.unwrap();
    assert_eq!(body["data"]["viewer"]["name"], "Test Editor");

    // An origin not listed gets nothing that would let its page read the answer.
    let other = preflight(&app, "/graphql", "https://evil.example", "POST", "content-type").await;
    assert_eq!(header(&other, "access-control-allow-origin"), None);
    let answered = app
        .post_graphql()
        .header("origin", "https://evil.example")
        .json(&json!({ "query": "{ documents { totalCount } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&answered, "access-control-allow-origin"), None);

    // WebSockets: the listed page may open one and present its token; another may not open one.
    let mut socket = WsClient::open_from(&app.address, Some(PAGE)).await.unwrap();
    socket.init(json!({ "authorization": format!("Bearer {token}") })).await;
    match WsClient::open_from(&app.address, Some("https://evil.example")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403);
        }
        other => panic!("an unlisted origin's socket is refused, got {:?}", other.map(|_| ())),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_origin_is_for_anonymous_reads_only() {
    let app = app_with(&["*"]).await;
    let asked = preflight(&app, "/graphql", PAGE, "POST", "content-type").await;
    assert_eq!(header(&asked, "access-control-allow-origin"), Some("*"));
    let with_token = preflight(&app, "/graphql", PAGE, "POST", "content-type, authorization").await;
    assert_eq!(
        header(&with_token, "access-control-allow-origin"),
        None,
        "a page may not send a token from any origin"
    );
    let answered = app
        .client
        .get(format!("{}/graphql?query=%7Bdocuments%7BtotalCount%7D%7D", app.address))
        .header("origin", "https://anywhere.example")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&answered, "access-control-allow-origin"), Some("*"));

    // A socket from any page reads anonymously; presenting a token is refused (4403).
    let mut socket = WsClient::open_from(&app.address, Some(PAGE)).await.unwrap();
    socket.init(json!({})).await;
    let token = app.editor().await;
    let mut socket = WsClient::open_from(&app.address, Some(PAGE)).await.unwrap();
    socket
        .send(json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } }))
        .await;
    let closed = socket.closed().await;
    assert_eq!(closed.code, 4403, "{closed:?}");
    assert!(closed.reason.contains("anonymously"), "{closed:?}");
}

#[test]
fn misconfigured_origins_are_refused_at_start_up() {
    for bad in [vec!["*", PAGE], vec!["localhost:5173"], vec!["http://localhost:5173/"]] {
        let list: Vec<String> = bad.iter().map(|s| s.to_string()).collect();
        assert!(CorsOrigins::parse(&list).is_err(), "{bad:?}");
    }
}
