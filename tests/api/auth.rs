//! API tokens: mutations need an editor token; reads are public; the author of a revision is
//! the token's agent and nothing a client sends can change that. The rules are the schema's;
//! how a request's `Authorization` header becomes its credentials is HTTP's.

use expect_test::expect;
use palimpsest::graphql::RequestContext;
use palimpsest::graphql::auth::Credentials;
use palimpsest::store::Role;
use serde_json::json;

use crate::helpers::{
    CREATE_DOCUMENT, TestApp, assert_no_errors, error_code, execute_in, request_context,
};

crate::on_both_backends!(
    schema:
    mutations_without_a_valid_editor_token_are_refused_and_write_nothing,
    the_author_is_the_agent_behind_the_token;
    http:
    the_authorization_header_is_a_bearer_token_or_refused,
);

fn input(slug: &str) -> serde_json::Value {
    json!({ "input": { "slug": slug, "title": "T", "kind": "REPORT", "content": "x" } })
}

async fn mutations_without_a_valid_editor_token_are_refused_and_write_nothing(app: TestApp) {
    let reader = app.token("Rita Reader", Role::Reader).await;
    let bearer = |token: &str| Credentials::Bearer(token.to_owned());
    let cases = [
        ("no token", Credentials::Anonymous),
        ("an unknown token", bearer("pal_not-a-real-token")),
        ("not a token", bearer("garbage")),
        ("a header that is not a bearer token", Credentials::Malformed),
        ("a reader's token", bearer(&reader)),
    ];
    let mut refusals = String::new();
    for (case, credentials) in cases {
        let context = RequestContext { credentials, ..request_context(None, "auth", 0) };
        let body = execute_in(&app.schema, context, CREATE_DOCUMENT, input("nope")).await;
        assert_eq!(body["data"], json!(null), "{case}: {body:#}");
        let error = &body["errors"][0];
        refusals += &format!("{case}: {} {}\n", error_code(&body), error["message"]);
    }
    expect![[r#"
        no token: UNAUTHENTICATED "this operation needs an API token: send `Authorization: Bearer <token>`"
        an unknown token: UNAUTHENTICATED "the token is unknown, revoked or expired"
        not a token: UNAUTHENTICATED "the token is unknown, revoked or expired"
        a header that is not a bearer token: UNAUTHENTICATED "the Authorization header must be `Bearer <token>`"
        a reader's token: FORBIDDEN "a reader token may not write documents (an editor or admin token may)"
    "#]].assert_eq(&refusals);
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

/// No header is an anonymous client; `Bearer <token>` is the token's agent; any other header
/// (another scheme, an unknown token) is refused, never taken for anonymous.
async fn the_authorization_header_is_a_bearer_token_or_refused(app: TestApp) {
    let reader = app.token("Rita Reader", Role::Reader).await;
    let bearer = format!("Bearer {reader}");
    let cases: [(Option<&str>, &str); 5] = [
        (None, "UNAUTHENTICATED"),
        (Some("Bearer pal_not-a-real-token"), "UNAUTHENTICATED"),
        (Some("Bearer garbage"), "UNAUTHENTICATED"),
        (Some("Basic dXNlcjpwYXNz"), "UNAUTHENTICATED"),
        (Some(&bearer), "FORBIDDEN"),
    ];
    for (header, code) in cases {
        let mut request = app
            .post_graphql()
            .json(&json!({ "query": CREATE_DOCUMENT, "variables": input("nope") }));
        if let Some(header) = header {
            request = request.header("authorization", header);
        }
        let body: serde_json::Value = request.send().await.unwrap().json().await.unwrap();
        assert_eq!(error_code(&body), code, "{header:?}");
    }
    assert_eq!(app.corpus_size().await, (0, 0));

    let viewer = "{ documents { totalCount } viewer { name } }";
    let body = app.query_as(Some(&reader), viewer, json!({})).await;
    assert_no_errors(&body);
    assert_eq!(body["data"]["viewer"]["name"], "Rita Reader");
    let body = app.query(viewer, json!({})).await;
    assert_no_errors(&body);
    assert_eq!(body["data"]["viewer"], json!(null));
}
