//! Creating, reading and revising documents; history and `asOf`.

use expect_test::expect;
use serde_json::json;

use crate::helpers::{TestApp, assert_no_errors, compact_lines, error_code, scrubbed, snapshot};

crate::on_both_backends!(
    schema:
    a_created_document_reads_back_by_id_uuid_slug_and_node,
    revising_appends_a_child_of_the_head_and_keeps_the_title,
    history_is_newest_first_and_chains_through_parents,
    as_of_returns_the_head_at_each_instant,
    a_revision_identical_to_the_head_is_refused_and_nothing_is_written,
    a_revision_of_another_document_is_not_served_through_this_one,
);

async fn a_created_document_reads_back_by_id_uuid_slug_and_node(app: TestApp) {
    let token = app.editor().await;
    let created = app.create_document(&token, "a-letter", "Dear reader,\n").await;
    let id = created["document"]["id"].as_str().unwrap();
    let uuid = created["document"]["uuid"].as_str().unwrap();
    let revision_id = created["revision"]["id"].as_str().unwrap();
    let hash = created["revision"]["hash"].as_str().unwrap();
    let names = [(id, "<id>"), (uuid, "<uuid>"), (revision_id, "<revision id>"), (hash, "<hash>")];
    // The header (with its time and the author's UUID) is `hashing`'s subject.
    let mut shown = created.clone();
    shown["revision"]["header"] = json!("<header>");
    expect![[r#"
        {
          "document": {
            "createdAt": "<time>",
            "head": {
              "hash": "<hash>"
            },
            "id": "<id>",
            "kind": "ARTICLE",
            "slug": "a-letter",
            "title": "Title of a-letter",
            "updatedAt": "<time>",
            "uuid": "<uuid>"
          },
          "revision": {
            "author": {
              "name": "Test Editor"
            },
            "contentHash": "863de4902f90b13089c39c7a85c1ddb5c61299a1fcae14f03d6069188eb87c52",
            "createdAt": "<time>",
            "hash": "<hash>",
            "header": "<header>",
            "id": "<revision id>",
            "number": 1,
            "parent": null
          }
        }"#]]
    .assert_eq(&snapshot(&shown, &names));

    let read = "query($id: ID, $slug: String) { document(id: $id, slug: $slug) { id slug title head { content } } }";
    for variables in [json!({ "id": id }), json!({ "id": uuid }), json!({ "slug": "a-letter" })] {
        let body = app.query(read, variables).await;
        assert_no_errors(&body);
        assert_eq!(body["data"]["document"]["id"], id);
        assert_eq!(body["data"]["document"]["title"], "Title of a-letter");
        assert_eq!(body["data"]["document"]["head"]["content"], "Dear reader,\n");
    }
    let body = app.query(read, json!({ "slug": "no-such-document" })).await;
    assert_no_errors(&body);
    assert_eq!(body["data"]["document"], json!(null));

    let body = app
        .query(
            "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } node(id: $one) { ... on Document { slug } } }"
                .replace("$one", &format!("\"{id}\""))
                .as_str(),
            json!({ "ids": [id, revision_id] }),
        )
        .await;
    assert_no_errors(&body);
    expect![[r#"
        {
          "node": {
            "slug": "a-letter"
          },
          "nodes": [
            {
              "__typename": "Document",
              "id": "<id>"
            },
            {
              "__typename": "Revision",
              "id": "<revision id>"
            }
          ]
        }"#]]
    .assert_eq(&snapshot(&body["data"], &names));
}

async fn revising_appends_a_child_of_the_head_and_keeps_the_title(app: TestApp) {
    let token = app.editor().await;
    let created = app.create_document(&token, "report", "draft\n").await;
    let id = created["document"]["id"].as_str().unwrap();
    let first = created["revision"]["hash"].as_str().unwrap();

    let body = app.revise(&token, id, first, "final\n").await;
    assert_no_errors(&body);
    let revised = &body["data"]["reviseDocument"];
    let second = revised["revision"]["hash"].as_str().unwrap();
    let names = [(id, "<id>"), (first, "<revision 1>"), (second, "<revision 2>")];
    expect![[r#"
        {
          "document": {
            "head": {
              "hash": "<revision 2>",
              "number": 2
            },
            "id": "<id>"
          },
          "revision": {
            "author": {
              "name": "Test Editor"
            },
            "createdAt": "<time>",
            "hash": "<revision 2>",
            "message": "edit",
            "number": 2,
            "parent": {
              "hash": "<revision 1>"
            },
            "title": "Title of report"
          }
        }"#]]
    .assert_eq(&snapshot(revised, &names));

    let retitle = app
        .query_as(
            Some(&token),
            "mutation($input: ReviseDocumentInput!) { reviseDocument(input: $input) { revision { title number } document { title } } }",
            json!({ "input": { "documentId": id, "expectedHead": revised["revision"]["hash"], "content": "final\n", "title": "A new title" } }),
        )
        .await;
    assert_no_errors(&retitle);
    expect![[r#"
        {
          "reviseDocument": {
            "document": {
              "title": "A new title"
            },
            "revision": {
              "number": 3,
              "title": "A new title"
            }
          }
        }"#]]
    .assert_eq(&snapshot(&retitle["data"], &[]));
}

async fn history_is_newest_first_and_chains_through_parents(app: TestApp) {
    let token = app.editor().await;
    let (id, hashes) = app.document_with_history(&token, "chain", 5).await;
    let body = app
        .query(
            "query($id: ID!) { document(id: $id) { revisions(first: 10) { totalCount nodes { hash number content parent { hash } } } } }",
            json!({ "id": id }),
        )
        .await;
    assert_no_errors(&body);
    assert_eq!(body["data"]["document"]["revisions"]["totalCount"], 5);
    // Newest first, each the child of the next; revision n was written as `hashes[n - 1]`.
    let names: Vec<(&str, String)> =
        hashes.iter().enumerate().map(|(i, h)| (h.as_str(), format!("<hash {}>", i + 1))).collect();
    let names: Vec<(&str, &str)> = names.iter().map(|(h, n)| (*h, n.as_str())).collect();
    let nodes = scrubbed(&body["data"]["document"]["revisions"]["nodes"], &names);
    expect![[r#"
        {"content":"version 5\n","hash":"<hash 5>","number":5,"parent":{"hash":"<hash 4>"}}
        {"content":"version 4\n","hash":"<hash 4>","number":4,"parent":{"hash":"<hash 3>"}}
        {"content":"version 3\n","hash":"<hash 3>","number":3,"parent":{"hash":"<hash 2>"}}
        {"content":"version 2\n","hash":"<hash 2>","number":2,"parent":{"hash":"<hash 1>"}}
        {"content":"version 1\n","hash":"<hash 1>","number":1,"parent":null}
    "#]]
    .assert_eq(&compact_lines(&nodes));
}

async fn as_of_returns_the_head_at_each_instant(app: TestApp) {
    let token = app.editor().await;
    let (id, hashes) = app.document_with_history(&token, "timeline", 3).await;
    let body = app
        .query(
            "query($id: ID!) { document(id: $id) { revisions { nodes { hash createdAt } } } }",
            json!({ "id": id }),
        )
        .await;
    let nodes = body["data"]["document"]["revisions"]["nodes"].as_array().unwrap().clone();
    let times: Vec<String> =
        nodes.iter().rev().map(|n| n["createdAt"].as_str().unwrap().to_owned()).collect();
    assert!(times.windows(2).all(|w| w[0] < w[1]), "times strictly increase: {times:?}");

    let as_of = "query($id: ID!, $t: DateTime!) { document(id: $id) { asOf(time: $t) { hash } } }";
    for (i, time) in times.iter().enumerate() {
        let body = app.query(as_of, json!({ "id": id, "t": time })).await;
        assert_no_errors(&body);
        assert_eq!(body["data"]["document"]["asOf"]["hash"], hashes[i], "exactly at revision {i}");
    }
    let before = app.query(as_of, json!({ "id": id, "t": "2000-01-01T00:00:00Z" })).await;
    assert_eq!(before["data"]["document"]["asOf"], json!(null));
    let later = app.query(as_of, json!({ "id": id, "t": "2999-01-01T00:00:00+02:00" })).await;
    assert_eq!(later["data"]["document"]["asOf"]["hash"], hashes[2]);

    let bad = app.query(as_of, json!({ "id": id, "t": "last tuesday" })).await;
    assert_eq!(error_code(&bad), "BAD_USER_INPUT");
}

async fn a_revision_identical_to_the_head_is_refused_and_nothing_is_written(app: TestApp) {
    let token = app.editor().await;
    let created = app.create_document(&token, "same", "unchanged\n").await;
    let before = app.corpus_size().await;
    let body = app
        .revise(
            &token,
            created["document"]["id"].as_str().unwrap(),
            created["revision"]["hash"].as_str().unwrap(),
            "unchanged\n",
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("identical to the head"));
    expect![[r#"
        {
          "data": null,
          "errors": [
            {
              "extensions": {
                "code": "BAD_USER_INPUT"
              },
              "locations": [
                {
                  "column": 3,
                  "line": 2
                }
              ],
              "message": "content: the revision is identical to the head (same title, content and source)",
              "path": [
                "reviseDocument"
              ]
            }
          ],
          "extensions": {
            "cost": {
              "actual": 16,
              "limit": 20000,
              "requested": 16
            }
          }
        }"#]].assert_eq(&snapshot(&body, &[]));
    assert_eq!(app.corpus_size().await, before);
}

async fn a_revision_of_another_document_is_not_served_through_this_one(app: TestApp) {
    let token = app.editor().await;
    let a = app.create_document(&token, "doc-a", "a\n").await;
    let b = app.create_document(&token, "doc-b", "b\n").await;
    let body = app
        .query(
            "query($slug: String!, $hash: String!) { document(slug: $slug) { revision(hash: $hash) { hash } } }",
            json!({ "slug": "doc-a", "hash": b["revision"]["hash"] }),
        )
        .await;
    assert_no_errors(&body);
    assert_eq!(body["data"]["document"]["revision"], json!(null));

    // And a revision of B cannot be the expected head of A.
    let before = app.corpus_size().await;
    let body = app
        .revise(
            &token,
            a["document"]["id"].as_str().unwrap(),
            b["revision"]["hash"].as_str().unwrap(),
            "x\n",
        )
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND");
    assert_eq!(app.corpus_size().await, before);
}
