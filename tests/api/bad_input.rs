//! Bad input of every kind gets a precise error with a stable code and leaves the stored data
//! exactly as it was: the schema's rules, and a body too large to read, which is HTTP's.

use expect_test::expect;
use serde_json::{Value, json};

use crate::helpers::{
    CREATE_DOCUMENT, TEST_MAX_BODY_BYTES, TEST_MAX_CONTENT_BYTES, TestApp, error_code, scrubbed,
};

crate::on_both_backends!(
    schema:
    invalid_values_are_refused_with_precise_errors_and_change_nothing,
    conflicts_and_missing_objects_have_their_own_codes,
    oversized_content_is_refused;
    http:
    oversized_bodies_are_refused_before_they_are_read,
);

/// Each refusal's code and message, a line each, with `names` put for what differs from run
/// to run.
fn refusals(bodies: &[Value], names: &[(&str, &str)]) -> String {
    bodies
        .iter()
        .map(|body| {
            let error = scrubbed(&body["errors"][0], names);
            format!("{} {}\n", error_code(body), error["message"])
        })
        .collect()
}

async fn invalid_values_are_refused_with_precise_errors_and_change_nothing(app: TestApp) {
    let token = app.editor().await;
    let created = app.create_document(&token, "target", "text\n").await;
    let id = created["document"]["id"].as_str().unwrap();
    let head = created["revision"]["hash"].as_str().unwrap();
    let before = app.corpus_size().await;

    let create = |patch: Value| {
        let mut input = json!({ "slug": "fresh", "title": "T", "kind": "ARTICLE", "content": "c" });
        for (k, v) in patch.as_object().unwrap() {
            input[k] = v.clone();
        }
        json!({ "input": input })
    };
    let cases: Vec<(&str, Value, &str)> = vec![
        (CREATE_DOCUMENT, create(json!({ "slug": "Not A Slug" })), "slug"),
        (CREATE_DOCUMENT, create(json!({ "slug": "" })), "slug"),
        (CREATE_DOCUMENT, create(json!({ "title": "   " })), "title"),
        (CREATE_DOCUMENT, create(json!({ "title": "two\nlines" })), "title"),
        (CREATE_DOCUMENT, create(json!({ "kind": "NOVEL" })), "NOVEL"),
        (CREATE_DOCUMENT, create(json!({ "source": "not-an-id" })), "source"),
        (
            crate::helpers::REVISE_DOCUMENT,
            json!({ "input": { "documentId": "nope", "expectedHead": head, "content": "x" } }),
            "documentId",
        ),
        (
            crate::helpers::REVISE_DOCUMENT,
            json!({ "input": { "documentId": id, "expectedHead": "abc", "content": "x" } }),
            "hash",
        ),
        (
            crate::helpers::REVISE_DOCUMENT,
            json!({ "input": { "documentId": id, "expectedHead": head.to_uppercase(), "content": "x" } }),
            "hash",
        ),
        (
            crate::helpers::REVISE_DOCUMENT,
            json!({ "input": { "documentId": id, "content": "x" } }),
            "expectedHead",
        ),
        ("query($h: String!) { revision(hash: $h) { hash } }", json!({ "h": "zz" }), "hash"),
        ("query($id: ID!) { node(id: $id) { id } }", json!({ "id": "!!" }), "node id"),
        ("query($id: ID) { document(id: $id) { id } }", json!({ "id": "12345" }), "document id"),
        ("{ document { id } }", json!({}), "exactly one"),
        ("{ document(id: \"x\", slug: \"y\") { id } }", json!({}), "exactly one"),
        ("{ document(slug: \"UPPER\") { id } }", json!({}), "slug"),
        (
            "{ documents(first: 1) { nodes { asOf(time: \"2026-13-01T00:00:00Z\") { hash } } } }",
            json!({}),
            "RFC 3339",
        ),
        ("{ documents { nodes { id } ", json!({}), ""),
        ("{ documents { nodes { nonsense } } }", json!({}), "nonsense"),
    ];
    let mut bodies = Vec::new();
    for (query, variables, mention) in cases {
        let body = app.query_as(Some(&token), query, variables.clone()).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{query} {variables}: {body}");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(mention), "{message:?} should mention {mention:?}");
        bodies.push(body);
    }
    let upper = head.to_uppercase();
    expect![[r#"
        BAD_USER_INPUT "slug: \"Not A Slug\" may only hold lowercase ASCII letters, digits and hyphens"
        BAD_USER_INPUT "slug: \"\" is empty"
        BAD_USER_INPUT "title: is blank"
        BAD_USER_INPUT "title: must be one line without control characters"
        BAD_USER_INPUT "Invalid value for argument \"input.kind\", enumeration type \"DocumentKind\" does not contain the value \"NOVEL\""
        BAD_USER_INPUT "source: \"not-an-id\" is not a source id"
        BAD_USER_INPUT "documentId: \"nope\" is not a document id"
        BAD_USER_INPUT "hash: \"abc\" is not a SHA-256 digest (64 lowercase hex digits)"
        BAD_USER_INPUT "hash: \"<HEAD>\" is not a SHA-256 digest (64 lowercase hex digits)"
        BAD_USER_INPUT "Invalid value for argument \"input\", field \"expectedHead\" of type \"String!\" is required but not provided"
        BAD_USER_INPUT "hash: \"zz\" is not a SHA-256 digest (64 lowercase hex digits)"
        BAD_USER_INPUT "\"!!\" is not a valid node id"
        BAD_USER_INPUT "id: \"12345\" is not a document id"
        BAD_USER_INPUT "give exactly one of `id` and `slug`"
        BAD_USER_INPUT "give exactly one of `id` and `slug`"
        BAD_USER_INPUT "slug: \"UPPER\" may only hold lowercase ASCII letters, digits and hyphens"
        BAD_USER_INPUT "Failed to parse \"DateTime\": \"2026-13-01T00:00:00Z\" is not an RFC 3339 date-time: input is out of range"
        BAD_USER_INPUT " --> 1:28\n  |\n1 | { documents { nodes { id } \n  |                            ^---\n  |\n  = expected selection"
        BAD_USER_INPUT "Unknown field \"nonsense\" on type \"Document\"."
    "#]]
        .assert_eq(&refusals(&bodies, &[(id, "<id>"), (head, "<head>"), (&upper, "<HEAD>")]));
    assert_eq!(app.corpus_size().await, before);
}

async fn conflicts_and_missing_objects_have_their_own_codes(app: TestApp) {
    let token = app.editor().await;
    let created = app.create_document(&token, "taken", "text\n").await;
    let head = created["revision"]["hash"].as_str().unwrap();
    let before = app.corpus_size().await;

    let taken = app
        .query_as(Some(&token), CREATE_DOCUMENT, json!({ "input": { "slug": "taken", "title": "T", "kind": "ARTICLE", "content": "c" } }))
        .await;
    let unknown_document = uuid::Uuid::now_v7().to_string();
    let no_document = app.revise(&token, &unknown_document, head, "x").await;
    let id = created["document"]["id"].as_str().unwrap();
    let no_head = app.revise(&token, id, &"0".repeat(64), "x").await;
    let unknown_source = uuid::Uuid::now_v7().to_string();
    let no_source = app
        .query_as(
            Some(&token),
            CREATE_DOCUMENT,
            json!({ "input": { "slug": "sourced", "title": "T", "kind": "ARTICLE", "content": "c", "source": unknown_source } }),
        )
        .await;
    let names = [
        (unknown_document.as_str(), "<unknown document>"),
        (unknown_source.as_str(), "<unknown source>"),
        (id, "<id>"),
        (head, "<head>"),
    ];
    expect![[r#"
        CONFLICT "a document with slug \"taken\" already exists"
        NOT_FOUND "document <unknown document> was not found"
        NOT_FOUND "revision 0000000000000000000000000000000000000000000000000000000000000000 of taken was not found"
        NOT_FOUND "source <unknown source> was not found"
    "#]].assert_eq(&refusals(&[taken, no_document, no_head, no_source], &names));
    assert_eq!(app.corpus_size().await, before);

    let body = app
        .query("query($h: String!) { revision(hash: $h) { hash } }", json!({ "h": "0".repeat(64) }))
        .await;
    assert_eq!(body["data"]["revision"], json!(null), "an unknown hash reads as null");
}

async fn oversized_content_is_refused(app: TestApp) {
    let token = app.editor().await;
    let too_long = "x".repeat(TEST_MAX_CONTENT_BYTES + 1);
    let body = app
        .query_as(Some(&token), CREATE_DOCUMENT, json!({ "input": { "slug": "big", "title": "T", "kind": "ARTICLE", "content": too_long } }))
        .await;
    assert_eq!(error_code(&body), "PAYLOAD_TOO_LARGE");
    let just_fits = "x".repeat(TEST_MAX_CONTENT_BYTES);
    let created = app.create_document(&token, "fits", &just_fits).await;
    let body = app
        .revise(
            &token,
            created["document"]["id"].as_str().unwrap(),
            created["revision"]["hash"].as_str().unwrap(),
            &too_long,
        )
        .await;
    assert_eq!(error_code(&body), "PAYLOAD_TOO_LARGE");
    assert_eq!(app.corpus_size().await, (1, 1));
}

async fn oversized_bodies_are_refused_before_they_are_read(app: TestApp) {
    let token = app.editor().await;
    let huge = "y".repeat(TEST_MAX_BODY_BYTES + 1);
    let response = app
        .post_graphql()
        .bearer_auth(&token)
        .json(&json!({ "query": CREATE_DOCUMENT, "variables": { "input": { "slug": "huge", "title": "T", "kind": "ARTICLE", "content": huge } } }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "PAYLOAD_TOO_LARGE");
    assert_eq!(app.corpus_size().await, (0, 0));
}
