//! The GraphQL schema's rules, tested at the schema's boundary (`GraphqlService::execute` over
//! a real store, no HTTP): how a store error reaches a client, and what the limits refuse
//! before any SQL runs. A failure here names the rule, not the transport.

use std::sync::atomic::Ordering;
use std::time::Duration;

use expect_test::expect;
use palimpsest::graphql::limits::QueryLimits;
use palimpsest::ratelimit::RateLimitSettings;
use palimpsest::store::Role;
use serde_json::{Value, json};

use crate::helpers::{CREATE_DOCUMENT, REVISE_DOCUMENT, TestApp, execute};

crate::on_both_backends!(
    schema:
    a_stale_head_is_a_conflict_that_names_the_current_head,
    writing_without_a_token_is_unauthenticated_and_reading_is_not_forbidden,
    a_query_over_the_cost_limit_is_refused_before_any_statement,
    a_client_past_its_rate_limit_is_told_when_to_retry,
    a_repeated_query_text_is_held_to_the_limits_every_time,
);

fn only_error(body: &Value) -> &Value {
    let errors = body["errors"].as_array().unwrap_or_else(|| panic!("no errors in {body}"));
    assert_eq!(errors.len(), 1, "{body}");
    &errors[0]
}

async fn a_stale_head_is_a_conflict_that_names_the_current_head(app: TestApp) {
    let service = &app.schema;
    let token = app.editor().await;
    let input = json!({ "input": {
        "slug": "conflict", "title": "Conflict", "kind": "ARTICLE",
        "content": "one\n", "message": "first"
    }});
    let created = execute(service, Some(&token), CREATE_DOCUMENT, input).await;
    let created = &created["data"]["createDocument"];
    let (id, first) = (created["document"]["id"].clone(), created["revision"]["hash"].clone());
    let revise = |content: &str| {
        json!({ "input": {
            "documentId": id, "expectedHead": first, "content": content, "message": "edit"
        }})
    };
    let second = execute(service, Some(&token), REVISE_DOCUMENT, revise("two\n")).await;
    let current = second["data"]["reviseDocument"]["revision"]["hash"].clone();
    assert!(current.is_string(), "{second}");

    let stale = execute(service, Some(&token), REVISE_DOCUMENT, revise("three\n")).await;
    let error = only_error(&stale);
    assert_eq!(error["extensions"]["code"], "CONFLICT", "{stale}");
    assert_eq!(error["extensions"]["currentHead"], current, "{stale}");
    assert_eq!(error["path"], json!(["reviseDocument"]), "{stale}");
    // The whole error as a client reads it, the two heads by name.
    let shown = serde_json::to_string_pretty(error)
        .unwrap()
        .replace(current.as_str().unwrap(), "<current head>")
        .replace(first.as_str().unwrap(), "<expected head>");
    expect![[r#"
        {
          "extensions": {
            "code": "CONFLICT",
            "currentHead": "<current head>"
          },
          "locations": [
            {
              "column": 3,
              "line": 2
            }
          ],
          "message": "the head has moved on: expected <expected head>, the head is now <current head>",
          "path": [
            "reviseDocument"
          ]
        }"#]].assert_eq(&shown);
}

async fn writing_without_a_token_is_unauthenticated_and_reading_is_not_forbidden(app: TestApp) {
    let service = &app.schema;
    let input = json!({ "input": {
        "slug": "anonymous", "title": "Anonymous", "kind": "ARTICLE",
        "content": "text\n", "message": "first"
    }});
    let refused = execute(service, None, CREATE_DOCUMENT, input.clone()).await;
    assert_eq!(only_error(&refused)["extensions"]["code"], "UNAUTHENTICATED", "{refused}");
    expect![[r#"
        {
          "data": null,
          "errors": [
            {
              "extensions": {
                "code": "UNAUTHENTICATED"
              },
              "locations": [
                {
                  "column": 3,
                  "line": 2
                }
              ],
              "message": "this operation needs an API token: send `Authorization: Bearer <token>`",
              "path": [
                "createDocument"
              ]
            }
          ],
          "extensions": {
            "cost": {
              "actual": 22,
              "limit": 20000,
              "requested": 22
            }
          }
        }"#]]
    .assert_eq(&serde_json::to_string_pretty(&refused).unwrap());
    let reader = app.token("Reader", Role::Reader).await;
    let forbidden = execute(service, Some(&reader), CREATE_DOCUMENT, input).await;
    assert_eq!(only_error(&forbidden)["extensions"]["code"], "FORBIDDEN", "{forbidden}");
    assert_eq!(app.corpus_size().await, (0, 0));

    let read = execute(service, None, "{ documents(first: 5) { totalCount } }", json!({})).await;
    assert_eq!(read["data"]["documents"]["totalCount"], 0, "{read}");
}

async fn a_query_over_the_cost_limit_is_refused_before_any_statement(app: TestApp) {
    let limits = QueryLimits { max_cost: 50, ..QueryLimits::default() };
    let service = app.schema_with(limits, RateLimitSettings::default());
    let query = "{ documents(first: 100) { nodes { revisions(first: 100) { nodes { hash } } } } }";
    let before = app.statements.load(Ordering::SeqCst);
    let refused = execute(&service, None, query, json!({})).await;
    let error = only_error(&refused);
    assert_eq!(error["extensions"]["code"], "QUERY_TOO_COMPLEX", "{refused}");
    assert_eq!(error["extensions"]["limit"], "cost", "{refused}");
    assert!(refused.get("data").is_none_or(Value::is_null), "{refused}");
    assert_eq!(app.statements.load(Ordering::SeqCst), before, "no SQL for a refused query");
}

async fn a_client_past_its_rate_limit_is_told_when_to_retry(app: TestApp) {
    let rates = RateLimitSettings {
        anonymous_points: 40,
        token_points: 1_000,
        window: Duration::from_secs(60),
    };
    let service = app.schema_with(QueryLimits::default(), rates);
    let query = "{ documents(first: 10) { nodes { slug } } }";
    let mut refusal = None;
    for _ in 0..10 {
        let body = execute(&service, None, query, json!({})).await;
        if body.get("errors").is_some() {
            refusal = Some(body);
            break;
        }
    }
    let refused = refusal.expect("forty points run out within ten such requests");
    let error = only_error(&refused);
    assert_eq!(error["extensions"]["code"], "RATE_LIMITED", "{refused}");
    let retry_after = error["extensions"]["retryAfter"].as_u64().unwrap();
    assert!((1..=60).contains(&retry_after), "{refused}");
    // A token is its own client, with its own allowance.
    let token = app.editor().await;
    let body = execute(&service, Some(&token), query, json!({})).await;
    assert!(body.get("errors").is_none(), "{body}");
}

/// Query texts are kept parsed between requests; what a request sends beside its text is
/// still held to the limits each time, and a refused text is refused again.
async fn a_repeated_query_text_is_held_to_the_limits_every_time(app: TestApp) {
    let limits = QueryLimits { max_value_depth: 3, max_depth: 3, ..QueryLimits::default() };
    let service = app.schema_with(limits, RateLimitSettings::default());
    let token = app.editor().await;
    let created = app.create_document(&token, "kept", "text\n").await;
    let id = created["document"]["id"].clone();

    let query = "query($id: ID) { document(id: $id) { slug } }";
    for _ in 0..2 {
        let body = execute(&service, None, query, json!({ "id": id })).await;
        assert_eq!(body["data"]["document"]["slug"], "kept", "{body}");
    }
    let nested = json!({ "id": { "a": { "b": { "c": { "d": 1 } } } } });
    let refused = execute(&service, None, query, nested).await;
    assert_eq!(only_error(&refused)["extensions"]["limit"], "valueDepth", "{refused}");

    let deep = "{ documents { nodes { head { author { name } } } } }";
    for _ in 0..2 {
        let refused = execute(&service, None, deep, json!({})).await;
        assert_eq!(only_error(&refused)["extensions"]["limit"], "depth", "{refused}");
    }
}

/// Queries that share response names across fields, each with what graphql-js answers: the
/// conflicts first, then queries that merge.
const MERGING: &[&str] = &[
    "query($id: ID!) { node(id: $id) { ... on Document { url } ... on Source { url } } }",
    "query($id: ID!) { node(id: $id) { ... on Document { kind } ... on Agent { kind } } }",
    "query($id: ID!) { node(id: $id) { ... on Source { kind } ... on Document { kind } } }",
    "{ documents(first: 1) { nodes { slug: title slug } } }",
    "{ documents(first: 1) { nodes { revisions(first: 1) { totalCount } \
       revisions(first: 2) { totalCount } } } }",
    "query($id: ID!) { node(id: $id) { ... on Document { r: head { n: number } } \
       ... on Revision { r: document { n: slug } } } }",
    "fragment A on Document { url } fragment B on Source { url } \
     query($id: ID!) { node(id: $id) { ...A ...B } }",
    "{ documents(first: 1) { nodes { ... on Node { id } id: slug } } }",
    // These merge.
    "query($id: ID!) { node(id: $id) { ... on Document { u: url } ... on Revision { u: hash } } }",
    "query($id: ID!) { node(id: $id) { ... on Document { url } ... on Revision { url } } }",
    "query($id: ID!) { node(id: $id) { ... on Document { kind } ... on Source { sourceKind \
       sourceUrl } ... on Agent { agentKind } } }",
    "{ documents(first: 1) { nodes { slug slug ... on Document { slug } } } }",
];

/// Field Selection Merging (spec 5.3.2): the server refuses exactly the queries graphql-js
/// refuses, with graphql-js's messages — graphql-core (its Python port) is the reference, on
/// the committed SDL.
#[tokio::test]
#[cfg_attr(palimpsest_no_graphql_core, ignore = "needs python3 with graphql-core")]
async fn fields_that_cannot_merge_are_refused_as_graphql_js_refuses_them() {
    let script = r#"
import json, sys
from graphql import build_schema, parse, validate
from graphql.validation import OverlappingFieldsCanBeMergedRule
schema = build_schema(open(sys.argv[1]).read())
queries = json.load(sys.stdin)
# graphql-core quotes names with ' where graphql-js, whose messages clients see, uses ".
print(json.dumps([sorted(e.message.replace("'", '"') for e in validate(schema, parse(q), [OverlappingFieldsCanBeMergedRule])) for q in queries]))
"#;
    let sdl = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/schema.graphql");
    let mut python = std::process::Command::new("python3")
        .args(["-c", script, sdl])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    serde_json::to_writer(python.stdin.take().unwrap(), &MERGING).unwrap();
    let output = python.wait_with_output().unwrap();
    assert!(output.status.success());
    let expected: Vec<Vec<String>> = serde_json::from_slice(&output.stdout).unwrap();
    // The set holds what it says: graphql-js refuses the first eight, and merges the rest.
    let refused: Vec<bool> = expected.iter().map(|messages| !messages.is_empty()).collect();
    assert_eq!(refused, [[true; 8].as_slice(), &[false; 4]].concat(), "{expected:?}");

    let app = crate::helpers::spawn_schema(crate::helpers::Backend::Sqlite).await.unwrap();
    let service = &app.schema;
    let variables = json!({ "id": "RG9jdW1lbnQ6MDE5MDAwMDAtMDAwMC03MDAwLTgwMDAtMDAwMDAwMDAwMDAw" });
    for (query, expected) in MERGING.iter().zip(expected) {
        let body = execute(service, None, query, variables.clone()).await;
        let mut refused: Vec<String> = body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .filter_map(|e| e["message"].as_str())
                    .filter(|m| m.contains(" conflict because "))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        refused.sort();
        assert_eq!(refused, expected, "{query}\n{body}");
    }
}

/// Checking that fields merge compares them pairwise; a query of 700 copies of one field is
/// refused once the comparisons it may cost are spent, rather than checked for long.
#[tokio::test]
async fn checking_that_fields_merge_is_bounded() {
    let app = crate::helpers::spawn_schema(crate::helpers::Backend::Sqlite).await.unwrap();
    let service = &app.schema;
    let copies = "documents(first: 1) { totalCount } ".repeat(700);
    let started = std::time::Instant::now();
    let body = execute(service, None, &format!("{{ {copies} }}"), json!({})).await;
    let took = started.elapsed();
    let messages = body["errors"].to_string();
    assert!(messages.contains("too many fields sharing response names"), "{messages}");
    println!("700 copies refused in {took:?}");
}
