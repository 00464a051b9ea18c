//! Limits that keep one anonymous request from killing, starving or exhausting the server:
//! each hostile shape is refused before it is parsed, validated or run, with
//! `QUERY_TOO_COMPLEX` naming the limit, its value and the request's; costs that depend on
//! stored sizes are drawn before they are paid; clients are held to their rate limit. The
//! limits are the schema's (every transport runs a request through it); a query in a GET's URL,
//! rate-limit headers and statuses, and plain routes are HTTP's.

use expect_test::expect;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    Backend, TestApp, assert_no_errors, error_code, snapshot, spawn_configured, spawn_schema,
};

crate::on_both_backends!(
    schema:
    deeply_nested_values_are_refused_before_parsing,
    fragment_fan_out_is_measured_and_refused_before_validation,
    fragment_cycles_and_long_fragment_chains_are_refused,
    aliases_directives_and_tokens_are_limited,
    long_names_and_long_strings_in_the_text_are_refused_but_variables_carry_long_text,
    content_is_priced_by_its_stored_size,
    blame_and_diff_are_priced_by_what_they_read,
    a_blame_past_its_time_limit_is_stopped_and_says_so,
    responses_carry_at_most_the_error_limit;
    http:
    deep_nesting_and_long_strings_are_refused_in_a_get_url_too,
    clients_are_held_to_their_rate_limit_in_cost_points,
    plain_routes_are_rate_limited_by_address,
);

/// The limit named by a refusal, after checking its code.
fn refused_limit(body: &Value) -> &str {
    assert_eq!(error_code(body), "QUERY_TOO_COMPLEX", "{body:#}");
    let extensions = &body["errors"][0]["extensions"];
    assert!(extensions["max"].as_u64().is_some(), "{body:#}");
    // The request's own value, when counting went that far.
    if let Some(actual) = extensions["actual"].as_u64() {
        assert!(Some(actual) > extensions["max"].as_u64(), "{body:#}");
    }
    extensions["limit"].as_str().unwrap()
}

async fn still_serving(app: &TestApp) {
    let body = app.query("{ documents { totalCount } }", json!({})).await;
    assert_no_errors(&body);
}

/// Lists, input objects and selections nested thousands deep.
fn deeply_nested() -> [String; 3] {
    let lists = format!(
        "{{ documents(filter: {{kind: {}ARTICLE{}}}) {{ totalCount }} }}",
        "[".repeat(1600),
        "]".repeat(1600)
    );
    let objects = format!(
        "{{ documents(orderBy: {}CREATED_AT{}) {{ totalCount }} }}",
        "{field: ".repeat(2000),
        "}".repeat(2000)
    );
    let selections = format!("{{ {} }}", "document(slug: \"a\") { head { ".repeat(400));
    [lists, objects, selections]
}

