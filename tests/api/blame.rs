//! Blame: each line of a revision attributed to the revision that introduced it, with its
//! author and time, across edits, reverts and moved lines.

use expect_test::expect;
use serde_json::json;

use crate::helpers::{TestApp, assert_no_errors, compact_lines, scrubbed};

crate::on_both_backends!(schema: blame_attributes_each_line_across_edits_reverts_and_moves);

const BLAME: &str = "query($h: String!) { revision(hash: $h) { blame {
  lines { number text revision { hash number author { name } createdAt } }
  ranges { startLine endLine revision { number } }
} } }";

async fn blame_attributes_each_line_across_edits_reverts_and_moves(app: TestApp) {
    let alice = app.token("Alice", palimpsest::store::Role::Editor).await;
    let bob = app.token("Bob", palimpsest::store::Role::Editor).await;
    let created =
        app.create_document(&alice, "blamed", "title\nfirst paragraph\nsecond paragraph\n").await;
    let id = created["document"]["id"].as_str().unwrap().to_owned();
    let mut head = created["revision"]["hash"].as_str().unwrap().to_owned();
    // 2 (Bob): edit the second paragraph, append a third.
    // 3 (Alice): move the first paragraph to the end.
    // 4 (Bob): revert revision 2's edit of the second paragraph.
    let steps = [
        (&bob, "title\nfirst paragraph\nsecond paragraph, edited\nthird paragraph\n"),
        (&alice, "title\nsecond paragraph, edited\nthird paragraph\nfirst paragraph\n"),
        (&bob, "title\nsecond paragraph\nthird paragraph\nfirst paragraph\n"),
    ];
    let mut hashes = vec![head.clone()];
    for (token, text) in steps {
        let body = app.revise(token, &id, &head, text).await;
        assert_no_errors(&body);
        head = body["data"]["reviseDocument"]["revision"]["hash"].as_str().unwrap().to_owned();
        hashes.push(head.clone());
    }

    let body = app.query(BLAME, json!({ "h": head })).await;
    assert_no_errors(&body);
    // Each line with the revision that last changed it (revision n is `hashes[n - 1]`).
    let names: Vec<(&str, String)> = hashes
        .iter()
        .enumerate()
        .map(|(i, h)| (h.as_str(), format!("<revision {}>", i + 1)))
        .collect();
    let names: Vec<(&str, &str)> = names.iter().map(|(h, n)| (*h, n.as_str())).collect();
    let lines = scrubbed(&body["data"]["revision"]["blame"]["lines"], &names);
    expect![[r#"
        {"number":1,"revision":{"author":{"name":"Alice"},"createdAt":"<time>","hash":"<revision 1>","number":1},"text":"title\n"}
        {"number":2,"revision":{"author":{"name":"Bob"},"createdAt":"<time>","hash":"<revision 4>","number":4},"text":"second paragraph\n"}
        {"number":3,"revision":{"author":{"name":"Bob"},"createdAt":"<time>","hash":"<revision 2>","number":2},"text":"third paragraph\n"}
        {"number":4,"revision":{"author":{"name":"Alice"},"createdAt":"<time>","hash":"<revision 3>","number":3},"text":"first paragraph\n"}
    "#]].assert_eq(&compact_lines(&lines));

    // One range per run of lines from one revision, numbered from 1, ends inclusive.
    let ranges = &body["data"]["revision"]["blame"]["ranges"];
    expect![[r#"
        {"endLine":1,"revision":{"number":1},"startLine":1}
        {"endLine":2,"revision":{"number":4},"startLine":2}
        {"endLine":3,"revision":{"number":2},"startLine":3}
        {"endLine":4,"revision":{"number":3},"startLine":4}
    "#]]
    .assert_eq(&compact_lines(ranges));

    // Blame of an older revision sees only the history up to it.
    let body = app.query(BLAME, json!({ "h": hashes[1] })).await;
    let numbers: Vec<i64> = body["data"]["revision"]["blame"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["revision"]["number"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [1, 1, 2, 2]);
}
