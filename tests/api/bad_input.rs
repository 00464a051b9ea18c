//! Bad input of every kind gets a precise error with a stable code and leaves the stored data
//! exactly as it was.

use serde_json::{Value, json};

use crate::helpers::{
    CREATE_DOCUMENT, TEST_MAX_BODY_BYTES, TEST_MAX_CONTENT_BYTES, TestApp, error_code,
};

crate::on_both_backends!(
    invalid_values_are_refused_with_precise_errors_and_change_nothing,
    conflicts_and_missing_objects_have_their_own_codes,
    oversized_content_and_bodies_are_refused,
);

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
    for (query, variables, mention) in cases {
        let body = app.query_as(Some(&token), query, variables.clone()).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{query} {variables}: {body}");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(mention), "{message:?} should mention {mention:?}");
    }
    assert_eq!(app.corpus_size().await, before);
}

async fn conflicts_and_missing_objects_have_their_own_codes(app: TestApp) {
    let token = app.editor().await;
    let created = app.create_document(&token, "taken", "text\n").await;
    let head = created["revision"]["hash"].as_str().unwrap();
    let before = app.corpus_size().await;

    let body = app
        .query_as(Some(&token), CREATE_DOCUMENT, json!({ "input": { "slug": "taken", "title": "T", "kind": "ARTICLE", "content": "c" } }))
        .await;
    assert_eq!(error_code(&body), "CONFLICT");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("taken"));

    let unknown_document = uuid::Uuid::now_v7().to_string();
    let body = app.revise(&token, &unknown_document, head, "x").await;
    assert_eq!(error_code(&body), "NOT_FOUND");
    let body =
        app.revise(&token, created["document"]["id"].as_str().unwrap(), &"0".repeat(64), "x").await;
    assert_eq!(error_code(&body), "NOT_FOUND");
    let body = app
        .query_as(
            Some(&token),
            CREATE_DOCUMENT,
            json!({ "input": { "slug": "sourced", "title": "T", "kind": "ARTICLE", "content": "c", "source": uuid::Uuid::now_v7().to_string() } }),
        )
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND");
    assert_eq!(app.corpus_size().await, before);

    let body = app
        .query("query($h: String!) { revision(hash: $h) { hash } }", json!({ "h": "0".repeat(64) }))
        .await;
    assert_eq!(body["data"]["revision"], json!(null), "an unknown hash reads as null");
}

async fn oversized_content_and_bodies_are_refused(app: TestApp) {
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
    assert_eq!(app.corpus_size().await, (1, 1));
}