async fn deeply_nested_values_are_refused_before_parsing(app: TestApp) {
    for query in deeply_nested() {
        let body = app.query(&query, json!({})).await;
        assert_eq!(refused_limit(&body), "nesting");
    }
    let body = app.query(&deeply_nested()[0], json!({})).await;
    expect![[r#"
        [
          {
            "extensions": {
              "actual": 1603,
              "code": "QUERY_TOO_COMPLEX",
              "limit": "nesting",
              "max": 64
            },
            "message": "the request has 1603 levels of nesting; the limit is 64"
          }
        ]"#]]
    .assert_eq(&snapshot(&body["errors"], &[]));
    // Variables nest too, and are measured before anything runs.
    let mut deep = json!("ARTICLE");
    for _ in 0..20 {
        deep = json!([deep]);
    }
    let body = app
        .query(
            "query($k: [DocumentKind!]) { documents(filter: {kind: $k}) { totalCount } }",
            json!({ "k": deep }),
        )
        .await;
    assert_eq!(refused_limit(&body), "valueDepth");
    // A value just inside the limits is only a type error.
    let shallow = format!(
        "{{ documents(filter: {{kind: {}ARTICLE{}}}) {{ totalCount }} }}",
        "[".repeat(10),
        "]".repeat(10)
    );
    assert_eq!(error_code(&app.query(&shallow, json!({})).await), "BAD_USER_INPUT");
    still_serving(&app).await;
}

/// `query { ...F0 } fragment F0 on Query { ...F1 ...F1 } ...`: 2^levels `__typename`s.
fn fan_out(levels: usize) -> String {
    let mut query = String::from("query { ...F0 }");
    for level in 0..levels {
        query.push_str(&format!(
            " fragment F{level} on Query {{ ...F{next} ...F{next} }}",
            next = level + 1
        ));
    }
    query.push_str(&format!(" fragment F{levels} on Query {{ __typename }}"));
    query
}

async fn fragment_fan_out_is_measured_and_refused_before_validation(app: TestApp) {
    let body = app.query(&fan_out(23), json!({})).await;
    assert_eq!(refused_limit(&body), "fields");
    let actual = body["errors"][0]["extensions"]["actual"].as_u64().unwrap();
    assert!(actual >= 1 << 23, "every expanded field is counted: {actual}");
    // A small fan-out is an ordinary query.
    let body = app.query(&fan_out(3), json!({})).await;
    assert_no_errors(&body);
    assert_eq!(body["data"]["__typename"], "Query");
    still_serving(&app).await;
}

async fn fragment_cycles_and_long_fragment_chains_are_refused(app: TestApp) {
    let cycle = "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }";
    let body = app.query(cycle, json!({})).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("spreads itself"));
    let mut chain = String::from("query { ...F0 }");
    for level in 0..500 {
        chain.push_str(&format!(" fragment F{level} on Query {{ ...F{} }}", level + 1));
    }
    chain.push_str(" fragment F500 on Query { __typename }");
    let body = app.query(&chain, json!({})).await;
    assert_eq!(refused_limit(&body), "nesting");
    still_serving(&app).await;
}

async fn aliases_directives_and_tokens_are_limited(app: TestApp) {
    let aliases: String = (0..101).map(|i| format!("a{i}: __typename ")).collect();
    let body = app.query(&format!("{{ {aliases} }}"), json!({})).await;
    assert_eq!(refused_limit(&body), "aliases");

    let directives = "@include(if: true) ".repeat(51);
    let body = app.query(&format!("{{ __typename {directives} }}"), json!({})).await;
    assert_eq!(refused_limit(&body), "directives");

    // 100,000 directives: refused by its size alone, with one error, not 100,000. (Over HTTP
    // a test server refuses a body this size before reading it: `bad_input`.)
    let flood = "@skip(if: false) ".repeat(100_000);
    let body = app.query(&format!("{{ __typename {flood} }}"), json!({})).await;
    assert_eq!(refused_limit(&body), "tokens");
    assert_eq!(body["errors"].as_array().unwrap().len(), 1);
    let tokens = "__typename ".repeat(10_001);
    let body = app.query(&format!("{{ {tokens} }}"), json!({})).await;
    assert_eq!(refused_limit(&body), "tokens");
    still_serving(&app).await;
}

async fn long_names_and_long_strings_in_the_text_are_refused_but_variables_carry_long_text(
    app: TestApp,
) {
    let name = "n".repeat(1025);
    let body = app.query(&format!("{{ {name} }}"), json!({})).await;
    assert_eq!(refused_limit(&body), "tokenLength");

    // The parser reads a string literal byte by byte, far more slowly than JSON reads one.
    // (A test server takes bodies of 256 KiB, the default string limit: this one takes less.)
    let app = app.respawn(|config| config.http.limits.max_string_bytes = 4096).await;
    let text = "x".repeat(4096);
    let body = app.query(&format!("{{ document(slug: \"{text}\") {{ id }} }}"), json!({})).await;
    assert_eq!(refused_limit(&body), "stringBytes");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("variables"), "{body:#}");
    expect![[r#"
        [
          {
            "extensions": {
              "actual": 4098,
              "code": "QUERY_TOO_COMPLEX",
              "limit": "stringBytes",
              "max": 4096
            },
            "message": "the request has 4098 bytes of string values in its text (pass long text in variables); the limit is 4096"
          }
        ]"#]].assert_eq(&snapshot(&body["errors"], &[]));

    // The same length in a variable is ordinary input.
    let token = app.editor().await;
    let content = "A long paragraph of text.\n".repeat(2_000);
    let created = app.create_document(&token, "long-text", &content).await;
    assert!(created["revision"]["hash"].is_string(), "{created:#}");
    still_serving(&app).await;
}

async fn content_is_priced_by_its_stored_size(app: TestApp) {
    let app = app.respawn(|config| config.http.limits.max_cost = 2_000).await;
    let token = app.editor().await;
    // 60 KiB: 60 points every time it is copied into a response.
    let big = "word ".repeat(12 * 1024);
    app.create_document(&token, "big", &big).await;
    let one =
        app.query("{ document(slug: \"big\") { head { contentBytes content } } }", json!({})).await;
    assert_no_errors(&one);
    assert_eq!(one["data"]["document"]["head"]["contentBytes"], big.len());

    // 100 aliases would copy 6 MB: a budget of 2,000 points runs out after about 2 MB.
    let aliases: String = (0..100).map(|i| format!("c{i}: content ")).collect();
    let body = app
        .query(&format!("{{ document(slug: \"big\") {{ head {{ {aliases} }} }} }}"), json!({}))
        .await;
    let bytes = serde_json::to_string(&body).unwrap().len();
    assert!(bytes < 2_100_000, "the response is bounded: {bytes} bytes");
    // About 70 aliases are refused: 49 errors say so, the 50th how many more there were.
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 50, "{:#}", body["errors"]);
    for error in &errors[..49] {
        assert_eq!(error["extensions"]["code"], "QUERY_TOO_COMPLEX", "{error:#}");
        assert_eq!(error["extensions"]["limit"], "cost");
    }
    assert_eq!(errors[49]["extensions"]["limit"], "errors");
    // Every alias is in the answer (spec 6.4.4): the refused ones as null, beside their errors.
    let head = body["data"]["document"]["head"].as_object().unwrap();
    assert_eq!(head.len(), 100);
    let copies = head.values().filter(|copy| !copy.is_null()).count();
    assert!((20..50).contains(&copies), "{copies} copies were served");
    still_serving(&app).await;
}

async fn blame_and_diff_are_priced_by_what_they_read(app: TestApp) {
    let token = app.editor().await;
    let (_, hashes) = app.document_with_history(&token, "priced", 2).await;
    // Static cost: 21 blames are refused before any runs.
    let blames: String =
        (0..21).map(|i| format!("b{i}: blame {{ lines {{ number }} }} ")).collect();
    let query = format!("{{ document(slug: \"priced\") {{ head {{ {blames} }} }} }}");
    let body = app.query(&query, json!({})).await;
    assert_eq!(refused_limit(&body), "cost");
    let diffs: String = (0..41).map(|i| format!("d{i}: diff {{ unified }} ")).collect();
    let query = format!("{{ document(slug: \"priced\") {{ head {{ {diffs} }} }} }}");
    assert_eq!(refused_limit(&app.query(&query, json!({})).await), "cost");
    // One of each is fine.
    let body = app
        .query(
            "query($from: String!, $to: String!) { diff(from: $from, to: $to) { unified }
               document(slug: \"priced\") { head { blame { lines { number } } } } }",
            json!({ "from": hashes[0], "to": hashes[1] }),
        )
        .await;
    assert_no_errors(&body);
}

async fn a_blame_past_its_time_limit_is_stopped_and_says_so(app: TestApp) {
    // With no time at all, a blame stops after its first diff, whatever the machine.
    let app = app.respawn(|config| config.store.blame_time = std::time::Duration::ZERO).await;
    let token = app.editor().await;
    app.document_with_history(&token, "timed", 3).await;
    let body = app
        .query("{ document(slug: \"timed\") { head { blame { lines { number } } } } }", json!({}))
        .await;
    assert_eq!(error_code(&body), "QUERY_TOO_COMPLEX", "{body:#}");
    assert_eq!(body["errors"][0]["extensions"]["limit"], "timeMs");
    assert!(body["errors"][0]["message"].as_str().unwrap().starts_with("blame ran past"));
    // How long it ran is the machine's.
    let mut body = body;
    assert!(body["errors"][0]["extensions"]["actual"].is_u64(), "{body:#}");
    body["errors"][0]["extensions"]["actual"] = json!("<ms>");
    expect![[r#"
        {
          "data": {
            "document": null
          },
          "errors": [
            {
              "extensions": {
                "actual": "<ms>",
                "code": "QUERY_TOO_COMPLEX",
                "limit": "timeMs",
                "max": 0
              },
              "locations": [
                {
                  "column": 36,
                  "line": 1
                }
              ],
              "message": "blame ran past its time limit of 0 ms",
              "path": [
                "document",
                "head",
                "blame"
              ]
            }
          ],
          "extensions": {
            "cost": {
              "actual": 1006,
              "limit": 20000,
              "requested": 1002
            }
          }
        }"#]]
    .assert_eq(&snapshot(&body, &[]));
}

async fn responses_carry_at_most_the_error_limit(app: TestApp) {
    let unknown: String = (0..80).map(|i| format!("nope{i} ")).collect();
    let body = app.query(&format!("{{ {unknown} }}"), json!({})).await;
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 50);
    // The last says how many more there were.
    expect![[r#"
        {
          "extensions": {
            "code": "QUERY_TOO_COMPLEX",
            "limit": "errors",
            "max": 50,
            "omitted": 31
          },
          "message": "31 more errors are not shown"
        }"#]]
    .assert_eq(&snapshot(&errors[49], &[]));
}

/// A GET carries its query in the URL, which the server reads before the schema sees it: the
/// nesting and string limits hold there too.
async fn deep_nesting_and_long_strings_are_refused_in_a_get_url_too(app: TestApp) {
    for query in deeply_nested() {
        let response = app
            .client
            .get(format!("{}/graphql", app.address))
            .query(&[("query", query.as_str())])
            .send()
            .await
            .unwrap();
        let body: Value = response.json().await.unwrap();
        assert_eq!(refused_limit(&body), "nesting");
    }
    let app = app.respawn(|config| config.http.limits.max_string_bytes = 4096).await;
    let text = "x".repeat(4096);
    let over_get = app
        .client
        .get(format!("{}/graphql", app.address))
        .query(&[("query", format!("{{ document(slug: \"{text}\") {{ id }} }}"))])
        .header("accept", "application/graphql-response+json")
        .send()
        .await
        .unwrap();
    let body: Value = over_get.json().await.unwrap();
    if error_code(&body) != "PAYLOAD_TOO_LARGE" {
        assert_eq!(refused_limit(&body), "stringBytes");
    }
    still_serving(&app).await;
}

async fn rate_limited_app(backend: Backend) -> Option<TestApp> {
    spawn_configured(backend, |config| {
        config.http.limits.max_cost = 1_000;
        config.http.rate_limits.anonymous_points = 1_000;
        config.http.rate_limits.token_points = 5_000;
    })
    .await
}

/// 1 + 100 × (1 + 3) points for the documents, 6 for the rate limit, and 2 to be admitted
/// (a point, and a point per KiB of the request).
const COSTS_407: &str = "{ documents(first: 100) { nodes { slug kind createdAt } }
  rateLimit { cost limit remaining used resetAt } }";

async fn clients_are_held_to_their_rate_limit_in_cost_points(app: TestApp) {
    let app = rate_limited_app(app.backend).await.unwrap();
    let response = app.post_graphql().json(&json!({ "query": COSTS_407 })).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    let body: Value = response.json().await.unwrap();
    assert_no_errors(&body);
    let rate = &body["data"]["rateLimit"];
    let cost = rate["cost"].as_u64().unwrap();
    assert_eq!(cost, 409, "{rate}");
    assert_eq!(rate["limit"], 1000);
    assert_eq!(rate["remaining"].as_u64().unwrap(), 1000 - cost);
    assert_eq!(rate["used"].as_u64().unwrap(), cost);
    assert!(rate["resetAt"].as_str().unwrap().ends_with('Z'));
    assert_eq!(headers["x-ratelimit-limit"], "1000");
    assert_eq!(headers["x-ratelimit-remaining"].to_str().unwrap(), (1000 - cost).to_string());

    // The third request would overspend: refused, charged nothing, told when to come back.
    app.query(COSTS_407, json!({})).await;
    let response = app.post_graphql().json(&json!({ "query": COSTS_407 })).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "RATE_LIMITED");
    assert_eq!(body["errors"][0]["extensions"]["retryAfter"], retry_after);
    assert!(body.get("data").is_none());
    // A cheap request still fits in what is left.
    assert_no_errors(&app.query("{ __typename }", json!({})).await);

    // A token has its own allowance.
    let token = app.token("Rate Reader", palimpsest::store::Role::Reader).await;
    let body = app.query_as(Some(&token), COSTS_407, json!({})).await;
    assert_no_errors(&body);
    assert_eq!(body["data"]["rateLimit"]["limit"], 5000);
}

async fn plain_routes_are_rate_limited_by_address(app: TestApp) {
    let app = rate_limited_app(app.backend).await.unwrap();
    let url = format!("{}/documents/nothing-here/text", app.address);
    // 10 points a request: the allowance of 1,000 is spent after about 100 of them.
    let mut statuses = Vec::new();
    for _ in 0..150 {
        statuses.push(app.client.get(&url).send().await.unwrap().status());
    }
    assert_eq!(statuses[0], StatusCode::NOT_FOUND);
    assert!(statuses.contains(&StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
    let response = app.client.get(&url).send().await.unwrap();
    assert!(response.headers().contains_key("retry-after"));
    // Health checks are never limited.
    let health = app.client.get(format!("{}/healthz", app.address)).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn limits_hold_for_the_default_settings_too() {
    let app = spawn_schema(Backend::Sqlite).await.unwrap();
    let body = app.query(&fan_out(30), json!({})).await;
    assert_eq!(refused_limit(&body), "fields");
}
