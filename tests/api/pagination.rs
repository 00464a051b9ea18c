//! Relay connections at their edges: page sizes, cursors both ways, ordering and filters.

use expect_test::expect;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_no_errors, error_code};

crate::on_both_backends!(
    schema:
    revision_pages_walk_forward_and_backward_without_gaps,
    page_sizes_outside_one_to_a_hundred_and_bad_cursors_are_refused,
    document_pages_follow_order_and_filter,
);

const REVISIONS: &str =
    "query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
  document(id: $id) { revisions(first: $first, after: $after, last: $last, before: $before) {
    totalCount edges { cursor node { number } } nodes { number }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  } } }";

fn numbers(connection: &Value) -> Vec<i64> {
    connection["nodes"].as_array().unwrap().iter().map(|n| n["number"].as_i64().unwrap()).collect()
}

async fn revision_pages_walk_forward_and_backward_without_gaps(app: TestApp) {
    let token = app.editor().await;
    let (id, _) = app.document_with_history(&token, "paged", 5).await;
    let page = |vars: Value| {
        let app = &app;
        let id = id.clone();
        async move {
            let mut vars = vars;
            vars["id"] = json!(id);
            let body = app.query(REVISIONS, vars).await;
            assert_no_errors(&body);
            body["data"]["document"]["revisions"].clone()
        }
    };

    let first = page(json!({ "first": 2 })).await;
    assert_eq!(numbers(&first), [5, 4]);
    assert_eq!(first["totalCount"], 5);
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    assert_eq!(first["pageInfo"]["hasPreviousPage"], false);
    assert_eq!(first["edges"][1]["cursor"], first["pageInfo"]["endCursor"]);

    let second = page(json!({ "first": 2, "after": first["pageInfo"]["endCursor"] })).await;
    assert_eq!(numbers(&second), [3, 2]);
    assert_eq!(second["pageInfo"]["hasNextPage"], true);
    assert_eq!(second["pageInfo"]["hasPreviousPage"], true);

    let third = page(json!({ "first": 2, "after": second["pageInfo"]["endCursor"] })).await;
    assert_eq!(numbers(&third), [1]);
    assert_eq!(third["pageInfo"]["hasNextPage"], false);

    let past_the_end = page(json!({ "first": 2, "after": third["pageInfo"]["endCursor"] })).await;
    assert_eq!(numbers(&past_the_end), Vec::<i64>::new());
    assert_eq!(past_the_end["pageInfo"]["hasNextPage"], false);
    assert_eq!(past_the_end["pageInfo"]["endCursor"], json!(null));

    let exact = page(json!({ "first": 5 })).await;
    assert_eq!(numbers(&exact), [5, 4, 3, 2, 1]);
    assert_eq!(exact["pageInfo"]["hasNextPage"], false);

    let oldest = page(json!({ "last": 2 })).await;
    assert_eq!(numbers(&oldest), [2, 1], "last pages come back in list order");
    assert_eq!(oldest["pageInfo"]["hasPreviousPage"], true);
    assert_eq!(oldest["pageInfo"]["hasNextPage"], false);

    let back = page(json!({ "last": 2, "before": oldest["pageInfo"]["startCursor"] })).await;
    assert_eq!(numbers(&back), [4, 3]);
    let window = page(json!({ "first": 10, "after": first["pageInfo"]["startCursor"], "before": third["pageInfo"]["startCursor"] })).await;
    assert_eq!(numbers(&window), [4, 3, 2]);

    let default_size = page(json!({})).await;
    assert_eq!(numbers(&default_size).len(), 5);
}

