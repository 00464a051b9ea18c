//! No N+1: a page of revisions with their authors, documents and parents costs a small fixed
//! number of SQL statements, however many revisions the page holds.

use std::sync::atomic::Ordering;

use serde_json::json;

use crate::helpers::{TestApp, assert_no_errors};

crate::on_both_backends!(
    a_page_of_revisions_costs_the_same_few_queries_at_any_size,
    as_of_over_a_list_of_documents_is_one_query,
);

const PAGE: &str =
    "query($id: ID!, $first: Int!) { document(id: $id) { revisions(first: $first) { nodes {
  hash author { name } document { slug title } parent { hash author { name } }
} } } }";

async fn a_page_of_revisions_costs_the_same_few_queries_at_any_size(app: TestApp) {
    let tokens =
        [app.editor().await, app.token("Second Editor", palimpsest::store::Role::Editor).await];
    let created = app.create_document(&tokens[0], "long-history", "v0\n").await;
    let id = created["document"]["id"].as_str().unwrap().to_owned();
    let mut head = created["revision"]["hash"].as_str().unwrap().to_owned();
    for n in 1..110 {
        let body = app.revise(&tokens[n % 2], &id, &head, &format!("v{n}\n")).await;
        assert_no_errors(&body);
        head = body["data"]["reviseDocument"]["revision"]["hash"].as_str().unwrap().to_owned();
    }

    let mut costs = Vec::new();
    for first in [10, 100] {
        app.statements.store(0, Ordering::SeqCst);
        let body = app.query(PAGE, json!({ "id": id, "first": first })).await;
        assert_no_errors(&body);
        let nodes = body["data"]["document"]["revisions"]["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), first);
        assert!(
            nodes
                .iter()
                .all(|n| n["author"]["name"].is_string()
                    && n["parent"]["author"]["name"].is_string())
        );
        costs.push(app.statements.load(Ordering::SeqCst));
    }
    // The document, the page, then one batch per level and key type: authors, documents,
    // parents, the documents' heads (for `title`) and the parents' authors. Loading per row
    // would cost over 250 statements for the page of 100.
    eprintln!("statements for pages of 10 and 100: {costs:?}");
    assert!(costs[1] <= 8, "a page of 100 ran {} statements", costs[1]);
    assert_eq!(costs[0], costs[1], "the cost does not grow with the page size");
}

async fn as_of_over_a_list_of_documents_is_one_query(app: TestApp) {
    let token = app.editor().await;
    let mut expected = Vec::new();
    for i in 0..5 {
        let (_, hashes) = app.document_with_history(&token, &format!("doc-{i}"), 3).await;
        expected.push(hashes);
    }
    let body = app
        .query(
            "{ documents(first: 10) { nodes { revisions(last: 1) { nodes { createdAt } } } } }",
            json!({}),
        )
        .await;
    // Just after the last document's first revision: every document is at some revision.
    let instant =
        body["data"]["documents"]["nodes"][4]["revisions"]["nodes"][0]["createdAt"].clone();

    app.statements.store(0, Ordering::SeqCst);
    let body = app
        .query(
            "query($t: DateTime!) { documents(first: 10) { nodes { slug asOf(time: $t) { hash number } } } }",
            json!({ "t": instant }),
        )
        .await;
    assert_no_errors(&body);
    assert_eq!(app.statements.load(Ordering::SeqCst), 2, "the page and one batched asOf");
    let nodes = body["data"]["documents"]["nodes"].as_array().unwrap();
    for (i, node) in nodes.iter().enumerate() {
        // Documents 0..4 were fully revised before document 4 began; document 4 is at 1.
        let want = if i < 4 { &expected[i][2] } else { &expected[4][0] };
        assert_eq!(&node["asOf"]["hash"], want, "{node}");
    }
    let before = app
        .query(
            "{ documents(first: 10) { nodes { asOf(time: \"2000-01-01T00:00:00Z\") { hash } } } }",
            json!({}),
        )
        .await;
    assert!(
        before["data"]["documents"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["asOf"].is_null())
    );
}
