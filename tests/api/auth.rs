//! API tokens: mutations need an editor token; reads are public; the author of a revision is
//! the token's agent and nothing a client sends can change that.

use palimpsest::store::Role;
use serde_json::json;

use crate::helpers::{CREATE_DOCUMENT, TestApp, assert_no_errors, error_code};

crate::on_both_backends!(
    mutations_without_a_valid_editor_token_are_refused_and_write_nothing,
    the_author_is_the_agent_behind_the_token,
);

fn input(slug: &str) -> serde_json::Value {
    json!({ "input": { "slug": slug, "title": "T", "kind": "REPORT", "content": "x" } })
}

async fn mutations_without_a_valid_editor_token_are_refused_and_write_nothing(app: TestApp) {
    let reader = app.token("Rita Reader", Role::Reader).await;
    let cases: [(Option<&str>, Option<&str>, &str); 5] = [
        (None, None, "UNAUTHENTICATED"),
        (Some("pal_not-a-real-token"), None, "UNAUTHENTICATED"),
        (Some("garbage"), None, "UNAUTHENTICATED"),
        (None, Some("Basic dXNlcjpwYXNz"), "UNAUTHENTICATED"),
        (Some(reader.as_str()), None, "FORBIDDEN"),
    ];
    for (token, raw_header, code) in cases {
        let mut request = app
            .post_graphql()
            .json(&json!({ "query": CREATE_DOCUMENT, "variables": input("nope") }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(header) = raw_header {
            request = request.header("authorization", header);
        }
        let body: serde_json::Value = request.send().await.unwrap().json().await.unwrap();
        assert_eq!(error_code(&body), code, "{token:?} {raw_header:?}");
    }
    assert_eq!(app.corpus_size().await, (0, 0));

    // Reads need no token, and a reader token still reads.
    let body = app
        .query_as(Some(&reader), "{ documents { totalCount } viewer { name } }", json!({}))
        .await;
    assert_no_errors(&body);
    assert_eq!(body["data"]["viewer"]["name"], "Rita Reader");
    let body = app.query("{ documents { totalCount } viewer { name } }", json!({})).await;
    assert_no_errors(&body);
    assert_eq!(body["data"]["viewer"], json!(null));
}

async fn the_author_is_the_agent_behind_the_token(app: TestApp) {
    let editor = app.token("Eve Editor", Role::Editor).await;
    let admin = app.token("Adam Admin", Role::Admin).await;
    let created = app.create_document(&editor, "authored", "one\n").await;
    assert_eq!(created["revision"]["author"]["name"], "Eve Editor");
    let body = app
        .revise(
            &admin,
            created["document"]["id"].as_str().unwrap(),
            created["revision"]["hash"].as_str().unwrap(),
            "two\n",
        )
        .await;
    assert_no_errors(&body);
    assert_eq!(body["data"]["reviseDocument"]["revision"]["author"]["name"], "Adam Admin");
}