async fn page_sizes_outside_one_to_a_hundred_and_bad_cursors_are_refused(app: TestApp) {
    let token = app.editor().await;
    let (id, _) = app.document_with_history(&token, "limits", 1).await;
    let mut refusals = String::new();
    for vars in [
        json!({ "first": 0 }),
        json!({ "first": 101 }),
        json!({ "first": -1 }),
        json!({ "last": 101 }),
        json!({ "first": 1, "last": 1 }),
        json!({ "first": 1, "after": "not a cursor" }),
        json!({ "first": 1, "after": "czp4" }),
    ] {
        let mut vars = vars;
        vars["id"] = json!(id);
        let body = app.query(REVISIONS, vars.clone()).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{vars}");
        vars.as_object_mut().unwrap().remove("id");
        refusals += &format!("{vars}: {}\n", body["errors"][0]["message"]);
    }
    expect![[r#"
        {"first":0}: "`first` must be between 1 and 100, not 0"
        {"first":101}: "`first` must be between 1 and 100, not 101"
        {"first":-1}: "`first` must be between 1 and 100, not -1"
        {"last":101}: "`last` must be between 1 and 100, not 101"
        {"first":1,"last":1}: "pass either `first` or `last`, not both"
        {"after":"not a cursor","first":1}: "`after` is not a valid cursor: \"not a cursor\""
        {"after":"czp4","first":1}: "`after` is not a valid cursor: \"czp4\""
    "#]]
    .assert_eq(&refusals);
    let body = app.query(REVISIONS, json!({ "id": id, "first": 100 })).await;
    assert_no_errors(&body);
    let body = app.query("{ documents(first: 101) { totalCount } }", json!({})).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
}

const DOCUMENTS: &str = "query($first: Int, $after: String, $last: Int, $filter: DocumentFilter, $orderBy: DocumentOrder) {
  documents(first: $first, after: $after, last: $last, filter: $filter, orderBy: $orderBy) {
    totalCount nodes { slug kind } pageInfo { hasNextPage endCursor }
  } }";

fn slugs(connection: &Value) -> Vec<String> {
    connection["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["slug"].as_str().unwrap().to_owned())
        .collect()
}

async fn document_pages_follow_order_and_filter(app: TestApp) {
    let token = app.editor().await;
    for slug in ["charlie", "alpha", "echo", "bravo", "delta"] {
        app.create_document(&token, slug, "text\n").await;
    }
    let letter = app
        .query_as(
            Some(&token),
            crate::helpers::CREATE_DOCUMENT,
            json!({ "input": { "slug": "foxtrot", "title": "A letter", "kind": "LETTER", "content": "Dear\n" } }),
        )
        .await;
    assert_no_errors(&letter);
    // Move "alpha" to the top of the update order.
    let alpha = app.query("{ document(slug: \"alpha\") { id head { hash } } }", json!({})).await;
    let body = app
        .revise(
            &token,
            alpha["data"]["document"]["id"].as_str().unwrap(),
            alpha["data"]["document"]["head"]["hash"].as_str().unwrap(),
            "edited\n",
        )
        .await;
    assert_no_errors(&body);

    let app = &app;
    let get = |vars: Value| async move {
        let body = app.query(DOCUMENTS, vars).await;
        assert_no_errors(&body);
        body["data"]["documents"].clone()
    };
    let created = get(json!({ "first": 10 })).await;
    assert_eq!(slugs(&created), ["charlie", "alpha", "echo", "bravo", "delta", "foxtrot"]);
    assert_eq!(created["totalCount"], 6);

    let by_slug =
        get(json!({ "first": 3, "orderBy": { "field": "SLUG", "direction": "ASC" } })).await;
    assert_eq!(slugs(&by_slug), ["alpha", "bravo", "charlie"]);
    let rest = get(json!({ "first": 3, "after": by_slug["pageInfo"]["endCursor"], "orderBy": { "field": "SLUG", "direction": "ASC" } })).await;
    assert_eq!(slugs(&rest), ["delta", "echo", "foxtrot"]);
    assert_eq!(rest["pageInfo"]["hasNextPage"], false);

    let recent =
        get(json!({ "first": 2, "orderBy": { "field": "UPDATED_AT", "direction": "DESC" } })).await;
    assert_eq!(slugs(&recent), ["alpha", "foxtrot"]);
    let newest_created =
        get(json!({ "last": 2, "orderBy": { "field": "CREATED_AT", "direction": "ASC" } })).await;
    assert_eq!(slugs(&newest_created), ["delta", "foxtrot"]);

    let letters = get(json!({ "first": 10, "filter": { "kind": "LETTER" } })).await;
    assert_eq!(slugs(&letters), ["foxtrot"]);
    assert_eq!(letters["totalCount"], 1);

    // A cursor from one ordering does not fit another.
    let body = app
        .query(DOCUMENTS, json!({ "first": 2, "after": by_slug["pageInfo"]["endCursor"], "orderBy": { "field": "CREATED_AT", "direction": "ASC" } }))
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
}
