//! No N+1: a page of revisions with their authors, documents and parents costs a small fixed
//! number of SQL statements, however many revisions the page holds.

use std::sync::atomic::Ordering;

use serde_json::json;

use crate::helpers::{TestApp, assert_no_errors};

crate::on_both_backends!(
    schema:
    a_page_of_revisions_costs_the_same_few_queries_at_any_size,
    as_of_over_a_list_of_documents_is_one_query,
    the_workload_queries_read_one_statement_per_level,
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

/// The reference workload's queries (`benches/workload/palimpsest/`): a document is read with
/// its head in one statement, a page of documents with their heads and the heads' sources in
/// one, a page of revisions with their authors in one (once their revisions are kept).
async fn the_workload_queries_read_one_statement_per_level(app: TestApp) {
    let token = app.editor().await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let source = app
            .query_as(
                Some(&token),
                "mutation($i: CreateSourceInput!) { createSource(input: $i) { source { id } } }",
                json!({ "i": { "kind": "WEB_PAGE", "url": format!("https://news.example/{i}"),
                               "publisher": "The Daily Harbor", "authors": ["Ada Brandt"],
                               "retrievedAt": "2024-01-01T00:00:00Z" } }),
            )
            .await;
        assert_no_errors(&source);
        let source = &source["data"]["createSource"]["source"]["id"];
        let created = app
            .query_as(
                Some(&token),
                "mutation($i: CreateDocumentInput!) { createDocument(input: $i) { document { id } revision { hash } } }",
                json!({ "i": { "slug": format!("doc-{i}"), "title": format!("Title {i}"),
                               "kind": "ARTICLE", "content": format!("text {i}\n"),
                               "message": "first", "source": source } }),
            )
            .await;
        assert_no_errors(&created);
        let id = created["data"]["createDocument"]["document"]["id"].as_str().unwrap().to_owned();
        let head = created["data"]["createDocument"]["revision"]["hash"].as_str().unwrap();
        let revised = app
            .query_as(
                Some(&token),
                "mutation($i: ReviseDocumentInput!) { reviseDocument(input: $i) { revision { hash } } }",
                json!({ "i": { "documentId": id, "expectedHead": head, "source": source,
                               "content": format!("text {i}, revised\n"), "message": "edit" } }),
            )
            .await;
        assert_no_errors(&revised);
        ids.push(id);
    }

    let count = async |query: &str, variables: serde_json::Value| {
        app.statements.store(0, Ordering::SeqCst);
        let body = app.query(query, variables).await;
        assert_no_errors(&body);
        (body, app.statements.load(Ordering::SeqCst))
    };
    // Revisions are kept in memory once read (`store/kept_revisions.rs`): the first read of
    // one takes one statement more, for the columns a row's hash fixes.
    let q1_query = "query($id: ID!) { document(id: $id) { id slug title head { number hash createdAt content } } }";
    let (cold, statements) = count(q1_query, json!({ "id": ids[1] })).await;
    assert_eq!(statements, 3, "the document with its head, the head whole, then its text");
    let (q1, statements) = count(q1_query, json!({ "id": ids[1] })).await;
    assert_eq!(q1, cold);
    assert_eq!(q1["data"]["document"]["title"], "Title 1");
    assert_eq!(q1["data"]["document"]["head"]["content"], "text 1, revised\n");
    assert_eq!(q1["data"]["document"]["head"]["number"], 2);
    assert_eq!(statements, 1, "the document with its head; its text is kept too");

    let q2_query = "query($id: ID!) { document(id: $id) { id slug revisions(first: 20) { nodes { number author { name } message createdAt hash } } } }";
    let (cold, statements) = count(q2_query, json!({ "id": ids[2] })).await;
    assert_eq!(statements, 2, "the document with its first page, then the page's revisions whole");
    let (q2, statements) = count(q2_query, json!({ "id": ids[2] })).await;
    assert_eq!(q2, cold);
    let revisions = q2["data"]["document"]["revisions"]["nodes"].as_array().unwrap();
    assert_eq!(revisions.len(), 2);
    assert!(revisions.iter().all(|r| r["author"]["name"] == "Test Editor"), "{q2}");
    assert_eq!(statements, 1, "the document with its first page and the page's authors");

    // Any other page of the history is read on its own, after the document.
    let cursor = async |first: usize| {
        let (page, _) = count(
            "query($id: ID!, $n: Int!) { document(id: $id) { revisions(first: $n) { edges { cursor } } } }",
            json!({ "id": ids[2], "n": first }),
        )
        .await;
        page["data"]["document"]["revisions"]["edges"][first - 1]["cursor"].clone()
    };
    let after = cursor(1).await;
    let pages = [
        (json!({ "first": 1, "after": after }), vec![1]),
        (json!({ "last": 1 }), vec![1]),
        (json!({ "first": 1 }), vec![2]),
        (json!({}), vec![2, 1]),
    ];
    for (args, numbers) in pages {
        let (page, statements) = count(
            "query($id: ID!, $first: Int, $after: String, $last: Int) { document(id: $id) { revisions(first: $first, after: $after, last: $last) { nodes { number author { name } } pageInfo { hasNextPage } } } }",
            json!({ "id": ids[2], "first": args["first"], "after": args["after"], "last": args["last"] }),
        )
        .await;
        let page = &page["data"]["document"]["revisions"];
        let read: Vec<i64> = page["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["number"].as_i64().unwrap())
            .collect();
        assert_eq!(read, numbers, "{args}");
        assert!(
            page["nodes"].as_array().unwrap().iter().all(|r| r["author"]["name"] == "Test Editor")
        );
        assert_eq!(page["pageInfo"]["hasNextPage"], numbers == [2], "{args}");
        let expected =
            if args.get("after").is_some() || args.get("last").is_some() { 2 } else { 1 };
        assert_eq!(statements, expected, "{args}");
    }
    // A page before a cursor is read on its own; so are two pages of the history in one
    // selection, each the page its alias asks for; one aliased page is read with the document.
    let before = cursor(2).await;
    let (page, statements) = count(
        "query($id: ID!, $before: String) { document(id: $id) { revisions(last: 1, before: $before) { nodes { number } } } }",
        json!({ "id": ids[2], "before": before }),
    )
    .await;
    assert_eq!(page["data"]["document"]["revisions"]["nodes"], json!([{ "number": 2 }]));
    assert_eq!(statements, 2);
    let (pages, statements) = count(
        "query($id: ID!) { document(id: $id) { newest: revisions(first: 1) { nodes { number } } all: revisions { nodes { number } } } }",
        json!({ "id": ids[2] }),
    )
    .await;
    let document = &pages["data"]["document"];
    assert_eq!(document["newest"]["nodes"], json!([{ "number": 2 }]), "{pages}");
    assert_eq!(document["all"]["nodes"], json!([{ "number": 2 }, { "number": 1 }]), "{pages}");
    assert_eq!(statements, 3, "the document, then each page");
    let (page, statements) = count(
        "query($id: ID!) { document(id: $id) { newest: revisions(first: 1) { nodes { number } } } }",
        json!({ "id": ids[2] }),
    )
    .await;
    assert_eq!(page["data"]["document"]["newest"]["nodes"], json!([{ "number": 2 }]));
    assert_eq!(statements, 1);
    // By slug, the same page in one statement as by id.
    let by_id = q2["data"]["document"].clone();
    let (by_slug, statements) = count(
        &q2_query
            .replace("document(id: $id)", "document(slug: $slug)")
            .replace("$id: ID!", "$slug: String!"),
        json!({ "slug": "doc-2" }),
    )
    .await;
    assert_eq!(by_slug["data"]["document"], by_id, "{by_slug}");
    assert_eq!(statements, 1, "by slug: the document with its first page and the authors");

    let q3_query = "{ documents(first: 50) { nodes { id slug title head { source { url publisher authors retrievedAt } } } } }";
    let (cold, statements) = count(q3_query, json!({})).await;
    assert_eq!(statements, 2, "the page with its heads' sources, then the one head not kept");
    let (q3, statements) = count(q3_query, json!({})).await;
    assert_eq!(q3, cold);
    let documents = q3["data"]["documents"]["nodes"].as_array().unwrap();
    assert_eq!(documents.len(), 3);
    for (i, document) in documents.iter().enumerate() {
        assert_eq!(document["title"], format!("Title {i}"));
        assert_eq!(document["head"]["source"]["url"], format!("https://news.example/{i}"));
        assert_eq!(document["head"]["source"]["authors"], json!(["Ada Brandt"]));
    }
    assert_eq!(statements, 1, "the page with its heads and their sources");
}
